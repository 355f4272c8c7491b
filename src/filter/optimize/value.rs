//! Value numbering: what A, X and each scratch word hold at a program
//! point, as numbers naming symbolic values (a constant, a packet load at
//! an offset, `len`, an ALU result of other values, or an unknown value
//! made where paths with different contents join). Equal numbers mean
//! equal contents on every path, so a load or a move of a value that is
//! already there can go, and constants fold.
//!
//! A [`State`] also carries what is known on the way to a point: the
//! captured length the packet certainly has (every packet load that
//! succeeded proves one) and the outcomes of earlier tests ([`Fact`]).

use super::super::cbpf::*;
use super::Level;
use std::collections::HashMap;

/// A value number.
pub(crate) type Val = u32;

/// Register slots: A, X, then the scratch words.
pub(crate) const A: usize = 0;
pub(crate) const X: usize = 1;
pub(crate) const SLOTS: usize = 2 + BPF_MEMWORDS as usize;

pub(crate) fn mem_slot(k: u32) -> usize {
    2 + k as usize
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Def {
    Const(u32),
    /// `ld{,h,b} [k]`, by size field.
    Abs {
        size: u16,
        k: u32,
    },
    /// `ld{,h,b} [x + k]` with X holding `x`.
    Ind {
        size: u16,
        k: u32,
        x: Val,
    },
    /// `ldxb 4*([k]&0xf)`.
    Msh(u32),
    Len,
    Alu {
        op: u16,
        a: Val,
        b: Val,
    },
    Neg(Val),
    /// Whatever slot `slot` holds on entry to block `block` (paths disagree).
    Join {
        block: usize,
        slot: usize,
    },
    /// A scratch word never written.
    Unset(usize),
}

/// The table of value numbers, shared by all states of one pass.
pub(crate) struct Values {
    defs: Vec<Def>,
    index: HashMap<Def, Val>,
    /// At [`Level::Libpcap`], arithmetic is not folded and loads through X
    /// stay as they are, as in libpcap's branch optimiser.
    pub level: Level,
}

impl Values {
    pub(crate) fn new(level: Level) -> Values {
        Values {
            defs: Vec::new(),
            index: HashMap::new(),
            level,
        }
    }

    pub(crate) fn get(&mut self, d: Def) -> Val {
        let d = match d {
            Def::Alu { op, a, b } if b < a && COMMUTATIVE.contains(&op) => {
                Def::Alu { op, a: b, b: a }
            }
            d => d,
        };
        if let Some(&v) = self.index.get(&d) {
            return v;
        }
        let v = self.defs.len() as Val;
        self.defs.push(d);
        self.index.insert(d, v);
        v
    }
    pub(crate) fn konst(&mut self, c: u32) -> Val {
        self.get(Def::Const(c))
    }
    pub(crate) fn def(&self, v: Val) -> Def {
        self.defs[v as usize]
    }
    pub(crate) fn as_const(&self, v: Val) -> Option<u32> {
        match self.defs[v as usize] {
            Def::Const(c) => Some(c),
            _ => None,
        }
    }
    /// An upper bound of the value, from how it was made.
    pub(crate) fn max(&self, v: Val) -> u32 {
        match self.defs[v as usize] {
            Def::Const(c) => c,
            Def::Abs { size: BPF_B, .. } | Def::Ind { size: BPF_B, .. } => 0xff,
            Def::Abs { size: BPF_H, .. } | Def::Ind { size: BPF_H, .. } => 0xffff,
            Def::Msh(_) => 60,
            Def::Alu { op: BPF_AND, a, b } => self.max(a).min(self.max(b)),
            Def::Alu { op: BPF_RSH, a, b } => match self.as_const(b) {
                Some(s) if s < 32 => self.max(a) >> s,
                _ => self.max(a),
            },
            _ => u32::MAX,
        }
    }
    /// Bits that are certainly zero in the value, from how it was made.
    fn zero_bits(&self, v: Val) -> u32 {
        match self.defs[v as usize] {
            Def::Const(c) => !c,
            Def::Msh(_) => !0x3c,
            Def::Alu { op: BPF_AND, a, b } => self.zero_bits(a) | self.zero_bits(b),
            _ => !mask_up_to(self.max(v)),
        }
    }
}

/// All bits up to the highest set bit of `m`.
fn mask_up_to(m: u32) -> u32 {
    if m == 0 {
        0
    } else {
        u32::MAX >> m.leading_zeros()
    }
}

const COMMUTATIVE: [u16; 5] = [BPF_ADD, BPF_MUL, BPF_AND, BPF_OR, BPF_XOR];

/// The outcome of a conditional jump: the test `op` (`BPF_JEQ`, ...) of the
/// value `a` (A) against `o` (the operand: a constant or X) went `taken`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fact {
    pub op: u16,
    pub a: Val,
    pub o: Val,
    pub taken: bool,
}

