//! Differential checks of the compiler against libpcap: the program
//! `tcpdump -ddd` prints for an expression, run in our cBPF interpreter,
//! must select the same packets as ours, over a deterministic set of
//! generated packets. Needs `tcpdump`; fails loudly without it.

use super::cbpf::{interpret, parse_ddd, Insn};
use std::process::Command;

/// Small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

const V4: &[[u8; 4]] = &[
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [192, 168, 1, 4],
    [192, 1, 2, 254],
    [192, 1, 2, 23],
    [10, 1, 1, 100],
    [10, 1, 1, 10],
    [198, 18, 0, 1],
    [0, 0, 0, 0],
    [255, 255, 255, 255],
    [224, 0, 0, 5],
    [11, 12, 13, 14],
    [127, 0, 0, 1],
    [169, 254, 1, 1],
];
const PORTS: &[u16] = &[
    80, 443, 53, 25, 22, 7, 5672, 6081, 67, 68, 1023, 1, 0, 20, 110, 2049,
];
const MACS: &[[u8; 6]] = &[
    [0xab, 0xcd, 0xef, 0, 0, 1],
    [0xab, 0xcd, 0xef, 0, 0, 2],
    [0xab, 0xcd, 0xef, 0, 0, 3],
    [0xff; 6],
    [0x01, 0x00, 0x5e, 0, 0, 5],
    [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
];

fn v6(r: &mut Rng) -> [u8; 16] {
    let pool: [[u8; 16]; 5] = [
        [
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xd6, 0xca, 0x6d, 0xff, 0xfe, 0x66, 0xcf, 0x60,
        ],
        [0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    ];
    pool[r.below(5) as usize]
}

fn transport(r: &mut Rng, proto: u8) -> Vec<u8> {
    let mut t = Vec::new();
    match proto {
        6 | 17 | 132 => {
            t.extend(r.pick(PORTS).to_be_bytes());
            t.extend(r.pick(PORTS).to_be_bytes());
            if proto == 17 && r.below(3) == 0 {
                // Geneve-ish payload.
                t.extend([0, 0]);
                t.extend([0, 0]);
                t.extend([r.pick(&[0u8, 0x40, 2]), 0, 0x65, 0x58]);
                t.extend([0, 0x30, 0x39, 0]);
                let inner = ether_frame(r, 1);
                t.extend(inner);
                return t;
            }
        }
        _ => {
            t.push(r.pick(&[0u8, 3, 8, 128, 129, 135]));
            t.push(r.below(4) as u8);
        }
    }
    let n = r.below(40) as usize;
    for _ in 0..n {
        t.push(r.pick(&[0u8, 1, 2, 0x12, 0xff, 0x50, 0x10, 0x02]));
    }
    t
}

fn ipv4(r: &mut Rng) -> Vec<u8> {
    let ihl = if r.below(5) == 0 { 6 } else { 5 };
    let proto = r.pick(&[6u8, 17, 1, 132, 2, 9, 103, 112, 50, 51, 4, 41]);
    let mut p = vec![0x40 | ihl, 0, 0, 0, 0, 1];
    let frag: u16 = match r.below(8) {
        0 => 0x2000,
        1 => 0x0010,
        2 => 0x4000,
        _ => 0,
    };
    p.extend(frag.to_be_bytes());
    p.push(r.pick(&[64u8, 1, 255]));
    p.push(proto);
    p.extend([0, 0]);
    p.extend(r.pick(V4));
    p.extend(r.pick(V4));
    for _ in 5..ihl {
        p.extend([1, 1, 1, 0]);
    }
    let body = if proto == 51 {
        let mut ah = vec![r.pick(&[6u8, 17]), 4, 0, 0];
        ah.extend([0u8; 20]);
        ah.extend(transport(r, ah[0]));
        ah
    } else {
        transport(r, proto)
    };
    p.extend(body);
    p
}

fn ipv6(r: &mut Rng) -> Vec<u8> {
    let mut next = r.pick(&[6u8, 17, 58, 132, 44, 0, 60, 43, 51, 59, 41, 108]);
    let mut p = vec![0x60, 0, 0, 0, 0, 0, next, 64];
    p.extend(v6(r));
    p.extend(v6(r));
    let mut hops = 0;
    while matches!(next, 0 | 60 | 43 | 44 | 51) && hops < 4 {
        let nn = r.pick(&[6u8, 17, 58, 44, 60]);
        let len = if next == 44 { 0 } else { r.below(2) as u8 };
        p.push(nn);
        p.push(len);
        let body = if next == 51 {
            (len as usize + 2) * 4
        } else {
            (len as usize + 1) * 8
        } - 2;
        p.extend(std::iter::repeat(0u8).take(body));
        next = nn;
        hops += 1;
    }
    p.extend(transport(r, next));
    p
}

fn arp(r: &mut Rng) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4, 0, 1];
    p.extend(r.pick(MACS));
    p.extend(r.pick(V4));
    p.extend(r.pick(MACS));
    p.extend(r.pick(V4));
    p
}

fn payload(r: &mut Rng, et: u16) -> Vec<u8> {
    match et {
        0x0800 => ipv4(r),
        0x86dd => ipv6(r),
        0x0806 | 0x8035 => arp(r),
        _ => (0..r.below(60)).map(|_| r.next() as u8).collect(),
    }
}

