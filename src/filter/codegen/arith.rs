//! Arithmetic and relations: `proto[expr:size]`, `len`, numbers and the
//! ALU operators, compared with `= != < <= > >=`.
//!
//! An expression compiles to straight-line code leaving its value in A
//! (constants fold at compile time and become `#k` operands); the
//! protocol tests a load implies (`tcp[...]` needs an IPv4 first fragment
//! carrying TCP) are collected and run before the relation's block.

use super::*;
use crate::filter::ast::{Arith, ArithOp, RelOp};

enum Val {
    Const(u32),
    Code(Vec<Insn>),
}

struct Ctx {
    /// Protocol tests implied by loads. Like libpcap, an operator keeps
    /// only its left operand's tests (`ip[0] + tcp[0]` checks only IP).
    conds: Vec<Pred>,
    /// Next block-local scratch word.
    temp: u32,
    limit: u32,
}

fn alu_code(op: ArithOp) -> u16 {
    match op {
        ArithOp::Add => BPF_ADD,
        ArithOp::Sub => BPF_SUB,
        ArithOp::Mul => BPF_MUL,
        ArithOp::Div => BPF_DIV,
        ArithOp::Mod => BPF_MOD,
        ArithOp::And => BPF_AND,
        ArithOp::Or => BPF_OR,
        ArithOp::Xor => BPF_XOR,
        ArithOp::Lsh => BPF_LSH,
        ArithOp::Rsh => BPF_RSH,
    }
}

fn fold(op: ArithOp, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        ArithOp::Add => a.wrapping_add(b),
        ArithOp::Sub => a.wrapping_sub(b),
        ArithOp::Mul => a.wrapping_mul(b),
        ArithOp::Div => a.checked_div(b)?,
        ArithOp::Mod => a.checked_rem(b)?,
        ArithOp::And => a & b,
        ArithOp::Or => a | b,
        ArithOp::Xor => a ^ b,
        ArithOp::Lsh => a.checked_shl(b)?,
        ArithOp::Rsh => a.checked_shr(b)?,
    })
}

/// The constant libpcap's code for `a` starts with, if it starts by
/// loading one: its compile-time division and shift checks look only at
/// that first statement.
fn first_imm(a: &Arith) -> Option<u32> {
    match a {
        Arith::Num(n) => Some(*n),
        Arith::Len => None,
        Arith::Load { index, .. } => first_imm(index),
        Arith::Bin(_, l, _, _) => first_imm(l),
        Arith::Neg(x) => first_imm(x),
    }
}

impl Val {
    fn into_code(self) -> Vec<Insn> {
        match self {
            Val::Const(k) => vec![Insn::stmt(BPF_LD | BPF_IMM, k)],
            Val::Code(c) => c,
        }
    }
}