/// Facts kept per state; older ones are forgotten beyond this.
const MAX_FACTS: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub regs: [Val; SLOTS],
    /// The packet certainly has at least this many captured bytes.
    pub minlen: u64,
    /// For values `x` loads went through: the packet has at least `x + e`
    /// captured bytes.
    pub reach: Vec<(Val, u64)>,
    pub facts: Vec<Fact>,
}

impl State {
    /// On entry to the program: A and X are zero, scratch words unset.
    pub(crate) fn entry(vals: &mut Values) -> State {
        let zero = vals.konst(0);
        let mut regs = [zero; SLOTS];
        for (s, r) in regs.iter_mut().enumerate().skip(2) {
            *r = vals.get(Def::Unset(s));
        }
        State {
            regs,
            minlen: 0,
            reach: Vec::new(),
            facts: Vec::new(),
        }
    }

    /// What is known on entry to `block` reached from all of `preds`.
    pub(crate) fn meet(vals: &mut Values, block: usize, preds: &[&State]) -> State {
        let mut st = preds[0].clone();
        for p in &preds[1..] {
            for s in 0..SLOTS {
                if st.regs[s] != p.regs[s] {
                    st.regs[s] = vals.get(Def::Join { block, slot: s });
                }
            }
            st.minlen = st.minlen.min(p.minlen);
            st.reach
                .retain_mut(|(x, e)| match p.reach.iter().find(|r| r.0 == *x) {
                    Some(r) => {
                        *e = (*e).min(r.1);
                        true
                    }
                    None => false,
                });
            st.facts.retain(|f| p.facts.contains(f));
        }
        st
    }

    pub(crate) fn learn(&mut self, f: Fact) {
        if !self.facts.contains(&f) {
            if self.facts.len() == MAX_FACTS {
                // Forget the oldest fact that is not an equality: a long
                // run of "not this host" must not push out "is IPv4".
                let old = self
                    .facts
                    .iter()
                    .position(|f| !(f.op == BPF_JEQ && f.taken))
                    .unwrap_or(0);
                self.facts.remove(old);
            }
            self.facts.push(f);
        }
    }
}

/// What one statement does, seen from the state before it.
pub(crate) struct Effect {
    /// The statement to keep (possibly rewritten), or `None` when it
    /// changes nothing and cannot fail.
    pub insn: Option<Insn>,
    /// It may reject the packet (a load past the known length, a division
    /// by a value not known to be non-zero).
    pub may_fail: bool,
}

fn size_bytes(size: u16) -> u64 {
    match size {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    }
}

