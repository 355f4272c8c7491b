//! A deterministic packet corpus for the differential filter tests.
//!
//! Frames are built from small typed builders (one per protocol layer, with
//! the header offsets named once below) and from fixed address, port and
//! identifier pools chosen so that the expressions of the shared filter
//! corpus and of our own lists match some packets but not all. On top of the
//! well-formed frames come truncations at every length of a selection of
//! frames, truncations at random lengths, malformed headers and random bytes.
//! Every choice comes from a seeded xorshift generator, so the corpus is the
//! same on every run and a packet index names the same bytes everywhere.
//!
//! The corpus is only ever written to pcap files: nothing here touches a
//! network.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

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

/// Seeded xorshift64 generator: the corpus's only source of variety.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<T: Clone>(&mut self, pool: &[T]) -> T {
        pool[self.below(pool.len())].clone()
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
    /// Random bytes, fewer than `n` of them.
    pub fn bytes_below(&mut self, n: usize) -> Vec<u8> {
        let len = self.below(n);
        self.bytes(len)
    }
}

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

// ---------------------------------------------------------------------------
// Pools

const MACS: &[&str] = &[
    "ab:cd:ef:00:00:01",
    "ab:cd:ef:00:00:02",
    "ab:cd:ef:00:00:03",
    "00:11:22:33:44:55",
    "02:00:00:00:00:01",
    "02:00:00:00:00:02",
    "52:54:00:12:34:56",
    "00:00:00:00:00:00",
    "0a:0b:0c:0d:0e:0f",
];

const MCAST_MACS: &[&str] = &[
    "ff:ff:ff:ff:ff:ff",
    "01:00:5e:00:00:01",
    "01:00:5e:7f:ff:fa",
    "33:33:00:00:00:01",
    "33:33:ff:66:cf:60",
    "01:80:c2:00:00:00",
    "09:00:2b:00:00:0f",
    "01:00:0c:cc:cc:cc",
];

const IP4S: &[&str] = &[
    "198.18.0.1",
    "198.18.0.2",
    "198.19.255.254",
    "198.18.255.255",
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.255",
    "10.1.1.10",
    "10.1.1.100",
    "10.1.2.3",
    "10.1.0.0",
    "192.168.1.4",
    "192.168.0.1",
    "192.168.1.1",
    "192.168.1.255",
    "192.168.255.255",
    "1.2.3.4",
    "1.2.3.5",
    "1.2.4.4",
    "192.1.2.23",
    "192.1.2.254",
    "172.16.0.1",
    "127.0.0.1",
    "0.0.0.0",
    "203.0.113.9",
];

const IP4_SPECIAL_DST: &[&str] = &[
    "255.255.255.255",
    "224.0.0.1",
    "224.0.0.18",
    "224.0.0.22",
    "239.255.255.250",
    "0.0.0.0",
    "10.255.255.255",
    "192.168.1.255",
];

const IP6S: &[&str] = &[
    "fe80::d6ca:6dff:fe66:cf60",
    "fe80::1",
    "fe80::2",
    "10::1",
    "10::2",
    "2001:db8::1",
    "2001:db8::2",
    "2001:db8:1::1",
    "fd00::1",
    "fd00::2",
    "::1",
    "::",
    "::ffff:1.2.3.4",
    "::ffff:10.0.0.1",
];

const IP6_MCAST: &[&str] = &[
    "ff02::1",
    "ff02::2",
    "ff02::12",
    "ff02::16",
    "ff02::1:ff66:cf60",
    "ff05::1:3",
];

const PORTS: &[u16] = &[
    7, 20, 21, 22, 23, 25, 53, 67, 68, 80, 110, 123, 143, 161, 443, 514, 1023, 1024, 3260, 5672,
    6081, 4789, 8080, 0, 1, 65535, 49152, 40000, 2049, 179,
];

const VLAN_IDS: &[u16] = &[
    0, 1, 2, 10, 11, 20, 100, 123, 200, 1000, 1024, 2000, 4094, 4095,
];

const MPLS_LABELS: &[u32] = &[
    0, 1, 2, 3, 4, 7, 13, 15, 16, 20, 100, 123, 1000, 65535, 100_000, 1_048_575,
];

const PPPOE_SIDS: &[u16] = &[0, 1, 0x3b, 1234, 0x1234, 65535];

const GENEVE_VNIS: &[u32] = &[0, 1, 10, 11, 100, 12345, 0xff_ffff];

const DECNET_ADDRS: &[u16] = &[
    51964, 1025, 65535, 1, 120, 18432, 17408, 768, 1026, 2049, 0xcafe,
];

/// Protocol addresses of ARP and RARP packets.
const ARP_IPS: &[&str] = &[
    "1.2.3.4",
    "192.1.2.254",
    "192.1.2.23",
    "0.0.0.0",
    "10.1.1.10",
    "10.1.1.100",
    "192.168.1.4",
    "192.168.0.1",
    "10.0.0.1",
    "198.18.0.1",
];

fn pick_mac(g: &mut XorShift) -> Mac {
    mac(g.pick(MACS))
}

fn pick_dst_mac(g: &mut XorShift) -> Mac {
    if g.chance(4) {
        mac(g.pick(MCAST_MACS))
    } else {
        pick_mac(g)
    }
}

fn pick_ip4(g: &mut XorShift) -> [u8; 4] {
    ip4(g.pick(IP4S))
}

