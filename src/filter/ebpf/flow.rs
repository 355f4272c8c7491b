//! Control- and data-flow facts about a validated classic-BPF program that
//! the lowering needs, each computed by one small pass:
//!
//! - [`dests`]: where each instruction may go next, with jumps to `ret #0`
//!   short-circuited to "no match";
//! - [`liveness`]: whether A and X are read later (zero-initialisation at
//!   entry, spills around helper calls);
//! - [`anticipated`]: the packet length below which the filter surely
//!   rejects, from each instruction on (what lets one guard cover many
//!   loads);
//! - [`guards`]: where the linear-data guard of constant-offset loads goes,
//!   and how much it checks.

use crate::filter::cbpf::{self, *};

/// Largest packet offset the verifier tracks (`MAX_PACKET_OFF`).
pub const MAX_PACKET_OFF: u64 = 0xffff;
/// "Every packet is rejected from here": the anticipated length of a
/// `ret #0`.
pub const INF: u64 = u64::MAX;

/// Where control goes after an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Instruction index.
    Insn(usize),
    /// Straight to "no match" (the target is `ret #0`).
    NoMatch,
}

fn is_ret_zero(i: &cbpf::Insn) -> bool {
    i.code == BPF_RET | BPF_K && i.k == 0
}

/// The successors of instruction `pc`: none for `ret`, one for `ja` and
/// straight-line code, `[jt, jf]` for conditional jumps. A jump (not a
/// fall-through) to `ret #0` goes to [`Dest::NoMatch`].
pub fn dests(prog: &[cbpf::Insn], pc: usize) -> Vec<Dest> {
    let to = |t: usize| {
        if prog.get(t).is_some_and(is_ret_zero) {
            Dest::NoMatch
        } else {
            Dest::Insn(t)
        }
    };
    let i = prog[pc];
    match class(i.code) {
        BPF_RET => vec![],
        BPF_JMP if op(i.code) == BPF_JA => {
            let t = (pc as i64 + 1 + i.k as i32 as i64) as usize;
            vec![to(t)]
        }
        BPF_JMP => vec![to(pc + 1 + i.jt as usize), to(pc + 1 + i.jf as usize)],
        _ => vec![Dest::Insn(pc + 1)],
    }
}

/// Whether `pc` is an unconditional jump backwards (libpcap's
/// `protochain` loops).
pub fn is_back_jump(prog: &[cbpf::Insn], pc: usize) -> bool {
    let i = prog[pc];
    i.code == BPF_JMP | BPF_JA && (i.k as i32) < 0
}

/// The end (offset + size) of the packet bytes instruction `pc` loads, for
/// packet loads; for `X + k` loads the end at X = 0.
pub fn load_end(i: &cbpf::Insn) -> Option<u64> {
    let size = match size(i.code) {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    };
    match (class(i.code), mode(i.code)) {
        (BPF_LD, BPF_ABS) | (BPF_LD, BPF_IND) => Some(i.k as u64 + size),
        (BPF_LDX, BPF_MSH) => Some(i.k as u64 + 1),
        _ => None,
    }
}

/// Whether `pc` loads at a constant offset (`[k]` or `4*([k]&0xf)`).
pub fn is_abs_load(i: &cbpf::Insn) -> bool {
    matches!(
        (class(i.code), mode(i.code)),
        (BPF_LD, BPF_ABS) | (BPF_LDX, BPF_MSH)
    )
}

/// Whether `pc` loads at `X + k`.
pub fn is_ind_load(i: &cbpf::Insn) -> bool {
    class(i.code) == BPF_LD && mode(i.code) == BPF_IND
}

/// Registers of the classic machine, as bits.
pub const A: u8 = 1;
pub const X: u8 = 2;

/// (read, written) registers of one instruction.
pub fn uses_defs(i: &cbpf::Insn) -> (u8, u8) {
    let code = i.code;
    let x_if_src = if src(code) == BPF_X { X } else { 0 };
    match class(code) {
        BPF_LD if mode(code) == BPF_IND => (X, A),
        BPF_LD => (0, A),
        BPF_LDX => (0, X),
        BPF_ST => (A, 0),
        BPF_STX => (X, 0),
        BPF_ALU if op(code) == BPF_NEG => (A, A),
        BPF_ALU => (A | x_if_src, A),
        BPF_JMP if op(code) == BPF_JA => (0, 0),
        BPF_JMP => (A | x_if_src, 0),
        BPF_RET if rval(code) == BPF_A => (A, 0),
        BPF_RET => (0, 0),
        _ if miscop(code) == BPF_TAX => (A, X),
        _ => (X, A),
    }
}

