//! Network layer: IPv4/IPv6/ARP/RARP addresses and nets, DECnet hosts,
//! "protocol inside protocol" tests (`ip proto`, `ip6 proto`, `iso
//! proto`, `isis proto`) and the bare protocol names (`tcp`, `l1`, ...).

use super::*;
use crate::filter::ast::{AddrQ, Dir};

const ISIS_L1_LAN_IIH: u32 = 15;
const ISIS_L2_LAN_IIH: u32 = 16;
const ISIS_PTP_IIH: u32 = 17;
const ISIS_L1_LSP: u32 = 18;
const ISIS_L2_LSP: u32 = 20;
const ISIS_L1_CSNP: u32 = 24;
const ISIS_L2_CSNP: u32 = 25;
const ISIS_L1_PSNP: u32 = 26;
const ISIS_L2_PSNP: u32 = 27;

pub fn dir_not_80211(dir: Dir) -> Option<&'static str> {
    Some(match dir {
        Dir::Addr1 => "'addr1' and 'address1' are not valid qualifiers for addresses other than 802.11 MAC addresses",
        Dir::Addr2 => "'addr2' and 'address2' are not valid qualifiers for addresses other than 802.11 MAC addresses",
        Dir::Addr3 => "'addr3' and 'address3' are not valid qualifiers for addresses other than 802.11 MAC addresses",
        Dir::Addr4 => "'addr4' and 'address4' are not valid qualifiers for addresses other than 802.11 MAC addresses",
        Dir::Ra => "'ra' is not a valid qualifier for addresses other than 802.11 MAC addresses",
        Dir::Ta => "'ta' is not a valid qualifier for addresses other than 802.11 MAC addresses",
        _ => return None,
    })
}

impl Gen {
    fn hostop(&mut self, addr: u32, mask: u32, dir: Dir, ll: u32, src: u32, dst: u32) -> GResult {
        let off = match dir {
            Dir::Src => src,
            Dir::Dst => dst,
            Dir::And | Dir::Or | Dir::Default => {
                let a = self.hostop(addr, mask, Dir::Src, ll, src, dst)?;
                let b = self.hostop(addr, mask, Dir::Dst, ll, src, dst)?;
                return Ok(if dir == Dir::And {
                    Pred::and(a, b)
                } else {
                    Pred::or(a, b)
                });
            }
            d => {
                return Err(dir_not_80211(d)
                    .unwrap_or("syntax error in filter expression")
                    .into())
            }
        };
        let lt = self.linktype(ll)?;
        Ok(Pred::and(
            lt,
            self.mcmp(OffRel::LinkPl, off, BPF_W, addr, mask)?,
        ))
    }

    fn hostop6(
        &mut self,
        addr: &[u32; 4],
        mask: &[u32; 4],
        dir: Dir,
        src: u32,
        dst: u32,
    ) -> GResult {
        let off = match dir {
            Dir::Src => src,
            Dir::Dst => dst,
            Dir::And | Dir::Or | Dir::Default => {
                let a = self.hostop6(addr, mask, Dir::Src, src, dst)?;
                let b = self.hostop6(addr, mask, Dir::Dst, src, dst)?;
                return Ok(if dir == Dir::And {
                    Pred::and(a, b)
                } else {
                    Pred::or(a, b)
                });
            }
            d => {
                return Err(dir_not_80211(d)
                    .unwrap_or("syntax error in filter expression")
                    .into())
            }
        };
        let mut b = self.linktype(ETHERTYPE_IPV6)?;
        for i in 0..4 {
            if mask[i] != 0 {
                b = Pred::and(
                    b,
                    self.mcmp(OffRel::LinkPl, off + 4 * i as u32, BPF_W, addr[i], mask[i])?,
                );
            }
        }
        Ok(b)
    }