fn pick_ip4_dst(g: &mut XorShift) -> [u8; 4] {
    if g.chance(6) {
        ip4(g.pick(IP4_SPECIAL_DST))
    } else {
        pick_ip4(g)
    }
}

fn pick_ip6(g: &mut XorShift) -> [u8; 16] {
    ip6(g.pick(IP6S))
}

fn pick_ip6_dst(g: &mut XorShift) -> [u8; 16] {
    if g.chance(5) {
        ip6(g.pick(IP6_MCAST))
    } else {
        pick_ip6(g)
    }
}

fn pick_port(g: &mut XorShift) -> u16 {
    if g.chance(8) {
        g.next_u64() as u16
    } else {
        g.pick(PORTS)
    }
}

/// A payload: mostly short, sometimes long and filled with 0xcd so deep
/// byte tests (`ip[0xab] == 0xcd`) find their byte.
fn pick_payload(g: &mut XorShift) -> Vec<u8> {
    match g.below(6) {
        0 => Vec::new(),
        1 => vec![0xcd; 200 + g.below(60)],
        2 => g.bytes_below(300),
        _ => g.bytes_below(24),
    }
}

const TCP_OPTS: &[&[u8]] = &[
    &[],
    &[2, 4, 0x05, 0xb4],
    &[2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2],
    &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0],
    &[
        2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1,
    ],
];

// ---------------------------------------------------------------------------
// Upper layers over IP

/// One payload over IP: its protocol number, bytes and which IP versions
/// it belongs to.
struct Upper {
    proto: u8,
    bytes: Vec<u8>,
    v4: bool,
    v6: bool,
}

fn up(proto: u8, bytes: Vec<u8>, v4: bool, v6: bool) -> Upper {
    Upper {
        proto,
        bytes,
        v4,
        v6,
    }
}

fn uppers(g: &mut XorShift) -> Vec<Upper> {
    let mut u = Vec::new();
    // Every TCP flag combination, twice, with pooled ports and options.
    for rep in 0..2 {
        for flags in 0..=255u8 {
            let (sp, dp) = (pick_port(g), pick_port(g));
            let opts = g.pick(TCP_OPTS);
            let p = pick_payload(g);
            u.push(up(
                IPPROTO_TCP,
                tcp(sp, dp, flags, opts, &p),
                rep == 0 || flags % 2 == 0,
                true,
            ));
        }
    }
    // Well-known port pairs in both directions for TCP and UDP and SCTP.
    for &port in PORTS {
        let other = g.pick(&[1024u16, 40000, 55555, 12345, 80, 53]);
        let p = pick_payload(g);
        u.push(up(IPPROTO_TCP, tcp(other, port, 0x02, &[], &p), true, true));
        u.push(up(IPPROTO_TCP, tcp(port, other, 0x12, &[], &p), true, true));
        u.push(up(IPPROTO_UDP, udp(other, port, &p), true, true));
        u.push(up(IPPROTO_UDP, udp(port, other, &p), true, true));
        u.push(up(
            IPPROTO_SCTP,
            sctp(port, other, g.below(16) as u8),
            true,
            true,
        ));
        u.push(up(IPPROTO_SCTP, sctp(other, port, 1), true, true));
    }
    for _ in 0..150 {
        let (sp, dp) = (pick_port(g), pick_port(g));
        let p = pick_payload(g);
        u.push(up(IPPROTO_UDP, udp(sp, dp, &p), true, true));
    }
    for _ in 0..30 {
        let (sp, dp) = (pick_port(g), pick_port(g));
        u.push(up(
            IPPROTO_SCTP,
            sctp(sp, dp, g.below(16) as u8),
            true,
            true,
        ));
    }
    // ICMP: all common types and codes.
    let icmp_types: &[(u8, &[u8])] = &[
        (0, &[0]),
        (3, &[0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 13, 15]),
        (4, &[0]),
        (5, &[0, 1, 2, 3]),
        (8, &[0]),
        (9, &[0, 16]),
        (10, &[0]),
        (11, &[0, 1]),
        (12, &[0, 1, 2]),
        (13, &[0]),
        (14, &[0]),
        (15, &[0]),
        (16, &[0]),
        (17, &[0]),
        (18, &[0]),
        (30, &[0]),
        (40, &[0, 5]),
        (42, &[0]),
        (43, &[0, 4]),
        (255, &[255]),
    ];
    for &(t, codes) in icmp_types {
        for &c in codes {
            let p = pick_payload(g);
            u.push(up(IPPROTO_ICMP, icmp(t, c, 0x0001_0001, &p), true, false));
        }
    }
    // ICMPv6: errors, echo, MLD, ND, and others.
    let icmp6_types: &[(u8, &[u8])] = &[
        (1, &[0, 1, 3, 4]),
        (2, &[0]),
        (3, &[0, 1]),
        (4, &[0, 1, 2]),
        (128, &[0]),
        (129, &[0]),
        (130, &[0]),
        (131, &[0]),
        (132, &[0]),
        (133, &[0]),
        (134, &[0]),
        (135, &[0]),
        (136, &[0]),
        (137, &[0]),
        (138, &[0, 1]),
        (139, &[0]),
        (140, &[0]),
        (143, &[0]),
        (200, &[7]),
    ];
    for &(t, codes) in icmp6_types {
        for &c in codes {
            let mut body = ip6("fe80::d6ca:6dff:fe66:cf60").to_vec();
            if g.chance(2) {
                body.extend_from_slice(&[1, 1, 0xd4, 0xca, 0x6d, 0x66, 0xcf, 0x60]);
            }
            if g.chance(3) {
                body.extend_from_slice(&[0xcd; 200]);
            }
            u.push(up(IPPROTO_ICMPV6, icmp(t, c, 0, &body), false, true));
        }
    }
    for t in [0x11u8, 0x12, 0x16, 0x17, 0x22] {
        u.push(up(IPPROTO_IGMP, igmp(t, ip4("224.0.0.22")), true, false));
    }
    for t in 0..10u8 {
        u.push(up(IPPROTO_PIM, pim(t), true, true));
    }
    for &(vt, prio, word) in &[
        (0x21u8, 100u8, 0x0001_b0c0u32),
        (0x31, 191, 0x0064_b123),
        (0x21, 191, 0x0000_1111),
        (0x31, 255, 0x0001_a000),
        (0x22, 0, 0x0001_ffff),
        (0x11, 191, 0x0000_b001),
    ] {
        u.push(up(IPPROTO_VRRP, vrrp(vt, 7, prio, word), true, true));
        let mut long = vrrp(vt, 9, prio, word);
        long.extend_from_slice(&[0xcd; 200]);
        u.push(up(IPPROTO_VRRP, long, true, false));
    }
    for &pt in &[ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_TEB, 0x880b] {
        let inner =
            Ipv4::new(ip4("10.0.0.1"), ip4("10.0.0.2"), IPPROTO_ICMP).build(&icmp(8, 0, 1, &[]));
        u.push(up(IPPROTO_GRE, gre(pt, &inner), true, true));
    }
    for spi in [1u32, 0x100, 0xdead_beef] {
        u.push(up(IPPROTO_ESP, esp(spi), true, true));
    }
    u.push(up(
        IPPROTO_AH,
        ah(IPPROTO_TCP, &tcp(22, 40000, 0x18, &[], b"ssh")),
        true,
        false,
    ));
    u.push(up(
        IPPROTO_AH,
        ah(IPPROTO_UDP, &udp(53, 53, &[0; 12])),
        true,
        false,
    ));
    u.push(up(
        IPPROTO_AH,
        ah(IPPROTO_ICMP, &icmp(8, 0, 0, &[])),
        true,
        false,
    ));
    u.push(up(
        IPPROTO_AH,
        ah(IPPROTO_IPCOMP, &[IPPROTO_TCP, 0, 0, 1, 9, 9]),
        true,
        false,
    ));
    // Tunnels: IPv4 in IPv4, IPv6 in IPv4/IPv6.
    let inner4 =
        Ipv4::new(ip4("1.2.3.4"), ip4("10.0.0.1"), IPPROTO_UDP).build(&udp(53, 1024, &[1, 2, 3]));
    let inner6 = Ipv6::new(ip6("2001:db8::1"), ip6("fe80::1"))
        .build(IPPROTO_TCP, &tcp(22, 1024, 0x02, &[], &[]));
    u.push(up(IPPROTO_IPIP, inner4.clone(), true, true));
    u.push(up(IPPROTO_IPV6, inner6.clone(), true, true));
    u.push(up(
        IPPROTO_IPCOMP,
        vec![IPPROTO_UDP, 0, 0, 7, 1, 2, 3, 4],
        true,
        true,
    ));
    for &proto in &[
        IPPROTO_IGRP,
        IPPROTO_EIGRP,
        IPPROTO_NONE,
        88,
        255,
        3,
        137,
        200,
    ] {
        u.push(up(proto, g.bytes(16), true, true));
    }
    u
}