impl Gen {
    fn arith(&mut self, a: &Arith, cx: &mut Ctx) -> Result<Val, String> {
        match a {
            Arith::Num(n) => Ok(Val::Const(*n)),
            Arith::Len => Ok(Val::Code(vec![Insn::stmt(BPF_LD | BPF_W | BPF_LEN, 0)])),
            Arith::Neg(x) => Ok(match self.arith(x, cx)? {
                Val::Const(k) => Val::Const(k.wrapping_neg()),
                Val::Code(mut c) => {
                    c.push(Insn::stmt(BPF_ALU | BPF_NEG, 0));
                    Val::Code(c)
                }
            }),
            Arith::Bin(op, l, r, _) => {
                match (op, first_imm(r)) {
                    (ArithOp::Div, Some(0)) => return Err("division by zero".into()),
                    (ArithOp::Mod, Some(0)) => return Err("modulus by zero".into()),
                    (ArithOp::Lsh | ArithOp::Rsh, Some(k)) if k > 31 => {
                        return Err("shift by more than 31 bits".into())
                    }
                    _ => {}
                }
                let lv = self.arith(l, cx)?;
                let keep_conds = cx.conds.len();
                let rv = self.arith(r, cx)?;
                cx.conds.truncate(keep_conds);
                // libpcap's optimiser refuses a divisor it can fold to 0.
                if let Val::Const(0) = rv {
                    match op {
                        ArithOp::Div => return Err("division by zero".into()),
                        ArithOp::Mod => return Err("modulus by zero".into()),
                        _ => {}
                    }
                }
                let code = alu_code(*op);
                match (lv, rv) {
                    (Val::Const(a), Val::Const(b)) => match fold(*op, a, b) {
                        Some(v) => Ok(Val::Const(v)),
                        None => {
                            let mut c = vec![Insn::stmt(BPF_LD | BPF_IMM, a)];
                            c.push(Insn::stmt(BPF_ALU | code | BPF_K, b));
                            Ok(Val::Code(c))
                        }
                    },
                    // libpcap's identities: x*0 and x&0 are 0 (the
                    // loads of x vanish), x+0, x-0, x|0, x^0, x<<0, x>>0
                    // are x.
                    (Val::Code(_), Val::Const(0)) if matches!(op, ArithOp::Mul | ArithOp::And) => {
                        Ok(Val::Const(0))
                    }
                    (lv @ Val::Code(_), Val::Const(0))
                        if matches!(
                            op,
                            ArithOp::Add
                                | ArithOp::Sub
                                | ArithOp::Or
                                | ArithOp::Xor
                                | ArithOp::Lsh
                                | ArithOp::Rsh
                        ) =>
                    {
                        Ok(lv)
                    }
                    (lv, Val::Const(b)) => {
                        let mut c = lv.into_code();
                        c.push(Insn::stmt(BPF_ALU | code | BPF_K, b));
                        Ok(Val::Code(c))
                    }
                    (lv, Val::Code(rc)) => {
                        let t = self.temp(cx)?;
                        let mut c = rc;
                        c.push(Insn::stmt(BPF_ST, t));
                        c.extend(lv.into_code());
                        c.push(Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, t));
                        c.push(Insn::stmt(BPF_ALU | code | BPF_X, 0));
                        cx.temp -= 1;
                        Ok(Val::Code(c))
                    }
                }
            }
            Arith::Load {
                proto, index, size, ..
            } => self.load(*proto, index, *size, cx),
        }
    }

    fn temp(&mut self, cx: &mut Ctx) -> Result<u32, String> {
        if cx.temp >= cx.limit {
            return Err("too many registers needed to evaluate expression".into());
        }
        cx.temp += 1;
        Ok(cx.temp - 1)
    }

    fn load(
        &mut self,
        proto: Proto,
        index: &Arith,
        size: u32,
        cx: &mut Ctx,
    ) -> Result<Val, String> {
        let sz = match size {
            1 => BPF_B,
            2 => BPF_H,
            4 => BPF_W,
            _ => return Err("data size must be 1, 2, or 4".into()),
        };
        let mark = cx.conds.len();
        let idx = self.arith(index, cx)?;
        // Index into X plus a layer base that may be variable.
        let indexed = |base: AbsOff, k: u32, idx: Val| -> Vec<Insn> {
            match (idx, base.reg) {
                (Val::Const(c), None) => vec![Insn::stmt(
                    BPF_LD | sz | BPF_ABS,
                    base.k.wrapping_add(k).wrapping_add(c),
                )],
                (Val::Const(c), Some(r)) => vec![
                    Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, r),
                    Insn::stmt(
                        BPF_LD | sz | BPF_IND,
                        base.k.wrapping_add(k).wrapping_add(c),
                    ),
                ],
                (Val::Code(mut c), None) => {
                    c.push(Insn::stmt(BPF_MISC | BPF_TAX, 0));
                    c.push(Insn::stmt(BPF_LD | sz | BPF_IND, base.k.wrapping_add(k)));
                    c
                }
                (Val::Code(mut c), Some(r)) => {
                    c.push(Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, r));
                    c.push(Insn::stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
                    c.push(Insn::stmt(BPF_MISC | BPF_TAX, 0));
                    c.push(Insn::stmt(BPF_LD | sz | BPF_IND, base.k.wrapping_add(k)));
                    c
                }
            }
        };
        match proto {
            Proto::Radio => Err("radio information not present in capture".into()),
            Proto::Link => Ok(Val::Code(indexed(self.off_linkhdr, 0, idx))),
            Proto::Ip
            | Proto::Arp
            | Proto::Rarp
            | Proto::Atalk
            | Proto::Decnet
            | Proto::Sca
            | Proto::Lat
            | Proto::Moprc
            | Proto::Mopdl
            | Proto::Ip6 => {
                let code = indexed(self.off_linkpl, self.off_nl, idx);
                let inner = cx.conds.split_off(mark);
                let mut b = self.proto_abbrev(proto)?;
                if let Some(ic) = and_all(inner) {
                    b = Pred::and(ic, b);
                }
                cx.conds.push(b);
                Ok(Val::Code(code))
            }
            Proto::Sctp
            | Proto::Tcp
            | Proto::Udp
            | Proto::Icmp
            | Proto::Igmp
            | Proto::Igrp
            | Proto::Pim
            | Proto::Vrrp
            | Proto::Carp => {
                let base = self.off_linkpl.k.wrapping_add(self.off_nl);
                let mut code = Vec::new();
                match idx {
                    Val::Const(c) => {
                        code.extend(self.loadx_iphdrlen());
                        code.push(Insn::stmt(BPF_LD | sz | BPF_IND, base.wrapping_add(c)));
                    }
                    Val::Code(c) => {
                        let t = self.temp(cx)?;
                        code.extend(c);
                        code.push(Insn::stmt(BPF_ST, t));
                        code.extend(self.loadx_iphdrlen());
                        code.push(Insn::stmt(BPF_LD | BPF_MEM, t));
                        code.push(Insn::stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
                        code.push(Insn::stmt(BPF_MISC | BPF_TAX, 0));
                        code.push(Insn::stmt(BPF_LD | sz | BPF_IND, base));
                        cx.temp -= 1;
                    }
                }
                // ip, then whatever the index needed, then the protocol
                // and "first fragment".
                let p = self.proto_abbrev(proto)?;
                let frag = self.ipfrag()?;
                let inner = cx.conds.split_off(mark);
                let mut b = Pred::and(p, frag);
                if let Some(ic) = and_all(inner) {
                    b = Pred::and(ic, b);
                }
                let ip = self.proto_abbrev(Proto::Ip)?;
                cx.conds.push(Pred::and(ip, b));
                Ok(Val::Code(code))
            }
            Proto::Icmp6 => {
                let ip6 = self.proto_abbrev(Proto::Ip6)?;
                let inner = cx.conds.split_off(mark);
                let mut b = ip6;
                if let Some(ic) = and_all(inner) {
                    b = Pred::and(ic, b);
                }
                b = Pred::and(b, self.cmp(OffRel::LinkPl, 6, BPF_B, IPPROTO_ICMPV6)?);
                cx.conds.push(b);
                Ok(Val::Code(indexed(self.off_linkpl, self.off_nl + 40, idx)))
            }
            _ => Err("unsupported index operation".into()),
        }
    }

    pub fn relation(&mut self, op: RelOp, negate: bool, lhs: &Arith, rhs: &Arith) -> GResult {
        let mut cx = Ctx {
            conds: Vec::new(),
            temp: 0,
            limit: self.next_reg + 1,
        };
        let l = self.arith(lhs, &mut cx)?;
        let lconds = std::mem::take(&mut cx.conds);
        let r = self.arith(rhs, &mut cx)?;
        let rconds = std::mem::take(&mut cx.conds);
        let jop = match op {
            RelOp::Gt => BPF_JGT,
            RelOp::Ge => BPF_JGE,
            RelOp::Eq => BPF_JEQ,
        };
        let test = match (l, r) {
            (l, Val::Const(k)) => Pred::atom(l.into_code(), jop, k),
            (Val::Const(k), Val::Code(rc)) => match op {
                RelOp::Eq => Pred::atom(rc, BPF_JEQ, k),
                // k > r  ⇔  !(r >= k);  k >= r  ⇔  !(r > k)
                RelOp::Gt => Pred::not(Pred::atom(rc, BPF_JGE, k)),
                RelOp::Ge => Pred::not(Pred::atom(rc, BPF_JGT, k)),
            },
            (Val::Code(lc), Val::Code(rc)) => {
                let t = self.temp(&mut cx)?;
                let mut c = rc;
                c.push(Insn::stmt(BPF_ST, t));
                c.extend(lc);
                c.push(Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, t));
                Pred::atom_x(c, jop)
            }
        };
        let test = mark_rel(test);
        let test = if negate { Pred::not(test) } else { test };
        let mut conds = lconds;
        conds.extend(rconds);
        Ok(match and_all(conds) {
            Some(c) => Pred::and(c, test),
            None => test,
        })
    }
}

fn and_all(v: Vec<Pred>) -> Option<Pred> {
    let mut it = v.into_iter();
    let first = it.next()?;
    Some(it.fold(first, Pred::and))
}

fn mark_rel(p: Pred) -> Pred {
    match p {
        Pred::Atom(mut b) => {
            b.rel = true;
            Pred::Atom(b)
        }
        Pred::Not(x) => Pred::not(mark_rel(*x)),
        other => other,
    }
}
