//! Typed frame builders for the corpus: one function or struct per
//! protocol layer, header offsets named once, lengths filled in. Builders
//! produce well-formed headers unless a field is overridden on purpose
//! (`Ipv4::ihl`), so malformed packets are always deliberate.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Ethernet header fields.
pub mod eth_off {
    use std::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const TYPE: Range<usize> = 12..14;
    pub const HLEN: usize = 14;
}

/// IPv4 header fields.
pub mod ip4_off {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const ID: Range<usize> = 4..6;
    pub const FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    pub const HLEN: usize = 20;
}

/// IPv6 header fields.
pub mod ip6_off {
    use std::ops::Range;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT: usize = 6;
    pub const HLIM: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const HLEN: usize = 40;
}

/// TCP header fields.
pub mod tcp_off {
    use std::ops::Range;
    pub const SPORT: Range<usize> = 0..2;
    pub const DPORT: Range<usize> = 2..4;
    pub const DOFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const HLEN: usize = 20;
}

/// UDP header fields.
pub mod udp_off {
    use std::ops::Range;
    pub const SPORT: Range<usize> = 0..2;
    pub const DPORT: Range<usize> = 2..4;
    pub const LEN: Range<usize> = 4..6;
    pub const HLEN: usize = 8;
}

pub const ETHERTYPE_IP: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_RARP: u16 = 0x8035;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
pub const ETHERTYPE_MPLS: u16 = 0x8847;
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
pub const ETHERTYPE_PPPOED: u16 = 0x8863;
pub const ETHERTYPE_PPPOES: u16 = 0x8864;
pub const ETHERTYPE_DECNET: u16 = 0x6003;
pub const ETHERTYPE_LAT: u16 = 0x6004;
pub const ETHERTYPE_MOPDL: u16 = 0x6001;
pub const ETHERTYPE_MOPRC: u16 = 0x6002;
pub const ETHERTYPE_SCA: u16 = 0x6007;
pub const ETHERTYPE_IPX: u16 = 0x8137;
pub const ETHERTYPE_ATALK: u16 = 0x809b;
pub const ETHERTYPE_AARP: u16 = 0x80f3;
pub const ETHERTYPE_LOOPBACK: u16 = 0x9000;
pub const ETHERTYPE_TEB: u16 = 0x6558;

pub const IPPROTO_HOPOPTS: u8 = 0;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_IGMP: u8 = 2;
pub const IPPROTO_IPIP: u8 = 4;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_IGRP: u8 = 9;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_IPV6: u8 = 41;
pub const IPPROTO_ROUTING: u8 = 43;
pub const IPPROTO_FRAGMENT: u8 = 44;
pub const IPPROTO_GRE: u8 = 47;
pub const IPPROTO_ESP: u8 = 50;
pub const IPPROTO_AH: u8 = 51;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_NONE: u8 = 59;
pub const IPPROTO_DSTOPTS: u8 = 60;
pub const IPPROTO_EIGRP: u8 = 88;
pub const IPPROTO_PIM: u8 = 103;
pub const IPPROTO_IPCOMP: u8 = 108;
pub const IPPROTO_VRRP: u8 = 112;
pub const IPPROTO_SCTP: u8 = 132;

pub const GENEVE_PORT: u16 = 6081;
pub const VXLAN_PORT: u16 = 4789;

pub type Mac = [u8; 6];

pub fn mac(s: &str) -> Mac {
    let mut m = [0u8; 6];
    for (i, part) in s.split(':').enumerate() {
        m[i] = u8::from_str_radix(part, 16).expect("MAC literal");
    }
    m
}

pub fn ip4(s: &str) -> [u8; 4] {
    s.parse::<Ipv4Addr>().expect("IPv4 literal").octets()
}

pub fn ip6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().expect("IPv6 literal").octets()
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

// ---------------------------------------------------------------------------
// Link layer

/// One encapsulation between the Ethernet header and the network layer.
#[derive(Clone, Copy, Debug)]
pub enum Tag {
    /// An 802.1Q-style tag with its TPID (0x8100, 0x88a8, 0x9100).
    Vlan { tpid: u16, tci: u16 },
    /// One MPLS label stack entry; the bottom-of-stack bit is set on the
    /// last entry of a run of consecutive entries.
    Mpls { label: u32, tc: u8, ttl: u8 },
    /// A PPPoE session header followed by the PPP protocol field.
    Pppoe { sid: u16 },
}

impl Tag {
    pub fn vlan(id: u16) -> Tag {
        Tag::Vlan {
            tpid: ETHERTYPE_VLAN,
            tci: id & 0x0fff,
        }
    }
    pub fn mpls(label: u32) -> Tag {
        Tag::Mpls {
            label,
            tc: 0,
            ttl: 64,
        }
    }
}

