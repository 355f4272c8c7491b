//! The block graph: a linear program cut into basic blocks (straight-line
//! statements plus one terminator), and the way back to a linear program.
//!
//! Blocks are kept in topological order (every edge goes to a higher
//! index, the root is block 0), which every pass relies on: a forward pass
//! is one walk over the indices, a backward pass one walk in reverse.

use super::super::cbpf::*;

/// How a block ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Term {
    /// `ret #k` or `ret a`, kept as the instruction itself.
    Ret(Insn),
    /// Unconditional continuation (an input `ja`, a fall-through, or a
    /// branch whose outcome is known).
    Goto(usize),
    /// A conditional jump: `code` and `k` of the instruction, and targets.
    Branch {
        code: u16,
        k: u32,
        jt: usize,
        jf: usize,
    },
}

impl Term {
    pub(crate) fn succs(&self) -> impl Iterator<Item = usize> {
        let (a, b) = match *self {
            Term::Ret(_) => (None, None),
            Term::Goto(t) => (Some(t), None),
            Term::Branch { jt, jf, .. } => (Some(jt), Some(jf)),
        };
        a.into_iter().chain(b)
    }

    pub(crate) fn succs_mut(&mut self) -> impl Iterator<Item = &mut usize> {
        let (a, b) = match self {
            Term::Ret(_) => (None, None),
            Term::Goto(t) => (Some(t), None),
            Term::Branch { jt, jf, .. } => (Some(jt), Some(jf)),
        };
        a.into_iter().chain(b)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Block {
    pub stmts: Vec<Insn>,
    pub term: Term,
}

/// A program as blocks in topological order, block 0 the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Graph {
    pub blocks: Vec<Block>,
}

fn is_jump(code: u16) -> bool {
    class(code) == BPF_JMP
}

impl Graph {
    /// Cut a valid program with forward jumps only into blocks. `None` when
    /// a jump goes backwards (such loops are left alone).
    pub(crate) fn from_linear(prog: &[Insn]) -> Option<Graph> {
        let len = prog.len();
        let mut leader = vec![false; len + 1];
        leader[0] = true;
        for (pc, i) in prog.iter().enumerate() {
            if is_jump(i.code) {
                if op(i.code) == BPF_JA {
                    let t = pc as i64 + 1 + i.k as i32 as i64;
                    if t <= pc as i64 || t >= len as i64 {
                        return None;
                    }
                    leader[t as usize] = true;
                } else {
                    leader[pc + 1 + i.jt as usize] = true;
                    leader[pc + 1 + i.jf as usize] = true;
                }
                leader[pc + 1] = true;
            } else if class(i.code) == BPF_RET {
                leader[pc + 1] = true;
            }
        }
        // Block number of each leader, in program order (already topological).
        let mut id = vec![usize::MAX; len + 1];
        let mut n = 0;
        for pc in 0..len {
            if leader[pc] {
                id[pc] = n;
                n += 1;
            }
        }
        let mut blocks = Vec::with_capacity(n);
        let mut pc = 0;
        while pc < len {
            let mut stmts = Vec::new();
            let term = loop {
                let i = prog[pc];
                pc += 1;
                if class(i.code) == BPF_RET {
                    break Term::Ret(i);
                }
                if is_jump(i.code) {
                    let at = pc - 1;
                    break if op(i.code) == BPF_JA {
                        Term::Goto(id[(at as i64 + 1 + i.k as i32 as i64) as usize])
                    } else {
                        Term::Branch {
                            code: i.code,
                            k: i.k,
                            jt: id[at + 1 + i.jt as usize],
                            jf: id[at + 1 + i.jf as usize],
                        }
                    };
                }
                stmts.push(i);
                if leader[pc] {
                    if pc >= len {
                        // Falls off the end: invalid input, refused by the caller's check.
                        return None;
                    }
                    break Term::Goto(id[pc]);
                }
            };
            blocks.push(Block { stmts, term });
        }
        Some(Graph { blocks })
    }

