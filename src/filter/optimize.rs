//! The classic-BPF optimiser: a cBPF → cBPF pass over the compiler's
//! output, after the ideas of libpcap's optimiser.
//!
//! The compiler calls [`optimize`] on the program it generated and, when
//! [`rejects_all`] holds, fails with the error "expression rejects all
//! packets", as libpcap does.
//!
//! Guarantee: for every packet (captured bytes and wire length) the
//! optimised program returns exactly what the input returns under
//! [`cbpf::interpret`], including the rejections caused by a packet load
//! past the captured bytes or a run-time division by zero. A load is only
//! dropped when it is known to succeed (an equal or farther load already
//! succeeded on every path) or when its outcome cannot matter (every way on
//! ends in `ret #0`). The result passes [`cbpf::check`] and is never longer
//! than the input; a program with a backward jump (libpcap's `protochain`
//! loop) is returned unchanged, as libpcap leaves it.
//!
//! Passes, repeated until nothing changes:
//! 1. [`graph`]: basic blocks in topological order.
//! 2. [`sweep`]: value numbering of A, X and the scratch words along the
//!    graph, constant folding, removal of loads and moves of values
//!    already in place, branches decided by earlier test outcomes, and
//!    edges threaded past blocks whose outcome they decide.
//! 3. [`dead`]: liveness, removal of statements nobody reads, comparisons
//!    absorbing the arithmetic before them.
//! 4. [`pullup`]: in a chain of tests that reject on one side, a test of
//!    the value just tested moves up next to it.
//! 5. [`tidy`]: reject-only subgraphs to `ret #0`, jumps to jumps
//!    shortened, blocks merged, unreachable ones dropped.
//!
//! Then [`graph::Graph::linearize`] lays the blocks out, with `ja`
//! trampolines for jumps longer than 255.

mod dead;
mod graph;
mod pullup;
mod sweep;
mod tidy;
mod value;

#[cfg(test)]
mod tests;

use super::cbpf;
use graph::Graph;

/// How much the branch decisions may infer from earlier test outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// What libpcap's branch optimiser knows: constants moved through
    /// registers and scratch memory (arithmetic is not folded), the same
    /// test on the same value has the same outcome, and a value equal to
    /// one constant differs from the others. Arithmetic on constants is
    /// folded only by [`rejects_all`]'s final walk, as libpcap folds it
    /// only after its branch optimiser ran. Used for [`rejects_all`], so
    /// that we reject what libpcap rejects, no more, no less.
    Libpcap,
    /// Also ranges and known bits of values.
    Full,
}

/// Rounds of the pass pipeline before giving up on a fixed point.
const MAX_ROUNDS: usize = 100;

/// Optimise a valid classic BPF program; the result selects exactly the same packets.
pub fn optimize(prog: &[cbpf::Insn]) -> Vec<cbpf::Insn> {
    optimize_at(prog, Level::Full)
}