const V4_OPTIONS: &[&[u8]] = &[
    &[1, 1, 1, 0],
    &[0x94, 4, 0, 0],
    &[7, 7, 4, 0, 0, 0, 0],
    &[0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    &[0x83, 11, 4, 1, 2, 3, 4, 10, 0, 0, 1],
    &[7, 39, 4],
];

/// Wraps an upper-layer payload in a varied IPv4 header.
fn wrap_v4(g: &mut XorShift, u: &Upper, n: usize) -> Vec<u8> {
    let mut h = Ipv4::new(pick_ip4(g), pick_ip4_dst(g), u.proto);
    h.ttl = g.pick(&[64, 64, 1, 255, 0, 128]);
    h.tos = g.pick(&[0, 0, 0x10, 0xb8, 0xff, 0x02]);
    h.df = g.chance(2);
    match n % 11 {
        3 => {
            let o = g.pick(V4_OPTIONS).to_vec();
            h.options = o;
            if h.options.len() > 36 {
                h.options.resize(40, 0);
            }
        }
        5 => {
            // First fragment of several.
            h.mf = true;
        }
        7 => {
            // Non-first fragment: middle or last.
            h.frag_off = g.pick(&[1, 3, 185, 0x1fff]);
            h.mf = g.chance(2);
        }
        9 if g.chance(3) => {
            let len = 4 * (1 + g.below(10));
            h.options = vec![1; len];
        }
        _ => {}
    }
    h.build(&u.bytes)
}

const V6_CHAINS: &[&[Ext]] = &[
    &[Ext::HopByHop(0)],
    &[Ext::Fragment {
        offset: 0,
        more: true,
    }],
    &[Ext::Fragment {
        offset: 185,
        more: false,
    }],
    &[Ext::DstOpts(1)],
    &[Ext::Routing { kind: 0, segs: 1 }],
    &[Ext::Ah],
    &[Ext::HopByHop(0), Ext::DstOpts(0)],
    &[
        Ext::HopByHop(1),
        Ext::Routing { kind: 2, segs: 1 },
        Ext::Fragment {
            offset: 0,
            more: true,
        },
    ],
    &[
        Ext::HopByHop(0),
        Ext::DstOpts(0),
        Ext::Routing { kind: 0, segs: 2 },
        Ext::Fragment {
            offset: 0,
            more: false,
        },
        Ext::Ah,
        Ext::DstOpts(2),
    ],
    &[Ext::Ah, Ext::DstOpts(0)],
    &[
        Ext::Fragment {
            offset: 7,
            more: true,
        },
        Ext::DstOpts(0),
    ],
];

/// Wraps an upper-layer payload in a varied IPv6 header and extension chain.
fn wrap_v6(g: &mut XorShift, u: &Upper, n: usize) -> Vec<u8> {
    let mut h = Ipv6::new(pick_ip6(g), pick_ip6_dst(g));
    h.hlim = g.pick(&[64, 255, 1, 0]);
    h.tc = g.pick(&[0, 0, 0xb8, 0xff]);
    h.flow = g.pick(&[0, 0, 0x12345, 0xfffff]);
    if n % 4 == 1 {
        h.exts = g.pick(V6_CHAINS).to_vec();
    }
    h.build(u.proto, &u.bytes)
}

/// Network-layer packets (IPv4 and IPv6 with their EtherType), shared by
/// the Ethernet and the raw corpus.
fn l3_packets(g: &mut XorShift) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for (n, u) in uppers(g).iter().enumerate() {
        if u.v4 {
            out.push((ETHERTYPE_IP, wrap_v4(g, u, n)));
        }
        if u.v6 {
            out.push((ETHERTYPE_IPV6, wrap_v6(g, u, n)));
        }
    }
    // Malformed IPv4: header length below 5, and version mismatches.
    for ihl in 0..5u8 {
        let mut h = Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_TCP);
        h.ihl = Some(ihl);
        out.push((ETHERTYPE_IP, h.build(&tcp(80, 22, 0x02, &[], &[]))));
    }
    let mut h = Ipv4::new(ip4("10.0.0.1"), ip4("10.0.0.2"), IPPROTO_UDP);
    h.ihl = Some(15);
    out.push((ETHERTYPE_IP, h.build(&udp(53, 53, &[0; 60]))));
    // An IPv6 header behind EtherType IP and the reverse.
    out.push((
        ETHERTYPE_IP,
        Ipv6::new(ip6("fe80::1"), ip6("ff02::1")).build(IPPROTO_UDP, &udp(53, 53, &[])),
    ));
    out.push((
        ETHERTYPE_IPV6,
        Ipv4::new(ip4("1.2.3.4"), ip4("10.0.0.1"), IPPROTO_TCP).build(&tcp(22, 80, 0x02, &[], &[])),
    ));
    // IPv6 with long extension chains ending in every transport.
    for &proto in &[
        IPPROTO_TCP,
        IPPROTO_UDP,
        IPPROTO_ICMPV6,
        IPPROTO_SCTP,
        IPPROTO_NONE,
    ] {
        for chain in V6_CHAINS {
            let mut h = Ipv6::new(pick_ip6(g), pick_ip6_dst(g));
            h.exts = chain.to_vec();
            let body = match proto {
                IPPROTO_TCP => tcp(pick_port(g), pick_port(g), 0x02, &[], &[]),
                IPPROTO_UDP => udp(pick_port(g), pick_port(g), &[0; 8]),
                IPPROTO_ICMPV6 => icmp(g.pick(&[128, 129, 135, 136]), 0, 0, &[0; 16]),
                IPPROTO_SCTP => sctp(5672, 5672, 1),
                _ => Vec::new(),
            };
            out.push((ETHERTYPE_IPV6, h.build(proto, &body)));
        }
    }
    // IPv4 protochain variety: AH before various protocols.
    for &next in &[
        IPPROTO_TCP,
        IPPROTO_UDP,
        IPPROTO_ICMP,
        IPPROTO_IPIP,
        IPPROTO_IPCOMP,
    ] {
        let h = Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_AH);
        out.push((ETHERTYPE_IP, h.build(&ah(next, &udp(53, 5672, &[0; 8])))));
    }
    out
}

