//! The forward pass: one walk over the blocks in topological order that
//! computes what is known on entry to each block (the meet of what its
//! incoming edges know), rewrites the block's statements with value
//! numbering, decides its branch when the outcome is known, and threads
//! its outgoing edges past later blocks whose branch the edge already
//! decides.
//!
//! Threading an edge past a block is exact only when skipping the block
//! changes nothing: none of its statements can reject the packet on that
//! edge, and every slot the new target reads holds the same value either
//! way. Both are checked by running the block symbolically on the edge.

use super::super::cbpf::*;
use super::graph::{Graph, Term};
use super::value::{decide, step, Def, Fact, State, Val, Values, A, SLOTS, X};
use super::Level;

/// What the pass leaves for the next ones: the value table and the state
/// on entry to each block still reached.
pub(crate) struct Known {
    pub vals: Values,
    pub entry: Vec<Option<State>>,
}

pub(crate) fn sweep(g: &mut Graph, level: Level, live_in: &[u32]) -> Known {
    let n = g.blocks.len();
    let mut vals = Values::new(level);
    let mut incoming: Vec<Vec<State>> = vec![Vec::new(); n];
    let mut entry: Vec<Option<State>> = vec![None; n];
    incoming[0].push(State::entry(&mut vals));
    for b in 0..n {
        let preds = std::mem::take(&mut incoming[b]);
        if preds.is_empty() {
            continue;
        }
        let st0 = if preds.len() == 1 {
            preds.into_iter().next().expect("one state")
        } else {
            let refs: Vec<&State> = preds.iter().collect();
            State::meet(&mut vals, b, &refs)
        };
        entry[b] = Some(st0.clone());

        let live_out = g.blocks[b].term.succs().fold(0u32, |m, s| m | live_in[s]);
        let stmts = std::mem::take(&mut g.blocks[b].stmts);
        let (mut stmts, before, mut st) = rewrite(&mut vals, &st0, &stmts);
        if fold_index_add(&vals, &mut stmts, &before, live_out, &g.blocks[b].term) {
            (stmts, _, st) = rewrite(&mut vals, &st0, &stmts);
        }
        g.blocks[b].stmts = stmts;

        let term = g.blocks[b].term;
        match term {
            Term::Ret(r) => {
                if rval(r.code) == BPF_A {
                    if let Some(c) = vals.as_const(st.regs[A]) {
                        g.blocks[b].term = Term::Ret(Insn::stmt(BPF_RET | BPF_K, c));
                    }
                }
            }
            Term::Goto(t) => {
                let t = thread(g, &mut vals, level, live_in, &st, t);
                g.blocks[b].term = Term::Goto(t);
                incoming[t].push(st);
            }
            Term::Branch {
                mut code,
                mut k,
                jt,
                jf,
            } => {
                if src(code) == BPF_X {
                    if let Some(c) = vals.as_const(st.regs[X]) {
                        code &= !BPF_X;
                        k = c;
                    }
                }
                let o = if src(code) == BPF_X {
                    st.regs[X]
                } else {
                    vals.konst(k)
                };
                let a = st.regs[A];
                match decide(&vals, &st, level, op(code), a, o) {
                    Some(taken) => {
                        let t = if taken { jt } else { jf };
                        let t = thread(g, &mut vals, level, live_in, &st, t);
                        g.blocks[b].term = Term::Goto(t);
                        incoming[t].push(st);
                    }
                    None => {
                        let mut edge = |taken: bool, to: usize| {
                            let mut e = st.clone();
                            e.learn(Fact {
                                op: op(code),
                                a,
                                o,
                                taken,
                            });
                            let to = thread(g, &mut vals, level, live_in, &e, to);
                            incoming[to].push(e);
                            to
                        };
                        let jt = edge(true, jt);
                        let jf = edge(false, jf);
                        g.blocks[b].term = Term::Branch { code, k, jt, jf };
                    }
                }
            }
        }
    }
    Known { vals, entry }
}

