//! Code generation: syntax tree → predicate over classic BPF blocks.
//!
//! # Model
//!
//! A primitive becomes a [`Pred`]: a boolean formula whose leaves are
//! [`Block`]s. A block is a run of straight-line statements that ends in
//! one conditional jump (`jeq`/`jgt`/`jge`/`jset` against `#k` or `x`).
//! Blocks are self-contained: they load what they test and never read A
//! or X left by another block (scratch words written by `vlan`-like
//! encapsulations are the one exception; such blocks are marked `keep`
//! so the optimiser never skips them). `Pred::and(a, b)` means "a, then
//! b if a held", as libpcap's `gen_and`; evaluation order is the order of
//! the text, which matters because an out-of-bounds load rejects the
//! packet.
//!
//! [`crate::filter::graph`] turns the predicate into a graph of blocks
//! with true/false edges ending in `ret #262144` / `ret #0`, threads
//! jumps whose outcome is known, and lays the graph out as cBPF.
//!
//! Offsets are never bare numbers: every load names the layer it is
//! relative to ([`OffRel`]) and the generator's state says where that
//! layer starts, which `vlan`, `mpls`, `pppoes` and `geneve` move for the
//! rest of the expression.
//!
//! # Adding a primitive
//!
//! 1. Parse it into an [`ast::Prim`] (parser.rs).
//! 2. Write `fn gen_xxx(&mut self, ...) -> Result<Pred, String>` in the
//!    file of its layer (`link.rs`, `net.rs`, `transport.rs`, ...), built
//!    from [`Gen::cmp`], [`Gen::mcmp`], [`Gen::linktype`] and friends.
//! 3. Dispatch to it from [`Gen::prim`] or [`Gen::id`] (qual.rs).
//! 4. Add rows to the accept/reject tables in compile.rs's tests.

mod arith;
mod link;
mod net;
mod qual;
mod transport;

use super::ast::{Expr, Prim, Proto};
use super::cbpf::*;

/// A straight-line run of statements ending in one conditional jump.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    pub stmts: Vec<Insn>,
    /// `BPF_JMP | op | src`.
    pub jmp: u16,
    pub k: u32,
    /// Writes scratch words that later blocks read: never skip it.
    pub keep: bool,
    /// The test of an arithmetic relation. libpcap computes those
    /// through scratch memory and `ld [x + k]`, and its optimiser never
    /// relates their values to the plain loads of other primitives, so
    /// neither do we: `ip and ether[12:2] = 0x86dd` is accepted.
    pub rel: bool,
}

#[derive(Clone, Debug)]
pub enum Pred {
    True,
    False,
    Atom(Box<Block>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
    Not(Box<Pred>),
}

impl Pred {
    pub fn atom(stmts: Vec<Insn>, op: u16, k: u32) -> Pred {
        Pred::Atom(Box::new(Block {
            stmts,
            jmp: BPF_JMP | op | BPF_K,
            k,
            keep: false,
            rel: false,
        }))
    }
    pub fn atom_x(stmts: Vec<Insn>, op: u16) -> Pred {
        Pred::Atom(Box::new(Block {
            stmts,
            jmp: BPF_JMP | op | BPF_X,
            k: 0,
            keep: false,
            rel: false,
        }))
    }
    /// `a` then, if it held, `b`. A constant on the left decides without
    /// evaluating `b`; one on the right is kept, because `a` may still
    /// reject the packet through an out-of-bounds load.
    pub fn and(a: Pred, b: Pred) -> Pred {
        match a {
            Pred::True => b,
            Pred::False => Pred::False,
            a => Pred::And(Box::new(a), Box::new(b)),
        }
    }
    pub fn or(a: Pred, b: Pred) -> Pred {
        match a {
            Pred::True => Pred::True,
            Pred::False => b,
            a => Pred::Or(Box::new(a), Box::new(b)),
        }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(a: Pred) -> Pred {
        match a {
            Pred::True => Pred::False,
            Pred::False => Pred::True,
            Pred::Not(x) => *x,
            a => Pred::Not(Box::new(a)),
        }
    }
}

/// The layer a load offset is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffRel {
    /// Start of the link-layer header.
    LinkHdr,
    /// The link-layer type field.
    LinkType,
    /// Network-layer header (link payload plus MPLS labels).
    LinkPl,
    /// Link payload without SNAP (ISO over LLC).
    LinkPlNoSnap,
    /// The 802.2 LLC header (start of the link payload).
    Llc,
    /// The innermost MPLS label seen so far.
    PrevMplsHdr,
    /// Transport header behind IPv4 (variable IP header length).
    TranIpv4,
    /// Transport header behind a fixed 40-byte IPv6 header.
    TranIpv6,
}

/// Where a layer starts: a constant plus, once an encapsulation with a
/// variable-length header was seen, the scratch word holding the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbsOff {
    pub k: u32,
    pub reg: Option<u32>,
}

