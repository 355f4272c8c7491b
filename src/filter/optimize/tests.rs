//! The optimiser against libpcap: equivalence of our output with
//! libpcap's unoptimised program on generated packets, instruction counts
//! against libpcap's optimiser, and "rejects all packets" as libpcap
//! decides it. Also random programs, for the exactness guarantee on code
//! no compiler would write.

use super::*;
use crate::filter::cbpf::testutil::empty_savefile;
use crate::filter::cbpf::{format, interpret, parse_ddd, DumpStyle, Insn};
use std::process::Command;

/// `tcpdump <flag> -r empty.pcap <expr>`: Ok(stdout) or Err(stderr).
fn run_tcpdump(flag: &str, expr: &str) -> Result<String, String> {
    let file = empty_savefile(1);
    let out = Command::new("tcpdump")
        .arg(flag)
        .arg("-r")
        .arg(&file)
        .arg(expr)
        .output();
    let _ = std::fs::remove_file(&file);
    let out = out.unwrap_or_else(|e| {
        panic!("this test needs tcpdump (4.99 / libpcap 1.10) in PATH; running it failed: {e}")
    });
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("tcpdump output is UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// libpcap's program for `expr`, unoptimised (`-O`) or optimised.
fn libpcap(expr: &str, optimised: bool) -> Vec<Insn> {
    let flag = if optimised { "-ddd" } else { "-Oddd" };
    let text =
        run_tcpdump(flag, expr).unwrap_or_else(|e| panic!("tcpdump {flag} {expr:?} failed: {e}"));
    parse_ddd(&text).unwrap_or_else(|e| panic!("tcpdump {flag} {expr:?}: {e}"))
}

/// Expressions for the equivalence tests: the common ones first (their
/// size is held to libpcap's), then a spread over the language.
const COMMON: &[&str] = &[
    "tcp port 80",
    "host 198.18.0.1 and udp",
    "vlan and tcp[tcpflags] & tcp-syn != 0",
    "icmp or arp",
    "udp port 53",
    "net 198.18.0.0/15",
    "ip6 and tcp dst port 443",
    "not port 22",
    "tcp portrange 1000-2000",
    "ether host 02:00:00:00:00:01",
    "ip[8] < 10",
    "greater 1000",
    "src host 198.18.0.1 and dst port 80",
    "icmp[icmptype] == icmp-echo",
    "ip6 proto 17",
    "ip multicast",
    "ether broadcast",
    "vlan 100 and ip",
    "mpls and ip",
    "tcp or udp",
];

const MORE: &[&str] = &[
    "less 100",
    "len > 60 and len < 1000",
    "ip6 host fd00::1",
    "ip6 net fd00::/8",
    "ip src net 10.0.0.0/8",
    "host fd00::2 or host 198.18.0.2",
    "port 53 or port 80 or port 443",
    "tcp and not port 22 and not port 80",
    "udp and (port 53 or port 67)",
    "ip proto 132",
    "ip6 and udp portrange 1000-2000",
    "arp and ether src 02:00:00:00:00:01",
    "ether multicast",
    "ip broadcast",
    "ip6 multicast",
    "vlan and vlan 200",
    "vlan 100 and vlan 200 and ip",
    "mpls 100",
    "mpls and mpls and ip",
    "pppoes and ip",
    "pppoes 0x10 and tcp port 80",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    "tcp[13] = 2",
    "ip[2:2] > 500",
    "ip[0] & 0xf > 5",
    "ether[12:2] = 0x800",
    "udp[8:4] = 0",
    "(ip[2:2] - ((ip[0]&0xf)<<2)) > 100",
    "ip[8] * 2 > 100",
    "ip[8] / 2 = 32",
    "ip[8] % 5 = 0",
    "ip[8] / (ip[9] - 6) = 1",
    "len - 14 > 100",
    "ip[8] ^ 0xff = 0xbf",
    "icmp6",
    "ip6[40] = 128",
    "ip protochain 6",
    "ip6 protochain 17",
    "not (tcp or udp)",
    "not ip and not ip6",
    "ether proto 0x88cc",
    "ip and (tcp[0:2] > 1000 or udp[0:2] > 1000)",
    "tcp src port 80 or tcp dst port 443",
    "ip host 198.18.0.1 and not ip host 198.18.0.2",
    "dst net 198.18.0.0 mask 255.254.0.0",
    "ip and ip[6:2] & 0x1fff = 0",
    "ether[0] & 1 = 1",
    "tcp[100] = 0 or arp",
    "ether[1000] = 1 or 1 = 1",
    "ip[8] = 64 or ip[8] = 64",
    "ip and ether[5] > 3 and ether[5] < 2",
    "ip and ip[8] > 200 and ip[8] < 100",
    "tcp[tcpflags] & tcp-syn = tcp-syn",
    "geneve and ip",
    "udp port 4789 and udp[8:2] = 0x800",
    "(tcp or udp) and port 53",
    "ip6 and (tcp or udp) and not port 22",
    "vlan and (arp or ip6)",
];

// ----- packets -----

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, pool: &[T]) -> T {
        pool[self.below(pool.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const MACS: &[[u8; 6]] = &[
    [0xff; 6],
    [0x02, 0, 0, 0, 0, 0x01],
    [0x02, 0, 0, 0, 0, 0x02],
    [0x01, 0x00, 0x5e, 0, 0, 0x01],
    [0x33, 0x33, 0, 0, 0, 0x01],
];
const V4: &[[u8; 4]] = &[
    [198, 18, 0, 1],
    [198, 18, 0, 2],
    [198, 19, 255, 255],
    [10, 0, 0, 1],
    [224, 0, 0, 1],
    [255, 255, 255, 255],
    [0, 0, 0, 0],
];
const V6: &[[u8; 16]] = &[
    [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9],
];
const PORTS: &[u16] = &[22, 53, 67, 80, 443, 999, 1000, 1500, 2000, 2001, 4789, 6081];

fn transport(r: &mut Rng, proto: u8, out: &mut Vec<u8>) {
    match proto {
        6 => {
            for _ in 0..2 {
                out.extend_from_slice(&r.pick(PORTS).to_be_bytes());
            }
            out.extend_from_slice(&r.bytes(8));
            out.push(r.pick(&[0x50, 0x60, 0x80]));
            let any = r.next() as u8;
            out.push(r.pick(&[0x02, 0x12, 0x10, 0x11, 0x04, any]));
            out.extend_from_slice(&r.bytes(6));
        }
        17 => {
            for _ in 0..2 {
                out.extend_from_slice(&r.pick(PORTS).to_be_bytes());
            }
            out.extend_from_slice(&r.bytes(2));
            out.extend_from_slice(&[0, 0]);
            if r.chance(30) {
                out.extend_from_slice(&[0, 0, 0x08, 0]);
            }
        }
        1 | 58 => {
            out.push(r.pick(&[0, 3, 8, 128, 129]));
            out.extend_from_slice(&r.bytes(7));
        }
        _ => {}
    }
    let extra = r.below(48) as usize;
    out.extend_from_slice(&r.bytes(extra));
}

fn ipv4(r: &mut Rng, out: &mut Vec<u8>) {
    let ihl = r.pick(&[5u8, 5, 5, 6]);
    let proto = r.pick(&[6u8, 6, 17, 17, 1, 132, 47]);
    out.push(0x40 | ihl);
    out.push(0);
    out.extend_from_slice(&r.pick(&[40u16, 600, 1400]).to_be_bytes());
    out.extend_from_slice(&r.bytes(2));
    out.extend_from_slice(&r.pick(&[0u16, 0x4000, 0x2000, 0x0010]).to_be_bytes());
    out.push(r.pick(&[1u8, 5, 64, 200, 255]));
    out.push(proto);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&r.pick(V4));
    out.extend_from_slice(&r.pick(V4));
    if ihl == 6 {
        out.extend_from_slice(&[1, 1, 1, 0]);
    }
    transport(r, proto, out);
}

fn ipv6(r: &mut Rng, out: &mut Vec<u8>) {
    let nh = r.pick(&[6u8, 17, 58, 44, 0, 59]);
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    out.extend_from_slice(&r.pick(&[20u16, 100]).to_be_bytes());
    out.push(nh);
    out.push(64);
    out.extend_from_slice(&r.pick(V6));
    out.extend_from_slice(&r.pick(V6));
    match nh {
        44 | 0 => {
            let inner = r.pick(&[6u8, 17, 58]);
            out.extend_from_slice(&[inner, 0, 0, 0, 0, 0, 0, 0]);
            transport(r, inner, out);
        }
        _ => transport(r, nh, out),
    }
}

/// One frame: Ethernet, maybe VLAN tags, then IPv4, IPv6, ARP, MPLS,
/// PPPoE or noise; possibly cut short.
fn packet(r: &mut Rng) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&r.pick(MACS));
    p.extend_from_slice(&r.pick(MACS));
    for _ in 0..r.pick(&[0, 0, 0, 1, 1, 2]) {
        p.extend_from_slice(&r.pick(&[0x8100u16, 0x88a8, 0x9100]).to_be_bytes());
        p.extend_from_slice(&r.pick(&[100u16, 200, 0x2064, 7]).to_be_bytes());
    }
    let kind = r.below(10);
    let ethertype: u16 = match kind {
        0..=3 => 0x0800,
        4..=5 => 0x86dd,
        6 => 0x0806,
        7 => 0x8847,
        8 => 0x8864,
        _ => r.pick(&[0x88cc, 0x1234, 0x8100]),
    };
    p.extend_from_slice(&ethertype.to_be_bytes());
    match kind {
        0..=3 => ipv4(r, &mut p),
        4..=5 => ipv6(r, &mut p),
        6 => p.extend_from_slice(&r.bytes(28)),
        7 => {
            let labels = r.pick(&[1, 2]);
            for i in 0..labels {
                let label: u32 = r.pick(&[100, 200, 5]);
                let bos = (i == labels - 1) as u32;
                p.extend_from_slice(&((label << 12) | (bos << 8) | 64).to_be_bytes());
            }
            ipv4(r, &mut p);
        }
        8 => {
            p.extend_from_slice(&[0x11, 0]);
            p.extend_from_slice(&r.pick(&[0x10u16, 0x20]).to_be_bytes());
            p.extend_from_slice(&[0, 0]);
            if r.chance(50) {
                p.extend_from_slice(&0x21u16.to_be_bytes());
                ipv4(r, &mut p);
            } else {
                p.extend_from_slice(&0x57u16.to_be_bytes());
                ipv6(r, &mut p);
            }
        }
        _ => {
            let n = r.below(60) as usize;
            p.extend_from_slice(&r.bytes(n));
        }
    }
    // Cut short: anywhere, or just around where headers end.
    match r.below(8) {
        0 => {
            let n = r.below(p.len() as u64 + 1) as usize;
            p.truncate(n);
        }
        1 | 2 => {
            let base = r.pick(&[14u64, 18, 22, 34, 38, 42, 54, 58, 62, 66]);
            p.truncate((base + r.below(8)) as usize);
        }
        _ => {}
    }
    p
}

fn hex(p: &[u8]) -> String {
    p.iter().map(|b| format!("{b:02x}")).collect()
}

/// Both programs give the same verdict on `count` generated packets.
fn assert_same(what: &str, a: &[Insn], b: &[Insn], count: usize, seed: u64) {
    let mut r = Rng(seed | 1);
    for _ in 0..count {
        let pkt = packet(&mut r);
        let wire = pkt.len() as u32 + r.pick(&[0, 0, 4, 1200]);
        let (x, y) = (interpret(a, &pkt, wire), interpret(b, &pkt, wire));
        assert_eq!(
            x,
            y,
            "{what}: packet {} (wire length {wire}): input says {x}, optimised says {y}\ninput:\n{}optimised:\n{}",
            hex(&pkt),
            format(a, DumpStyle::Image),
            format(b, DumpStyle::Image)
        );
    }
}

#[test]
fn same_verdicts_as_libpcap_unoptimised() {
    for (n, e) in COMMON.iter().chain(MORE).enumerate() {
        let input = libpcap(e, false);
        let out = optimize(&input);
        if let Err(err) = cbpf::check(&out) {
            panic!(
                "{e}: optimised program invalid: {err}\n{}",
                format(&out, DumpStyle::Image)
            );
        }
        assert!(out.len() <= input.len(), "{e}: grew");
        assert_same(e, &input, &out, 3000, 0x9e37_79b9_7f4a_7c15 ^ n as u64);
    }
}

/// The generator reaches both verdicts for most expressions, so the
/// equivalence test above is not vacuous.
#[test]
fn packets_hit_both_branches() {
    let mut both = 0;
    let all: Vec<&str> = COMMON.iter().chain(MORE).copied().collect();
    for e in &all {
        let prog = libpcap(e, false);
        let mut r = Rng(77);
        let (mut yes, mut no) = (0, 0);
        for _ in 0..3000 {
            let pkt = packet(&mut r);
            if interpret(&prog, &pkt, pkt.len() as u32) != 0 {
                yes += 1
            } else {
                no += 1
            }
        }
        both += (yes > 0 && no > 0) as usize;
    }
    assert!(
        both * 10 >= all.len() * 8,
        "only {both} of {} expressions see both verdicts",
        all.len()
    );
}

#[test]
fn no_larger_than_libpcap() {
    let mut worse = Vec::new();
    println!(
        "{:<48} {:>7} {:>9} {:>5}",
        "expression", "-O -d", "libpcap", "ours"
    );
    for e in COMMON.iter().chain(MORE) {
        let unopt = libpcap(e, false);
        let ours = optimize(&unopt).len();
        let theirs = match run_tcpdump("-ddd", e) {
            Ok(t) => parse_ddd(&t).expect("-ddd").len(),
            Err(_) => 1,
        };
        println!("{e:<48} {:>7} {theirs:>9} {ours:>5}", unopt.len());
        if COMMON.contains(e) && ours > theirs {
            worse.push(format!("{e}: ours {ours} > libpcap {theirs}"));
        }
    }
    assert!(worse.is_empty(), "{worse:#?}");
}

#[test]
fn rejects_all_as_libpcap() {
    let rejected = [
        "1 = 2",
        "ip and ip6",
        "tcp port 80 and vlan",
        "ether[5] == 0x12 and ether[5] == 0x13",
    ];
    for e in rejected {
        assert!(
            rejects_all(&libpcap(e, false)),
            "{e} should reject all packets"
        );
    }
    // Borderline cases: each goes whichever way libpcap goes.
    let borderline = [
        "(ip or ip6) and arp",
        "ether[5] = 1 and ether[5] > 2",
        "ip and not ip",
        "tcp and udp",
        "vlan and not vlan",
        "ip[0] = 1 and ip[0] = 2",
        "len = 100 and len = 200",
        "ether src 02:00:00:00:00:01 and ether src 02:00:00:00:00:02",
        "port 80 and port 81",
        "host 198.18.0.1 and not host 198.18.0.1",
        "icmp and tcp",
        "arp and rarp",
        "ip6 and ip6[6] = 6 and ip6[6] = 17",
        "udp port 53 and not udp",
        "1 = 1 and 2 = 3",
        "0 != 0",
        "len < 0",
        "ip[0] & 0 != 0",
        "ether[0] & 0 = 1",
        "ether[300] = 1 and 1 = 2",
        "ip[8] > 10 and ip[8] < 5",
        "tcp[13] & 2 = 2 and tcp[13] & 2 = 0",
        "ip6 and ip",
        "mpls and not mpls",
        "ether proto 0x800 and ether proto 0x806",
        "1 + 1 = 3",
        "ip and 1 + 1 = 3",
        "2 > 3",
        "len >= 0 and 2 >= 3",
        "tcp[0] = 1 and tcp[0] = 2",
        "ip[8] = 1 and ip[8] != 1",
        "ip[8] != 1 and ip[8] = 1",
        "ip[8] = 1 or ip[8] = 2 and ip[8] = 3",
        "ether[0:4] & 0xff = 1 and ether[0:4] & 0xff = 2",
        "not ip and ip",
        "3 - 1 = 2 and 1 = 2",
        "ip[8] * 0 = 1",
        "ip and ip[8] * 0 = 1",
        "ether[0] * 0 = 1",
        "ether[0] | 0xff = 0",
        "0 * ether[0] = 1",
        "ip6 and ip6[40] = 1 and ip6[40] = 2",
        "vlan 100 and vlan 100 and not vlan",
        "udp and tcp port 80",
    ];
    for e in COMMON
        .iter()
        .chain(MORE)
        .copied()
        .chain(rejected)
        .chain(borderline)
    {
        let libpcap_rejects = match run_tcpdump("-d", e) {
            Ok(_) => false,
            Err(msg) if msg.contains("rejects all packets") => true,
            Err(msg) => panic!("tcpdump -d {e:?}: {msg}"),
        };
        assert_eq!(rejects_all(&libpcap(e, false)), libpcap_rejects, "{e}");
    }
}

/// A random program with forward jumps that the validator accepts, built
/// from a few constants so that tests go both ways.
fn random_program(r: &mut Rng) -> Vec<Insn> {
    use crate::filter::cbpf::*;
    let consts = [0u32, 1, 2, 3, 4, 6, 14, 0xff, 0x800];
    loop {
        let n = 4 + r.below(40) as usize;
        let mut p = Vec::with_capacity(n);
        for pc in 0..n - 1 {
            let left = (n - 1 - pc) as u64; // instructions after this one
            let k = r.pick(&consts);
            let off = r.below(40) as u32;
            let size = r.pick(&[BPF_W, BPF_H, BPF_B]);
            let mem = r.below(3) as u32;
            let alu_op = r.pick(&[
                BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH,
                BPF_RSH,
            ]);
            let jmp_op = r.pick(&[BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET]);
            let insn = match r.below(20) {
                0..=3 => Insn::stmt(BPF_LD | size | BPF_ABS, off),
                4 => Insn::stmt(BPF_LD | size | BPF_IND, off),
                5 => Insn::stmt(BPF_LDX | BPF_B | BPF_MSH, off),
                6 => Insn::stmt(BPF_LD | BPF_W | BPF_LEN, 0),
                7 => Insn::stmt(r.pick(&[BPF_LD, BPF_LDX]) | BPF_IMM, k),
                8 => Insn::stmt(r.pick(&[BPF_ST, BPF_STX]), mem),
                9 => Insn::stmt(r.pick(&[BPF_LD, BPF_LDX]) | BPF_MEM, mem),
                10 => Insn::stmt(BPF_ALU | alu_op | BPF_X, 0),
                11 | 12 => {
                    let k = match alu_op {
                        BPF_DIV | BPF_MOD => k.max(1),
                        BPF_LSH | BPF_RSH => k % 32,
                        _ => k,
                    };
                    Insn::stmt(BPF_ALU | alu_op | BPF_K, k)
                }
                13 => Insn::stmt(BPF_ALU | BPF_NEG, 0),
                14 => Insn::stmt(BPF_MISC | r.pick(&[BPF_TAX, BPF_TXA]), 0),
                15..=17 if left > 1 => {
                    let src = r.pick(&[BPF_K, BPF_K, BPF_X]);
                    let jt = r.below(left.min(8)) as u8;
                    let jf = r.below(left.min(8)) as u8;
                    Insn::jump(BPF_JMP | jmp_op | src, k, jt, jf)
                }
                18 if left > 1 => Insn::stmt(BPF_JMP | BPF_JA, r.below(left.min(6)) as u32),
                _ => match r.below(3) {
                    0 => Insn::stmt(BPF_RET | BPF_A, 0),
                    _ => Insn::stmt(BPF_RET | BPF_K, r.pick(&[0, 0, 1, 96])),
                },
            };
            p.push(insn);
        }
        p.push(Insn::stmt(BPF_RET | BPF_K, r.pick(&[0, 1])));
        if check(&p).is_ok() {
            return p;
        }
    }
}

/// Packets for random programs: short, made of a few byte values.
fn random_packet(r: &mut Rng) -> (Vec<u8>, u32) {
    let len = r.below(56) as usize;
    let pkt: Vec<u8> = (0..len)
        .map(|_| r.pick(&[0, 1, 2, 3, 6, 8, 0x45, 0xff]))
        .collect();
    let wire = len as u32 + r.pick(&[0, 0, 2, 100]);
    (pkt, wire)
}

#[test]
fn random_programs_keep_their_verdicts() {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let mut shrunk = 0;
    for round in 0..3000 {
        let prog = random_program(&mut r);
        let out = optimize(&prog);
        if let Err(e) = cbpf::check(&out) {
            panic!(
                "round {round}: invalid output: {e}\n{}",
                format(&out, DumpStyle::Image)
            );
        }
        assert!(out.len() <= prog.len());
        shrunk += (out.len() < prog.len()) as usize;
        let lib = optimize_at(&prog, Level::Libpcap);
        let rejects = rejects_all(&prog);
        for _ in 0..300 {
            let (pkt, wire) = random_packet(&mut r);
            let want = interpret(&prog, &pkt, wire);
            assert!(
                !rejects || want == 0,
                "round {round}: said to reject all, accepts {}\n{}",
                hex(&pkt),
                format(&prog, DumpStyle::Image)
            );
            for (name, got) in [("full", &out), ("libpcap level", &lib)] {
                let have = interpret(got, &pkt, wire);
                assert_eq!(
                    want,
                    have,
                    "round {round} ({name}): packet {} wire {wire}: input {want}, optimised {have}\ninput:\n{}optimised:\n{}",
                    hex(&pkt),
                    format(&prog, DumpStyle::Image),
                    format(got, DumpStyle::Image)
                );
            }
        }
    }
    assert!(shrunk > 1000, "only {shrunk} programs got smaller");
}

/// Merging the many `ret #0` of a long chain makes its jumps longer than
/// 8 bits allow: the layout must route them through `ja`.
#[test]
fn long_jumps_get_trampolines() {
    use crate::filter::cbpf::*;
    let tests = 200;
    let mut prog = Vec::new();
    for i in 0..tests {
        prog.push(Insn::stmt(BPF_LD | BPF_B | BPF_ABS, i));
        prog.push(Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, i % 3, 1, 0));
        prog.push(Insn::stmt(BPF_RET | BPF_K, 0));
    }
    prog.push(Insn::stmt(BPF_RET | BPF_K, 1));
    check(&prog).expect("input valid");
    let out = optimize(&prog);
    check(&out).unwrap_or_else(|e| panic!("{e}\n{}", format(&out, DumpStyle::Image)));
    assert!(out.len() < prog.len(), "{} >= {}", out.len(), prog.len());
    let jas = out.iter().filter(|i| i.code == BPF_JMP | BPF_JA).count();
    assert!(
        jas > 0,
        "no trampoline in\n{}",
        format(&out, DumpStyle::Image)
    );
    let mut r = Rng(99);
    let mut accepted = 0;
    for _ in 0..2000 {
        // Mostly matching bytes, so that some packets get far.
        let len = r.below(tests as u64 + 8) as usize;
        let pkt: Vec<u8> = (0..len)
            .map(|i| if r.chance(99) { (i % 3) as u8 } else { 7 })
            .collect();
        let (want, got) = (
            interpret(&prog, &pkt, len as u32),
            interpret(&out, &pkt, len as u32),
        );
        assert_eq!(want, got, "packet {}", hex(&pkt));
        accepted += (want != 0) as usize;
    }
    assert!(accepted > 0, "no packet went through the whole chain");
}