/// Registers live *after* each instruction; and those live at entry.
pub fn liveness(prog: &[cbpf::Insn]) -> (Vec<u8>, u8) {
    let n = prog.len();
    let mut live_in = vec![0u8; n];
    let mut live_out = vec![0u8; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..n).rev() {
            // A jump to `ret #0` reads nothing, so NoMatch adds nothing.
            let out = dests(prog, pc)
                .iter()
                .map(|d| match d {
                    Dest::Insn(t) => live_in[*t],
                    Dest::NoMatch => 0,
                })
                .fold(0, |a, b| a | b);
            let (uses, defs) = uses_defs(&prog[pc]);
            let inn = uses | (out & !defs);
            if (out, inn) != (live_out[pc], live_in[pc]) {
                live_out[pc] = out;
                live_in[pc] = inn;
                changed = true;
            }
        }
    }
    (live_out, live_in[0])
}

/// For each instruction, the packet length below which running the
/// program from there certainly returns 0: a load at end `e` rejects a
/// packet shorter than `e`, a `ret #0` rejects everything ([`INF`]), and a
/// jump rejects what both its successors reject. Computed as the least
/// fixed point, so loops only contribute what every iteration does.
pub fn anticipated(prog: &[cbpf::Insn]) -> Vec<u64> {
    let n = prog.len();
    let mut r = vec![0u64; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..n).rev() {
            let i = prog[pc];
            let next = if class(i.code) == BPF_RET {
                if is_ret_zero(&i) {
                    INF
                } else {
                    0
                }
            } else {
                dests(prog, pc)
                    .iter()
                    .map(|d| match d {
                        Dest::Insn(t) => r[*t],
                        Dest::NoMatch => INF,
                    })
                    .min()
                    .unwrap_or(0)
            };
            let v = load_end(&i).map_or(next, |e| e.max(next));
            if v != r[pc] {
                r[pc] = v;
                changed = true;
            }
        }
    }
    r
}

/// What the fast (linear data) copy does at a constant-offset load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Earlier guards on every path already cover the load.
    Covered,
    /// Check `data + len > data_end` here, covering this load and, where
    /// every path needs them anyway, loads further on.
    Check(u64),
    /// The load cannot be in linear data (beyond `MAX_PACKET_OFF`).
    Fail,
}

/// Control flow of the fast copy: instructions reachable from the entry,
/// when loads that can never be in linear data end their path.
pub fn reachable(prog: &[cbpf::Insn], entries: &[usize], stops: &[bool]) -> Vec<bool> {
    let mut seen = vec![false; prog.len()];
    let mut work: Vec<usize> = entries.to_vec();
    while let Some(pc) = work.pop() {
        if seen[pc] {
            continue;
        }
        seen[pc] = true;
        if stops[pc] {
            continue;
        }
        for d in dests(prog, pc) {
            if let Dest::Insn(t) = d {
                work.push(t);
            }
        }
    }
    seen
}

/// The fast copy's loads that can never succeed on linear data, because
/// their end lies beyond what the verifier tracks.
pub fn always_fail(prog: &[cbpf::Insn]) -> Vec<bool> {
    prog.iter()
        .map(|i| load_end(i).is_some_and(|e| e > MAX_PACKET_OFF))
        .collect()
}

