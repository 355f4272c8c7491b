//! From predicate to classic BPF: lowering to a graph of blocks, jump
//! threading, and layout.
//!
//! Passes, in order:
//!
//! 1. **lower** — a [`Pred`] becomes a DAG of blocks whose true/false
//!    edges end in *accept* or *reject*.
//! 2. **thread** — every block's statements are evaluated symbolically
//!    (value numbers for loads, constants folded), and the facts known on
//!    an edge (earlier tests on the same value, taken on every path to
//!    that edge) decide later tests, which are then jumped over:
//!    `ip and ip6` finds that the second Ethertype test can never hold.
//!    Constant tests (`1 = 2`) are decided the same way.
//! 3. **check** — if *accept* is no longer reachable, the expression
//!    rejects every packet, which libpcap reports as an error.
//! 4. **merge** — identical blocks with identical successors are shared.
//! 5. **emit** — blocks are laid out in topological order (forward jumps
//!    only); a load whose value is already in A or X on every path into
//!    the block is dropped; jumps longer than 255 go through `ja`.
//!
//! Guarantees: the output ends in `ret`, every jump goes forward and
//! fits its field, and it selects exactly the packets the unoptimised
//! predicate selects (a packet rejected by an out-of-bounds load in the
//! predicate is still rejected: blocks are only skipped when an earlier
//! block on every path loaded the same values).

use super::cbpf::*;
use super::codegen::{Block, Pred};
use super::DEFAULT_SNAPLEN;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Target {
    Node(usize),
    Accept,
    Reject,
}

#[derive(Clone, Debug)]
struct Node {
    b: Block,
    jt: Target,
    jf: Target,
}

struct Graph {
    nodes: Vec<Node>,
    root: Target,
}

fn lower(p: &Pred, t: Target, f: Target, nodes: &mut Vec<Node>) -> Target {
    match p {
        Pred::True => t,
        Pred::False => f,
        Pred::Atom(b) => {
            nodes.push(Node {
                b: (**b).clone(),
                jt: t,
                jf: f,
            });
            Target::Node(nodes.len() - 1)
        }
        Pred::Not(x) => lower(x, f, t, nodes),
        Pred::And(a, b) => {
            let bt = lower(b, t, f, nodes);
            lower(a, bt, f, nodes)
        }
        Pred::Or(a, b) => {
            let bt = lower(b, t, f, nodes);
            lower(a, t, bt, nodes)
        }
    }
}

// ---- symbolic values ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum VKey {
    Const(u32),
    Load {
        code: u16,
        k: u32,
        x: u32,
        /// Loaded by a relation block (see `Block::rel`).
        rel: bool,
    },
    Len,
    Msh(u32),
    Alu {
        op: u16,
        a: u32,
        b: u32,
    },
    Neg(u32),
    /// A register or scratch word whose value differs between the paths
    /// into `node`.
    Unknown {
        node: usize,
        reg: u32,
    },
}

#[derive(Default)]
struct Values {
    map: HashMap<VKey, u32>,
    keys: Vec<VKey>,
}

impl Values {
    fn id(&mut self, k: VKey) -> u32 {
        if let Some(&v) = self.map.get(&k) {
            return v;
        }
        let v = self.keys.len() as u32;
        self.keys.push(k);
        self.map.insert(k, v);
        v
    }
    fn konst(&self, v: u32) -> Option<u32> {
        match self.keys[v as usize] {
            VKey::Const(c) => Some(c),
            _ => None,
        }
    }
}

/// Register file: A, X, M[0..16], as value numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    r: [u32; 18],
}

const RA: usize = 16;
const RX: usize = 17;

fn fold_alu(op: u16, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        BPF_ADD => a.wrapping_add(b),
        BPF_SUB => a.wrapping_sub(b),
        BPF_MUL => a.wrapping_mul(b),
        BPF_DIV => a.checked_div(b)?,
        BPF_MOD => a.checked_rem(b)?,
        BPF_AND => a & b,
        BPF_OR => a | b,
        BPF_XOR => a ^ b,
        BPF_LSH => a.checked_shl(b)?,
        BPF_RSH => a.checked_shr(b)?,
        _ => return None,
    })
}

