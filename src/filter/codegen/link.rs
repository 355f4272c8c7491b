//! Link layer: the type field (Ethernet II, 802.3/LLC/SNAP, raw IP, PPP
//! in PPPoE, behind MPLS), MAC addresses, and the encapsulations that move
//! later offsets (`vlan`, `mpls`, `pppoes`, `geneve`).

use super::*;
use crate::filter::ast::Dir;

const PPP_IP: u32 = 0x21;
const PPP_IPV6: u32 = 0x57;
const PPP_DECNET: u32 = 0x27;
const PPP_APPLE: u32 = 0x29;
const PPP_NS: u32 = 0x25;
const PPP_OSI: u32 = 0x23;
const PPP_BRPDU: u32 = 0x31;
const PPP_IPX: u32 = 0x2b;
const PPP_MPLS_UCAST: u32 = 0x0281;

fn ethertype_to_ppptype(p: u32) -> u32 {
    match p {
        ETHERTYPE_IP => PPP_IP,
        ETHERTYPE_IPV6 => PPP_IPV6,
        ETHERTYPE_DN => PPP_DECNET,
        ETHERTYPE_ATALK => PPP_APPLE,
        ETHERTYPE_NS => PPP_NS,
        LLCSAP_ISONS => PPP_OSI,
        LLCSAP_8021D => PPP_BRPDU,
        LLCSAP_IPX => PPP_IPX,
        other => other,
    }
}

/// 802.2 LLC control-field values and masks.
const LLC_S_FMT: u32 = 1;
const LLC_U_FMT: u32 = 3;
const LLC_S_CMD_MASK: u32 = 0x0f;
const LLC_U_CMD_MASK: u32 = 0xef;
const LLC_S_SUBTYPES: &[(&str, u32)] = &[("rr", 0x01), ("rnr", 0x05), ("rej", 0x09)];
const LLC_U_SUBTYPES: &[(&str, u32)] = &[
    ("ui", 0x03),
    ("ua", 0x63),
    ("disc", 0x43),
    ("dm", 0x0f),
    ("sabme", 0x6f),
    ("test", 0xe3),
    ("xid", 0xaf),
    ("frmr", 0x87),
];

impl Gen {
    /// "The link layer carries `ll_proto`" (an Ethertype, or an LLC SAP
    /// for values up to 1500).
    pub fn linktype(&mut self, ll_proto: u32) -> GResult {
        if self.label_stack_depth > 0 {
            return self.mpls_linktype(ll_proto);
        }
        match self.link {
            Link::Ether => self.ether_linktype(ll_proto),
            Link::Raw => match ll_proto {
                ETHERTYPE_IP => self.mcmp(OffRel::LinkHdr, 0, BPF_B, 0x40, 0xf0),
                ETHERTYPE_IPV6 => self.mcmp(OffRel::LinkHdr, 0, BPF_B, 0x60, 0xf0),
                _ => Ok(Pred::False),
            },
            Link::Ppp => self.cmp(OffRel::LinkType, 0, BPF_H, ethertype_to_ppptype(ll_proto)),
        }
    }

    fn not_above_mtu(&self) -> GResult {
        Ok(Pred::not(self.cmp_gt(
            OffRel::LinkType,
            0,
            BPF_H,
            ETHERMTU,
        )?))
    }

    fn snap(&self, orgcode: u32, ptype: u32) -> GResult {
        let v = [
            LLCSAP_SNAP as u8,
            LLCSAP_SNAP as u8,
            0x03,
            (orgcode >> 16) as u8,
            (orgcode >> 8) as u8,
            orgcode as u8,
            (ptype >> 8) as u8,
            ptype as u8,
        ];
        self.bcmp(OffRel::Llc, 0, &v)
    }

    fn ether_linktype(&mut self, ll_proto: u32) -> GResult {
        match ll_proto {
            LLCSAP_ISONS | LLCSAP_IP | LLCSAP_NETBEUI => Ok(Pred::and(
                self.not_above_mtu()?,
                self.cmp(OffRel::Llc, 0, BPF_H, (ll_proto << 8) | ll_proto)?,
            )),
            LLCSAP_IPX => {
                let mut b1 = Pred::or(
                    self.cmp(OffRel::Llc, 0, BPF_B, LLCSAP_IPX)?,
                    self.cmp(OffRel::Llc, 0, BPF_H, 0xffff)?,
                );
                b1 = Pred::or(self.snap(0, ETHERTYPE_IPX)?, b1);
                b1 = Pred::and(self.not_above_mtu()?, b1);
                Ok(Pred::or(
                    self.cmp(OffRel::LinkType, 0, BPF_H, ETHERTYPE_IPX)?,
                    b1,
                ))
            }
            ETHERTYPE_ATALK | ETHERTYPE_AARP => {
                let snap = if ll_proto == ETHERTYPE_ATALK {
                    self.snap(0x080007, ETHERTYPE_ATALK)?
                } else {
                    self.snap(0, ETHERTYPE_AARP)?
                };
                let b1 = Pred::and(self.not_above_mtu()?, snap);
                Ok(Pred::or(
                    self.cmp(OffRel::LinkType, 0, BPF_H, ll_proto)?,
                    b1,
                ))
            }
            p if p <= ETHERMTU => Ok(Pred::and(
                self.not_above_mtu()?,
                self.cmp(OffRel::LinkType, 2, BPF_B, p)?,
            )),
            p => self.cmp(OffRel::LinkType, 0, BPF_H, p),
        }
    }