/// Big unoptimised programs (thousands of instructions, with `ja`).
#[test]
fn large_programs() {
    let ports: Vec<String> = (1..41).map(|p| format!("port {p}")).collect();
    let hosts: Vec<String> = (1..60).map(|h| format!("host 198.18.0.{h}")).collect();
    for (n, e) in [ports.join(" or "), hosts.join(" or ")].iter().enumerate() {
        let input = libpcap(e, false);
        let out = optimize(&input);
        cbpf::check(&out).unwrap_or_else(|err| panic!("{err}"));
        let theirs = libpcap(e, true).len();
        println!(
            "{} instructions: -O {}, libpcap {theirs}, ours {}",
            &e[..20],
            input.len(),
            out.len()
        );
        // Exactness costs a few reloads that libpcap's optimiser skips.
        assert!(
            out.len() <= theirs + theirs / 10,
            "{e}: ours {}, libpcap {theirs}",
            out.len()
        );
        assert_same(e, &input, &out, 2000, 4242 + n as u64);
    }
}

/// The optimiser applied to our own compiler's output keeps its verdicts
/// and never makes it longer.
#[test]
fn on_our_compiler_output() {
    println!(
        "{:<48} {:>9} {:>8} {:>5}",
        "expression", "libpcap", "compile", "ours"
    );
    for (n, e) in COMMON.iter().chain(MORE).enumerate() {
        let compiled = crate::filter::compile::compile(e, crate::filter::DLT_EN10MB)
            .unwrap_or_else(|err| panic!("{e}: {err}"));
        let out = optimize(&compiled);
        cbpf::check(&out).unwrap_or_else(|err| panic!("{e}: {err}"));
        assert!(out.len() <= compiled.len(), "{e}: grew");
        let theirs = match run_tcpdump("-ddd", e) {
            Ok(t) => parse_ddd(&t).expect("-ddd").len(),
            Err(_) => 1,
        };
        println!("{e:<48} {theirs:>9} {:>8} {:>5}", compiled.len(), out.len());
        assert_same(e, &compiled, &out, 1000, 777 + n as u64);
    }
}