impl AbsOff {
    const fn at(k: u32) -> AbsOff {
        AbsOff { k, reg: None }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Ether,
    Raw,
    /// PPP inside PPPoE session frames.
    Ppp,
}

/// Generator state: link type and the layer offsets, which encapsulation
/// primitives move for everything after them in the expression.
pub struct Gen {
    pub link: Link,
    pub off_linkhdr: AbsOff,
    pub off_linktype: Option<AbsOff>,
    pub off_linkpl: AbsOff,
    pub off_nl: u32,
    pub off_nl_nosnap: u32,
    pub label_stack_depth: u32,
    pub is_geneve: bool,
    /// Set by primitives whose code the optimiser must not reshape
    /// (libpcap skips its optimiser then, and so its "rejects all
    /// packets" check).
    pub no_optimize: bool,
    /// Scratch words that a branch not taken leaves unwritten but later
    /// primitives read (geneve's offsets): zeroed first, so that the
    /// program passes the kernel's checker and reads what libpcap's
    /// interpreter reads.
    pub zero_regs: Vec<u32>,
    /// Next free scratch word for offsets kept across blocks (allocated
    /// from the top; block-local temporaries use the bottom).
    next_reg: u32,
}

pub const ETHERMTU: u32 = 1500;
pub const ETHERTYPE_IP: u32 = 0x0800;
pub const ETHERTYPE_ARP: u32 = 0x0806;
pub const ETHERTYPE_REVARP: u32 = 0x8035;
pub const ETHERTYPE_IPV6: u32 = 0x86dd;
pub const ETHERTYPE_ATALK: u32 = 0x809b;
pub const ETHERTYPE_AARP: u32 = 0x80f3;
pub const ETHERTYPE_IPX: u32 = 0x8137;
pub const ETHERTYPE_DN: u32 = 0x6003;
pub const ETHERTYPE_LAT: u32 = 0x6004;
pub const ETHERTYPE_SCA: u32 = 0x6007;
pub const ETHERTYPE_MOPDL: u32 = 0x6001;
pub const ETHERTYPE_MOPRC: u32 = 0x6002;
pub const ETHERTYPE_NS: u32 = 0x0600;
pub const ETHERTYPE_8021Q: u32 = 0x8100;
pub const ETHERTYPE_8021AD: u32 = 0x88a8;
pub const ETHERTYPE_8021QINQ: u32 = 0x9100;
pub const ETHERTYPE_MPLS: u32 = 0x8847;
pub const ETHERTYPE_PPPOED: u32 = 0x8863;
pub const ETHERTYPE_PPPOES: u32 = 0x8864;
pub const ETHERTYPE_TEB: u32 = 0x6558;
pub const LLCSAP_ISONS: u32 = 0xfe;
pub const LLCSAP_IP: u32 = 0x06;
pub const LLCSAP_NETBEUI: u32 = 0xf0;
pub const LLCSAP_IPX: u32 = 0xe0;
pub const LLCSAP_8021D: u32 = 0x42;
pub const LLCSAP_SNAP: u32 = 0xaa;
pub const IPPROTO_ICMP: u32 = 1;
pub const IPPROTO_IGMP: u32 = 2;
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;
pub const IPPROTO_IGRP: u32 = 9;
pub const IPPROTO_FRAGMENT: u32 = 44;
pub const IPPROTO_ESP: u32 = 50;
pub const IPPROTO_AH: u32 = 51;
pub const IPPROTO_ICMPV6: u32 = 58;
pub const IPPROTO_PIM: u32 = 103;
pub const IPPROTO_VRRP: u32 = 112;
pub const IPPROTO_SCTP: u32 = 132;
pub const ISO8473_CLNP: u32 = 0x81;
pub const ISO9542_ESIS: u32 = 0x82;
pub const ISO10589_ISIS: u32 = 0x83;

pub type GResult = Result<Pred, String>;

impl Gen {
    pub fn new(linktype: u32) -> Result<Gen, String> {
        let (link, linkhdr, linktype_off, linkpl, nosnap) = match linktype {
            super::DLT_EN10MB => (Link::Ether, 0, Some(12), 14, 3),
            super::DLT_RAW | super::LINKTYPE_RAW => (Link::Raw, 0, None, 0, 0),
            other => {
                return Err(format!(
                    "link type {other} is not supported (only Ethernet and raw IP)"
                ))
            }
        };
        Ok(Gen {
            link,
            off_linkhdr: AbsOff::at(linkhdr),
            off_linktype: linktype_off.map(AbsOff::at),
            off_linkpl: AbsOff::at(linkpl),
            off_nl: 0,
            off_nl_nosnap: nosnap,
            label_stack_depth: 0,
            is_geneve: false,
            no_optimize: false,
            zero_regs: Vec::new(),
            next_reg: BPF_MEMWORDS - 1,
        })
    }