/// Run one statement on the symbolic state. Returns the register it
/// wrote and the new value (for redundant-load detection).
fn step(vals: &mut Values, st: &mut State, s: &Insn, rel: bool) -> Option<(usize, u32)> {
    let c = s.code;
    let (reg, v) = match class(c) {
        BPF_LD | BPF_LDX => {
            let dst = if class(c) == BPF_LD { RA } else { RX };
            let v = match mode(c) {
                BPF_IMM => vals.id(VKey::Const(s.k)),
                BPF_ABS => vals.id(VKey::Load {
                    code: BPF_LD | size(c) | BPF_ABS,
                    k: s.k,
                    x: 0,
                    rel,
                }),
                BPF_IND => vals.id(VKey::Load {
                    code: BPF_LD | size(c) | BPF_IND,
                    k: s.k,
                    x: st.r[RX],
                    rel,
                }),
                BPF_LEN => vals.id(VKey::Len),
                BPF_MEM => st.r[(s.k as usize) & 15],
                BPF_MSH => vals.id(VKey::Msh(s.k)),
                _ => return None,
            };
            (dst, v)
        }
        BPF_ST => ((s.k as usize) & 15, st.r[RA]),
        BPF_STX => ((s.k as usize) & 15, st.r[RX]),
        BPF_ALU => {
            let a = st.r[RA];
            let op = op(c);
            if op == BPF_NEG {
                let v = match vals.konst(a) {
                    Some(k) => vals.id(VKey::Const(k.wrapping_neg())),
                    None => vals.id(VKey::Neg(a)),
                };
                (RA, v)
            } else {
                let b = if src(c) == BPF_X {
                    st.r[RX]
                } else {
                    vals.id(VKey::Const(s.k))
                };
                let folded = match (vals.konst(a), vals.konst(b)) {
                    (Some(x), Some(y)) => fold_alu(op, x, y),
                    _ => None,
                };
                let v = match folded {
                    Some(r) => vals.id(VKey::Const(r)),
                    None => vals.id(VKey::Alu { op, a, b }),
                };
                (RA, v)
            }
        }
        BPF_MISC => {
            if miscop(c) == BPF_TAX {
                (RX, st.r[RA])
            } else {
                (RA, st.r[RX])
            }
        }
        _ => return None,
    };
    st.r[reg] = v;
    Some((reg, v))
}

/// One test: value of A, jump op (`BPF_JEQ`...), value of the operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Test {
    a: u32,
    op: u16,
    b: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Fact {
    t: Test,
    outcome: bool,
}

fn eval_const(op: u16, a: u32, b: u32) -> bool {
    match op {
        BPF_JEQ => a == b,
        BPF_JGT => a > b,
        BPF_JGE => a >= b,
        _ => a & b != 0,
    }
}

/// The outcome of `t` if constants or `facts` decide it. These are
/// libpcap's rules: a repeated test, an equality known true against
/// another constant, or constant operands.
fn decide(vals: &Values, t: &Test, facts: &[Fact]) -> Option<bool> {
    if let (Some(a), Some(b)) = (vals.konst(t.a), vals.konst(t.b)) {
        return Some(eval_const(t.op, a, b));
    }
    for f in facts {
        if f.t.a != t.a || f.t.op != t.op {
            continue;
        }
        if f.t.b == t.b {
            return Some(f.outcome);
        }
        if t.op == BPF_JEQ && f.outcome && vals.konst(f.t.b).is_some() && vals.konst(t.b).is_some()
        {
            return Some(false);
        }
    }
    None
}

struct Analysis {
    order: Vec<usize>,
    entry: HashMap<usize, State>,
    tests: HashMap<usize, Test>,
}

fn reachable_order(g: &Graph) -> Vec<usize> {
    // Nodes only point to nodes created before them, so decreasing index
    // is a topological order; keep the reachable ones.
    let mut seen = vec![false; g.nodes.len()];
    let mut stack = Vec::new();
    if let Target::Node(r) = g.root {
        stack.push(r);
    }
    while let Some(n) = stack.pop() {
        if seen[n] {
            continue;
        }
        seen[n] = true;
        for t in [g.nodes[n].jt, g.nodes[n].jf] {
            if let Target::Node(m) = t {
                stack.push(m);
            }
        }
    }
    (0..g.nodes.len()).rev().filter(|&n| seen[n]).collect()
}