/// Guard placement for constant-offset loads in the fast copy: a forward
/// data flow of the linear length already checked on every path
/// (minimum over predecessors), checking at a load only when that is not
/// enough, and then as much as the path from here anticipates.
pub fn guards(prog: &[cbpf::Insn], reach: &[bool], fail: &[bool], ant: &[u64]) -> Vec<Guard> {
    let n = prog.len();
    // Checked length on entry to each instruction; INF until a path is seen.
    let mut known = vec![INF; n];
    if n > 0 {
        known[0] = 0;
    }
    let mut guard = vec![Guard::Covered; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in 0..n {
            if !reach[pc] || known[pc] == INF {
                continue;
            }
            let i = prog[pc];
            let mut out = known[pc];
            let g = match load_end(&i) {
                Some(_) if fail[pc] => Guard::Fail,
                Some(e) if is_abs_load(&i) && e > known[pc] => {
                    let c = if ant[pc] <= MAX_PACKET_OFF {
                        ant[pc]
                    } else {
                        e
                    };
                    out = c;
                    Guard::Check(c)
                }
                _ => Guard::Covered,
            };
            if guard[pc] != g {
                guard[pc] = g;
                changed = true;
            }
            if g == Guard::Fail {
                continue;
            }
            for d in dests(prog, pc) {
                if let Dest::Insn(t) = d {
                    let new = known[t].min(out);
                    if new != known[t] {
                        known[t] = new;
                        changed = true;
                    }
                }
            }
        }
    }
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<cbpf::Insn> {
        cbpf::parse_ddd(text).unwrap()
    }

    /// `ip and tcp port 80`-like shape: the entry check covers everything
    /// both paths need.
    #[test]
    fn one_guard_covers_a_chain() {
        // ldh [12]; jeq 0x800 jt 2 jf 5; ldb [23]; jeq 6 jt 4 jf 5; ret 1; ret 0
        let p = parse("6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 6,6 0 0 1,6 0 0 0");
        let ant = anticipated(&p);
        assert_eq!(ant[0], 24);
        assert_eq!(ant[2], 24);
        let fail = always_fail(&p);
        let reach = reachable(&p, &[0], &fail);
        assert_eq!(reach, [true, true, true, true, true, false]);
        let g = guards(&p, &reach, &fail, &ant);
        assert_eq!(g[0], Guard::Check(24));
        assert_eq!(g[2], Guard::Covered);
    }

    /// A path that accepts without loading keeps the guard from being
    /// hoisted over it.
    #[test]
    fn no_hoisting_past_an_accepting_path() {
        // ldh [12]; jeq 0x800 jt 2 jf 4; ldb [23]; ret a; ret 1
        let p = parse("5,40 0 0 12,21 0 2 2048,48 0 0 23,22 0 0 0,6 0 0 1");
        let ant = anticipated(&p);
        assert_eq!(ant[0], 14);
        let fail = always_fail(&p);
        let reach = reachable(&p, &[0], &fail);
        let g = guards(&p, &reach, &fail, &ant);
        assert_eq!((g[0], g[2]), (Guard::Check(14), Guard::Check(24)));
    }

    #[test]
    fn liveness_of_a_and_x() {
        // ldx #1; ld #2; add x; ret a
        let p = parse("4,1 0 0 1,0 0 0 2,12 0 0 0,22 0 0 0");
        let (out, entry) = liveness(&p);
        assert_eq!(entry, 0);
        assert_eq!(out, [X, A | X, A, 0]);
        // ret a with nothing before it reads the initial A.
        let (_, entry) = liveness(&parse("1,22 0 0 0"));
        assert_eq!(entry, A);
    }

    #[test]
    fn loads_beyond_the_tracked_range_always_fail() {
        let p = parse("2,48 0 0 65535,22 0 0 0");
        assert_eq!(always_fail(&p), [true, false]);
        let p = parse("2,48 0 0 65534,22 0 0 0");
        assert_eq!(always_fail(&p), [false, false]);
    }
}

/// Packet loads of 2 or 4 bytes into A whose value is only ever compared
/// for equality or tested bit-wise against constants: they may skip the
/// byte swap if those constants are swapped instead. Returns, per
/// instruction, the size of such a load (`swap_free_load`) and, for the
/// jumps reading only such loads, the size to swap their constant by
/// (`swapped_use`).
pub fn swap_free(prog: &[cbpf::Insn]) -> (Vec<Option<u8>>, Vec<Option<u8>>) {
    let n = prog.len();
    // Definition sites of A: instruction index, or n for the entry value.
    let defines_a = |pc: usize| uses_defs(&prog[pc]).1 & A != 0;
    let candidate = |pc: usize| -> Option<u8> {
        let i = prog[pc];
        if class(i.code) != BPF_LD || !matches!(mode(i.code), BPF_ABS | BPF_IND) {
            return None;
        }
        match size(i.code) {
            BPF_H => Some(2),
            BPF_W => Some(4),
            _ => None,
        }
    };
    let eligible_use = |pc: usize| {
        let i = prog[pc];
        class(i.code) == BPF_JMP && src(i.code) == BPF_K && matches!(op(i.code), BPF_JEQ | BPF_JSET)
    };
    // Uses of A reached by each definition (before A is redefined).
    let mut reached: Vec<(usize, Vec<usize>)> = Vec::new();
    let def_sites = (0..n).filter(|&pc| defines_a(pc)).chain([n]);
    for d in def_sites {
        let mut seen = vec![false; n];
        let mut work: Vec<usize> = if d == n {
            vec![0]
        } else {
            dests(prog, d)
                .into_iter()
                .filter_map(|x| match x {
                    Dest::Insn(t) => Some(t),
                    Dest::NoMatch => None,
                })
                .collect()
        };
        let mut uses = Vec::new();
        while let Some(pc) = work.pop() {
            if std::mem::replace(&mut seen[pc], true) {
                continue;
            }
            if uses_defs(&prog[pc]).0 & A != 0 {
                uses.push(pc);
            }
            if defines_a(pc) {
                continue;
            }
            for x in dests(prog, pc) {
                if let Dest::Insn(t) = x {
                    work.push(t);
                }
            }
        }
        reached.push((d, uses));
    }
    let mut load: Vec<Option<u8>> = vec![None; n];
    for (d, uses) in &reached {
        if *d < n {
            load[*d] = candidate(*d).filter(|_| uses.iter().all(|&u| eligible_use(u)));
        }
    }
    // A use must see swap-free loads of one size only, or none at all.
    let mut changed = true;
    let mut used: Vec<Option<u8>> = vec![None; n];
    while changed {
        changed = false;
        let mut sizes: Vec<Vec<Option<u8>>> = vec![Vec::new(); n];
        for (d, uses) in &reached {
            for &u in uses {
                sizes[u].push(if *d < n { load[*d] } else { None });
            }
        }
        for (u, s) in sizes.iter().enumerate() {
            let consistent = s.windows(2).all(|w| w[0] == w[1]);
            if !consistent {
                for (d, uses) in &reached {
                    if *d < n && uses.contains(&u) && load[*d].is_some() {
                        load[*d] = None;
                        changed = true;
                    }
                }
            }
            used[u] = if consistent {
                s.first().copied().flatten()
            } else {
                None
            };
        }
    }
    (load, used)
}