/// The PPP protocol number carrying `ethertype`.
fn ppp_proto(ethertype: u16) -> u16 {
    match ethertype {
        ETHERTYPE_IP => 0x0021,
        ETHERTYPE_IPV6 => 0x0057,
        ETHERTYPE_MPLS => 0x0281,
        other => other,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum NextField {
    EtherType,
    Ppp,
    None,
}

/// An Ethernet frame: destination, source, encapsulation tags, then the
/// network protocol (an EtherType, or for 802.3 frames a length) and payload.
pub fn eth(dst: Mac, src: Mac, tags: &[Tag], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(eth_off::HLEN + payload.len() + 16);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    let mut next = NextField::EtherType;
    let mut pppoe_len_at = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let ty = match tag {
            Tag::Vlan { tpid, .. } => *tpid,
            Tag::Mpls { .. } => ETHERTYPE_MPLS,
            Tag::Pppoe { .. } => ETHERTYPE_PPPOES,
        };
        match next {
            NextField::EtherType => put16(&mut out, ty),
            NextField::Ppp => put16(&mut out, ppp_proto(ty)),
            NextField::None => {}
        }
        match *tag {
            Tag::Vlan { tci, .. } => {
                put16(&mut out, tci);
                next = NextField::EtherType;
            }
            Tag::Mpls { label, tc, ttl } => {
                let bottom = !matches!(tags.get(i + 1), Some(Tag::Mpls { .. }));
                put32(
                    &mut out,
                    (label & 0xfffff) << 12
                        | u32::from(tc & 7) << 9
                        | u32::from(bottom) << 8
                        | u32::from(ttl),
                );
                next = NextField::None;
            }
            Tag::Pppoe { sid } => {
                out.extend_from_slice(&[0x11, 0x00]);
                put16(&mut out, sid);
                pppoe_len_at.push(out.len());
                put16(&mut out, 0);
                next = NextField::Ppp;
            }
        }
    }
    match next {
        NextField::EtherType => put16(&mut out, ethertype),
        NextField::Ppp => put16(&mut out, ppp_proto(ethertype)),
        NextField::None => {}
    }
    out.extend_from_slice(payload);
    for at in pppoe_len_at {
        let len = (out.len() - at - 2) as u16;
        out[at..at + 2].copy_from_slice(&len.to_be_bytes());
    }
    out
}

/// An 802.3 frame (length field instead of an EtherType) with an 802.2 LLC
/// header.
pub fn llc(
    dst: Mac,
    src: Mac,
    tags: &[Tag],
    dsap: u8,
    ssap: u8,
    ctrl: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut body = vec![dsap, ssap];
    body.extend_from_slice(ctrl);
    body.extend_from_slice(payload);
    eth(dst, src, tags, body.len().min(1500) as u16, &body)
}

/// An 802.3 frame with an LLC/SNAP header.
pub fn snap(dst: Mac, src: Mac, oui: [u8; 3], ptype: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = oui.to_vec();
    put16(&mut body, ptype);
    body.extend_from_slice(payload);
    llc(dst, src, &[], 0xaa, 0xaa, &[0x03], &body)
}

/// An ARP/RARP packet for IPv4 over Ethernet.
pub fn arp(op: u16, sha: Mac, spa: [u8; 4], tha: Mac, tpa: [u8; 4]) -> Vec<u8> {
    let mut v = Vec::with_capacity(28);
    put16(&mut v, 1);
    put16(&mut v, ETHERTYPE_IP);
    v.extend_from_slice(&[6, 4]);
    put16(&mut v, op);
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa);
    v.extend_from_slice(&tha);
    v.extend_from_slice(&tpa);
    v
}

// ---------------------------------------------------------------------------
// Network layer

/// An IPv4 header under construction.
#[derive(Clone, Debug)]
pub struct Ipv4 {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub ttl: u8,
    pub tos: u8,
    pub id: u16,
    /// Option bytes, padded with end-of-list to a multiple of 4.
    pub options: Vec<u8>,
    /// Fragment offset in 8-byte units.
    pub frag_off: u16,
    pub mf: bool,
    pub df: bool,
    /// Header length field to write instead of the real one (bad IHL).
    pub ihl: Option<u8>,
}

