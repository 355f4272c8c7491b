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
    /// libpcap's rules: the same test on the same value has the same
    /// outcome, and a value equal to one constant differs from the others.
    /// Used for [`rejects_all`], so we reject exactly what libpcap rejects.
    Libpcap,
    /// Also ranges and known bits of values.
    Full,
}

/// Rounds of the pass pipeline before giving up on a fixed point.
const MAX_ROUNDS: usize = 640;

/// Optimise a valid classic BPF program; the result selects exactly the same packets.
pub fn optimize(prog: &[cbpf::Insn]) -> Vec<cbpf::Insn> {
    optimize_at(prog, Level::Full)
}

/// Whether the optimised program can never accept a packet (libpcap's
/// "expression rejects all packets").
pub fn rejects_all(prog: &[cbpf::Insn]) -> bool {
    optimize_at(prog, Level::Libpcap) == [cbpf::Insn::stmt(cbpf::BPF_RET | cbpf::BPF_K, 0)]
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