    /// IPv4 host or net (`type` says which, for messages).
    pub fn host(&mut self, addr: u32, mask: u32, proto: Proto, dir: Dir, ty: AddrQ) -> GResult {
        let typestr = if ty == AddrQ::Net { "net" } else { "host" };
        match proto {
            Proto::Default => {
                let b0 = self.host(addr, mask, Proto::Ip, dir, ty)?;
                if self.label_stack_depth == 0 {
                    let b1 = self.host(addr, mask, Proto::Arp, dir, ty)?;
                    let b2 = self.host(addr, mask, Proto::Rarp, dir, ty)?;
                    Ok(Pred::or(Pred::or(b0, b1), b2))
                } else {
                    Ok(b0)
                }
            }
            Proto::Ip => self.hostop(addr, mask, dir, ETHERTYPE_IP, 12, 16),
            Proto::Arp => self.hostop(addr, mask, dir, ETHERTYPE_ARP, 14, 24),
            Proto::Rarp => self.hostop(addr, mask, dir, ETHERTYPE_REVARP, 14, 24),
            Proto::Decnet => self.dnhostop(addr, dir),
            Proto::Link => Err(format!("link-layer modifier applied to {typestr}")),
            Proto::Atalk => Err("AppleTalk host filtering not implemented".into()),
            Proto::Lat => Err("LAT host filtering not implemented".into()),
            Proto::Sca => Err("SCA host filtering not implemented".into()),
            Proto::Moprc => Err("MOPRC host filtering not implemented".into()),
            Proto::Mopdl => Err("MOPDL host filtering not implemented".into()),
            Proto::Aarp => Err("AARP host filtering not implemented".into()),
            Proto::Iso => Err("ISO host filtering not implemented".into()),
            Proto::Ipx => Err("IPX host filtering not implemented".into()),
            Proto::Ip6 => Err("'ip6' modifier applied to ip host".into()),
            Proto::Undef => Err("syntax error in filter expression".into()),
            p => Err(format!("'{}' modifier applied to {typestr}", p.name())),
        }
    }

    pub fn host6(
        &mut self,
        addr: &[u32; 4],
        mask: &[u32; 4],
        proto: Proto,
        dir: Dir,
        ty: AddrQ,
    ) -> GResult {
        let typestr = if ty == AddrQ::Net { "net" } else { "host" };
        match proto {
            Proto::Default | Proto::Ip6 => self.hostop6(addr, mask, dir, 8, 24),
            Proto::Link => Err(format!("link-layer modifier applied to ip6 {typestr}")),
            Proto::Atalk => Err(format!("AppleTalk modifier applied to ip6 {typestr}")),
            Proto::Undef => Err("syntax error in filter expression".into()),
            p => Err(format!("'{}' modifier applied to ip6 {typestr}", p.name())),
        }
    }

    fn dnhostop(&mut self, addr: u32, dir: Dir) -> GResult {
        let (sh, lh) = match dir {
            Dir::Dst => (1, 7),
            Dir::Src => (3, 15),
            Dir::And | Dir::Or | Dir::Default => {
                let a = self.dnhostop(addr, Dir::Src)?;
                let b = self.dnhostop(addr, Dir::Dst)?;
                return Ok(if dir == Dir::And {
                    Pred::and(a, b)
                } else {
                    Pred::or(a, b)
                });
            }
            d => {
                return Err(dir_not_80211(d)
                    .unwrap_or("syntax error in filter expression")
                    .into())
            }
        };
        // DECnet addresses are little-endian on the wire; libpcap's
        // constants assume a little-endian host.
        let a = (addr as u16).swap_bytes() as u32;
        let b0 = self.linktype(ETHERTYPE_DN)?;
        let mut b1 = Pred::and(
            self.mcmp(OffRel::LinkPl, 2, BPF_H, 0x8106, 0xff07)?,
            self.cmp(OffRel::LinkPl, 2 + 1 + lh, BPF_H, a)?,
        );
        let b2 = Pred::and(
            self.mcmp(OffRel::LinkPl, 2, BPF_B, 0x06, 0x7)?,
            self.cmp(OffRel::LinkPl, 2 + lh, BPF_H, a)?,
        );
        b1 = Pred::or(b2, b1);
        let b2 = Pred::and(
            self.mcmp(OffRel::LinkPl, 2, BPF_H, 0x8102, 0xff07)?,
            self.cmp(OffRel::LinkPl, 2 + 1 + sh, BPF_H, a)?,
        );
        b1 = Pred::or(b2, b1);
        let b2 = Pred::and(
            self.mcmp(OffRel::LinkPl, 2, BPF_B, 0x02, 0x7)?,
            self.cmp(OffRel::LinkPl, 2 + sh, BPF_H, a)?,
        );
        b1 = Pred::or(b2, b1);
        Ok(Pred::and(b0, b1))
    }