impl Ipv4 {
    pub fn new(src: [u8; 4], dst: [u8; 4], proto: u8) -> Self {
        Ipv4 {
            src,
            dst,
            proto,
            ttl: 64,
            tos: 0,
            id: 0x1234,
            options: Vec::new(),
            frag_off: 0,
            mf: false,
            df: false,
            ihl: None,
        }
    }

    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let mut opts = self.options.clone();
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let ihl = self.ihl.unwrap_or((5 + opts.len() / 4) as u8);
        let total = ip4_off::HLEN + opts.len() + payload.len();
        let mut v = Vec::with_capacity(total);
        v.push(0x40 | (ihl & 0x0f));
        v.push(self.tos);
        put16(&mut v, total.min(0xffff) as u16);
        put16(&mut v, self.id);
        let frag = (self.frag_off & 0x1fff) | u16::from(self.mf) << 13 | u16::from(self.df) << 14;
        put16(&mut v, frag);
        v.push(self.ttl);
        v.push(self.proto);
        put16(&mut v, 0);
        v.extend_from_slice(&self.src);
        v.extend_from_slice(&self.dst);
        v.extend_from_slice(&opts);
        v.extend_from_slice(payload);
        v
    }
}

/// One IPv6 extension header.
#[derive(Clone, Copy, Debug)]
pub enum Ext {
    /// Hop-by-hop options with this many 8-byte units beyond the first.
    HopByHop(u8),
    /// Routing header of `kind` with `segs` addresses.
    Routing { kind: u8, segs: u8 },
    /// Fragment header; `offset` in 8-byte units.
    Fragment { offset: u16, more: bool },
    /// Destination options with this many 8-byte units beyond the first.
    DstOpts(u8),
    /// Authentication header with 12 bytes of ICV.
    Ah,
}

impl Ext {
    fn proto(self) -> u8 {
        match self {
            Ext::HopByHop(_) => IPPROTO_HOPOPTS,
            Ext::Routing { .. } => IPPROTO_ROUTING,
            Ext::Fragment { .. } => IPPROTO_FRAGMENT,
            Ext::DstOpts(_) => IPPROTO_DSTOPTS,
            Ext::Ah => IPPROTO_AH,
        }
    }

    fn encode(self, next: u8, out: &mut Vec<u8>) {
        match self {
            Ext::HopByHop(n) | Ext::DstOpts(n) => {
                out.extend_from_slice(&[next, n]);
                // One PadN option filling the rest of the header.
                let pad = 8 * (usize::from(n) + 1) - 2;
                out.extend_from_slice(&[1, (pad - 2) as u8]);
                out.extend(std::iter::repeat(0).take(pad - 2));
            }
            Ext::Routing { kind, segs } => {
                out.extend_from_slice(&[next, 2 * segs, kind, segs, 0, 0, 0, 0]);
                for s in 0..segs {
                    let mut a = ip6("2001:db8::100");
                    a[15] = s;
                    out.extend_from_slice(&a);
                }
            }
            Ext::Fragment { offset, more } => {
                out.extend_from_slice(&[next, 0]);
                put16(out, (offset & 0x1fff) << 3 | u16::from(more));
                put32(out, 0xdead_beef);
            }
            Ext::Ah => {
                out.extend_from_slice(&[next, 4, 0, 0]);
                put32(out, 0x100);
                put32(out, 1);
                out.extend_from_slice(&[0xa5; 12]);
            }
        }
    }
}

/// An IPv6 header with its extension header chain.
#[derive(Clone, Debug)]
pub struct Ipv6 {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub hlim: u8,
    pub tc: u8,
    pub flow: u32,
    pub exts: Vec<Ext>,
}

impl Ipv6 {
    pub fn new(src: [u8; 16], dst: [u8; 16]) -> Self {
        Ipv6 {
            src,
            dst,
            hlim: 64,
            tc: 0,
            flow: 0,
            exts: Vec::new(),
        }
    }

    /// The packet, with `proto` as the protocol after the last extension.
    pub fn build(&self, proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut exts = Vec::new();
        for (i, e) in self.exts.iter().enumerate() {
            let next = self.exts.get(i + 1).map_or(proto, |n| n.proto());
            e.encode(next, &mut exts);
        }
        let first = self.exts.first().map_or(proto, |e| e.proto());
        let mut v = Vec::with_capacity(ip6_off::HLEN + exts.len() + payload.len());
        put32(
            &mut v,
            6 << 28 | u32::from(self.tc) << 20 | (self.flow & 0xfffff),
        );
        put16(&mut v, (exts.len() + payload.len()).min(0xffff) as u16);
        v.push(first);
        v.push(self.hlim);
        v.extend_from_slice(&self.src);
        v.extend_from_slice(&self.dst);
        v.extend_from_slice(&exts);
        v.extend_from_slice(payload);
        v
    }
}

// ---------------------------------------------------------------------------
// Transport and other protocols above IP

