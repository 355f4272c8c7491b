//! Reordering a chain of tests that all reject on one side, so that a test
//! of a value just tested comes right after it and needs no new load
//! (`not port 22` tests the source port, the destination port, then the
//! source port again for the next port).
//!
//! This is exact when the shared side rejects: the packet is accepted only
//! when every test of the chain continues and every load succeeds,
//! whatever their order. It is exact too when no statement on the chain
//! can fail (the ports were both loaded already): the tests are then pure
//! and their order cannot matter. The moved test must be one whose
//! statements do nothing where it lands (they reload the value already in
//! A), and the blocks it jumps over must see the same values as before.

use super::super::cbpf::*;
use super::dead::{live_in, use_def};
use super::graph::{Block, Graph, Term};
use super::sweep::Known;
use super::value::{step, State, A};

/// Longest run of other tests looked through.
const MAX_CHAIN: usize = 64;

fn rejects(b: &Block) -> bool {
    b.stmts.is_empty() && b.term == Term::Ret(Insn::stmt(BPF_RET | BPF_K, 0))
}

/// The state after `blk`'s statements, and whether one of them may fail.
fn run(known: &mut Known, st: &State, blk: &Block) -> (State, bool) {
    let mut st = st.clone();
    let mut fails = false;
    for &i in &blk.stmts {
        fails |= step(&mut known.vals, &mut st, i).may_fail;
    }
    (st, fails)
}

/// For a branch, the side going to `t` and the other side.
fn split(term: &Term, t: usize) -> Option<(bool, usize)> {
    match *term {
        Term::Branch { jt, jf, .. } if jt == t && jf != t => Some((true, jf)),
        Term::Branch { jt, jf, .. } if jf == t && jt != t => Some((false, jt)),
        _ => None,
    }
}

fn set_other(term: &mut Term, t_is_jt: bool, to: usize) {
    if let Term::Branch { jt, jf, .. } = term {
        if t_is_jt {
            *jf = to
        } else {
            *jt = to
        }
    }
}

pub(crate) fn pull_up(g: &mut Graph, known: &mut Known) -> bool {
    let n = g.blocks.len();
    let live = live_in(g);
    let preds = g.pred_counts();
    let mut touched = vec![false; n];
    let mut changed = false;
    for b in 0..n {
        if touched[b] {
            continue;
        }
        let Some(entry) = known.entry[b].clone() else {
            continue;
        };
        let Term::Branch { jt, jf, .. } = g.blocks[b].term else {
            continue;
        };
        let ctx = Ctx {
            live: &live,
            preds: &preds,
        };
        // Either side may be the one the chain shares.
        for t in [jt, jf] {
            if pull_one(g, known, &ctx, &mut touched, b, &entry, t) {
                changed = true;
                break;
            }
        }
    }
    changed
}

struct Ctx<'a> {
    live: &'a [u32],
    preds: &'a [usize],
}

/// Try the chain from `b` whose tests share the side going to `t`.
fn pull_one(
    g: &mut Graph,
    known: &mut Known,
    ctx: &Ctx,
    touched: &mut [bool],
    b: usize,
    entry: &State,
    t: usize,
) -> bool {
    let (live, preds) = (ctx.live, ctx.preds);
    // Unless the shared side rejects, nothing on the chain may fail, so
    // that the order of the tests cannot matter.
    let t_rejects = rejects(&g.blocks[t]);
    let Some((b_t_is_jt, first)) = split(&g.blocks[b].term, t) else {
        return false;
    };
    let (exit_b, _) = run(known, entry, &g.blocks[b]);
    let v = exit_b.regs[A];
    // Walk the continuing sides to a block testing `v` again.
    let mut chain: Vec<(usize, bool)> = Vec::new();
    let mut cur = first;
    let mut found = None;
    for _ in 0..=MAX_CHAIN {
        if touched[cur] || preds[cur] != 1 {
            break;
        }
        let Some((t_is_jt, next)) = split(&g.blocks[cur].term, t) else {
            break;
        };
        let Some(e) = known.entry[cur].clone() else {
            break;
        };
        let (exit, fails) = run(known, &e, &g.blocks[cur]);
        if fails && !t_rejects {
            break;
        }
        if exit.regs[A] == v {
            found = Some((cur, t_is_jt, next));
            break;
        }
        chain.push((cur, t_is_jt));
        cur = next;
    }
    let Some((s, mut s_t_is_jt, mut r)) = found else {
        return false;
    };
    let Some(&(last, last_t_is_jt)) = chain.last() else {
        return false;
    };
    // The run of blocks testing `v` from `s` on moves as one; each must do
    // nothing where it lands but test A against a constant.
    let mut moved = vec![s];
    let mut defs = 0u32;
    loop {
        let cur = *moved.last().expect("run starts at s");
        let Term::Branch { code, .. } = g.blocks[cur].term else {
            return false;
        };
        if src(code) != BPF_K {
            return false;
        }
        // Each statement only puts back a value already in place.
        let mut at_top = exit_b.clone();
        for &i in &g.blocks[cur].stmts {
            if step(&mut known.vals, &mut at_top, i).insn.is_some() {
                return false;
            }
        }
        defs |= g.blocks[cur]
            .stmts
            .iter()
            .fold(0u32, |m, i| m | use_def(i).1);
        let same_value = |known: &mut Known, blk: usize| {
            let Some(e) = known.entry[blk].clone() else {
                return false;
            };
            let (exit, fails) = run(known, &e, &g.blocks[blk]);
            exit.regs[A] == v && (!fails || t_rejects)
        };
        match split(&g.blocks[r].term, t) {
            Some((t_is_jt, next))
                if moved.len() < MAX_CHAIN
                    && preds[r] == 1
                    && !touched[r]
                    && same_value(known, r) =>
            {
                moved.push(r);
                s_t_is_jt = t_is_jt;
                r = next;
            }
            _ => break,
        }
    }
    // What the run used to leave for `r` must not be needed there.
    if touched[r] || defs & live[r] != 0 {
        return false;
    }
    let end = *moved.last().expect("run starts at s");
    for &m in &moved {
        g.blocks[m].stmts.clear();
        touched[m] = true;
    }
    set_other(&mut g.blocks[b].term, b_t_is_jt, s);
    set_other(&mut g.blocks[end].term, s_t_is_jt, first);
    set_other(&mut g.blocks[last].term, last_t_is_jt, r);
    for x in [b, r, first] {
        touched[x] = true;
    }
    for &(d, _) in &chain {
        touched[d] = true;
    }
    true
}