    /// IPv4 "not a later fragment" (fragment offset zero).
    pub fn ipfrag(&mut self) -> GResult {
        Ok(Pred::not(self.jset(OffRel::LinkPl, 6, BPF_H, 0x1fff)?))
    }

    /// `proto[...] proto N`: protocol `v` carried in `proto`.
    pub fn proto(&mut self, v: u32, proto: Proto, dir: Dir) -> GResult {
        if dir != Dir::Default {
            return Err("direction applied to 'proto'".into());
        }
        match proto {
            Proto::Default => {
                let a = self.proto(v, Proto::Ip, dir)?;
                let b = self.proto(v, Proto::Ip6, dir)?;
                Ok(Pred::or(a, b))
            }
            Proto::Link => self.linktype(v),
            Proto::Ip => {
                let lt = self.linktype(ETHERTYPE_IP)?;
                Ok(Pred::and(lt, self.cmp(OffRel::LinkPl, 9, BPF_B, v)?))
            }
            Proto::Ip6 => {
                let lt = self.linktype(ETHERTYPE_IPV6)?;
                let direct = self.cmp(OffRel::LinkPl, 6, BPF_B, v)?;
                let frag = Pred::and(
                    self.cmp(OffRel::LinkPl, 6, BPF_B, IPPROTO_FRAGMENT)?,
                    self.cmp(OffRel::LinkPl, 40, BPF_B, v)?,
                );
                Ok(Pred::and(lt, Pred::or(direct, frag)))
            }
            Proto::Iso => {
                let lt = self.linktype(LLCSAP_ISONS)?;
                Ok(Pred::and(lt, self.cmp(OffRel::LinkPlNoSnap, 0, BPF_B, v)?))
            }
            Proto::Isis => {
                let b0 = self.proto(ISO10589_ISIS, Proto::Iso, Dir::Default)?;
                Ok(Pred::and(b0, self.cmp(OffRel::LinkPlNoSnap, 4, BPF_B, v)?))
            }
            Proto::Arp => Err("arp does not encapsulate another protocol".into()),
            Proto::Rarp => Err("rarp does not encapsulate another protocol".into()),
            Proto::Atalk => Err("AppleTalk encapsulation is not specifiable".into()),
            Proto::Decnet => Err("DECNET encapsulation is not specifiable".into()),
            Proto::Lat => Err("LAT does not encapsulate another protocol".into()),
            Proto::Sca => Err("SCA does not encapsulate another protocol".into()),
            Proto::Moprc => Err("MOPRC does not encapsulate another protocol".into()),
            Proto::Mopdl => Err("MOPDL does not encapsulate another protocol".into()),
            Proto::Clnp => Err("'clnp proto' is not supported".into()),
            Proto::Undef => Err("syntax error in filter expression".into()),
            p => Err(format!("'{} proto' is bogus", p.name())),
        }
    }

    fn isis_any(&mut self, types: &[u32]) -> GResult {
        let mut b: Option<Pred> = None;
        for &t in types {
            let p = self.proto(t, Proto::Isis, Dir::Default)?;
            b = Some(match b {
                None => p,
                Some(prev) => Pred::or(p, prev),
            });
        }
        Ok(b.unwrap_or(Pred::False))
    }