fn ether_frame(r: &mut Rng, depth: u32) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(r.pick(MACS));
    f.extend(r.pick(MACS));
    let kind = r.below(14);
    match kind {
        0..=3 => {
            f.extend(0x0800u16.to_be_bytes());
            f.extend(ipv4(r));
        }
        4..=5 => {
            f.extend(0x86ddu16.to_be_bytes());
            f.extend(ipv6(r));
        }
        6 => {
            let et = r.pick(&[0x0806u16, 0x8035]);
            f.extend(et.to_be_bytes());
            f.extend(arp(r));
        }
        7 if depth < 2 => {
            let tpid = r.pick(&[0x8100u16, 0x88a8, 0x9100]);
            f.extend(tpid.to_be_bytes());
            f.extend(r.pick(&[10u16, 100, 4095, 0x200a]).to_be_bytes());
            let inner = r.pick(&[0x0800u16, 0x86dd, 0x8100, 0x0806]);
            f.extend(inner.to_be_bytes());
            if inner == 0x8100 {
                f.extend(20u16.to_be_bytes());
                f.extend(0x0800u16.to_be_bytes());
                f.extend(ipv4(r));
            } else {
                f.extend(payload(r, inner));
            }
        }
        8 => {
            f.extend(0x8847u16.to_be_bytes());
            let labels = 1 + r.below(2);
            for i in 0..labels {
                let bos = if i + 1 == labels { 1 } else { 0 };
                let l: u32 = (r.pick(&[100u32, 123, 0]) << 12) | (bos << 8) | 64;
                f.extend(l.to_be_bytes());
            }
            if r.below(2) == 0 {
                f.extend(ipv4(r));
            } else {
                f.extend(ipv6(r));
            }
        }
        9 => {
            let et = r.pick(&[0x8864u16, 0x8863]);
            f.extend(et.to_be_bytes());
            f.extend([0x11, 0, 0x12, 0x34]);
            f.extend(r.pick(&[0x3bu16, 0x1234, 7]).to_be_bytes());
            let pp = r.pick(&[0x21u16, 0x57, 0x0281]);
            f.extend(pp.to_be_bytes());
            f.extend(if pp == 0x57 { ipv6(r) } else { ipv4(r) });
        }
        10 | 11 => {
            // 802.3 with LLC.
            let body: Vec<u8> = match r.below(6) {
                0 => vec![
                    0xfe,
                    0xfe,
                    0x03,
                    r.pick(&[0x81u8, 0x82, 0x83]),
                    0,
                    0,
                    0,
                    r.pick(&[15u8, 16, 17, 18, 20, 24, 25, 26, 27]),
                ],
                1 => vec![0x42, 0x42, 0x03, 0, 0],
                2 => vec![0xe0, 0xe0, 0x03, 0xff, 0xff],
                3 => vec![0xaa, 0xaa, 0x03, 0x08, 0x00, 0x07, 0x80, 0x9b, 1, 2],
                4 => vec![
                    0xf0,
                    0xf0,
                    r.pick(&[0x01u8, 0x03, 0x05, 0x09, 0x63, 0xaf, 0x10]),
                    0,
                ],
                _ => vec![0xff, 0xff, 0, 0],
            };
            f.extend((body.len() as u16).to_be_bytes());
            f.extend(body);
        }
        _ => {
            let et = r.pick(&[
                0x809bu16, 0x80f3, 0x6003, 0x6004, 0x6007, 0x6001, 0x6002, 0x8137, 0x9000, 0x0800,
            ]);
            f.extend(et.to_be_bytes());
            f.extend(payload(r, et));
        }
    }
    f
}

/// Deterministic packet set: well-formed frames and truncated copies.
pub fn packets(n: usize) -> Vec<Vec<u8>> {
    let mut r = Rng::new(7);
    let mut out = Vec::new();
    while out.len() < n {
        let f = ether_frame(&mut r, 0);
        if r.below(6) == 0 && f.len() > 1 {
            let cut = r.below(f.len() as u64) as usize;
            out.push(f[..cut].to_vec());
        }
        out.push(f);
    }
    out
}

pub(crate) use crate::filter::cbpf::testutil::empty_savefile as savefile;

/// libpcap's program for `expr`, or its error message.
pub fn libpcap(file: &std::path::Path, expr: &str) -> Result<Vec<Insn>, String> {
    let out = Command::new("tcpdump")
        .arg("-ddd")
        .arg("-r")
        .arg(file)
        .arg("--")
        .arg(expr)
        .output()
        .expect("tcpdump is needed for the differential filter tests (apt-get install tcpdump)");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("").to_string());
    }
    parse_ddd(&String::from_utf8_lossy(&out.stdout)).map_err(|e| format!("parse_ddd: {e}"))
}

/// First packet on which two programs disagree.
pub fn disagree<'a>(a: &[Insn], b: &[Insn], pkts: &'a [Vec<u8>]) -> Option<(&'a [u8], u32, u32)> {
    for p in pkts {
        let x = interpret(a, p, p.len() as u32);
        let y = interpret(b, p, p.len() as u32);
        if (x == 0) != (y == 0) {
            return Some((p, x, y));
        }
    }
    None
}