    pub fn link_name(&self) -> &'static str {
        match self.link {
            Link::Ether => "Ethernet",
            Link::Raw => "Raw IP",
            Link::Ppp => "PPP",
        }
    }

    /// A scratch word that keeps its value across blocks.
    pub fn alloc_reg(&mut self) -> Result<u32, String> {
        if self.next_reg < 8 {
            return Err("too many registers needed to evaluate expression".into());
        }
        let r = self.next_reg;
        self.next_reg -= 1;
        Ok(r)
    }

    /// The whole filter: the expression, after zeroing the scratch words
    /// listed in `zero_regs`.
    pub fn filter(&mut self, e: &Expr) -> Result<Pred, super::Error> {
        let p = self.expr(e)?;
        if self.zero_regs.is_empty() {
            return Ok(p);
        }
        let mut stmts = vec![Insn::stmt(BPF_LD | BPF_IMM, 0)];
        for r in &self.zero_regs {
            stmts.push(Insn::stmt(BPF_ST, *r));
        }
        let init = Pred::Atom(Box::new(Block {
            stmts,
            jmp: BPF_JMP | BPF_JGE | BPF_K,
            k: 0,
            keep: true,
            rel: false,
        }));
        Ok(Pred::And(Box::new(init), Box::new(p)))
    }

    pub fn expr(&mut self, e: &Expr) -> Result<Pred, super::Error> {
        match e {
            Expr::And(a, b) => {
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                Ok(Pred::and(a, b))
            }
            Expr::Or(a, b) => {
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                Ok(Pred::or(a, b))
            }
            Expr::Not(a) => Ok(Pred::not(self.expr(a)?)),
            Expr::Prim(p, span) => self
                .prim(p)
                .map_err(|m| super::Error::new(m, Some(span.clone()))),
        }
    }