/// Value-number `stmts` from `st0`: the statements to keep, the (A, X)
/// values before each, and the state after them.
fn rewrite(vals: &mut Values, st0: &State, stmts: &[Insn]) -> (Vec<Insn>, Vec<(Val, Val)>, State) {
    let mut st = st0.clone();
    let mut out = Vec::with_capacity(stmts.len());
    let mut before = Vec::with_capacity(stmts.len());
    for &i in stmts {
        let pre = (st.regs[A], st.regs[X]);
        if let Some(i) = step(vals, &mut st, i).insn {
            out.push(i);
            before.push(pre);
        }
    }
    (out, before, st)
}

/// `tax` of A = w + c, where X already holds w, followed only by packet
/// loads through X: drop the `tax` and add c to those loads' offsets
/// (libpcap's code for `tcp[k]` computes the header offset this way).
/// Exact when w + c cannot wrap, which the bound on w proves.
fn fold_index_add(
    vals: &Values,
    stmts: &mut Vec<Insn>,
    before: &[(Val, Val)],
    live_out: u32,
    term: &Term,
) -> bool {
    let x_in_term = matches!(term, Term::Branch { code, .. } if src(*code) == BPF_X);
    for i in 0..stmts.len() {
        if stmts[i].code != BPF_MISC | BPF_TAX {
            continue;
        }
        let (aval, xval) = before[i];
        let Def::Alu { op: BPF_ADD, a, b } = vals.def(aval) else {
            continue;
        };
        let c = if a == xval {
            vals.as_const(b)
        } else if b == xval {
            vals.as_const(a)
        } else {
            None
        };
        let Some(c) = c else { continue };
        if vals.max(xval) as u64 + c as u64 > u32::MAX as u64 {
            continue;
        }
        // The statements reading this X, up to its next definition.
        let mut loads = Vec::new();
        let mut ok = true;
        let mut redefined = false;
        for (j, s) in stmts.iter().enumerate().skip(i + 1) {
            let cls = class(s.code);
            if cls == BPF_LD && mode(s.code) == BPF_IND {
                if s.k as u64 + c as u64 > u32::MAX as u64 {
                    ok = false;
                    break;
                }
                loads.push(j);
            } else if cls == BPF_LDX || s.code == BPF_MISC | BPF_TAX {
                redefined = true;
                break;
            } else if cls == BPF_STX
                || s.code == BPF_MISC | BPF_TXA
                || (cls == BPF_ALU && src(s.code) == BPF_X && op(s.code) != BPF_NEG)
            {
                ok = false;
                break;
            }
        }
        if !ok || (!redefined && (live_out & (1 << X) != 0 || x_in_term)) {
            continue;
        }
        for j in loads {
            stmts[j].k += c;
        }
        stmts.remove(i);
        return true;
    }
    false
}

/// Follow the edge carrying `e` from `to` past every block it decides.
fn thread(
    g: &Graph,
    vals: &mut Values,
    level: Level,
    live_in: &[u32],
    e: &State,
    mut to: usize,
) -> usize {
    'next: loop {
        let blk = &g.blocks[to];
        let mut st = e.clone();
        for &i in &blk.stmts {
            if step(vals, &mut st, i).may_fail {
                break 'next;
            }
        }
        let target = match blk.term {
            Term::Ret(_) => break,
            Term::Goto(t) => t,
            Term::Branch { code, k, jt, jf } => {
                let o = if src(code) == BPF_X {
                    st.regs[X]
                } else {
                    vals.konst(k)
                };
                match decide(vals, &st, level, op(code), st.regs[A], o) {
                    Some(true) => jt,
                    Some(false) => jf,
                    None => break,
                }
            }
        };
        let live = live_in[target];
        for s in 0..SLOTS {
            if live & (1 << s) != 0 && st.regs[s] != e.regs[s] {
                break 'next;
            }
        }
        to = target;
    }
    to
}