/// Whether the optimised program can never accept a packet (libpcap's
/// "expression rejects all packets").
///
/// This follows libpcap's own judgement rather than the strongest one:
/// libpcap first threads branches on what earlier tests proved, then folds
/// constants, and reports an expression only when the program then starts
/// with a chain of decided tests ending in `ret #0`. An expression libpcap
/// accepts must be accepted here too, even if it can match nothing.
pub fn rejects_all(prog: &[cbpf::Insn]) -> bool {
    let p = optimize_at(prog, Level::Libpcap);
    // A and X start at zero, as in the interpreter and the kernel.
    let mut regs = ConstRegs {
        a: Some(0),
        x: Some(0),
        mem: [None; cbpf::BPF_MEMWORDS as usize],
    };
    let mut pc = 0usize;
    // The walk only goes forward, so it ends.
    while let Some(&i) = p.get(pc) {
        pc += 1;
        match cbpf::class(i.code) {
            cbpf::BPF_RET => {
                return cbpf::rval(i.code) == cbpf::BPF_K && i.k == 0;
            }
            cbpf::BPF_JMP if cbpf::op(i.code) == cbpf::BPF_JA => {
                pc = pc.wrapping_add(i.k as i32 as isize as usize);
            }
            cbpf::BPF_JMP => {
                let operand = if cbpf::src(i.code) == cbpf::BPF_X {
                    regs.x
                } else {
                    Some(i.k)
                };
                let taken = match (regs.a, operand) {
                    _ if i.jt == i.jf => true,
                    (Some(a), Some(o)) => match cbpf::op(i.code) {
                        cbpf::BPF_JEQ => a == o,
                        cbpf::BPF_JGT => a > o,
                        cbpf::BPF_JGE => a >= o,
                        _ => a & o != 0,
                    },
                    (_, Some(0)) if cbpf::op(i.code) == cbpf::BPF_JSET => false,
                    _ => return false,
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            _ => regs.step(i),
        }
    }
    false
}

/// Registers as known constants, for [`rejects_all`]'s walk.
struct ConstRegs {
    a: Option<u32>,
    x: Option<u32>,
    mem: [Option<u32>; cbpf::BPF_MEMWORDS as usize],
}

impl ConstRegs {
    fn step(&mut self, i: cbpf::Insn) {
        use cbpf::*;
        let m = (i.k as usize).min(BPF_MEMWORDS as usize - 1);
        match (class(i.code), mode(i.code)) {
            (BPF_LD, BPF_IMM) => self.a = Some(i.k),
            (BPF_LDX, BPF_IMM) => self.x = Some(i.k),
            (BPF_LD, BPF_MEM) => self.a = self.mem[m],
            (BPF_LDX, BPF_MEM) => self.x = self.mem[m],
            (BPF_LD, _) => self.a = None,
            (BPF_LDX, _) => self.x = None,
            (BPF_ST, _) => self.mem[m] = self.a,
            (BPF_STX, _) => self.mem[m] = self.x,
            (BPF_ALU, _) if op(i.code) == BPF_NEG => self.a = self.a.map(u32::wrapping_neg),
            (BPF_ALU, _) => {
                let b = if src(i.code) == BPF_X {
                    self.x
                } else {
                    Some(i.k)
                };
                // libpcap's simplifications by a zero operand count too.
                self.a = match (self.a, b, op(i.code)) {
                    (Some(a), Some(b), o) => value::fold(o, a, b),
                    (_, Some(0), BPF_MUL | BPF_AND) => Some(0),
                    (Some(0), _, BPF_MUL | BPF_DIV | BPF_MOD | BPF_AND | BPF_LSH | BPF_RSH) => {
                        Some(0)
                    }
                    _ => None,
                };
            }
            (BPF_MISC, _) if miscop(i.code) == BPF_TAX => self.x = self.a,
            (BPF_MISC, _) => self.a = self.x,
            _ => {}
        }
    }
}

pub(crate) fn optimize_at(prog: &[cbpf::Insn], level: Level) -> Vec<cbpf::Insn> {
    if cbpf::check(prog).is_err() {
        return prog.to_vec();
    }
    let Some(mut g) = Graph::from_linear(prog) else {
        return prog.to_vec();
    };
    tidy::tidy(&mut g);
    for _ in 0..MAX_ROUNDS {
        let before = g.clone();
        let live = dead::live_in(&g);
        let mut known = sweep::sweep(&mut g, level, &live);
        dead::remove_dead(&mut g, &mut known);
        // Reordering needs states that match the code exactly (removing
        // dead loads lowers what is known about the packet length).
        let live = dead::live_in(&g);
        let mut known = sweep::sweep(&mut g, level, &live);
        pullup::pull_up(&mut g, &mut known);
        tidy::tidy(&mut g);
        if g == before {
            break;
        }
    }
    let out = g.linearize();
    if out.len() <= prog.len() && cbpf::check(&out).is_ok() {
        out
    } else {
        prog.to_vec()
    }
}