// ---------------------------------------------------------------------------
// Link encapsulations and non-IP protocols

fn pick_tags(g: &mut XorShift, n: usize) -> Vec<Tag> {
    let vid = |g: &mut XorShift| {
        if g.chance(3) {
            g.below(4096) as u16
        } else {
            g.pick(VLAN_IDS)
        }
    };
    let label = |g: &mut XorShift| {
        if g.chance(3) {
            g.below(1 << 20) as u32
        } else {
            g.pick(MPLS_LABELS)
        }
    };
    match n % 12 {
        0 | 3 => vec![Tag::Vlan {
            tpid: ETHERTYPE_VLAN,
            tci: vid(g) | (g.below(8) as u16) << 13,
        }],
        1 => vec![
            Tag::Vlan {
                tpid: g.pick(&[ETHERTYPE_QINQ, ETHERTYPE_QINQ_OLD, ETHERTYPE_VLAN]),
                tci: vid(g),
            },
            Tag::vlan(vid(g)),
        ],
        2 | 7 => (0..1 + g.below(3)).map(|_| Tag::mpls(label(g))).collect(),
        4 | 9 => vec![Tag::Pppoe {
            sid: g.pick(PPPOE_SIDS),
        }],
        5 => vec![Tag::vlan(vid(g)), Tag::mpls(label(g))],
        6 => vec![
            Tag::Pppoe {
                sid: g.pick(PPPOE_SIDS),
            },
            Tag::mpls(label(g)),
        ],
        8 => vec![
            Tag::vlan(vid(g)),
            Tag::Pppoe {
                sid: g.pick(PPPOE_SIDS),
            },
        ],
        10 => vec![
            Tag::Vlan {
                tpid: ETHERTYPE_QINQ,
                tci: vid(g),
            },
            Tag::vlan(vid(g)),
            Tag::mpls(label(g)),
            Tag::mpls(label(g)),
        ],
        _ => vec![Tag::vlan(vid(g)), Tag::vlan(vid(g)), Tag::vlan(vid(g))],
    }
}