    /// Number of predecessors of each block.
    pub(crate) fn pred_counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.blocks.len()];
        for b in &self.blocks {
            for s in b.term.succs() {
                n[s] += 1;
            }
        }
        n
    }

    /// Keep only the blocks reachable from the root, renumbered in reverse
    /// post-order (a topological order). Children are visited so that a
    /// `Goto` target and a branch's true target tend to follow their block,
    /// as in libpcap's listings.
    pub(crate) fn renumber(&mut self) {
        let n = self.blocks.len();
        let mut seen = vec![false; n];
        let mut post = Vec::with_capacity(n);
        // Iterative DFS: (block, next child index).
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        seen[0] = true;
        while let Some(&mut (b, ref mut i)) = stack.last_mut() {
            // The child visited last is laid out right after the block.
            let kids: [Option<usize>; 2] = match self.blocks[b].term {
                Term::Ret(_) => [None, None],
                Term::Goto(t) => [Some(t), None],
                Term::Branch { jt, jf, .. } => [Some(jf), Some(jt)],
            };
            if *i < 2 {
                let k = kids[*i];
                *i += 1;
                if let Some(c) = k {
                    if !seen[c] {
                        seen[c] = true;
                        stack.push((c, 0));
                    }
                }
            } else {
                post.push(b);
                stack.pop();
            }
        }
        post.reverse();
        let mut new_id = vec![usize::MAX; n];
        for (i, &b) in post.iter().enumerate() {
            new_id[b] = i;
        }
        let mut old: Vec<Option<Block>> = std::mem::take(&mut self.blocks)
            .into_iter()
            .map(Some)
            .collect();
        self.blocks = post
            .iter()
            .map(|&b| {
                let mut blk = old[b].take().expect("each block once");
                for s in blk.term.succs_mut() {
                    *s = new_id[*s];
                }
                blk
            })
            .collect();
    }

    /// The linear program, in block order. A `Goto` to the next block costs
    /// nothing; to a lone `ret` it becomes a copy of that `ret`; otherwise a
    /// `ja`. Conditional jumps too far for 8 bits go through `ja` trampolines
    /// placed right after them.
    pub(crate) fn linearize(&self) -> Vec<Insn> {
        #[derive(Clone, Copy)]
        enum Item {
            Plain(Insn),
            Ja(usize),
            Cond {
                code: u16,
                k: u32,
                jt: usize,
                jf: usize,
                far_t: bool,
                far_f: bool,
            },
        }
        let n = self.blocks.len();
        // Items per block, then positions, iterated while trampolines grow.
        let mut items: Vec<Vec<Item>> = Vec::with_capacity(n);
        for (i, b) in self.blocks.iter().enumerate() {
            let mut v: Vec<Item> = b.stmts.iter().map(|&s| Item::Plain(s)).collect();
            match b.term {
                Term::Ret(r) => v.push(Item::Plain(r)),
                Term::Goto(t) if t == i + 1 => {}
                Term::Goto(t) => match &self.blocks[t] {
                    Block {
                        stmts,
                        term: Term::Ret(r),
                    } if stmts.is_empty() => v.push(Item::Plain(*r)),
                    _ => v.push(Item::Ja(t)),
                },
                Term::Branch { code, k, jt, jf } => v.push(Item::Cond {
                    code,
                    k,
                    jt,
                    jf,
                    far_t: false,
                    far_f: false,
                }),
            }
            items.push(v);
        }
        let size = |it: &Item| match it {
            Item::Cond { far_t, far_f, .. } => 1 + *far_t as usize + *far_f as usize,
            _ => 1,
        };
        loop {
            let mut start = Vec::with_capacity(n);
            let mut pos = 0;
            for v in &items {
                start.push(pos);
                pos += v.iter().map(size).sum::<usize>();
            }
            let mut grew = false;
            for (bi, v) in items.iter_mut().enumerate() {
                let mut p = start[bi];
                for it in v.iter_mut() {
                    if let Item::Cond {
                        jt,
                        jf,
                        far_t,
                        far_f,
                        ..
                    } = it
                    {
                        if !*far_t && start[*jt] - (p + 1) > 255 {
                            *far_t = true;
                            grew = true;
                        }
                        if !*far_f && start[*jf] - (p + 1) > 255 {
                            *far_f = true;
                            grew = true;
                        }
                    }
                    p += size(it);
                }
            }
            if grew {
                continue;
            }
            let mut out = Vec::with_capacity(pos);
            for v in &items {
                for it in v {
                    let here = out.len();
                    match *it {
                        Item::Plain(i) => out.push(i),
                        Item::Ja(t) => {
                            out.push(Insn::stmt(BPF_JMP | BPF_JA, (start[t] - (here + 1)) as u32))
                        }
                        Item::Cond {
                            code,
                            k,
                            jt,
                            jf,
                            far_t,
                            far_f,
                        } => {
                            let next = here + 1;
                            let ot = if far_t { 0 } else { start[jt] - next };
                            let of = if far_f {
                                far_t as usize
                            } else {
                                start[jf] - next
                            };
                            out.push(Insn::jump(code, k, ot as u8, of as u8));
                            let mut tramp = |t: usize| {
                                let at = out.len();
                                out.push(Insn::stmt(
                                    BPF_JMP | BPF_JA,
                                    (start[t] - (at + 1)) as u32,
                                ));
                            };
                            if far_t {
                                tramp(jt);
                            }
                            if far_f {
                                tramp(jf);
                            }
                        }
                    }
                }
            }
            return out;
        }
    }
}
