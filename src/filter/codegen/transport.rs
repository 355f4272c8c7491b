//! Transport layer: TCP/UDP/SCTP ports and port ranges over IPv4 (first
//! fragments only) and IPv6 (fixed header only), and `protochain`.

use super::*;
use crate::filter::ast::Dir;

/// "Any of TCP, UDP, SCTP" for an unqualified `port`.
pub const PROTO_UNDEF: u32 = u32::MAX;

fn port_dir_error(dir: Dir, range: bool) -> String {
    let what = if range { "port ranges" } else { "ports" };
    match dir {
        Dir::Addr1 => format!("'addr1' and 'address1' are not valid qualifiers for {what}"),
        Dir::Addr2 => format!("'addr2' and 'address2' are not valid qualifiers for {what}"),
        Dir::Addr3 => format!("'addr3' and 'address3' are not valid qualifiers for {what}"),
        Dir::Addr4 => format!("'addr4' and 'address4' are not valid qualifiers for {what}"),
        Dir::Ra => format!("'ra' is not a valid qualifier for {what}"),
        Dir::Ta => format!("'ta' is not a valid qualifier for {what}"),
        _ => "syntax error in filter expression".into(),
    }
}

impl Gen {
    /// Port test on the transport header at `rel`: `lo..=hi` (a single
    /// port when equal) in the source and/or destination field.
    fn port_fields(&mut self, rel: OffRel, lo: u32, hi: u32, dir: Dir, range: bool) -> GResult {
        let atom = |g: &mut Gen, off: u32| -> GResult {
            if range {
                let (a, b) = if lo > hi { (hi, lo) } else { (lo, hi) };
                let ge = g.cmp_ge(rel, off, BPF_H, a)?;
                Ok(Pred::and(ge, g.cmp_le(rel, off, BPF_H, b)?))
            } else {
                g.cmp(rel, off, BPF_H, lo)
            }
        };
        match dir {
            Dir::Src => atom(self, 0),
            Dir::Dst => atom(self, 2),
            Dir::And => {
                let a = atom(self, 0)?;
                Ok(Pred::and(a, atom(self, 2)?))
            }
            Dir::Or | Dir::Default => {
                let a = atom(self, 0)?;
                Ok(Pred::or(a, atom(self, 2)?))
            }
            d => Err(port_dir_error(d, range)),
        }
    }

    fn portop4(&mut self, lo: u32, hi: u32, proto: u32, dir: Dir, range: bool) -> GResult {
        let p = self.cmp(OffRel::LinkPl, 9, BPF_B, proto)?;
        let b0 = Pred::and(p, self.ipfrag()?);
        let b1 = self.port_fields(OffRel::TranIpv4, lo, hi, dir, range)?;
        Ok(Pred::and(b0, b1))
    }

    fn portop6(&mut self, lo: u32, hi: u32, proto: u32, dir: Dir, range: bool) -> GResult {
        let b0 = self.cmp(OffRel::LinkPl, 6, BPF_B, proto)?;
        let b1 = self.port_fields(OffRel::TranIpv6, lo, hi, dir, range)?;
        Ok(Pred::and(b0, b1))
    }