fn l2_frames(g: &mut XorShift) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let bcast = mac("ff:ff:ff:ff:ff:ff");
    let zero = mac("00:00:00:00:00:00");
    // ARP and RARP requests and replies between the pooled addresses.
    for (i, spa) in ARP_IPS.iter().enumerate() {
        for (j, &op) in [1u16, 2, 3, 4, 8].iter().enumerate() {
            let ty = match (op, (i + j) % 3) {
                (3 | 4, _) | (_, 0) => ETHERTYPE_RARP,
                _ => ETHERTYPE_ARP,
            };
            let sha = pick_mac(g);
            let tha = if op == 1 { zero } else { pick_mac(g) };
            let tpa = ARP_IPS[(i + 2 * j + 1) % ARP_IPS.len()];
            let a = arp(op, sha, ip4(spa), tha, ip4(tpa));
            let dst = if op == 1 || op == 3 {
                bcast
            } else {
                pick_dst_mac(g)
            };
            let tags = if (i + j) % 5 == 4 {
                pick_tags(g, 0)
            } else {
                Vec::new()
            };
            v.push(eth(dst, sha, &tags, ty, &a));
        }
    }
    for (spa, tpa) in [("192.1.2.23", "192.1.2.254"), ("192.1.2.254", "192.1.2.23")] {
        let a = arp(1, pick_mac(g), ip4(spa), zero, ip4(tpa));
        v.push(eth(bcast, pick_mac(g), &[], ETHERTYPE_ARP, &a));
    }
    // Padded ARP long enough for deep byte tests.
    let mut a = arp(
        1,
        mac("ab:cd:ef:00:00:01"),
        ip4("1.2.3.4"),
        zero,
        ip4("192.168.1.4"),
    );
    a.extend_from_slice(&[0xcd; 200]);
    v.push(eth(bcast, mac("ab:cd:ef:00:00:01"), &[], ETHERTYPE_ARP, &a));
    // EtherType-only protocols.
    for &ty in &[
        ETHERTYPE_LAT,
        ETHERTYPE_MOPDL,
        ETHERTYPE_MOPRC,
        ETHERTYPE_SCA,
        ETHERTYPE_IPX,
        ETHERTYPE_ATALK,
        ETHERTYPE_AARP,
        ETHERTYPE_LOOPBACK,
        ETHERTYPE_PPPOED,
        ETHERTYPE_MPLS_MC,
        0x88cc,
        0x8809,
        0x88e5,
        0x05dd,
        0x0600,
        0xffff,
        0x0006,
        0x00ff,
        0x05dc,
    ] {
        for _ in 0..2 {
            let p = g
                .bytes_below(30)
                .into_iter()
                .chain([0; 30])
                .collect::<Vec<u8>>();
            v.push(eth(pick_dst_mac(g), pick_mac(g), &[], ty, &p));
        }
    }
    // PPPoE discovery: PADI, PADO, PADR, PADS, PADT.
    for &code in &[0x09u8, 0x07, 0x19, 0x65, 0xa7] {
        let p = vec![
            0x11,
            code,
            0,
            if code == 0x65 { 0x3b } else { 0 },
            0,
            4,
            1,
            1,
            0,
            0,
        ];
        v.push(eth(bcast, pick_mac(g), &[], ETHERTYPE_PPPOED, &p));
    }
    // PPPoE session with a non-IP PPP protocol (LCP).
    for &sid in PPPOE_SIDS {
        let mut f = eth(
            pick_mac(g),
            pick_mac(g),
            &[Tag::Pppoe { sid }],
            0xc021,
            &[1, 1, 0, 4],
        );
        f.truncate(f.len());
        v.push(f);
    }
    // DECnet routing headers: every pooled address as source and as
    // destination, in every header form.
    for (n, &(long, pad, le)) in [
        (false, false, true),
        (false, true, true),
        (true, false, true),
        (true, true, true),
        (false, false, false),
        (true, true, false),
    ]
    .iter()
    .enumerate()
    {
        for (i, &dst) in DECNET_ADDRS.iter().enumerate() {
            let src = DECNET_ADDRS[(i + n + 1) % DECNET_ADDRS.len()];
            let flags = [0, 0x08, 0x20, 0x40][(i + n) % 4];
            let d = decnet(long, pad, flags, dst, src, le);
            v.push(eth(
                mac("aa:00:04:00:fc:ca"),
                mac("aa:00:04:00:01:04"),
                &[],
                ETHERTYPE_DECNET,
                &d,
            ));
        }
    }
    // 802.2 LLC with every control-field kind.
    let ctrls: &[&[u8]] = &[
        &[0x00, 0x00],
        &[0x02, 0x01],
        &[0xfe, 0x00],
        &[0x01, 0x00],
        &[0x05, 0x00],
        &[0x09, 0x01],
        &[0x0d, 0x00],
        &[0x03],
        &[0x13],
        &[0x63],
        &[0x73],
        &[0x43],
        &[0x53],
        &[0x0f],
        &[0x1f],
        &[0x6f],
        &[0x7f],
        &[0xe3],
        &[0xf3],
        &[0xaf],
        &[0xbf],
        &[0x87],
        &[0x97],
        &[0x27],
    ];
    for &dsap in &[0x42u8, 0xf0, 0xe0, 0x06, 0x00, 0xff, 0x04, 0x80, 0xfe, 0xaa] {
        for (i, ctrl) in ctrls.iter().enumerate() {
            if (i + dsap as usize) % 3 != 0 && dsap != 0x42 && dsap != 0xf0 {
                continue;
            }
            let p = g.bytes_below(40);
            v.push(llc(pick_dst_mac(g), pick_mac(g), &[], dsap, dsap, ctrl, &p));
        }
    }
    // Spanning tree BPDUs, also tagged.
    for i in 0..6 {
        let tags = if i % 2 == 1 {
            vec![Tag::vlan(g.pick(VLAN_IDS))]
        } else {
            Vec::new()
        };
        v.push(llc(
            mac("01:80:c2:00:00:00"),
            pick_mac(g),
            &tags,
            0x42,
            0x42,
            &[0x03],
            &[0, 0, 0, 0, 0, 0x80, 0, 0, 0x11],
        ));
    }
    // LLC with mismatched SAPs.
    v.push(llc(
        pick_mac(g),
        pick_mac(g),
        &[],
        0x42,
        0x43,
        &[0x03],
        &[0; 8],
    ));
    v.push(llc(
        pick_mac(g),
        pick_mac(g),
        &[],
        0xfe,
        0x42,
        &[0x03],
        &[0x81; 8],
    ));
    // OSI: CLNP, ES-IS, IS-IS with every PDU type, other NLPIDs.
    for &nlpid in &[0x81u8, 0x82, 0x80, 0x00, 0xcc] {
        v.push(llc(
            mac("09:00:2b:00:00:05"),
            pick_mac(g),
            &[],
            0xfe,
            0xfe,
            &[0x03],
            &[nlpid, 20, 1, 0, 0x1c, 0, 0, 0],
        ));
    }
    for &pdu in &[
        15u8,
        16,
        17,
        18,
        20,
        24,
        25,
        26,
        27,
        32,
        0x1f,
        0xef,
        0x11 | 0x20,
    ] {
        v.push(llc(
            mac("01:80:c2:00:00:14"),
            pick_mac(g),
            &[],
            0xfe,
            0xfe,
            &[0x03],
            &isis(pdu),
        ));
    }
    // IPX: LLC, raw 802.3, SNAP; AppleTalk and AARP via SNAP; other SNAP.
    let ipx = [0xffu8, 0xff, 0, 30, 0, 4, 0, 0, 0, 1];
    v.push(llc(bcast, pick_mac(g), &[], 0xe0, 0xe0, &[0x03], &ipx));
    v.push(eth(bcast, pick_mac(g), &[], ipx.len() as u16, &ipx));
    v.push(eth(bcast, pick_mac(g), &[], 40, &[0xffu8; 40]));
    v.push(snap(bcast, pick_mac(g), [0, 0, 0], ETHERTYPE_IPX, &ipx));
    v.push(snap(
        mac("09:00:07:ff:ff:ff"),
        pick_mac(g),
        [0x08, 0, 0x07],
        ETHERTYPE_ATALK,
        &[0, 20, 0, 0, 0, 1, 0, 2, 3, 4, 5],
    ));
    v.push(snap(
        bcast,
        pick_mac(g),
        [0, 0, 0],
        ETHERTYPE_AARP,
        &[0, 1, 0x80, 0x9b, 6, 4, 0, 1],
    ));
    v.push(snap(
        bcast,
        pick_mac(g),
        [0x08, 0, 0x07],
        ETHERTYPE_AARP,
        &[0, 1],
    ));
    v.push(snap(
        bcast,
        pick_mac(g),
        [0, 0, 0],
        ETHERTYPE_ATALK,
        &[0, 1],
    ));
    v.push(snap(bcast, pick_mac(g), [0, 0, 0x0c], 0x2000, &[0; 20]));
    v.push(snap(
        bcast,
        pick_mac(g),
        [0, 0, 0],
        ETHERTYPE_IP,
        &Ipv4::new(ip4("1.2.3.4"), ip4("10.0.0.1"), 6).build(&tcp(25, 25, 2, &[], &[])),
    ));
    v.push(snap(
        bcast,
        pick_mac(g),
        [0, 0, 0],
        ETHERTYPE_ARP,
        &arp(1, pick_mac(g), ip4("1.2.3.4"), zero, ip4("10.0.0.1")),
    ));
    v
}