    fn prim(&mut self, p: &Prim) -> GResult {
        match p {
            Prim::Id(q, v) => self.id(*q, v),
            Prim::ProtoAbbrev(proto) => self.proto_abbrev(*proto),
            Prim::Broadcast(proto) => self.broadcast(*proto),
            Prim::Multicast(proto) => self.multicast(*proto),
            Prim::Less(n) => Ok(Pred::not(Pred::atom(
                vec![Insn::stmt(BPF_LD | BPF_W | BPF_LEN, 0)],
                BPF_JGT,
                *n,
            ))),
            Prim::Greater(n) => Ok(Pred::atom(
                vec![Insn::stmt(BPF_LD | BPF_W | BPF_LEN, 0)],
                BPF_JGE,
                *n,
            )),
            Prim::Byte(idx, op, val) => self.byteop(*idx, *op, *val),
            Prim::Rel {
                op,
                negate,
                lhs,
                rhs,
            } => self.relation(*op, *negate, lhs, rhs),
            Prim::Vlan(n) => self.vlan(*n),
            Prim::Mpls(n) => self.mpls(*n),
            Prim::Pppoed => self.linktype(ETHERTYPE_PPPOED),
            Prim::Pppoes(n) => self.pppoes(*n),
            Prim::Geneve(n) => self.geneve(*n),
            Prim::Llc(sub) => self.llc(sub.as_deref()),
            Prim::Unsupported(msg) => Err((*msg).to_string()),
        }
    }

    fn byteop(&mut self, idx: u32, op: u8, val: u32) -> GResult {
        match op {
            b'=' => self.cmp(OffRel::LinkHdr, idx, BPF_B, val),
            b'<' => Ok(Pred::not(self.ncmp(
                OffRel::LinkHdr,
                idx,
                BPF_B,
                0xffff_ffff,
                BPF_JGE,
                val,
            )?)),
            b'>' => self.ncmp(OffRel::LinkHdr, idx, BPF_B, 0xffff_ffff, BPF_JGT, val),
            _ => {
                // libpcap applies the operation to whatever A holds, which
                // at the start of its block is the byte at `idx`'s load
                // it never emits; we load the byte first.
                let mut s = self.load_a(OffRel::LinkHdr, idx, BPF_B)?;
                let alu = if op == b'|' { BPF_OR } else { BPF_AND };
                s.push(Insn::stmt(BPF_ALU | alu | BPF_K, val));
                Ok(Pred::not(Pred::atom(s, BPF_JEQ, 0)))
            }
        }
    }

    // ---- loads and comparisons ----