    fn mpls_linktype(&mut self, ll_proto: u32) -> GResult {
        let version = match ll_proto {
            ETHERTYPE_IP => 0x40,
            ETHERTYPE_IPV6 => 0x60,
            _ => return Err("unsupported protocol over mpls".into()),
        };
        Ok(Pred::and(
            self.mcmp(OffRel::LinkPl, (-2i32) as u32, BPF_B, 0x01, 0x01)?,
            self.mcmp(OffRel::LinkPl, 0, BPF_B, version, 0xf0)?,
        ))
    }

    /// Ethernet source/destination address test.
    pub fn ehostop(&mut self, mac: &[u8; 6], dir: Dir) -> GResult {
        match dir {
            Dir::Src => self.bcmp(OffRel::LinkHdr, 6, mac),
            Dir::Dst => self.bcmp(OffRel::LinkHdr, 0, mac),
            Dir::And => {
                let a = self.ehostop(mac, Dir::Src)?;
                Ok(Pred::and(a, self.ehostop(mac, Dir::Dst)?))
            }
            Dir::Or | Dir::Default => {
                let a = self.ehostop(mac, Dir::Src)?;
                Ok(Pred::or(a, self.ehostop(mac, Dir::Dst)?))
            }
            Dir::Addr1 => Err(
                "'addr1' and 'address1' are only supported on 802.11 with 802.11 headers".into(),
            ),
            Dir::Addr2 => Err(
                "'addr2' and 'address2' are only supported on 802.11 with 802.11 headers".into(),
            ),
            Dir::Addr3 => Err(
                "'addr3' and 'address3' are only supported on 802.11 with 802.11 headers".into(),
            ),
            Dir::Addr4 => Err(
                "'addr4' and 'address4' are only supported on 802.11 with 802.11 headers".into(),
            ),
            Dir::Ra => Err("'ra' is only supported on 802.11 with 802.11 headers".into()),
            Dir::Ta => Err("'ta' is only supported on 802.11 with 802.11 headers".into()),
            Dir::Undef => Err("syntax error in filter expression".into()),
        }
    }

    /// A MAC address test on this link type, or libpcap's refusal.
    pub fn link_host(&mut self, mac: &[u8; 6], dir: Dir) -> GResult {
        match self.link {
            Link::Ether => self.ehostop(mac, dir),
            _ => Err("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel".into()),
        }
    }

    pub fn broadcast(&mut self, proto: Proto) -> GResult {
        match proto {
            Proto::Default | Proto::Link => match self.link {
                Link::Ether => self.ehostop(&[0xff; 6], Dir::Dst),
                _ => Err("not a broadcast link".into()),
            },
            Proto::Ip => {
                // Reading a savefile the netmask is 0: the host part is
                // the whole address.
                let ip = self.linktype(ETHERTYPE_IP)?;
                let zero = self.cmp(OffRel::LinkPl, 16, BPF_W, 0)?;
                let ones = self.cmp(OffRel::LinkPl, 16, BPF_W, 0xffff_ffff)?;
                Ok(Pred::and(ip, Pred::or(zero, ones)))
            }
            _ => Err("only link-layer/IP broadcast filters supported".into()),
        }
    }

    pub fn multicast(&mut self, proto: Proto) -> GResult {
        match proto {
            Proto::Default | Proto::Link => match self.link {
                Link::Ether => self.jset(OffRel::LinkHdr, 0, BPF_B, 1),
                _ => Err("link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel".into()),
            },
            Proto::Ip => {
                let ip = self.linktype(ETHERTYPE_IP)?;
                Ok(Pred::and(ip, self.cmp_ge(OffRel::LinkPl, 16, BPF_B, 224)?))
            }
            Proto::Ip6 => {
                let ip6 = self.linktype(ETHERTYPE_IPV6)?;
                Ok(Pred::and(ip6, self.cmp(OffRel::LinkPl, 24, BPF_B, 255)?))
            }
            _ => Err("only IP multicast filters supported on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel".into()),
        }
    }