/// Geneve and VXLAN tunnels over UDP, with inner Ethernet frames.
fn tunnel_frames(g: &mut XorShift) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for i in 0..60 {
        let inner_l3 = match i % 6 {
            0 | 3 => Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_TCP).build(&tcp(
                g.pick(&[22, 80, 22, 25]),
                pick_port(g),
                0x02 | (i as u8 & 0x10),
                &[],
                &[],
            )),
            1 => Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_UDP).build(&udp(
                pick_port(g),
                53,
                &[0; 8],
            )),
            2 => Ipv6::new(pick_ip6(g), pick_ip6_dst(g))
                .build(IPPROTO_TCP, &tcp(22, pick_port(g), 0x12, &[], &[])),
            4 => Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_ICMP).build(&icmp(8, 0, 1, &[0; 8])),
            _ => arp(1, pick_mac(g), pick_ip4(g), [0; 6], pick_ip4(g)),
        };
        let inner_ty = match i % 6 {
            2 => ETHERTYPE_IPV6,
            5 => ETHERTYPE_ARP,
            _ => ETHERTYPE_IP,
        };
        let inner_tags = if i % 7 == 3 {
            vec![Tag::vlan(10)]
        } else {
            Vec::new()
        };
        let inner_eth = eth(
            pick_dst_mac(g),
            pick_mac(g),
            &inner_tags,
            inner_ty,
            &inner_l3,
        );
        let vni = g.pick(GENEVE_VNIS);
        let (tunnel, dport) = match i % 5 {
            0 | 1 | 3 => (
                geneve(vni, ETHERTYPE_TEB, g.pick(&[0, 0, 1, 2]), &inner_eth),
                GENEVE_PORT,
            ),
            2 => {
                let ty = if inner_ty == ETHERTYPE_IPV6 {
                    ETHERTYPE_IPV6
                } else {
                    ETHERTYPE_IP
                };
                let l3 = if inner_ty == ETHERTYPE_ARP {
                    Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_TCP).build(&tcp(22, 7, 2, &[], &[]))
                } else {
                    inner_l3
                };
                (geneve(vni, ty, 0, &l3), GENEVE_PORT)
            }
            _ => (vxlan(vni, &inner_eth), VXLAN_PORT),
        };
        let sport = if i % 9 == 0 {
            GENEVE_PORT
        } else {
            49152 + i as u16
        };
        let outer_udp = udp(sport, dport, &tunnel);
        let (ty, l3) = if i % 4 == 3 {
            (
                ETHERTYPE_IPV6,
                Ipv6::new(pick_ip6(g), pick_ip6(g)).build(IPPROTO_UDP, &outer_udp),
            )
        } else {
            (
                ETHERTYPE_IP,
                Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_UDP).build(&outer_udp),
            )
        };
        let tags = if i % 8 == 5 {
            vec![Tag::vlan(g.pick(VLAN_IDS))]
        } else {
            Vec::new()
        };
        v.push(eth(pick_dst_mac(g), pick_mac(g), &tags, ty, &l3));
    }
    v
}