    fn abs_load(off: AbsOff, k: u32, size: u16) -> Vec<Insn> {
        match off.reg {
            None => vec![Insn::stmt(BPF_LD | size | BPF_ABS, off.k.wrapping_add(k))],
            Some(r) => vec![
                Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, r),
                Insn::stmt(BPF_LD | size | BPF_IND, off.k.wrapping_add(k)),
            ],
        }
    }

    /// Statements leaving in X the offset of the IPv4 payload relative to
    /// the network layer (`4 * (ihl)`, plus a variable link offset).
    pub fn loadx_iphdrlen(&self) -> Vec<Insn> {
        let nl = self.off_linkpl.k.wrapping_add(self.off_nl);
        match self.off_linkpl.reg {
            None => vec![Insn::stmt(BPF_LDX | BPF_B | BPF_MSH, nl)],
            Some(r) => vec![
                Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, r),
                Insn::stmt(BPF_LD | BPF_B | BPF_IND, nl),
                Insn::stmt(BPF_ALU | BPF_AND | BPF_K, 0xf),
                Insn::stmt(BPF_ALU | BPF_LSH | BPF_K, 2),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
                Insn::stmt(BPF_MISC | BPF_TAX, 0),
            ],
        }
    }

    pub fn load_a(&self, rel: OffRel, off: u32, size: u16) -> Result<Vec<Insn>, String> {
        let pl = self.off_linkpl;
        Ok(match rel {
            OffRel::LinkHdr => Self::abs_load(self.off_linkhdr, off, size),
            OffRel::LinkType => match self.off_linktype {
                Some(lt) => Self::abs_load(lt, off, size),
                None => return Err("link type field not present".into()),
            },
            OffRel::Llc => Self::abs_load(pl, off, size),
            OffRel::LinkPl => Self::abs_load(pl, self.off_nl.wrapping_add(off), size),
            OffRel::LinkPlNoSnap => Self::abs_load(pl, self.off_nl_nosnap.wrapping_add(off), size),
            OffRel::PrevMplsHdr => {
                Self::abs_load(pl, self.off_nl.wrapping_sub(4).wrapping_add(off), size)
            }
            OffRel::TranIpv4 => {
                let mut s = self.loadx_iphdrlen();
                s.push(Insn::stmt(
                    BPF_LD | size | BPF_IND,
                    pl.k.wrapping_add(self.off_nl).wrapping_add(off),
                ));
                s
            }
            OffRel::TranIpv6 => {
                Self::abs_load(pl, self.off_nl.wrapping_add(40).wrapping_add(off), size)
            }
        })
    }

    /// Load, mask, and compare with `jtype`.
    pub fn ncmp(&self, rel: OffRel, off: u32, size: u16, mask: u32, jtype: u16, v: u32) -> GResult {
        if mask == 0 {
            // The masked value is 0 whatever the packet holds.
            // 0 > v never holds; 0 >= v and 0 == v only for v = 0.
            let r = jtype != BPF_JGT && v == 0;
            return Ok(if r { Pred::True } else { Pred::False });
        }
        let mut s = self.load_a(rel, off, size)?;
        if mask != 0xffff_ffff {
            s.push(Insn::stmt(BPF_ALU | BPF_AND | BPF_K, mask));
        }
        Ok(Pred::atom(s, jtype, v))
    }

    pub fn cmp(&self, rel: OffRel, off: u32, size: u16, v: u32) -> GResult {
        self.ncmp(rel, off, size, 0xffff_ffff, BPF_JEQ, v)
    }
    pub fn mcmp(&self, rel: OffRel, off: u32, size: u16, v: u32, mask: u32) -> GResult {
        self.ncmp(rel, off, size, mask, BPF_JEQ, v)
    }
    pub fn cmp_gt(&self, rel: OffRel, off: u32, size: u16, v: u32) -> GResult {
        self.ncmp(rel, off, size, 0xffff_ffff, BPF_JGT, v)
    }
    pub fn cmp_ge(&self, rel: OffRel, off: u32, size: u16, v: u32) -> GResult {
        self.ncmp(rel, off, size, 0xffff_ffff, BPF_JGE, v)
    }
    pub fn cmp_le(&self, rel: OffRel, off: u32, size: u16, v: u32) -> GResult {
        Ok(Pred::not(self.cmp_gt(rel, off, size, v)?))
    }
    pub fn jset(&self, rel: OffRel, off: u32, size: u16, bits: u32) -> GResult {
        Ok(Pred::atom(self.load_a(rel, off, size)?, BPF_JSET, bits))
    }

    /// Compare a byte string, word by word from its end as libpcap does.
    pub fn bcmp(&self, rel: OffRel, off: u32, v: &[u8]) -> GResult {
        let mut size = v.len();
        let mut b: Option<Pred> = None;
        let push = |b: &mut Option<Pred>, p: Pred| {
            *b = Some(match b.take() {
                Some(prev) => Pred::and(prev, p),
                None => p,
            });
        };
        while size >= 4 {
            let w = u32::from_be_bytes([v[size - 4], v[size - 3], v[size - 2], v[size - 1]]);
            push(&mut b, self.cmp(rel, off + size as u32 - 4, BPF_W, w)?);
            size -= 4;
        }
        while size >= 2 {
            let h = u16::from_be_bytes([v[size - 2], v[size - 1]]) as u32;
            push(&mut b, self.cmp(rel, off + size as u32 - 2, BPF_H, h)?);
            size -= 2;
        }
        if size > 0 {
            push(&mut b, self.cmp(rel, off, BPF_B, v[0] as u32)?);
        }
        Ok(b.unwrap_or(Pred::True))
    }
}