/// Run `insn` symbolically on `st`, returning the equivalent statement
/// to keep. Each rewrite preserves the exact result for every packet.
pub(crate) fn step(vals: &mut Values, st: &mut State, insn: Insn) -> Effect {
    let keep = |insn: Insn, may_fail: bool| Effect {
        insn: Some(insn),
        may_fail,
    };
    let gone = Effect {
        insn: None,
        may_fail: false,
    };
    // Set a slot, or drop the statement when the value is already there.
    let put = |st: &mut State, slot: usize, v: Val, insn: Insn, may_fail: bool| {
        if st.regs[slot] == v {
            Effect {
                insn: None,
                may_fail: false,
            }
        } else {
            st.regs[slot] = v;
            Effect {
                insn: Some(insn),
                may_fail,
            }
        }
    };
    let code = insn.code;
    let k = insn.k;
    match class(code) {
        BPF_LD | BPF_LDX => {
            let slot = if class(code) == BPF_LD { A } else { X };
            match mode(code) {
                BPF_ABS => abs_load(vals, st, size(code), k),
                BPF_IND => {
                    let x = st.regs[X];
                    match vals.as_const(x) {
                        Some(c)
                            if c as u64 + k as u64 <= u32::MAX as u64
                                && vals.level == Level::Full =>
                        {
                            abs_load(vals, st, size(code), c + k)
                        }
                        _ => {
                            let v = vals.get(Def::Ind {
                                size: size(code),
                                k,
                                x,
                            });
                            let end = k as u64 + size_bytes(size(code));
                            let known = st.reach.iter().position(|r| r.0 == x);
                            let may_fail = known.map_or(true, |i| st.reach[i].1 < end);
                            let e = put(st, A, v, insn, may_fail);
                            match known {
                                Some(i) => st.reach[i].1 = st.reach[i].1.max(end),
                                None => st.reach.push((x, end)),
                            }
                            st.minlen = st.minlen.max(end);
                            e
                        }
                    }
                }
                BPF_MSH => {
                    let end = k as u64 + 1;
                    let may_fail = end > st.minlen;
                    let v = vals.get(Def::Msh(k));
                    let e = put(st, X, v, insn, may_fail);
                    st.minlen = st.minlen.max(end);
                    e
                }
                BPF_LEN => {
                    let v = vals.get(Def::Len);
                    put(st, slot, v, insn, false)
                }
                BPF_IMM => {
                    let v = vals.konst(k);
                    put(st, slot, v, insn, false)
                }
                _ => {
                    // BPF_MEM
                    let v = st.regs[mem_slot(k)];
                    let other = if slot == A { X } else { A };
                    let new = if let Some(c) = vals.as_const(v) {
                        Insn::stmt(class(code) | BPF_IMM, c)
                    } else if st.regs[other] == v {
                        Insn::stmt(BPF_MISC | if slot == A { BPF_TXA } else { BPF_TAX }, 0)
                    } else {
                        insn
                    };
                    put(st, slot, v, new, false)
                }
            }
        }
        BPF_ST | BPF_STX => {
            let v = st.regs[if class(code) == BPF_ST { A } else { X }];
            put(st, mem_slot(k), v, insn, false)
        }
        BPF_MISC => {
            let (from, to) = if miscop(code) == BPF_TAX {
                (A, X)
            } else {
                (X, A)
            };
            let v = st.regs[from];
            let new = match vals.as_const(v) {
                Some(c) => Insn::stmt(if to == X { BPF_LDX } else { BPF_LD } | BPF_IMM, c),
                None => insn,
            };
            put(st, to, v, new, false)
        }
        BPF_ALU => alu(vals, st, insn).unwrap_or(gone),
        _ => keep(insn, false),
    }
}

fn abs_load(vals: &mut Values, st: &mut State, size: u16, k: u32) -> Effect {
    let end = k as u64 + size_bytes(size);
    let v = vals.get(Def::Abs { size, k });
    let insn = Insn::stmt(BPF_LD | size | BPF_ABS, k);
    let e = if st.regs[A] == v {
        Effect {
            insn: None,
            may_fail: false,
        }
    } else {
        st.regs[A] = v;
        Effect {
            insn: Some(insn),
            may_fail: end > st.minlen,
        }
    };
    st.minlen = st.minlen.max(end);
    e
}