#[cfg(test)]
mod swap_tests {
    use super::*;

    #[test]
    fn swap_free_loads() {
        // ldh [12]; jeq 0x800 jt 3 jf 2; jeq 0x86dd jt 3 jf 4; ret 1; ret 0
        let p = cbpf::parse_ddd("5,40 0 0 12,21 1 0 2048,21 0 1 34525,6 0 0 1,6 0 0 0").unwrap();
        let (load, used) = swap_free(&p);
        assert_eq!(load[0], Some(2));
        assert_eq!((used[1], used[2]), (Some(2), Some(2)));
        // ldh [12]; jgt 0x800 ...: an ordering compare needs the real value.
        let p = cbpf::parse_ddd("4,40 0 0 12,37 0 1 2048,6 0 0 1,6 0 0 0").unwrap();
        assert_eq!(swap_free(&p).0[0], None);
        // Two loads of different sizes reaching one compare: neither.
        // ldh [12]; jeq 1 jt 2 jf 3 ... ; ld [0] ; jset 1
        let p = cbpf::parse_ddd("6,40 0 0 12,21 1 0 1,32 0 0 0,69 0 1 1,6 0 0 1,6 0 0 0").unwrap();
        let (load, used) = swap_free(&p);
        assert_eq!((load[0], load[2], used[3]), (None, None, None));
        // ret a reads the value: no.
        let p = cbpf::parse_ddd("2,32 0 0 0,22 0 0 0").unwrap();
        assert_eq!(swap_free(&p).0[0], None);
    }
}

/// How far an X-relative pointer's bound may exceed the load it is set up
/// for, so that later loads with the same X can use it. Bounding X by
/// `MAX_PACKET_OFF - margin` rejects only packets longer than
/// `MAX_PACKET_OFF - IND_SLACK` bytes of linear data, which XDP does not
/// produce.
pub const IND_SLACK: u64 = 64;

/// What the fast copy does at an `X + k` load; RP holds `data + X`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ind {
    /// Bound X by `MAX_PACKET_OFF - margin` (unless `bounded`: X is known
    /// to be small enough already), set RP, then check `check` bytes from
    /// RP against `data_end`.
    Setup {
        margin: u64,
        check: u64,
        bounded: bool,
    },
    /// RP is set on every path; check `check` bytes from it.
    Check(u64),
    /// RP is set and checked far enough on every path.
    Covered,
}

/// Whether instruction `i` changes X.
fn defines_x(i: &cbpf::Insn) -> bool {
    uses_defs(i).1 & X != 0
}