/// Geneve inside Geneve, with TCP from port 22 innermost.
fn nested_geneve_frames(g: &mut XorShift) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (i, &vni) in [10u32, 11, 12345].iter().enumerate() {
        let l4 = tcp(g.pick(&[22, 80]), 40000, 0x02, &[], &[]);
        let l3 = Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_TCP).build(&l4);
        let mut inner = eth(pick_mac(g), pick_mac(g), &[], ETHERTYPE_IP, &l3);
        for depth in 0..2 {
            let u = udp(
                49152 + i as u16,
                GENEVE_PORT,
                &geneve(vni + depth, ETHERTYPE_TEB, depth as u8, &inner),
            );
            let l3 = Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_UDP).build(&u);
            inner = eth(pick_mac(g), pick_mac(g), &[], ETHERTYPE_IP, &l3);
        }
        v.push(inner);
    }
    v
}

/// Frames carrying the byte patterns of the corpus's raw byte tests.
fn probe_frames(g: &mut XorShift) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let base = eth(
        pick_mac(g),
        pick_mac(g),
        &[],
        ETHERTYPE_IP,
        &Ipv4::new(ip4("10.0.0.1"), ip4("10.0.0.2"), IPPROTO_UDP).build(&udp(53, 53, &[0xcd; 220])),
    );
    let patches: &[&[(usize, u8)]] = &[
        &[(5, 0x12)],
        &[(7, 0x12), (8, 0x34)],
        &[(10, 0x12), (11, 0x34), (12, 0x56), (13, 0x78)],
        &[(5, 0x12), (7, 0x12), (8, 0x34)],
    ];
    for p in patches {
        let mut f = base.clone();
        for &(at, b) in p.iter() {
            f[at] = b;
        }
        v.push(f);
    }
    v
}

/// The Ethernet corpus (LINKTYPE_ETHERNET 1).
pub fn ethernet_corpus() -> Vec<Vec<u8>> {
    let mut g = XorShift::new(0x5eed_0001_d00d_f00d);
    let mut base = Vec::new();
    for (n, (ty, l3)) in l3_packets(&mut g).into_iter().enumerate() {
        let (dst, src) = (pick_dst_mac(&mut g), pick_mac(&mut g));
        base.push(eth(dst, src, &[], ty, &l3));
        if n % 2 == 0 {
            let tags = pick_tags(&mut g, n / 2);
            base.push(eth(dst, src, &tags, ty, &l3));
        }
    }
    base.extend(l2_frames(&mut g));
    base.extend(tunnel_frames(&mut g));
    base.extend(nested_geneve_frames(&mut g));
    base.extend(probe_frames(&mut g));
    finish(&mut g, base, 14)
}