pub fn tcp(sport: u16, dport: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut o = opts.to_vec();
    while o.len() % 4 != 0 {
        o.push(1); // NOP
    }
    let mut v = Vec::with_capacity(tcp_off::HLEN + o.len() + payload.len());
    put16(&mut v, sport);
    put16(&mut v, dport);
    put32(&mut v, 0x0102_0304);
    put32(&mut v, 0x0a0b_0c0d);
    v.push(((5 + o.len() / 4) as u8) << 4);
    v.push(flags);
    put16(&mut v, 0xffff);
    put16(&mut v, 0);
    put16(&mut v, 0);
    v.extend_from_slice(&o);
    v.extend_from_slice(payload);
    v
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(udp_off::HLEN + payload.len());
    put16(&mut v, sport);
    put16(&mut v, dport);
    put16(&mut v, (udp_off::HLEN + payload.len()).min(0xffff) as u16);
    put16(&mut v, 0);
    v.extend_from_slice(payload);
    v
}

/// SCTP common header and one chunk of `chunk_type`.
pub fn sctp(sport: u16, dport: u16, chunk_type: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    put16(&mut v, sport);
    put16(&mut v, dport);
    put32(&mut v, 0xcafe_f00d);
    put32(&mut v, 0);
    v.extend_from_slice(&[chunk_type, 0, 0, 4]);
    v
}

/// ICMP or ICMPv6 message: type, code, checksum, four bytes of rest, body.
pub fn icmp(ty: u8, code: u8, rest: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0];
    put32(&mut v, rest);
    v.extend_from_slice(body);
    v
}

pub fn igmp(ty: u8, group: [u8; 4]) -> Vec<u8> {
    let mut v = vec![ty, 0x64, 0, 0];
    v.extend_from_slice(&group);
    v
}

/// PIM header (version 2) of `ty` with a little body.
pub fn pim(ty: u8) -> Vec<u8> {
    vec![0x20 | (ty & 0x0f), 0, 0, 0, 0, 1, 0, 0]
}

/// VRRP / CARP advertisement: version/type byte, VRID, priority, count,
/// then `word` as the next 4 bytes (auth type/interval and checksum).
pub fn vrrp(ver_type: u8, vrid: u8, prio: u8, word: u32) -> Vec<u8> {
    let mut v = vec![ver_type, vrid, prio, 1];
    put32(&mut v, word);
    v.extend_from_slice(&ip4("10.0.0.1"));
    v
}

pub fn gre(ptype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0];
    put16(&mut v, ptype);
    v.extend_from_slice(payload);
    v
}

pub fn esp(spi: u32) -> Vec<u8> {
    let mut v = Vec::new();
    put32(&mut v, spi);
    put32(&mut v, 1);
    v.extend_from_slice(&[0x5a; 16]);
    v
}

/// AH header (as seen from IPv4) followed by `next` and its payload.
pub fn ah(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    Ext::Ah.encode(next, &mut v);
    v.extend_from_slice(payload);
    v
}

/// Geneve header with `opt_words` words of options, then the inner packet.
pub fn geneve(vni: u32, ptype: u16, opt_words: u8, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![opt_words & 0x3f, 0];
    put16(&mut v, ptype);
    put32(&mut v, (vni & 0xff_ffff) << 8);
    for w in 0..opt_words {
        v.extend_from_slice(&[0x01, 0x02, 0x80 | w, 0]);
    }
    v.extend_from_slice(inner);
    v
}

pub fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    put32(&mut v, (vni & 0xff_ffff) << 8);
    v.extend_from_slice(inner);
    v
}

/// A DECnet routing header (EtherType 0x6003): a little-endian length
/// word, an optional pad byte, then a short or long header. `le` chooses
/// how the 16-bit node addresses are stored.
pub fn decnet(long: bool, pad: bool, flags: u8, dst: u16, src: u16, le: bool) -> Vec<u8> {
    let enc = |a: u16| if le { a.to_le_bytes() } else { a.to_be_bytes() };
    let mut h = Vec::new();
    if pad {
        h.push(0x81);
    }
    if long {
        h.push(0x06 | (flags & !0x07));
        h.extend_from_slice(&[0, 0, 0xaa, 0x00, 0x04, 0x00]);
        h.extend_from_slice(&enc(dst));
        h.extend_from_slice(&[0, 0, 0xaa, 0x00, 0x04, 0x00]);
        h.extend_from_slice(&enc(src));
        h.extend_from_slice(&[0, 1, 0, 0]);
    } else {
        h.push(0x02 | (flags & !0x07));
        h.extend_from_slice(&enc(dst));
        h.extend_from_slice(&enc(src));
        h.push(0x01);
    }
    h.extend_from_slice(&[0x11; 8]);
    let mut v = (h.len() as u16).to_le_bytes().to_vec();
    v.extend_from_slice(&h);
    v
}

/// An IS-IS PDU header (after the NLPID is consumed it starts with it).
pub fn isis(pdu_type: u8) -> Vec<u8> {
    vec![0x83, 27, 1, 0, pdu_type, 1, 0, 0, 0x05, 0xdc, 0, 0, 0, 0]
}