    pub fn vlan(&mut self, vid: Option<u32>) -> GResult {
        if self.label_stack_depth > 0 {
            return Err("no VLAN match after MPLS".into());
        }
        if self.link != Link::Ether {
            return Err(format!("no VLAN support for {}", self.link_name()));
        }
        let mut b = self.linktype(ETHERTYPE_8021Q)?;
        b = Pred::or(b, self.linktype(ETHERTYPE_8021AD)?);
        b = Pred::or(b, self.linktype(ETHERTYPE_8021QINQ)?);
        if let Some(v) = vid {
            if v > 0x0fff {
                return Err(format!("VLAN tag {v} greater than maximum 4095"));
            }
            b = Pred::and(b, self.mcmp(OffRel::LinkPl, 0, BPF_H, v, 0x0fff)?);
        }
        self.off_linkpl.k += 4;
        if let Some(lt) = self.off_linktype.as_mut() {
            lt.k += 4;
        }
        Ok(b)
    }

    pub fn mpls(&mut self, label: Option<u32>) -> GResult {
        let mut b = if self.label_stack_depth > 0 {
            self.mcmp(OffRel::PrevMplsHdr, 2, BPF_B, 0, 0x01)?
        } else {
            match self.link {
                Link::Ether => self.linktype(ETHERTYPE_MPLS)?,
                Link::Ppp => self.linktype(PPP_MPLS_UCAST)?,
                Link::Raw => return Err(format!("no MPLS support for {}", self.link_name())),
            }
        };
        if let Some(l) = label {
            if l > 0xfffff {
                return Err(format!("MPLS label {l} greater than maximum 1048575"));
            }
            b = Pred::and(
                b,
                self.mcmp(OffRel::LinkPl, 0, BPF_W, l << 12, 0xffff_f000)?,
            );
        }
        self.off_nl_nosnap += 4;
        self.off_nl += 4;
        self.label_stack_depth += 1;
        Ok(b)
    }

    pub fn pppoes(&mut self, sess: Option<u32>) -> GResult {
        let mut b = self.linktype(ETHERTYPE_PPPOES)?;
        if let Some(s) = sess {
            if s > 0xffff {
                return Err(format!(
                    "PPPoE session number {s} greater than maximum 65535"
                ));
            }
            b = Pred::and(b, self.mcmp(OffRel::LinkPl, 0, BPF_W, s, 0xffff)?);
        }
        // The PPP header follows the 6-byte PPPoE header.
        let hdr = AbsOff {
            k: self.off_linkpl.k + self.off_nl + 6,
            reg: self.off_linkpl.reg,
        };
        self.off_linkhdr = hdr;
        self.off_linktype = Some(hdr);
        self.off_linkpl = AbsOff {
            k: hdr.k + 2,
            reg: hdr.reg,
        };
        self.off_nl = 0;
        self.off_nl_nosnap = 0;
        self.link = Link::Ppp;
        Ok(b)
    }

    pub fn llc(&mut self, sub: Option<&str>) -> GResult {
        let base = match self.link {
            Link::Ether => Pred::and(
                self.not_above_mtu()?,
                Pred::not(self.cmp(OffRel::Llc, 0, BPF_H, 0xffff)?),
            ),
            _ => return Err(format!("'llc' not supported for {}", self.link_name())),
        };
        let sub = match sub {
            None => return Ok(base),
            Some(s) => s,
        };
        let test = match sub.to_ascii_lowercase().as_str() {
            "i" => Pred::not(self.jset(OffRel::Llc, 2, BPF_B, 0x01)?),
            "s" => self.mcmp(OffRel::Llc, 2, BPF_B, LLC_S_FMT, 0x03)?,
            "u" => self.mcmp(OffRel::Llc, 2, BPF_B, LLC_U_FMT, 0x03)?,
            name => {
                if let Some((_, v)) = LLC_S_SUBTYPES.iter().find(|(n, _)| *n == name) {
                    self.mcmp(OffRel::Llc, 2, BPF_B, *v, LLC_S_CMD_MASK)?
                } else if let Some((_, v)) = LLC_U_SUBTYPES.iter().find(|(n, _)| *n == name) {
                    self.mcmp(OffRel::Llc, 2, BPF_B, *v, LLC_U_CMD_MASK)?
                } else {
                    return Err(format!("unknown LLC type name \"{sub}\""));
                }
            }
        };
        Ok(Pred::and(base, test))
    }