/// The raw corpus (LINKTYPE_RAW 101): IPv4 and IPv6 packets with no link
/// header.
pub fn raw_corpus() -> Vec<Vec<u8>> {
    let mut g = XorShift::new(0x5eed_0002_0bad_cafe);
    let mut base: Vec<Vec<u8>> = l3_packets(&mut g).into_iter().map(|(_, p)| p).collect();
    // Version nibbles other than 4 and 6.
    for ver in [0u8, 5, 7, 15] {
        let mut p = Ipv4::new(ip4("10.0.0.1"), ip4("10.0.0.2"), IPPROTO_TCP).build(&tcp(
            80,
            80,
            2,
            &[],
            &[],
        ));
        p[ip4_off::VER_IHL] = ver << 4 | 5;
        base.push(p);
    }
    finish(&mut g, base, 0)
}

/// Whether libpcap's `protochain` walk, started on `l3` as an IPv4 (`v6`
/// false) or IPv6 header, never ends. libpcap walks the header chain with a
/// backward jump and, after an AH header, sets its offset to the AH length
/// instead of adding it, so some byte patterns send it round forever and
/// tcpdump hangs: such frames cannot be judged and stay out of the corpus.
pub fn libpcap_protochain_loops(l3: &[u8], v6: bool) -> bool {
    let byte = |at: usize| l3.get(at).copied();
    let (mut proto, mut x) = if v6 {
        match byte(6) {
            Some(p) => (p, 40usize),
            None => return false,
        }
    } else {
        match (byte(9), byte(0)) {
            (Some(p), Some(vi)) => (p, usize::from(vi & 0x0f) * 4),
            _ => return false,
        }
    };
    for _ in 0..l3.len() + 16 {
        let ext = v6
            && matches!(
                proto,
                IPPROTO_HOPOPTS | IPPROTO_DSTOPTS | IPPROTO_ROUTING | IPPROTO_FRAGMENT
            );
        if proto == IPPROTO_NONE || !(ext || proto == IPPROTO_AH) {
            return false;
        }
        let (Some(next), Some(len)) = (byte(x), byte(x + 1)) else {
            return false;
        };
        proto = next;
        x = if ext {
            x + (usize::from(len) + 1) * 8
        } else {
            (usize::from(len) + 2) * 4
        };
    }
    true
}

/// Whether `libpcap_protochain_loops` for an IPv4 or IPv6 header starting
/// at any of the first bytes of `frame`.
fn hangs_libpcap(frame: &[u8]) -> bool {
    (0..frame.len().min(80)).any(|at| {
        libpcap_protochain_loops(&frame[at..], false)
            || libpcap_protochain_loops(&frame[at..], true)
    })
}

/// Adds to the well-formed frames: every truncation of a selection of them,
/// a random truncation of many, random bytes, and the empty frame.
fn finish(g: &mut XorShift, base: Vec<Vec<u8>>, link_len: usize) -> Vec<Vec<u8>> {
    let mut out = base.clone();
    let step = (base.len() / 45).max(1);
    for f in base.iter().step_by(step) {
        for len in 0..f.len().min(link_len + 110) {
            out.push(f[..len].to_vec());
        }
    }
    for (i, f) in base.iter().enumerate() {
        if i % 3 == 1 && !f.is_empty() {
            let len = g.below(f.len());
            out.push(f[..len].to_vec());
        }
    }
    for _ in 0..300 {
        let n = g.below(120);
        out.push(g.bytes(n));
    }
    // Random bytes behind a plausible link header.
    for _ in 0..100 {
        let mut f = if link_len > 0 {
            eth(
                pick_mac(g),
                pick_mac(g),
                &[],
                g.pick(&[
                    ETHERTYPE_IP,
                    ETHERTYPE_IPV6,
                    ETHERTYPE_ARP,
                    ETHERTYPE_VLAN,
                    ETHERTYPE_MPLS,
                    ETHERTYPE_PPPOES,
                ]),
                &[],
            )
        } else {
            Vec::new()
        };
        let mut body = g.bytes_below(100);
        if let Some(b) = body.first_mut() {
            *b = (*b & 0x0f) | g.pick(&[0x40u8, 0x45, 0x60]) & 0xf0;
        }
        f.extend_from_slice(&body);
        out.push(f);
    }
    out.push(Vec::new());
    out.retain(|f| !hangs_libpcap(f));
    out
}

/// Writes `frames` as a classic microsecond pcap; packet `i` gets the
/// timestamp `i` microseconds so a filtered copy maps back to indices.
pub fn write_pcap(path: &Path, linktype: u32, frames: &[Vec<u8>]) {
    let mut buf = Vec::with_capacity(24 + frames.iter().map(|f| f.len() + 16).sum::<usize>());
    buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    buf.extend_from_slice(&2u16.to_le_bytes());
    buf.extend_from_slice(&4u16.to_le_bytes());
    buf.extend_from_slice(&0i32.to_le_bytes());
    buf.extend_from_slice(&0u32.to_le_bytes());
    buf.extend_from_slice(&262_144u32.to_le_bytes());
    buf.extend_from_slice(&linktype.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        buf.extend_from_slice(&((i / 1_000_000) as u32).to_le_bytes());
        buf.extend_from_slice(&((i % 1_000_000) as u32).to_le_bytes());
        buf.extend_from_slice(&(f.len() as u32).to_le_bytes());
        buf.extend_from_slice(&(f.len() as u32).to_le_bytes());
        buf.extend_from_slice(f);
    }
    let mut file =
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    file.write_all(&buf)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
