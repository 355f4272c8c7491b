//! A deterministic packet corpus for the differential filter tests.
//!
//! Frames are built from small typed builders (`build`: one per protocol
//! layer, with the header offsets named once) and from fixed address, port and
//! identifier pools chosen so that the expressions of the shared filter
//! corpus and of our own lists match some packets but not all. On top of the
//! well-formed frames come truncations at every length of a selection of
//! frames (among them one fixed set of packets behind every encapsulation),
//! truncations at random lengths, malformed headers and random bytes.
//! Frames on which tcpdump itself would hang are left out.
//! Every choice comes from a seeded xorshift generator, so the corpus is the
//! same on every run and a packet index names the same bytes everywhere.
//!
//! The corpus is only ever written to pcap files: nothing here touches a
//! network.

mod build;

use std::io::Write;
use std::path::Path;

pub use build::*;

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
    "1.2.3.1",
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
    0, 1, 2, 10, 11, 20, 100, 123, 200, 1000, 1024, 2000, 2048, 4094, 4095,
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
    /// Few of its kind: also sent once with plain IP headers, so header
    /// variations (options, fragments, extension headers) cannot hide it.
    rare: bool,
}

fn up(proto: u8, bytes: Vec<u8>, v4: bool, v6: bool) -> Upper {
    Upper {
        proto,
        bytes,
        v4,
        v6,
        rare: true,
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
            let mut t = up(
                IPPROTO_TCP,
                tcp(sp, dp, flags, opts, &p),
                rep == 0 || flags % 2 == 0,
                true,
            );
            t.rare = false;
            u.push(t);
        }
    }
    // TCP data offsets below the minimum and up to the maximum.
    for doff in [0u8, 1, 4, 6, 8, 15] {
        let mut t = tcp(pick_port(g), pick_port(g), 0x02, &[], &[0xcd; 80]);
        t[tcp_off::DOFF] = doff << 4;
        u.push(up(IPPROTO_TCP, t, true, true));
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
        let mut t = up(IPPROTO_UDP, udp(sp, dp, &p), true, true);
        t.rare = false;
        u.push(t);
    }
    for i in 0..30 {
        let (sp, dp) = (pick_port(g), pick_port(g));
        let mut chunk = sctp(sp, dp, g.below(16) as u8);
        if i % 2 == 0 {
            chunk.extend_from_slice(&[0xcd; 200]);
        }
        u.push(up(IPPROTO_SCTP, chunk, true, true));
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
    // Large packets, for length tests.
    u.push(up(
        IPPROTO_TCP,
        tcp(443, 40000, 0x18, &[], &[0xcd; 1460]),
        true,
        true,
    ));
    u.push(up(IPPROTO_UDP, udp(4000, 53, &[0x11; 1200]), true, true));
    u.push(up(IPPROTO_ICMP, icmp(8, 0, 7, &[0x22; 1000]), true, false));
    u.push(up(
        IPPROTO_ICMPV6,
        icmp(128, 0, 7, &[0x22; 1000]),
        false,
        true,
    ));
    for &proto in &[
        IPPROTO_HOPOPTS,
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
        if u.rare && u.v4 {
            let h = Ipv4::new(pick_ip4(g), pick_ip4_dst(g), u.proto);
            out.push((ETHERTYPE_IP, h.build(&u.bytes)));
        }
        if u.rare && u.v6 {
            let h = Ipv6::new(pick_ip6(g), pick_ip6_dst(g));
            out.push((ETHERTYPE_IPV6, h.build(u.proto, &u.bytes)));
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

/// Geneve and VXLAN tunnels over UDP over IPv4 or IPv6, with inner Ethernet
/// frames; each with its EtherType.
fn tunnel_packets(g: &mut XorShift) -> Vec<(u16, Vec<u8>)> {
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
        v.push((ty, l3));
    }
    v
}

/// Geneve inside Geneve, with TCP from port 22 innermost, as IPv4 packets.
fn nested_geneve_packets(g: &mut XorShift) -> Vec<(u16, Vec<u8>)> {
    let mut v = Vec::new();
    for (i, &vni) in [10u32, 11, 12345].iter().enumerate() {
        let l4 = tcp(g.pick(&[22, 80]), 40000, 0x02, &[], &[]);
        let mut l3 = Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_TCP).build(&l4);
        for depth in 0..2 {
            let inner = eth(pick_mac(g), pick_mac(g), &[], ETHERTYPE_IP, &l3);
            let u = udp(
                49152 + i as u16,
                GENEVE_PORT,
                &geneve(vni + depth, ETHERTYPE_TEB, depth as u8, &inner),
            );
            l3 = Ipv4::new(pick_ip4(g), pick_ip4(g), IPPROTO_UDP).build(&u);
        }
        v.push((ETHERTYPE_IP, l3));
    }
    v
}

/// A few fixed packets behind every kind of encapsulation: the frames whose
/// every truncation the corpus holds.
fn encapsulation_matrix() -> Vec<Vec<u8>> {
    let l3s = [
        (
            ETHERTYPE_IP,
            Ipv4::new(ip4("10.0.0.1"), ip4("1.2.3.4"), IPPROTO_TCP).build(&tcp(
                22,
                80,
                0x02,
                &[],
                &[],
            )),
        ),
        (
            ETHERTYPE_IP,
            Ipv4::new(ip4("192.168.1.4"), ip4("10.0.0.2"), IPPROTO_UDP).build(&udp(
                40000,
                53,
                &[0xcd; 12],
            )),
        ),
        (
            ETHERTYPE_IP,
            Ipv4::new(ip4("10.0.0.1"), ip4("10.0.0.1"), IPPROTO_ICMP)
                .build(&icmp(8, 0, 1, &[0; 8])),
        ),
        (
            ETHERTYPE_IPV6,
            Ipv6::new(ip6("fe80::1"), ip6("2001:db8::1"))
                .build(IPPROTO_TCP, &tcp(80, 22, 0x10, &[], &[])),
        ),
        (
            ETHERTYPE_IPV6,
            Ipv6::new(ip6("2001:db8::2"), ip6("ff02::1"))
                .build(IPPROTO_ICMPV6, &icmp(128, 0, 1, &[0; 8])),
        ),
    ];
    let encaps: Vec<Vec<Tag>> = vec![
        vec![],
        vec![Tag::vlan(10)],
        vec![Tag::vlan(2048)],
        vec![
            Tag::Vlan {
                tpid: ETHERTYPE_QINQ,
                tci: 100,
            },
            Tag::vlan(20),
        ],
        vec![
            Tag::Vlan {
                tpid: ETHERTYPE_QINQ_OLD,
                tci: 10,
            },
            Tag::vlan(10),
        ],
        vec![Tag::mpls(100)],
        vec![Tag::mpls(16), Tag::mpls(100)],
        vec![Tag::mpls(0), Tag::mpls(20), Tag::mpls(1_048_575)],
        vec![Tag::Pppoe { sid: 0x3b }],
        vec![Tag::Pppoe { sid: 1234 }, Tag::mpls(123)],
        vec![Tag::vlan(10), Tag::mpls(100)],
        vec![Tag::vlan(20), Tag::Pppoe { sid: 1 }],
        vec![Tag::vlan(1), Tag::vlan(2), Tag::vlan(3)],
        vec![Tag::vlan(100), Tag::vlan(200)],
    ];
    let mut v = Vec::new();
    for tags in &encaps {
        for (ty, l3) in &l3s {
            v.push(eth(
                mac("ab:cd:ef:00:00:01"),
                mac("ab:cd:ef:00:00:02"),
                tags,
                *ty,
                l3,
            ));
        }
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
    let tunnels = tunnel_packets(&mut g);
    for (i, (ty, l3)) in tunnels
        .into_iter()
        .chain(nested_geneve_packets(&mut g))
        .enumerate()
    {
        let tags = if i % 8 == 5 {
            vec![Tag::vlan(g.pick(VLAN_IDS))]
        } else {
            Vec::new()
        };
        base.push(eth(pick_dst_mac(&mut g), pick_mac(&mut g), &tags, ty, &l3));
    }
    base.extend(probe_frames(&mut g));
    let matrix = encapsulation_matrix();
    base.extend(matrix.iter().cloned());
    finish(&mut g, base, &matrix, 14)
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
    let tunnels = tunnel_packets(&mut g);
    base.extend(
        tunnels
            .into_iter()
            .chain(nested_geneve_packets(&mut g))
            .map(|(_, p)| p),
    );
    finish(&mut g, base, &[], 0)
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

/// Adds to the well-formed frames: every truncation of `truncate_all` and
/// of a selection of the others, a random truncation of many, random bytes,
/// and the empty frame; then drops the frames tcpdump would hang on.
fn finish(
    g: &mut XorShift,
    base: Vec<Vec<u8>>,
    truncate_all: &[Vec<u8>],
    link_len: usize,
) -> Vec<Vec<u8>> {
    let mut out = base.clone();
    for f in truncate_all {
        out.extend((0..f.len()).map(|len| f[..len].to_vec()));
    }
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