fn analyse(g: &Graph, vals: &mut Values) -> Analysis {
    let order = reachable_order(g);
    let mut exits: HashMap<usize, State> = HashMap::new();
    let mut entry: HashMap<usize, State> = HashMap::new();
    let mut tests = HashMap::new();
    let mut preds: HashMap<usize, Vec<usize>> = HashMap::new();
    for &n in &order {
        for t in [g.nodes[n].jt, g.nodes[n].jf] {
            if let Target::Node(m) = t {
                let v = preds.entry(m).or_default();
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
    }
    for &n in &order {
        let mut st = State { r: [0; 18] };
        let ps = preds.get(&n).cloned().unwrap_or_default();
        for (reg, slot) in st.r.iter_mut().enumerate() {
            let mut common: Option<u32> = None;
            let mut agree = !ps.is_empty();
            for p in &ps {
                let v = exits[p].r[reg];
                match common {
                    None => common = Some(v),
                    Some(c) if c == v => {}
                    Some(_) => agree = false,
                }
            }
            *slot = match (agree, common) {
                (true, Some(v)) => v,
                _ => vals.id(VKey::Unknown {
                    node: n,
                    reg: reg as u32,
                }),
            };
        }
        entry.insert(n, st);
        for s in &g.nodes[n].b.stmts {
            step(vals, &mut st, s, g.nodes[n].b.rel);
        }
        let b = if src(g.nodes[n].b.jmp) == BPF_X {
            st.r[RX]
        } else {
            vals.id(VKey::Const(g.nodes[n].b.k))
        };
        tests.insert(
            n,
            Test {
                a: st.r[RA],
                op: op(g.nodes[n].b.jmp),
                b,
            },
        );
        exits.insert(n, st);
    }
    Analysis {
        order,
        entry,
        tests,
    }
}

const MAX_FACTS: usize = 64;

/// Jump threading to a fixed point. Returns whether anything changed.
fn thread(g: &mut Graph, vals: &mut Values) {
    for _round in 0..64 {
        let an = analyse(g, vals);
        let mut changed = false;
        // Forward: the facts holding on entry to each node (on every path
        // of the current graph).
        let mut incoming: HashMap<usize, Vec<Vec<Fact>>> = HashMap::new();
        let mut facts_in: HashMap<usize, Vec<Fact>> = HashMap::new();
        for &n in &an.order {
            let fin = match incoming.remove(&n) {
                None => Vec::new(),
                Some(lists) => {
                    let mut it = lists.into_iter();
                    let first = it.next().unwrap_or_default();
                    it.fold(first, |acc, l| {
                        let l: std::collections::HashSet<Fact> = l.into_iter().collect();
                        acc.into_iter().filter(|f| l.contains(f)).collect()
                    })
                }
            };
            let t = an.tests[&n];
            for side in [true, false] {
                let target = if side { g.nodes[n].jt } else { g.nodes[n].jf };
                if let Target::Node(m) = target {
                    let mut facts = fin.clone();
                    if facts.len() < MAX_FACTS {
                        facts.push(Fact { t, outcome: side });
                    }
                    incoming.entry(m).or_default().push(facts);
                }
            }
            facts_in.insert(n, fin);
        }
        // Backward: thread each edge past the blocks its facts decide.
        // Successors are done first, so a hop lands on edges already
        // threaded (under fewer facts, hence still valid here).
        for &n in an.order.iter().rev() {
            let fin = &facts_in[&n];
            let t = an.tests[&n];
            for side in [true, false] {
                let mut facts = fin.clone();
                facts.push(Fact { t, outcome: side });
                let mut target = if side { g.nodes[n].jt } else { g.nodes[n].jf };
                let mut hops = 0;
                while let Target::Node(m) = target {
                    if g.nodes[m].b.keep || hops > 64 {
                        break;
                    }
                    // Both ways lead to the same place: libpcap drops
                    // such a block, loads and all.
                    if g.nodes[m].jt == g.nodes[m].jf {
                        target = g.nodes[m].jt;
                        hops += 1;
                        continue;
                    }
                    let mt = an.tests[&m];
                    match decide(vals, &mt, &facts) {
                        Some(o) => {
                            target = if o { g.nodes[m].jt } else { g.nodes[m].jf };
                            if facts.len() < MAX_FACTS {
                                facts.push(Fact { t: mt, outcome: o });
                            }
                            hops += 1;
                        }
                        None => break,
                    }
                }
                let slot = if side {
                    &mut g.nodes[n].jt
                } else {
                    &mut g.nodes[n].jf
                };
                if *slot != target {
                    *slot = target;
                    changed = true;
                }
            }
            // A keep block whose outcome is fixed still runs, but only one
            // edge leaves it.
            if g.nodes[n].b.keep {
                // `jge #0` marks a block run only for its effects (libpcap
                // itself never folds it, so only ours use the shortcut).
                let always = t.op == BPF_JGE && vals.konst(t.b) == Some(0);
                let d = if always {
                    Some(true)
                } else {
                    decide(vals, &t, fin)
                };
                if let Some(o) = d {
                    let to = if o { g.nodes[n].jt } else { g.nodes[n].jf };
                    if g.nodes[n].jt != to || g.nodes[n].jf != to {
                        g.nodes[n].jt = to;
                        g.nodes[n].jf = to;
                        changed = true;
                    }
                }
            }
        }
        // The root itself may be decided by constants.
        while let Target::Node(r) = g.root {
            if g.nodes[r].b.keep {
                break;
            }
            if g.nodes[r].jt == g.nodes[r].jf {
                g.root = g.nodes[r].jt;
                changed = true;
                continue;
            }
            match decide(vals, &an.tests[&r], &[]) {
                Some(o) => {
                    g.root = if o { g.nodes[r].jt } else { g.nodes[r].jf };
                    changed = true;
                }
                None => break,
            }
        }
        if !changed {
            return;
        }
    }
}

/// Send every edge that can no longer reach *accept* straight to
/// *reject*: whatever the skipped blocks do (even reject the packet on a
/// short load) the answer is "no match".
fn prune_dead_ends(g: &mut Graph) {
    let order = reachable_order(g);
    let mut live: HashMap<usize, bool> = HashMap::new();
    let alive = |t: Target, live: &HashMap<usize, bool>| match t {
        Target::Accept => true,
        Target::Reject => false,
        Target::Node(m) => live[&m],
    };
    for &n in order.iter().rev() {
        let l = alive(g.nodes[n].jt, &live) || alive(g.nodes[n].jf, &live);
        live.insert(n, l);
    }
    for &n in &order {
        for side in [true, false] {
            let t = if side { g.nodes[n].jt } else { g.nodes[n].jf };
            if !alive(t, &live) && t != Target::Reject {
                if side {
                    g.nodes[n].jt = Target::Reject;
                } else {
                    g.nodes[n].jf = Target::Reject;
                }
            }
        }
    }
    if !alive(g.root, &live) {
        g.root = Target::Reject;
    }
}

/// Reorder chains of tests that share an exit so that tests of the same
/// value sit together and reuse the loaded value, as libpcap's
/// `or_pullup` does: in `host a or host b` the four address tests become
/// src=a, src=b, dst=a, dst=b. Or-chains (common true target) are
/// reordered; and-chains only when their common false target is
/// *reject*, where an earlier failing load gives the same answer.
fn pullup(g: &mut Graph, vals: &mut Values) {
    let an = analyse(g, vals);
    let mut npreds: HashMap<usize, usize> = HashMap::new();
    for &n in &an.order {
        for t in [g.nodes[n].jt, g.nodes[n].jf] {
            if let Target::Node(m) = t {
                *npreds.entry(m).or_default() += 1;
            }
        }
    }
    let mut done = vec![false; g.nodes.len()];
    for &n in &an.order {
        if done[n] || g.nodes[n].b.keep {
            continue;
        }
        for or in [true, false] {
            let common = if or { g.nodes[n].jt } else { g.nodes[n].jf };
            if !or && common != Target::Reject {
                continue;
            }
            let mut chain = vec![n];
            loop {
                let last = *chain.last().unwrap_or(&n);
                let next = if or {
                    g.nodes[last].jf
                } else {
                    g.nodes[last].jt
                };
                match next {
                    Target::Node(m)
                        if !done[m]
                            && !g.nodes[m].b.keep
                            && npreds.get(&m) == Some(&1)
                            && (if or { g.nodes[m].jt } else { g.nodes[m].jf }) == common
                            && !chain.contains(&m) =>
                    {
                        chain.push(m)
                    }
                    _ => break,
                }
            }
            if chain.len() < 3 {
                continue;
            }
            // Stable grouping by the tested value, in order of first use.
            let keys: Vec<u32> = chain.iter().map(|c| an.tests[c].a).collect();
            let mut first: Vec<u32> = Vec::new();
            for k in &keys {
                if !first.contains(k) {
                    first.push(*k);
                }
            }
            let mut idx: Vec<usize> = (0..chain.len()).collect();
            idx.sort_by_key(|&i| first.iter().position(|k| *k == keys[i]).unwrap_or(0));
            if idx.iter().enumerate().all(|(a, b)| a == *b) {
                continue;
            }
            let blocks: Vec<Block> = idx.iter().map(|&i| g.nodes[chain[i]].b.clone()).collect();
            for (pos, b) in chain.iter().zip(blocks) {
                g.nodes[*pos].b = b;
            }
            for c in &chain {
                done[*c] = true;
            }
            break;
        }
    }
}

/// A block's statements without the loads whose value is already in
/// place on every path into it.
fn trimmed(g: &Graph, an: &Analysis, vals: &mut Values, n: usize) -> Vec<Insn> {
    let mut st = an.entry[&n];
    let mut out = Vec::new();
    for s in &g.nodes[n].b.stmts {
        let before = st;
        if let Some((reg, v)) = step(vals, &mut st, s, g.nodes[n].b.rel) {
            if before.r[reg] == v {
                continue;
            }
        }
        out.push(*s);
    }
    out
}

type TailKey = (Vec<Insn>, u16, u32, bool, Target, Target);

/// Share blocks whose code, once trimmed, and successors are the same
/// (`jgt #1023` ending both the IPv4 and the IPv6 port range). A shared
/// block keeps its trimmed statements, valid on all its paths; the
/// blocks after it are trimmed again from the coarser state.
fn share_tails(g: &mut Graph, vals: &mut Values) {
    for _ in 0..64 {
        let an = analyse(g, vals);
        let mut canon: HashMap<TailKey, usize> = HashMap::new();
        let mut remap: HashMap<usize, usize> = HashMap::new();
        let mut merged = false;
        for &n in an.order.iter().rev() {
            let fix = |t: Target, remap: &HashMap<usize, usize>| match t {
                Target::Node(m) => Target::Node(*remap.get(&m).unwrap_or(&m)),
                t => t,
            };
            let jt = fix(g.nodes[n].jt, &remap);
            let jf = fix(g.nodes[n].jf, &remap);
            g.nodes[n].jt = jt;
            g.nodes[n].jf = jf;
            let stmts = trimmed(g, &an, vals, n);
            let b = &g.nodes[n].b;
            let key = (stmts, b.jmp, b.k, b.keep, jt, jf);
            match canon.get(&key) {
                Some(&c) => {
                    remap.insert(n, c);
                    g.nodes[c].b.stmts = key.0.clone();
                    merged = true;
                }
                None => {
                    canon.insert(key, n);
                }
            }
        }
        if let Target::Node(r) = g.root {
            if let Some(&c) = remap.get(&r) {
                g.root = Target::Node(c);
            }
        }
        if !merged {
            return;
        }
    }
}

enum Item {
    Stmt(Insn),
    /// Conditional jump; targets are node labels.
    Jump {
        code: u16,
        k: u32,
        jt: Target,
        jf: Target,
    },
    Ja(Target),
}

fn emit(g: &Graph, vals: &mut Values) -> Result<Vec<Insn>, String> {
    let an = analyse(g, vals);
    let order = an.order.clone();
    let mut items: Vec<Item> = Vec::new();
    let mut starts: HashMap<usize, usize> = HashMap::new();
    for (i, &n) in order.iter().enumerate() {
        starts.insert(n, items.len());
        for s in trimmed(g, &an, vals, n) {
            items.push(Item::Stmt(s));
        }
        let node = &g.nodes[n];
        if node.jt == node.jf {
            let next = order.get(i + 1).map(|&m| Target::Node(m));
            if next != Some(node.jt) {
                items.push(Item::Ja(node.jt));
            }
        } else if node.b.jmp == BPF_JMP | BPF_JEQ | BPF_K
            && node.b.k == 0
            && matches!(items.last(), Some(Item::Stmt(s)) if s.code == BPF_ALU | BPF_AND | BPF_K)
            && items.len() > starts[&n]
        {
            // `and #m; jeq #0` is `jset #m` with the branches swapped. A is
            // left unmasked, which no later block reads (blocks load
            // before they compute).
            let mask = match items.pop() {
                Some(Item::Stmt(s)) => s.k,
                _ => 0,
            };
            items.push(Item::Jump {
                code: BPF_JMP | BPF_JSET | BPF_K,
                k: mask,
                jt: node.jf,
                jf: node.jt,
            });
        } else {
            items.push(Item::Jump {
                code: node.b.jmp,
                k: node.b.k,
                jt: node.jt,
                jf: node.jf,
            });
        }
    }
    // Resolve; a conditional jump that cannot reach gets a `ja` right
    // after it, repeated until everything fits.
    let mut tramp: HashMap<(usize, bool), ()> = HashMap::new();
    loop {
        // Positions with trampolines inserted.
        let mut pos = Vec::with_capacity(items.len());
        let mut p = 0usize;
        for (i, it) in items.iter().enumerate() {
            pos.push(p);
            p += 1;
            if let Item::Jump { .. } = it {
                p += tramp.contains_key(&(i, true)) as usize
                    + tramp.contains_key(&(i, false)) as usize;
            }
        }
        let end = p;
        let at = |t: Target| -> usize {
            match t {
                Target::Node(n) => pos[starts[&n]],
                Target::Accept => end,
                Target::Reject => end + 1,
            }
        };
        let mut out = Vec::with_capacity(end + 2);
        let mut grew = false;
        for (i, it) in items.iter().enumerate() {
            match it {
                Item::Stmt(s) => out.push(*s),
                Item::Ja(t) => {
                    let off = at(*t) - pos[i] - 1;
                    out.push(Insn::stmt(BPF_JMP | BPF_JA, off as u32));
                }
                Item::Jump { code, k, jt, jf } => {
                    let me = pos[i];
                    let has_t = tramp.contains_key(&(i, true));
                    let has_f = tramp.contains_key(&(i, false));
                    let mut next = me + 1;
                    let t_at = if has_t {
                        next += 1;
                        next - 1
                    } else {
                        at(*jt)
                    };
                    let f_at = if has_f { next } else { at(*jf) };
                    let ot = t_at - me - 1;
                    let of = f_at - me - 1;
                    if ot > 255 {
                        tramp.insert((i, true), ());
                        grew = true;
                    }
                    if of > 255 {
                        tramp.insert((i, false), ());
                        grew = true;
                    }
                    out.push(Insn::new(*code, ot.min(255) as u8, of.min(255) as u8, *k));
                    if has_t {
                        let o = at(*jt) - (me + 1) - 1;
                        out.push(Insn::stmt(BPF_JMP | BPF_JA, o as u32));
                    }
                    if has_f {
                        let o = at(*jf) - (me + 1 + has_t as usize) - 1;
                        out.push(Insn::stmt(BPF_JMP | BPF_JA, o as u32));
                    }
                }
            }
        }
        if grew {
            continue;
        }
        out.push(Insn::stmt(BPF_RET | BPF_K, DEFAULT_SNAPLEN));
        out.push(Insn::stmt(BPF_RET | BPF_K, 0));
        // Drop a trailing `ret #0` nothing jumps to.
        return Ok(trim_rets(out));
    }
}

/// Remove the final `ret #0` when no jump reaches it, and a `ret
/// #262144` before it when nothing reaches that either.
fn trim_rets(mut out: Vec<Insn>) -> Vec<Insn> {
    let reaches = |out: &[Insn], target: usize| -> bool {
        out.iter().enumerate().any(|(i, s)| {
            if class(s.code) != BPF_JMP {
                return false;
            }
            if op(s.code) == BPF_JA {
                return i + 1 + s.k as usize == target;
            }
            i + 1 + s.jt as usize == target || i + 1 + s.jf as usize == target
        })
    };
    let n = out.len();
    // The instruction before `ret #262144` may fall through into it.
    if !reaches(&out, n - 1) {
        out.pop();
    }
    out
}

pub struct Compiled {
    pub prog: Vec<Insn>,
    pub rejects_all: bool,
}

/// Lower, optimise (unless `no_optimize`) and lay out a predicate.
pub fn compile(p: &Pred, optimize: bool) -> Result<Compiled, String> {
    let mut nodes = Vec::new();
    let root = lower(p, Target::Accept, Target::Reject, &mut nodes);
    let mut g = Graph { nodes, root };
    let mut vals = Values::default();
    if optimize {
        thread(&mut g, &mut vals);
        pullup(&mut g, &mut vals);
        thread(&mut g, &mut vals);
    }
    let rejects_all = !accept_reachable(&g);
    prune_dead_ends(&mut g);
    share_tails(&mut g, &mut vals);
    let prog = match g.root {
        Target::Accept => vec![Insn::stmt(BPF_RET | BPF_K, DEFAULT_SNAPLEN)],
        Target::Reject => vec![Insn::stmt(BPF_RET | BPF_K, 0)],
        Target::Node(_) => emit(&g, &mut vals)?,
    };
    Ok(Compiled { prog, rejects_all })
}

fn accept_reachable(g: &Graph) -> bool {
    match g.root {
        Target::Accept => return true,
        Target::Reject => return false,
        Target::Node(_) => {}
    }
    reachable_order(g)
        .iter()
        .any(|&n| g.nodes[n].jt == Target::Accept || g.nodes[n].jf == Target::Accept)
}
