//! Graph clean-up between rounds: branches with one target become plain
//! continuations, anything that can only reject becomes `ret #0`, jumps to
//! empty blocks go straight through, a block continuing into a block only
//! it reaches absorbs it, identical blocks are merged, and unreachable
//! ones dropped.

use super::super::cbpf::*;
use super::graph::{Block, Graph, Term};
use std::collections::HashMap;

const REJECT: Insn = Insn::stmt(BPF_RET | BPF_K, 0);

pub(crate) fn tidy(g: &mut Graph) {
    one_target(g);
    collapse_rejects(g);
    skip_empty(g);
    absorb_single(g);
    g.renumber();
    intern(g);
}

fn one_target(g: &mut Graph) {
    for b in &mut g.blocks {
        if let Term::Branch { jt, jf, .. } = b.term {
            if jt == jf {
                b.term = Term::Goto(jt);
            }
        }
    }
}

/// A block from which every path ends in `ret #0` rejects: its loads can
/// only make it reject too.
fn collapse_rejects(g: &mut Graph) {
    let n = g.blocks.len();
    let mut rej = vec![false; n];
    for b in (0..n).rev() {
        rej[b] = match g.blocks[b].term {
            Term::Ret(r) => r == REJECT,
            Term::Goto(t) => rej[t],
            Term::Branch { jt, jf, .. } => rej[jt] && rej[jf],
        };
        if rej[b] {
            g.blocks[b] = Block {
                stmts: Vec::new(),
                term: Term::Ret(REJECT),
            };
        }
    }
}

/// Edges into an empty block that only continues elsewhere go there directly.
fn skip_empty(g: &mut Graph) {
    for b in (0..g.blocks.len()).rev() {
        let mut term = g.blocks[b].term;
        for s in term.succs_mut() {
            while let Block {
                stmts,
                term: Term::Goto(t),
            } = &g.blocks[*s]
            {
                if !stmts.is_empty() {
                    break;
                }
                *s = *t;
            }
        }
        g.blocks[b].term = term;
    }
}

/// `b` continuing into `s` that nothing else reaches: one block.
fn absorb_single(g: &mut Graph) {
    let preds = g.pred_counts();
    for b in 0..g.blocks.len() {
        while let Term::Goto(s) = g.blocks[b].term {
            if preds[s] != 1 || s == b {
                break;
            }
            let next = std::mem::replace(
                &mut g.blocks[s],
                Block {
                    stmts: Vec::new(),
                    term: Term::Ret(REJECT),
                },
            );
            let blk = &mut g.blocks[b];
            blk.stmts.extend(next.stmts);
            blk.term = next.term;
        }
    }
}

/// Merge identical blocks (same statements, same terminator, same targets
/// after merging their targets), from the leaves up.
fn intern(g: &mut Graph) {
    let n = g.blocks.len();
    let mut map: Vec<usize> = (0..n).collect();
    let mut seen: HashMap<Block, usize> = HashMap::new();
    let mut merged = false;
    for b in (0..n).rev() {
        let blk = &mut g.blocks[b];
        for s in blk.term.succs_mut() {
            *s = map[*s];
        }
        match seen.get(blk) {
            Some(&same) => {
                map[b] = same;
                merged = true;
            }
            None => {
                seen.insert(blk.clone(), b);
            }
        }
    }
    if merged {
        g.renumber();
    }
}