    fn ports_any(
        &mut self,
        lo: u32,
        hi: u32,
        proto: u32,
        dir: Dir,
        range: bool,
        v6: bool,
    ) -> GResult {
        let op = |g: &mut Gen, p: u32| {
            if v6 {
                g.portop6(lo, hi, p, dir, range)
            } else {
                g.portop4(lo, hi, p, dir, range)
            }
        };
        let lt = self.linktype(if v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IP })?;
        let b1 = if proto == PROTO_UNDEF {
            let t = op(self, IPPROTO_TCP)?;
            let u = op(self, IPPROTO_UDP)?;
            let s = op(self, IPPROTO_SCTP)?;
            Pred::or(s, Pred::or(t, u))
        } else {
            op(self, proto)?
        };
        Ok(Pred::and(lt, b1))
    }

    pub fn port4(&mut self, port: u32, proto: u32, dir: Dir) -> GResult {
        self.ports_any(port, port, proto, dir, false, false)
    }
    pub fn port6(&mut self, port: u32, proto: u32, dir: Dir) -> GResult {
        self.ports_any(port, port, proto, dir, false, true)
    }

    /// `port N` / `portrange A-B` over IPv6 then IPv4, as libpcap orders them.
    pub fn port_both(&mut self, lo: u32, hi: u32, proto: u32, dir: Dir, range: bool) -> GResult {
        let b4 = self.ports_any(lo, hi, proto, dir, range, false)?;
        let b6 = self.ports_any(lo, hi, proto, dir, range, true)?;
        Ok(Pred::or(b6, b4))
    }

    /// `protochain N`: walk IPv6 extension headers (hop-by-hop,
    /// destination options, routing, fragment) and AH looking for `v`.
    /// Classic BPF has no backward jumps, so the walk is unrolled.
    pub fn protochain(&mut self, v: u32, proto: Proto) -> GResult {
        match proto {
            Proto::Ip | Proto::Ip6 => {}
            Proto::Default => {
                let a = self.protochain(v, Proto::Ip)?;
                let b = self.protochain(v, Proto::Ip6)?;
                return Ok(Pred::or(a, b));
            }
            _ => return Err("bad protocol applied for 'protochain'".into()),
        }
        if self.off_linkpl.reg.is_some() {
            return Err("'protochain' not supported with variable length headers".into());
        }
        self.no_optimize = true;
        let nl = self.off_linkpl.k + self.off_nl;
        let lt = self.linktype(if proto == Proto::Ip {
            ETHERTYPE_IP
        } else {
            ETHERTYPE_IPV6
        })?;
        let r_a = self.alloc_reg()?;
        let r_x = self.alloc_reg()?;
        // State between steps lives in two scratch words: the header type
        // (A) and the offset of the header it describes (X).
        let init = if proto == Proto::Ip {
            vec![
                Insn::stmt(BPF_LD | BPF_B | BPF_ABS, nl + 9),
                Insn::stmt(BPF_ST, r_a),
                Insn::stmt(BPF_LDX | BPF_B | BPF_MSH, nl),
                Insn::stmt(BPF_STX, r_x),
            ]
        } else {
            vec![
                Insn::stmt(BPF_LD | BPF_B | BPF_ABS, nl + 6),
                Insn::stmt(BPF_ST, r_a),
                Insn::stmt(BPF_LDX | BPF_IMM, 40),
                Insn::stmt(BPF_STX, r_x),
            ]
        };
        let keep = |stmts: Vec<Insn>, op: u16, k: u32| {
            Pred::Atom(Box::new(Block {
                stmts,
                jmp: BPF_JMP | op | BPF_K,
                k,
                keep: true,
                rel: false,
            }))
        };
        // `jge #0` holds for every A: a block run for its side effects.
        let always = |stmts: Vec<Insn>| keep(stmts, BPF_JGE, 0);
        let is = |t: u32| keep(vec![Insn::stmt(BPF_LD | BPF_MEM, r_a)], BPF_JEQ, t);
        let advance6 = || {
            always(vec![
                Insn::stmt(BPF_LDX | BPF_MEM, r_x),
                Insn::stmt(BPF_LD | BPF_B | BPF_IND, nl),
                Insn::stmt(BPF_ST, r_a),
                Insn::stmt(BPF_LD | BPF_B | BPF_IND, nl + 1),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, 1),
                Insn::stmt(BPF_ALU | BPF_MUL | BPF_K, 8),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
                Insn::stmt(BPF_ST, r_x),
            ])
        };
        // libpcap's AH step sets the offset to (len + 2) * 4 from the
        // network header rather than advancing it; kept as it does.
        let advance_ah = || {
            always(vec![
                Insn::stmt(BPF_LDX | BPF_MEM, r_x),
                Insn::stmt(BPF_LD | BPF_B | BPF_IND, nl),
                Insn::stmt(BPF_ST, r_a),
                Insn::stmt(BPF_LD | BPF_B | BPF_IND, nl + 1),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, 2),
                Insn::stmt(BPF_ALU | BPF_MUL | BPF_K, 4),
                Insn::stmt(BPF_ST, r_x),
            ])
        };
        // Each step: found → match; "no next header" → no match; an
        // extension header or AH → advance and take the next step; any
        // other type → no match. Built from the last step backwards.
        let mut walk = is(v);
        for _ in 0..PROTOCHAIN_STEPS {
            let ext = if proto == Proto::Ip6 {
                Pred::or(Pred::or(Pred::or(is(0), is(60)), is(43)), is(44))
            } else {
                Pred::False
            };
            let advance = Pred::or(
                Pred::and(ext, advance6()),
                Pred::and(is(IPPROTO_AH), advance_ah()),
            );
            let more = Pred::and(Pred::not(is(59)), Pred::and(advance, walk));
            walk = Pred::or(is(v), more);
        }
        Ok(Pred::and(lt, Pred::and(always(init), walk)))
    }
}

/// Headers `protochain` looks through before giving up.
const PROTOCHAIN_STEPS: usize = 12;