    pub fn proto_abbrev(&mut self, proto: Proto) -> GResult {
        let d = Dir::Default;
        match proto {
            Proto::Sctp => self.proto(IPPROTO_SCTP, Proto::Default, d),
            Proto::Tcp => self.proto(IPPROTO_TCP, Proto::Default, d),
            Proto::Udp => self.proto(IPPROTO_UDP, Proto::Default, d),
            Proto::Icmp => self.proto(IPPROTO_ICMP, Proto::Ip, d),
            Proto::Igmp => self.proto(IPPROTO_IGMP, Proto::Ip, d),
            Proto::Igrp => self.proto(IPPROTO_IGRP, Proto::Ip, d),
            Proto::Pim => self.proto(IPPROTO_PIM, Proto::Default, d),
            Proto::Vrrp | Proto::Carp => self.proto(IPPROTO_VRRP, Proto::Ip, d),
            Proto::Ip => self.linktype(ETHERTYPE_IP),
            Proto::Arp => self.linktype(ETHERTYPE_ARP),
            Proto::Rarp => self.linktype(ETHERTYPE_REVARP),
            Proto::Link => Err("link layer applied in wrong context".into()),
            Proto::Atalk => self.linktype(ETHERTYPE_ATALK),
            Proto::Aarp => self.linktype(ETHERTYPE_AARP),
            Proto::Decnet => self.linktype(ETHERTYPE_DN),
            Proto::Sca => self.linktype(ETHERTYPE_SCA),
            Proto::Lat => self.linktype(ETHERTYPE_LAT),
            Proto::Mopdl => self.linktype(ETHERTYPE_MOPDL),
            Proto::Moprc => self.linktype(ETHERTYPE_MOPRC),
            Proto::Ip6 => self.linktype(ETHERTYPE_IPV6),
            Proto::Icmp6 => self.proto(IPPROTO_ICMPV6, Proto::Ip6, d),
            Proto::Ah => self.proto(IPPROTO_AH, Proto::Default, d),
            Proto::Esp => self.proto(IPPROTO_ESP, Proto::Default, d),
            Proto::Iso => self.linktype(LLCSAP_ISONS),
            Proto::Esis => self.proto(ISO9542_ESIS, Proto::Iso, d),
            Proto::Isis => self.proto(ISO10589_ISIS, Proto::Iso, d),
            Proto::IsisL1 => self.isis_any(&[
                ISIS_PTP_IIH,
                ISIS_L1_LAN_IIH,
                ISIS_L1_LSP,
                ISIS_L1_CSNP,
                ISIS_L1_PSNP,
            ]),
            Proto::IsisL2 => self.isis_any(&[
                ISIS_PTP_IIH,
                ISIS_L2_LAN_IIH,
                ISIS_L2_LSP,
                ISIS_L2_CSNP,
                ISIS_L2_PSNP,
            ]),
            Proto::IsisIih => self.isis_any(&[ISIS_L2_LAN_IIH, ISIS_L1_LAN_IIH, ISIS_PTP_IIH]),
            Proto::IsisLsp => self.isis_any(&[ISIS_L2_LSP, ISIS_L1_LSP]),
            Proto::IsisSnp => {
                self.isis_any(&[ISIS_L2_CSNP, ISIS_L1_CSNP, ISIS_L1_PSNP, ISIS_L2_PSNP])
            }
            Proto::IsisCsnp => self.isis_any(&[ISIS_L2_CSNP, ISIS_L1_CSNP]),
            Proto::IsisPsnp => self.isis_any(&[ISIS_L2_PSNP, ISIS_L1_PSNP]),
            Proto::Clnp => self.proto(ISO8473_CLNP, Proto::Iso, d),
            Proto::Stp => self.linktype(LLCSAP_8021D),
            Proto::Ipx => self.linktype(LLCSAP_IPX),
            Proto::Netbeui => self.linktype(LLCSAP_NETBEUI),
            Proto::Radio => Err("'radio' is not a valid protocol type".into()),
            Proto::Default | Proto::Undef => Err("syntax error in filter expression".into()),
        }
    }
}