/// Hand-written programs and what each pass makes of them: the input as
/// `(code, jt, jf, k)` rows, the expected `-d` listing of the output.
#[test]
fn pass_table() {
    use crate::filter::cbpf::*;
    const LDH: u16 = BPF_LD | BPF_H | BPF_ABS;
    const LDB: u16 = BPF_LD | BPF_B | BPF_ABS;
    const JEQ: u16 = BPF_JMP | BPF_JEQ | BPF_K;
    const RET: u16 = BPF_RET | BPF_K;
    type Row = (u16, u8, u8, u32);
    let table: &[(&str, &[Row], &str)] = &[
        (
            "a repeated load goes, the same test is decided",
            &[(LDH, 0, 0, 12), (JEQ, 0, 3, 0x800), (LDH, 0, 0, 12), (JEQ, 0, 1, 0x800), (RET, 0, 0, 1), (RET, 0, 0, 0)],
            "(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #1\n(003) ret      #0\n",
        ),
        (
            "an unread load that may fail stays",
            &[(LDB, 0, 0, 100), (BPF_LD | BPF_IMM, 0, 0, 5), (BPF_RET | BPF_A, 0, 0, 0)],
            "(000) ldb      [100]\n(001) ret      #5\n",
        ),
        (
            "an unread load covered by an earlier one goes",
            &[(LDB, 0, 0, 100), (LDB, 0, 0, 50), (BPF_LD | BPF_IMM, 0, 0, 5), (BPF_RET | BPF_A, 0, 0, 0)],
            "(000) ldb      [100]\n(001) ret      #5\n",
        ),
        (
            "an unread load covered by a later one goes",
            &[(LDB, 0, 0, 50), (LDB, 0, 0, 100), (BPF_RET | BPF_A, 0, 0, 0)],
            "(000) ldb      [100]\n(001) ret      \n",
        ),
        (
            "everything rejects: loads do not matter",
            &[(LDB, 0, 0, 100), (JEQ, 0, 1, 1), (RET, 0, 0, 0), (RET, 0, 0, 0)],
            "(000) ret      #0\n",
        ),
        (
            "scratch constants fold, X constant makes an absolute load",
            &[
                (BPF_LD | BPF_IMM, 0, 0, 5),
                (BPF_ST, 0, 0, 0),
                (BPF_LDX | BPF_MEM, 0, 0, 0),
                (BPF_LD | BPF_B | BPF_IND, 0, 0, 9),
                (BPF_ST, 0, 0, 1),
                (BPF_LD | BPF_IMM, 0, 0, 0x12),
                (BPF_ST, 0, 0, 2),
                (BPF_LDX | BPF_MEM, 0, 0, 2),
                (BPF_LD | BPF_MEM, 0, 0, 1),
                (BPF_ALU | BPF_SUB | BPF_X, 0, 0, 0),
                (JEQ, 0, 1, 0),
                (RET, 0, 0, 1),
                (RET, 0, 0, 0),
            ],
            "(000) ldb      [14]\n(001) jeq      #0x12            jt 2\tjf 3\n(002) ret      #1\n(003) ret      #0\n",
        ),
        (
            "and before a zero test becomes jset",
            &[(LDB, 0, 0, 3), (BPF_ALU | BPF_AND | BPF_K, 0, 0, 4), (JEQ, 0, 1, 0), (RET, 0, 0, 0), (RET, 0, 0, 1)],
            "(000) ldb      [3]\n(001) jset     #0x4             jt 2\tjf 3\n(002) ret      #1\n(003) ret      #0\n",
        ),
        (
            "a division by X that may be zero stays",
            &[(BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0), (BPF_ALU | BPF_DIV | BPF_X, 0, 0, 0), (BPF_LD | BPF_IMM, 0, 0, 1), (BPF_RET | BPF_A, 0, 0, 0)],
            "(000) ldxb     4*([0]&0xf)\n(001) div      x\n(002) ret      #1\n",
        ),
        (
            "a range proves the second test",
            &[(LDB, 0, 0, 8), (BPF_JMP | BPF_JGT | BPF_K, 0, 2, 200), (BPF_JMP | BPF_JGE | BPF_K, 1, 0, 100), (RET, 0, 0, 1), (RET, 0, 0, 0)],
            "(000) ret      #0\n",
        ),
        (
            "a forward ja disappears",
            &[(LDB, 0, 0, 1), (BPF_JMP | BPF_JA, 0, 0, 1), (RET, 0, 0, 7), (RET, 0, 0, 1)],
            "(000) ldb      [1]\n(001) ret      #1\n",
        ),
        (
            "a backward ja leaves the program as it is",
            &[(BPF_LD | BPF_IMM, 0, 0, 1), (BPF_LD | BPF_IMM, 0, 0, 1), (BPF_JMP | BPF_JA, 0, 0, u32::MAX - 1), (RET, 0, 0, 1)],
            "(000) ld       #0x1\n(001) ld       #0x1\n(002) ja       1\n(003) ret      #1\n",
        ),
    ];
    for (name, rows, want) in table {
        let prog: Vec<Insn> = rows
            .iter()
            .map(|&(c, t, f, k)| Insn::new(c, t, f, k))
            .collect();
        let got = format(&optimize(&prog), DumpStyle::Image);
        assert_eq!(
            &got,
            want,
            "{name}: input\n{}",
            format(&prog, DumpStyle::Image)
        );
    }
}