/// Backward pass over the X "epochs": per instruction, `f(load end, what
/// follows)` for `X + k` loads, 0 at an instruction that redefines X (what
/// follows uses another X), `ret0` at `ret #0`, 0 at other returns, and
/// `join` of the successors elsewhere.
fn x_relative(prog: &[cbpf::Insn], ret0: u64, join: fn(u64, u64) -> u64, start: u64) -> Vec<u64> {
    let n = prog.len();
    let mut v = vec![0u64; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..n).rev() {
            let i = prog[pc];
            let new = if defines_x(&i) {
                0
            } else if class(i.code) == BPF_RET {
                if is_ret_zero(&i) {
                    ret0
                } else {
                    0
                }
            } else {
                let next = dests(prog, pc)
                    .iter()
                    .map(|d| match d {
                        Dest::Insn(t) => v[*t],
                        Dest::NoMatch => ret0,
                    })
                    .fold(start, join);
                match load_end(&i) {
                    Some(e) if is_ind_load(&i) => e.max(next),
                    _ => next,
                }
            };
            if new != v[pc] {
                v[pc] = new;
                changed = true;
            }
        }
    }
    v
}

/// The largest value X can have on entry to each instruction, on every
/// path (`4*([k]&0xf)` is at most 60, `ldx #k` is k, anything else
/// unknown), as the verifier also sees it.
fn x_max(prog: &[cbpf::Insn], reach: &[bool]) -> Vec<u64> {
    let n = prog.len();
    let unknown = u32::MAX as u64;
    // 0 until a path is seen; the entry value of X is 0.
    let mut v = vec![0u64; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in 0..n {
            if !reach[pc] {
                continue;
            }
            let i = prog[pc];
            let out = match (class(i.code), mode(i.code)) {
                (BPF_LDX, BPF_MSH) => 60,
                (BPF_LDX, BPF_IMM) => i.k as u64,
                _ if defines_x(&i) => unknown,
                _ => v[pc],
            };
            for d in dests(prog, pc) {
                if let Dest::Insn(t) = d {
                    if out > v[t] {
                        v[t] = out;
                        changed = true;
                    }
                }
            }
        }
    }
    v
}

/// The plan for every `X + k` load of the fast copy (others: `Covered`).
/// A forward data flow of "RP = data + X, bounded with margin M, checked
/// for C bytes" (kept where all incoming paths agree on M), with the
/// check sized by what every path anticipates (as for constant offsets)
/// and the margin by the largest end later loads with the same X need.
pub fn ind_plan(prog: &[cbpf::Insn], reach: &[bool], fail: &[bool]) -> Vec<Ind> {
    let n = prog.len();
    // Largest end of any X + k load reachable with the same X.
    let reach_max = x_relative(prog, 0, u64::max, 0);
    // X-relative length below which every path rejects.
    let ant = x_relative(prog, INF, u64::min, INF);
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum St {
        Unseen,
        None,
        Ptr { margin: u64, checked: u64 },
    }
    let join = |a: St, b: St| match (a, b) {
        (St::Unseen, x) | (x, St::Unseen) => x,
        (
            St::Ptr {
                margin: m1,
                checked: c1,
            },
            St::Ptr {
                margin: m2,
                checked: c2,
            },
        ) if m1 == m2 => St::Ptr {
            margin: m1,
            checked: c1.min(c2),
        },
        _ => St::None,
    };
    let mut state = vec![St::Unseen; n];
    if n > 0 {
        state[0] = St::None;
    }
    let xmax = x_max(prog, reach);
    let mut plan = vec![Ind::Covered; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in 0..n {
            if !reach[pc] || state[pc] == St::Unseen {
                continue;
            }
            let i = prog[pc];
            let mut out = state[pc];
            if defines_x(&i) {
                out = St::None;
            } else if is_ind_load(&i) && !fail[pc] {
                let e = load_end(&i).unwrap_or(0);
                let sized = |margin: u64| e.max(ant[pc].min(margin));
                let (p, o) = match state[pc] {
                    St::Ptr { margin, checked } if e <= margin => {
                        if checked >= e {
                            (Ind::Covered, state[pc])
                        } else {
                            let c = sized(margin);
                            (Ind::Check(c), St::Ptr { margin, checked: c })
                        }
                    }
                    _ => {
                        let far = reach_max[pc];
                        let margin = if far - e <= IND_SLACK { far } else { e };
                        let c = sized(margin);
                        (
                            Ind::Setup {
                                margin,
                                check: c,
                                bounded: xmax[pc] <= MAX_PACKET_OFF - margin,
                            },
                            St::Ptr { margin, checked: c },
                        )
                    }
                };
                if plan[pc] != p {
                    plan[pc] = p;
                    changed = true;
                }
                out = o;
            }
            if fail[pc] {
                continue;
            }
            for d in dests(prog, pc) {
                if let Dest::Insn(t) = d {
                    let new = join(state[t], out);
                    if new != state[t] {
                        state[t] = new;
                        changed = true;
                    }
                }
            }
        }
    }
    plan
}