    /// `geneve [vni]`: UDP to port 6081 carrying a Geneve header; later
    /// primitives look inside it (at the inner Ethernet frame, or at the
    /// inner protocol for non-Ethernet payloads).
    pub fn geneve(&mut self, vni: Option<u32>) -> GResult {
        if let Some(v) = vni {
            if v > 0xff_ffff {
                return Err(format!("Geneve VNI {v} greater than maximum 16777215"));
            }
        }
        let check = |g: &mut Gen, v6: bool| -> GResult {
            let port = if v6 {
                g.port6(6081, IPPROTO_UDP, Dir::Dst)?
            } else {
                g.port4(6081, IPPROTO_UDP, Dir::Dst)?
            };
            let rel = if v6 {
                OffRel::TranIpv6
            } else {
                OffRel::TranIpv4
            };
            let mut b = Pred::and(port, g.mcmp(rel, 8, BPF_B, 0, 0xc0)?);
            if let Some(v) = vni {
                b = Pred::and(b, g.mcmp(rel, 12, BPF_W, v << 8, 0xffff_ff00)?);
            }
            Ok(b)
        };
        let b4 = check(self, false)?;
        let b6 = check(self, true)?;
        let r_linkhdr = self.alloc_reg()?;
        let r_linktype = self.alloc_reg()?;
        let r_linkpl = self.alloc_reg()?;
        self.zero_regs.extend([r_linkhdr, r_linktype, r_linkpl]);
        let nl = self.off_linkpl.k + self.off_nl;
        // Offsets block: A = start of the Geneve header (from the packet
        // start). Store the inner link header, the inner type field (the
        // Geneve protocol field unless the payload is Ethernet) and the
        // inner payload.
        let offsets = |geneve_start: Vec<Insn>| -> Pred {
            let mut s = geneve_start;
            s.extend([
                Insn::stmt(BPF_MISC | BPF_TAX, 0),
                // Protocol type field offset (bytes 2-3 of Geneve).
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, 2),
                Insn::stmt(BPF_ST, r_linktype),
                // Inner header starts after 8 + 4 * optlen bytes.
                Insn::stmt(BPF_LD | BPF_B | BPF_IND, 0),
                Insn::stmt(BPF_ALU | BPF_AND | BPF_K, 0x3f),
                Insn::stmt(BPF_ALU | BPF_MUL | BPF_K, 4),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, 8),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
                Insn::stmt(BPF_ST, r_linkhdr),
                // Non-Ethernet payload: the inner "payload" is right there.
                Insn::stmt(BPF_ST, r_linkpl),
                Insn::stmt(BPF_LD | BPF_H | BPF_IND, 2),
            ]);
            let head = Pred::Atom(Box::new(Block {
                stmts: s,
                jmp: BPF_JMP | BPF_JEQ | BPF_K,
                k: ETHERTYPE_TEB,
                keep: true,
                rel: false,
            }));
            // Ethernet payload: type field at +12, payload at +14.
            let eth = Pred::Atom(Box::new(Block {
                stmts: vec![
                    Insn::stmt(BPF_LD | BPF_MEM, r_linkhdr),
                    Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, 12),
                    Insn::stmt(BPF_ST, r_linktype),
                    Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, 2),
                    Insn::stmt(BPF_ST, r_linkpl),
                ],
                jmp: BPF_JMP | BPF_JEQ | BPF_K,
                k: 0,
                keep: true,
                rel: false,
            }));
            // Both branches continue as true.
            Pred::or(Pred::and(head, Pred::or(eth, Pred::True)), Pred::True)
        };
        let mut s4 = self.loadx_iphdrlen();
        s4.push(Insn::stmt(BPF_MISC | BPF_TXA, 0));
        s4.push(Insn::stmt(BPF_ALU | BPF_ADD | BPF_K, nl + 8));
        let s6 = match self.off_linkpl.reg {
            None => vec![Insn::stmt(BPF_LD | BPF_IMM, nl + 40 + 8)],
            Some(r) => vec![
                Insn::stmt(BPF_LDX | BPF_W | BPF_MEM, r),
                Insn::stmt(BPF_LD | BPF_IMM, nl + 40 + 8),
                Insn::stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
            ],
        };
        let r = Pred::or(Pred::and(b4, offsets(s4)), Pred::and(b6, offsets(s6)));
        self.off_linkhdr = AbsOff {
            k: 0,
            reg: Some(r_linkhdr),
        };
        self.off_linktype = Some(AbsOff {
            k: 0,
            reg: Some(r_linktype),
        });
        self.off_linkpl = AbsOff {
            k: 0,
            reg: Some(r_linkpl),
        };
        self.off_nl = 0;
        self.off_nl_nosnap = 0;
        self.is_geneve = true;
        self.no_optimize = true;
        // What follows is an Ethernet frame (or a bare payload with an
        // Ethertype), whatever the outer link type.
        self.link = Link::Ether;
        Ok(r)
    }
}
