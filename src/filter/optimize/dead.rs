//! The backward pass: which slots (A, X, scratch words) are read later
//! (liveness), removal of statements whose result nobody reads and that
//! cannot reject the packet, and the comparisons that absorb the
//! arithmetic just before them.
//!
//! A load nobody reads still matters when it can fail: it rejects short
//! packets. It may go when a load reaching at least as far certainly
//! succeeded before it (the forward pass knows), or when every way from it
//! to an accepting `ret` passes a load reaching at least as far: then a
//! packet it would reject is rejected there instead.

use super::super::cbpf::*;
use super::graph::{Block, Graph, Term};
use super::sweep::Known;
use super::value::{mem_slot, step, A, X};

/// Slots read and written by a statement, as bit masks over slot numbers.
pub(crate) fn use_def(i: &Insn) -> (u32, u32) {
    let (a, x) = (1u32 << A, 1u32 << X);
    let m = |k: u32| 1u32 << mem_slot(k);
    match class(i.code) {
        BPF_LD => match mode(i.code) {
            BPF_IND => (x, a),
            BPF_MEM => (m(i.k), a),
            _ => (0, a),
        },
        BPF_LDX => match mode(i.code) {
            BPF_MEM => (m(i.k), x),
            _ => (0, x),
        },
        BPF_ST => (a, m(i.k)),
        BPF_STX => (x, m(i.k)),
        BPF_ALU if op(i.code) == BPF_NEG || src(i.code) == BPF_K => (a, a),
        BPF_ALU => (a | x, a),
        BPF_MISC if miscop(i.code) == BPF_TAX => (a, x),
        BPF_MISC => (x, a),
        _ => (0, 0),
    }
}

fn term_use(t: &Term) -> u32 {
    match *t {
        Term::Ret(r) if rval(r.code) == BPF_A => 1 << A,
        Term::Ret(_) | Term::Goto(_) => 0,
        Term::Branch { code, .. } if src(code) == BPF_X => (1 << A) | (1 << X),
        Term::Branch { .. } => 1 << A,
    }
}

fn block_live_in(b: &Block, live_out: u32) -> u32 {
    let mut live = live_out | term_use(&b.term);
    for s in b.stmts.iter().rev() {
        let (u, d) = use_def(s);
        live = (live & !d) | u;
    }
    live
}

/// Slots live on entry to each block.
pub(crate) fn live_in(g: &Graph) -> Vec<u32> {
    let mut live = vec![0u32; g.blocks.len()];
    for b in (0..g.blocks.len()).rev() {
        let out = g.blocks[b].term.succs().fold(0, |m, s| m | live[s]);
        live[b] = block_live_in(&g.blocks[b], out);
    }
    live
}

/// How many captured bytes a successful statement proves the packet has
/// (a load through X reaches at least its offset).
fn proves(i: &Insn) -> u64 {
    let bytes = match size(i.code) {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    };
    match (class(i.code), mode(i.code)) {
        (BPF_LD, BPF_ABS | BPF_IND) => i.k as u64 + bytes,
        (BPF_LDX, BPF_MSH) => i.k as u64 + 1,
        _ => 0,
    }
}

/// Peepholes, then dead statements, block by block from the leaves up.
pub(crate) fn remove_dead(g: &mut Graph, known: &mut Known) {
    let n = g.blocks.len();
    let mut live = vec![0u32; n];
    // Captured length proven by loads on every way from a block's entry to
    // an accepting `ret` (unbounded when every way rejects).
    let mut need = vec![u64::MAX; n];
    for b in (0..n).rev() {
        let out = g.blocks[b].term.succs().fold(0, |m, s| m | live[s]);
        let mut ahead = match g.blocks[b].term {
            Term::Ret(r) if r == Insn::stmt(BPF_RET | BPF_K, 0) => u64::MAX,
            Term::Ret(_) => 0,
            t => t.succs().map(|s| need[s]).min().unwrap_or(0),
        };
        let Some(entry) = &known.entry[b] else {
            continue;
        };
        // Which statements may reject the packet.
        let mut st = entry.clone();
        let mut may_fail: Vec<bool> = g.blocks[b]
            .stmts
            .iter()
            .map(|&i| step(&mut known.vals, &mut st, i).may_fail)
            .collect();
        let blk = &mut g.blocks[b];
        if out & (1 << A) == 0 {
            while absorb(blk) {
                may_fail.pop();
            }
        }
        let mut l = out | term_use(&blk.term);
        let mut keep = vec![true; blk.stmts.len()];
        for (i, s) in blk.stmts.iter().enumerate().rev() {
            let (u, d) = use_def(s);
            let covered = mode(s.code) != BPF_IND && proves(s) > 0 && proves(s) <= ahead;
            if d & l == 0 && (!may_fail[i] || covered) {
                keep[i] = false;
                continue;
            }
            l = (l & !d) | u;
            ahead = ahead.max(proves(s));
        }
        need[b] = ahead;
        let mut it = keep.iter();
        blk.stmts
            .retain(|_| *it.next().expect("one flag per statement"));
        live[b] = l;
    }
}

/// Fold the last statement into the block's comparison when A's value is
/// not needed afterwards: `sub #k; jeq #c` is `jeq #(c+k)`, and so on.
fn absorb(blk: &mut Block) -> bool {
    let Some(&last) = blk.stmts.last() else {
        return false;
    };
    let Term::Branch { code, k: c, jt, jf } = blk.term else {
        return false;
    };
    if src(code) != BPF_K || class(last.code) != BPF_ALU {
        return false;
    }
    let lk = last.k;
    let lx = src(last.code) == BPF_X;
    let new = match (op(code), op(last.code), lx) {
        (BPF_JEQ, BPF_ADD, false) => (BPF_JEQ | BPF_K, c.wrapping_sub(lk), jt, jf),
        (BPF_JEQ, BPF_SUB, false) => (BPF_JEQ | BPF_K, c.wrapping_add(lk), jt, jf),
        (BPF_JEQ, BPF_XOR, false) => (BPF_JEQ | BPF_K, c ^ lk, jt, jf),
        (BPF_JEQ, BPF_SUB, true) if c == 0 => (BPF_JEQ | BPF_X, 0, jt, jf),
        (BPF_JEQ, BPF_AND, false) if c == 0 => (BPF_JSET | BPF_K, lk, jf, jt),
        (BPF_JEQ, BPF_AND, false) if c == lk && lk.count_ones() == 1 => {
            (BPF_JSET | BPF_K, lk, jt, jf)
        }
        (BPF_JSET, BPF_AND, false) => (BPF_JSET | BPF_K, c & lk, jt, jf),
        _ => return false,
    };
    blk.stmts.pop();
    blk.term = Term::Branch {
        code: BPF_JMP | new.0,
        k: new.1,
        jt: new.2,
        jf: new.3,
    };
    true
}