/// Constant result of `a op b`, `None` when it would reject the packet.
pub(crate) fn fold(op: u16, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        BPF_ADD => a.wrapping_add(b),
        BPF_SUB => a.wrapping_sub(b),
        BPF_MUL => a.wrapping_mul(b),
        BPF_DIV => a.checked_div(b)?,
        BPF_MOD => a.checked_rem(b)?,
        BPF_AND => a & b,
        BPF_OR => a | b,
        BPF_XOR => a ^ b,
        BPF_LSH => a.checked_shl(b).unwrap_or(0),
        BPF_RSH => a.checked_shr(b).unwrap_or(0),
        _ => return None,
    })
}

/// ALU statements; `None` means the statement changes nothing.
fn alu(vals: &mut Values, st: &mut State, insn: Insn) -> Option<Effect> {
    let aval = st.regs[A];
    let ac = vals.as_const(aval);
    let set_const = |vals: &mut Values, st: &mut State, c: u32| {
        let v = vals.konst(c);
        if st.regs[A] == v {
            None
        } else {
            st.regs[A] = v;
            Some(Effect {
                insn: Some(Insn::stmt(BPF_LD | BPF_IMM, c)),
                may_fail: false,
            })
        }
    };
    let o = op(insn.code);
    if vals.level == Level::Libpcap {
        let b = if src(insn.code) == BPF_X {
            st.regs[X]
        } else {
            vals.konst(insn.k)
        };
        let may_fail = matches!(o, BPF_DIV | BPF_MOD) && vals.as_const(b).map_or(true, |b| b == 0);
        st.regs[A] = if o == BPF_NEG {
            vals.get(Def::Neg(aval))
        } else {
            vals.get(Def::Alu { op: o, a: aval, b })
        };
        return Some(Effect {
            insn: Some(insn),
            may_fail,
        });
    }
    if o == BPF_NEG {
        if let Some(c) = ac {
            return set_const(vals, st, c.wrapping_neg());
        }
        st.regs[A] = vals.get(Def::Neg(aval));
        return Some(Effect {
            insn: Some(insn),
            may_fail: false,
        });
    }
    let (bval, mut insn) = if src(insn.code) == BPF_X {
        (st.regs[X], insn)
    } else {
        (vals.konst(insn.k), insn)
    };
    let bc = vals.as_const(bval);
    if let (Some(a), Some(b)) = (ac, bc) {
        if let Some(r) = fold(o, a, b) {
            return set_const(vals, st, r);
        }
    }
    if let Some(b) = bc {
        // Operand known: use the immediate form where the kernel allows it.
        let shift_ok = !matches!(o, BPF_LSH | BPF_RSH) || b < 32;
        let div_ok = !matches!(o, BPF_DIV | BPF_MOD) || b != 0;
        if shift_ok && div_ok {
            insn = Insn::stmt(BPF_ALU | o | BPF_K, b);
            match (o, b) {
                (BPF_ADD | BPF_SUB | BPF_OR | BPF_XOR | BPF_LSH | BPF_RSH, 0)
                | (BPF_MUL | BPF_DIV, 1)
                | (BPF_AND, u32::MAX) => return None,
                (BPF_MUL | BPF_AND, 0) => return set_const(vals, st, 0),
                (BPF_OR, u32::MAX) => return set_const(vals, st, u32::MAX),
                _ => {}
            }
        }
    }
    if ac == Some(0) && src(insn.code) == BPF_X {
        match o {
            BPF_ADD | BPF_OR | BPF_XOR => {
                st.regs[A] = bval;
                return Some(Effect {
                    insn: Some(Insn::stmt(BPF_MISC | BPF_TXA, 0)),
                    may_fail: false,
                });
            }
            BPF_MUL | BPF_AND | BPF_LSH | BPF_RSH => return None,
            _ => {}
        }
    }
    let may_fail = matches!(o, BPF_DIV | BPF_MOD) && bc.map_or(true, |b| b == 0);
    st.regs[A] = vals.get(Def::Alu {
        op: o,
        a: aval,
        b: bval,
    });
    Some(Effect {
        insn: Some(insn),
        may_fail,
    })
}

/// Whether a test `op_` (`BPF_JEQ`, ...) of `a` against `o` is decided by what
/// `st` knows, at the strength `level` allows.
pub(crate) fn decide(
    vals: &Values,
    st: &State,
    level: Level,
    op_: u16,
    a: Val,
    o: Val,
) -> Option<bool> {
    let test = |x: u32, y: u32| match op_ {
        BPF_JEQ => x == y,
        BPF_JGT => x > y,
        BPF_JGE => x >= y,
        _ => x & y != 0,
    };
    let oc = vals.as_const(o);
    if let (Some(x), Some(y)) = (vals.as_const(a), oc) {
        return Some(test(x, y));
    }
    if op_ == BPF_JSET && oc == Some(0) {
        return Some(false);
    }
    if level == Level::Full && a == o {
        match op_ {
            BPF_JEQ | BPF_JGE => return Some(true),
            BPF_JGT => return Some(false),
            _ => {}
        }
    }
    for f in &st.facts {
        if f.a != a {
            continue;
        }
        if f.op == op_ && f.o == o {
            return Some(f.taken);
        }
        // A value equal to one constant is unequal to any other.
        if f.op == BPF_JEQ
            && f.taken
            && op_ == BPF_JEQ
            && oc.is_some()
            && vals.as_const(f.o).is_some()
        {
            return Some(false);
        }
    }
    if level == Level::Libpcap {
        return None;
    }
    let c = oc?;
    let r = Range::of(vals, st, a);
    match op_ {
        BPF_JEQ => {
            if r.lo == r.hi {
                return Some(r.lo == c);
            }
            if c < r.lo || c > r.hi || c & r.zeros != 0 || !c & r.ones != 0 || r.ne.contains(&c) {
                return Some(false);
            }
        }
        BPF_JGT => {
            if r.lo > c {
                return Some(true);
            }
            if r.hi <= c {
                return Some(false);
            }
        }
        BPF_JGE => {
            if r.lo >= c {
                return Some(true);
            }
            if r.hi < c {
                return Some(false);
            }
        }
        _ => {
            if c & r.ones != 0 {
                return Some(true);
            }
            if c & !r.zeros == 0 {
                return Some(false);
            }
        }
    }
    None
}

/// What the facts and the value's making say about its possible values.
struct Range {
    lo: u32,
    hi: u32,
    ones: u32,
    zeros: u32,
    ne: Vec<u32>,
}

impl Range {
    fn of(vals: &Values, st: &State, a: Val) -> Range {
        let mut r = Range {
            lo: 0,
            hi: vals.max(a),
            ones: 0,
            zeros: vals.zero_bits(a),
            ne: Vec::new(),
        };
        for f in st.facts.iter().filter(|f| f.a == a) {
            let Some(c) = vals.as_const(f.o) else {
                continue;
            };
            match (f.op, f.taken) {
                (BPF_JEQ, true) => {
                    r.lo = r.lo.max(c);
                    r.hi = r.hi.min(c);
                }
                (BPF_JEQ, false) => r.ne.push(c),
                (BPF_JGT, true) => r.lo = r.lo.max(c.saturating_add(1)),
                (BPF_JGT, false) => r.hi = r.hi.min(c),
                (BPF_JGE, true) => r.lo = r.lo.max(c),
                (BPF_JGE, false) => r.hi = r.hi.min(c.saturating_sub(1)),
                (BPF_JSET, true) if c.count_ones() == 1 => r.ones |= c,
                (BPF_JSET, false) => r.zeros |= c,
                _ => {}
            }
        }
        r
    }
}
