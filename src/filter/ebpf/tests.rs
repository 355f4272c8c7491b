//! The backend against the reference interpreter: for the programs libpcap
//! compiles from a set of expressions (asked of the real tcpdump) and for
//! hand-written edge cases, the lowered eBPF (run in `asm::interp`) must
//! return exactly what `cbpf::interpret` returns, on every packet of a
//! deterministic corpus, whole, truncated, and split into linear part and
//! fragments.

use super::*;
use crate::asm::interp::{self, Env};
use crate::asm::{self, Insn, Reg::*};
use crate::filter::cbpf::testutil::tcpdump;
use crate::filter::cbpf::{self, Insn as C, *};
use crate::filter::DLT_EN10MB;

/// An XDP program around the fragment, with the entry contract of the
/// capture program; returns the cBPF value on a match, 0 otherwise.
pub(crate) fn harness(prog: &[C], frags: bool) -> Result<Vec<Insn>, String> {
    let mut a = Asm::new();
    let on_match = a.label();
    let on_nomatch = a.label();
    a.push(Insn::mov64_reg(R6, R1));
    if frags {
        a.push(Insn::call(asm::BPF_FUNC_xdp_get_buff_len));
        a.push(Insn::mov64_reg(R9, R0));
    }
    a.push(Insn::ldx_mem(asm::BPF_W, R7, R6, 0));
    a.push(Insn::ldx_mem(asm::BPF_W, R8, R6, 4));
    if !frags {
        a.push(Insn::mov64_reg(R9, R8));
        a.push(Insn::alu64_reg(asm::BPF_SUB, R9, R7));
    }
    let opts = LowerOpts {
        stack_base: -FRAGMENT_STACK,
        frags,
    };
    lower(prog, &mut a, &opts, on_match, on_nomatch).map_err(|e| e.to_string())?;
    if a.is_used(on_match) {
        a.bind(on_match);
        a.push(Insn::exit());
    }
    if a.is_used(on_nomatch) {
        a.bind(on_nomatch);
        a.push(Insn::mov64_imm(R0, 0));
        a.push(Insn::exit());
    }
    a.finish().map_err(|e| e.to_string())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Run `ebpf` on `pkt` with `linear` bytes in the first buffer and compare
/// with the reference; panics with everything needed to reproduce.
fn check_one(name: &str, prog: &[C], ebpf: &[Insn], pkt: &[u8], linear: usize) {
    let want = cbpf::interpret(prog, pkt, pkt.len() as u32);
    let mut env = Env::new(pkt);
    env.linear = linear;
    let got = interp::run(ebpf, &mut env);
    if got != Ok(want as u64) {
        panic!(
            "{name}: packet {} (linear {linear} of {}): cBPF says {want}, eBPF {got:?}\n{}\n{}",
            hex(pkt),
            pkt.len(),
            cbpf::format(prog, DumpStyle::Image),
            asm::disasm(ebpf)
        );
    }
}

fn check_program(name: &str, prog: &[C], corpus: &[Vec<u8>]) {
    let fast = harness(prog, false).unwrap_or_else(|e| panic!("{name}: {e}"));
    let frag = harness(prog, true).unwrap_or_else(|e| panic!("{name}: {e}"));
    for pkt in corpus {
        check_one(name, prog, &fast, pkt, pkt.len());
        for linear in [0, 14, 20, 34, 41, 54, pkt.len()] {
            check_one(name, prog, &frag, pkt, linear.min(pkt.len()));
        }
    }
}

/// A deterministic xorshift generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Packets exercising the expressions below: Ethernet (optionally VLAN
/// tagged) with IPv4 (with options, fragments) or IPv6 (with extension
/// headers), TCP/UDP/ICMP with chosen ports and flags, ARP and junk; each
/// also truncated at several lengths.
fn corpus() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for n in 0..160 {
        let mut p = Vec::new();
        p.extend_from_slice(&[0x02, 0, 0, 0, 0, rng.pick(&[1, 2])]);
        p.extend_from_slice(&[0x02, 0, 0, 0, 0, rng.pick(&[1, 3])]);
        for _ in 0..rng.pick(&[0, 0, 0, 1, 2]) {
            p.extend_from_slice(&[0x81, 0x00, 0x00, rng.pick(&[10, 20])]);
        }
        let proto = rng.pick(&[6u8, 17, 1, 58, 6, 17]);
        let sport = rng.pick(&[80u16, 443, 53, 1234, 8080]);
        let dport = rng.pick(&[80u16, 443, 53, 4321, 22]);
        let mut l4 = Vec::new();
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        match proto {
            6 => {
                l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
                let doff = rng.pick(&[5u8, 5, 6, 8]);
                l4.push(doff << 4);
                l4.push(rng.pick(&[0x02u8, 0x12, 0x10, 0x11, 0x04, 0x18]));
                l4.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
                l4.resize(doff as usize * 4, 1);
            }
            17 => l4.extend_from_slice(&[0, 8, 0, 0]),
            _ => {
                l4.clear();
                l4.extend_from_slice(&[rng.pick(&[8u8, 0, 128, 129, 3]), 0, 0, 0, 0, 1, 0, 1]);
            }
        }
        for _ in 0..rng.pick(&[0usize, 0, 4, 30, 200]) {
            l4.push(rng.byte());
        }
        match rng.pick(&[4u8, 4, 4, 6, 6, 0]) {
            4 => {
                p.extend_from_slice(&[0x08, 0x00]);
                let ihl = rng.pick(&[5u8, 5, 5, 6, 15]);
                let total = (ihl as usize * 4 + l4.len()) as u16;
                let frag: u16 = rng.pick(&[0, 0, 0, 0x2000, 0x0010, 0x4000]);
                p.push(0x40 | ihl);
                p.push(0);
                p.extend_from_slice(&total.to_be_bytes());
                p.extend_from_slice(&[0, 1]);
                p.extend_from_slice(&frag.to_be_bytes());
                p.push(rng.pick(&[64u8, 1, 255]));
                p.push(if proto == 58 { 1 } else { proto });
                p.extend_from_slice(&[0, 0]);
                p.extend_from_slice(&[198, 18, 0, rng.pick(&[1, 2])]);
                p.extend_from_slice(&[198, 19, rng.pick(&[0, 255]), rng.pick(&[1, 255])]);
                let opts_end = p.len() + ihl as usize * 4 - 20;
                p.resize(opts_end, 1);
            }
            6 => {
                p.extend_from_slice(&[0x86, 0xdd]);
                let ext = rng.pick(&[None, None, Some(0u8), Some(60), Some(44), Some(51)]);
                let next = if proto == 1 { 58 } else { proto };
                p.extend_from_slice(&[0x60, 0, 0, 0]);
                let ext_len = if ext.is_some() { 8 } else { 0 };
                p.extend_from_slice(&((l4.len() + ext_len) as u16).to_be_bytes());
                p.push(ext.unwrap_or(next));
                p.push(64);
                let mut a = [0u8; 16];
                a[0] = 0xfd;
                a[15] = rng.pick(&[1, 2]);
                p.extend_from_slice(&a);
                a[15] = rng.pick(&[3, 4]);
                p.extend_from_slice(&a);
                if ext.is_some() {
                    p.extend_from_slice(&[next, 0, 0, 0, 0, 0, 0, 0]);
                }
            }
            _ => {
                p.extend_from_slice(&[rng.pick(&[0x08u8, 0x88]), rng.pick(&[0x06u8, 0x47])]);
            }
        }
        p.extend_from_slice(&l4);
        if n % 4 == 0 {
            let cut = (rng.next() % (p.len() as u64 + 1)) as usize;
            out.push(p[..cut].to_vec());
        }
        out.push(p);
    }
    for len in 0..70 {
        out.push((0..len).map(|i| (i as u8).wrapping_mul(37)).collect());
    }
    out
}

/// Expressions whose libpcap programs are lowered and compared.
const EXPRS: &[&str] = &[
    "",
    "ip",
    "ip6",
    "arp",
    "tcp",
    "udp port 53",
    "tcp port 80",
    "tcp dst port 443 or udp src port 53",
    "portrange 20-90",
    "host 198.18.0.1",
    "net 198.19.0.0/16",
    "ip6 host fd00::4",
    "icmp",
    "icmp[icmptype] = icmp-echo",
    "icmp6",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
    "tcp[13] & 2 != 0",
    "tcp[tcpflags] & tcp-push != 0 and len > 100",
    "ip[2:2] > 100",
    "ip[6:2] & 0x1fff = 0",
    "ip[0] & 0xf > 5",
    "len > 100",
    "len <= 64",
    "greater 200",
    "less 60",
    "vlan",
    "vlan 10 and tcp",
    "vlan and vlan 20",
    "ip[ip[0] & 0xf] = 4",
    "ip[8] / ip[9] = 10",
    "ip[8] % ip[9] = 4",
    "ip[8] / 3 = 21",
    "ether[12:2] / (ether[14] - 69) > 3",
    "ether[0] << ether[13] = 0",
    "ether[1] >> (ether[11] & 63) = 0",
    "ip[0] - ip[1] * 2 + ip[2] | 1 ^ 3 & 0xff = 7",
    "udp[8:4] = 0",
    "tcp[20:4] = 0x01010101",
    "ip6 protochain 6",
    "ip protochain 17",
    "ether broadcast or ether multicast",
    "ip broadcast",
    "(tcp or udp) and not port 22",
    "ether[1000] = 1 or arp",
];

#[test]
fn libpcap_programs_agree_with_the_reference() {
    let corpus = corpus();
    assert!(corpus.len() > 250);
    for expr in EXPRS {
        let prog = cbpf::parse_ddd(&tcpdump("-ddd", DLT_EN10MB, expr))
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        check_program(expr, &prog, &corpus);
    }
}

fn s(code: u16, k: u32) -> C {
    C::stmt(code, k)
}

fn j(code: u16, k: u32, jt: u8, jf: u8) -> C {
    C::jump(code, k, jt, jf)
}

/// Forms libpcap emits rarely or never, written by hand.
#[test]
fn hand_written_programs_agree_with_the_reference() {
    let ret_a = s(BPF_RET | BPF_A, 0);
    let table: Vec<(&str, Vec<C>)> = vec![
        ("ret a of zero-initialised a", vec![ret_a]),
        (
            "ret x via txa",
            vec![
                s(BPF_LDX | BPF_W | BPF_LEN, 0),
                s(BPF_MISC | BPF_TXA, 0),
                ret_a,
            ],
        ),
        (
            "div and mod by x, x from packet",
            vec![
                s(BPF_LDX | BPF_B | BPF_ABS, 0),
                s(BPF_LD | BPF_B | BPF_ABS, 1),
                s(BPF_ALU | BPF_DIV | BPF_X, 0),
                s(BPF_ALU | BPF_MOD | BPF_X, 0),
                s(BPF_ALU | BPF_ADD | BPF_K, 1),
                ret_a,
            ]
            .into_iter()
            .map(|mut i| {
                // BPF_LDX | BPF_B | BPF_ABS does not exist: use MSH-free form.
                if i.code == BPF_LDX | BPF_B | BPF_ABS {
                    i = s(BPF_LDX | BPF_B | BPF_MSH, 0);
                }
                i
            })
            .collect(),
        ),
        (
            "shifts by x",
            vec![
                s(BPF_LD | BPF_B | BPF_ABS, 0),
                s(BPF_MISC | BPF_TAX, 0),
                s(BPF_LD | BPF_W | BPF_ABS, 2),
                s(BPF_ALU | BPF_LSH | BPF_X, 0),
                s(BPF_ALU | BPF_RSH | BPF_X, 0),
                s(BPF_ALU | BPF_OR | BPF_K, 1),
                ret_a,
            ],
        ),
        (
            "shifts by 32 to 63 give zero",
            vec![
                s(BPF_LD | BPF_B | BPF_ABS, 13),
                s(BPF_ALU | BPF_AND | BPF_K, 31),
                s(BPF_ALU | BPF_ADD | BPF_K, 20),
                s(BPF_MISC | BPF_TAX, 0),
                s(BPF_LD | BPF_IMM, 0x8000_0001),
                s(BPF_ALU | BPF_LSH | BPF_X, 0),
                s(BPF_ST, 0),
                s(BPF_LD | BPF_IMM, 0x8000_0001),
                s(BPF_ALU | BPF_RSH | BPF_X, 0),
                s(BPF_LDX | BPF_MEM, 0),
                s(BPF_ALU | BPF_ADD | BPF_X, 0),
                s(BPF_ALU | BPF_ADD | BPF_K, 1),
                ret_a,
            ],
        ),
        (
            "large constants compare unsigned",
            vec![
                s(BPF_LD | BPF_W | BPF_ABS, 0),
                j(BPF_JMP | BPF_JGT | BPF_K, 0x8000_0000, 0, 1),
                s(BPF_RET | BPF_K, 1),
                j(BPF_JMP | BPF_JGE | BPF_K, 0xffff_ffff, 0, 1),
                s(BPF_RET | BPF_K, 2),
                j(BPF_JMP | BPF_JSET | BPF_K, 0x8000_0001, 1, 0),
                s(BPF_RET | BPF_K, 3),
                s(BPF_RET | BPF_K, 0xffff_ffff),
            ],
        ),
        (
            "x compares",
            vec![
                s(BPF_LDX | BPF_B | BPF_MSH, 0),
                s(BPF_LD | BPF_B | BPF_ABS, 1),
                j(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1),
                s(BPF_RET | BPF_K, 1),
                j(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
                s(BPF_RET | BPF_K, 2),
                j(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1),
                s(BPF_RET | BPF_K, 3),
                j(BPF_JMP | BPF_JGE | BPF_X, 0, 1, 0),
                s(BPF_RET | BPF_K, 4),
                s(BPF_RET | BPF_K, 5),
            ],
        ),
        (
            "scratch memory round trip",
            vec![
                s(BPF_LD | BPF_H | BPF_ABS, 12),
                s(BPF_ST, 15),
                s(BPF_LDX | BPF_IMM, 3),
                s(BPF_STX, 0),
                s(BPF_LD | BPF_MEM, 0),
                s(BPF_LDX | BPF_MEM, 15),
                s(BPF_ALU | BPF_ADD | BPF_X, 0),
                s(BPF_ALU | BPF_NEG, 0),
                ret_a,
            ],
        ),
        (
            "indirect loads with large and small k",
            vec![
                s(BPF_LDX | BPF_B | BPF_MSH, 14),
                s(BPF_LD | BPF_W | BPF_IND, 14),
                s(BPF_LD | BPF_H | BPF_IND, 40000),
                ret_a,
            ],
        ),
        (
            "indirect load with k beyond any packet",
            vec![
                s(BPF_LDX | BPF_IMM, 0),
                j(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
                s(BPF_LD | BPF_B | BPF_IND, 0xffff_fff0),
                s(BPF_RET | BPF_K, 9),
            ],
        ),
        (
            "x + k wraps past 2^32 in neither interpreter",
            vec![
                s(BPF_LDX | BPF_IMM, 0xffff_ffff),
                s(BPF_LD | BPF_B | BPF_IND, 2),
                s(BPF_RET | BPF_K, 9),
            ],
        ),
        (
            "absolute load beyond the tracked range",
            vec![s(BPF_LD | BPF_B | BPF_ABS, 70000), s(BPF_RET | BPF_K, 1)],
        ),
        (
            "load at offset above i16",
            vec![s(BPF_LD | BPF_H | BPF_ABS, 40000), s(BPF_RET | BPF_K, 1)],
        ),
        (
            "load in one branch only",
            vec![
                s(BPF_LD | BPF_W | BPF_LEN, 0),
                j(BPF_JMP | BPF_JGT | BPF_K, 40, 0, 2),
                s(BPF_LD | BPF_B | BPF_ABS, 39),
                s(BPF_RET | BPF_A, 0),
                s(BPF_RET | BPF_K, 7),
            ],
        ),
        (
            "backward loop sums bytes until a zero",
            vec![
                s(BPF_LDX | BPF_IMM, 0),
                s(BPF_ST, 0),
                s(BPF_LD | BPF_B | BPF_IND, 0),
                j(BPF_JMP | BPF_JEQ | BPF_K, 0, 6, 0),
                s(BPF_LDX | BPF_MEM, 0),
                s(BPF_ALU | BPF_ADD | BPF_X, 0),
                s(BPF_ST, 0),
                s(BPF_MISC | BPF_TXA, 0),
                s(BPF_ALU | BPF_ADD | BPF_K, 1),
                s(BPF_MISC | BPF_TAX, 0),
                // back to the load at 2 (from 10: 11 - 9 = 2)
                s(BPF_JMP | BPF_JA, (-9i32) as u32),
                s(BPF_LD | BPF_MEM, 0),
                s(BPF_ALU | BPF_ADD | BPF_K, 1),
                ret_a,
            ],
        ),
    ];
    // Short packets only for the loop, so it stays within the bound.
    let corpus = corpus();
    for (name, prog) in &table {
        cbpf::check(prog).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.starts_with("backward loop") {
            let pkts: Vec<Vec<u8>> = vec![
                vec![],
                vec![0],
                vec![5, 0],
                vec![1, 2, 3, 0, 9],
                vec![1; 10],
                [vec![7; 15], vec![0]].concat(),
            ];
            check_program(name, prog, &pkts);
        } else {
            check_program(name, prog, &corpus);
        }
    }
}

/// Loops longer than the bound are rejected rather than run forever.
#[test]
fn long_loops_are_cut_off() {
    let prog = vec![
        s(BPF_LD | BPF_B | BPF_ABS, 0),
        s(BPF_ALU | BPF_ADD | BPF_K, 1),
        j(BPF_JMP | BPF_JGT | BPF_K, 260, 1, 0),
        s(BPF_JMP | BPF_JA, (-3i32) as u32),
        s(BPF_RET | BPF_A, 0),
    ];
    let ebpf = harness(&prog, false).unwrap();
    // 261 iterations in cBPF; the eBPF bound stops it first.
    assert_eq!(cbpf::interpret(&prog, &[0], 1), 261);
    assert_eq!(interp::run(&ebpf, &mut Env::new(&[0])), Ok(0));
    // Within the bound both agree.
    assert_eq!(cbpf::interpret(&prog, &[250], 1), 261);
    assert_eq!(interp::run(&ebpf, &mut Env::new(&[250])), Ok(261));
}

#[test]
fn invalid_programs_and_stack_areas_are_refused() {
    let mut a = Asm::new();
    let (m, n) = (a.label(), a.label());
    let opts = LowerOpts {
        stack_base: -FRAGMENT_STACK,
        frags: false,
    };
    let e = lower(&[s(BPF_LD | BPF_IMM, 0)], &mut a, &opts, m, n).unwrap_err();
    assert!(e.msg.contains("does not end with ret"), "{e}");
    for base in [-4, 0, -8, -520] {
        let opts = LowerOpts {
            stack_base: base,
            frags: false,
        };
        let e = lower(&[s(BPF_RET | BPF_K, 1)], &mut a, &opts, m, n).unwrap_err();
        assert!(e.msg.contains("stack area"), "{base}: {e}");
    }
}

/// The guards are coalesced: the libpcap program for `tcp port 80` reads
/// seven packet fields, but a packet that accepts after the first port
/// must not need the second, so exactly five checks are needed: one for
/// the EtherType, protocol and fragment fields of both IP versions
/// (24 bytes), one per IPv6 port, one per IPv4 port (X-relative).
#[test]
fn guards_are_coalesced() {
    let prog = cbpf::parse_ddd(&tcpdump("-ddd", DLT_EN10MB, "tcp port 80")).unwrap();
    let ebpf = harness(&prog, false).unwrap();
    let checks = ebpf
        .iter()
        .filter(|i| i.code == asm::BPF_JMP | asm::BPF_JGT | asm::BPF_X && i.src() == 8)
        .count();
    assert_eq!(checks, 5, "{}", asm::disasm(&ebpf));
    // And nothing faults on a packet too short for any of them.
    assert_eq!(interp::run(&ebpf, &mut Env::new(&[0x86, 0xdd])), Ok(0));
}

/// Fragment size of a program, in eBPF instructions.
fn fragment_len(prog: &[C], frags: bool) -> usize {
    let mut a = Asm::new();
    let (m, n) = (a.label(), a.label());
    let opts = LowerOpts {
        stack_base: -FRAGMENT_STACK,
        frags,
    };
    lower(prog, &mut a, &opts, m, n).unwrap();
    a.len()
}

/// Instruction budgets: the fragment for each expression may not grow
/// past what the backend emits today (benchmarks compare these counts).
#[test]
fn instruction_budgets() {
    let table: &[(&str, usize, usize)] = &[
        // (expression, cBPF length, eBPF fragment budget without frags)
        ("ip", 4, 7),
        ("tcp", 12, 22),
        ("tcp port 80", 20, 40),
        ("tcp dst port 443 or udp src port 53", 25, 51),
        ("host 198.18.0.1", 14, 27),
        ("ip6 host fd00::4", 20, 26),
        ("icmp[icmptype] = icmp-echo", 11, 21),
        ("tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn", 12, 22),
        ("vlan 10 and tcp", 19, 30),
        ("len > 100", 4, 4),
        ("ip[8] / ip[9] = 10", 11, 15),
        ("(tcp or udp) and not port 22", 26, 44),
        ("ip6 protochain 6", 36, 66),
    ];
    let mut report = String::new();
    for (expr, clen, budget) in table {
        let prog = cbpf::parse_ddd(&tcpdump("-ddd", DLT_EN10MB, expr)).unwrap();
        assert_eq!(prog.len(), *clen, "libpcap's program for {expr} changed");
        let len = fragment_len(&prog, false);
        report.push_str(&format!("{expr}: {len} (budget {budget})\n"));
        assert!(
            len <= *budget,
            "{expr}: {len} instructions, budget {budget}"
        );
    }
    eprint!("{report}");
}

/// A loop reached only through the slow copy (after a load no linear part
/// can hold) still has its iteration counter initialised.
#[test]
fn loop_behind_a_far_load() {
    let prog = vec![
        s(BPF_LD | BPF_B | BPF_ABS, 70000),
        s(BPF_ALU | BPF_ADD | BPF_K, 1),
        j(BPF_JMP | BPF_JGT | BPF_K, 3, 1, 0),
        s(BPF_JMP | BPF_JA, (-3i32) as u32),
        s(BPF_RET | BPF_A, 0),
    ];
    let ebpf = harness(&prog, true).unwrap();
    let mut pkt = vec![0u8; 70001];
    pkt[70000] = 1;
    assert_eq!(cbpf::interpret(&prog, &pkt, pkt.len() as u32), 4);
    let mut env = Env::new(&pkt);
    env.linear = 4000;
    assert_eq!(
        interp::run(&ebpf, &mut env),
        Ok(4),
        "{}",
        asm::disasm(&ebpf)
    );
}

/// Random valid programs (every opcode, forward jumps, scratch memory)
/// agree with the reference on random packets, with and without frags.
#[test]
fn random_programs_agree_with_the_reference() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let codes: Vec<u16> = (0..=0xffu16)
        .filter(|&c| {
            cbpf::check(&[C::stmt(c, 1), s(BPF_RET | BPF_A, 0)]).is_ok() || class(c) == BPF_JMP
        })
        .filter(|&c| {
            class(c) != BPF_JMP
                || c == BPF_JMP | BPF_JA
                || matches!(op(c), BPF_JEQ | BPF_JGT | BPF_JGE | BPF_JSET)
        })
        .collect();
    let ks = [
        0u32,
        1,
        2,
        3,
        4,
        7,
        12,
        14,
        20,
        31,
        60,
        255,
        0x800,
        0xffff,
        0x8000_0000,
        u32::MAX,
    ];
    let mut pkts: Vec<Vec<u8>> = corpus().into_iter().step_by(5).collect();
    for n in [0usize, 1, 13, 14, 40, 100, 300] {
        pkts.push(
            (0..n)
                .map(|_| rng.byte() & rng.pick(&[0x0f, 0xff, 0x03]))
                .collect(),
        );
    }
    let mut tried = 0;
    let mut valid = 0;
    while valid < 400 {
        tried += 1;
        let len = 2 + (rng.next() % 14) as usize;
        let mut prog = Vec::with_capacity(len);
        for pc in 0..len - 1 {
            let code = rng.pick(&codes);
            let left = (len - 2 - pc) as u64;
            let mut k = match class(code) {
                BPF_ST | BPF_STX | BPF_LD | BPF_LDX if mode(code) == BPF_MEM => {
                    (rng.next() % 4) as u32
                }
                BPF_ST | BPF_STX => (rng.next() % 4) as u32,
                BPF_ALU if matches!(op(code), BPF_LSH | BPF_RSH) && src(code) == BPF_K => {
                    (rng.next() % 32) as u32
                }
                BPF_ALU if matches!(op(code), BPF_DIV | BPF_MOD) && src(code) == BPF_K => {
                    1 + (rng.next() % 9) as u32
                }
                _ => rng.pick(&ks),
            };
            let (mut jt, mut jf) = (0, 0);
            if class(code) == BPF_JMP {
                if code == BPF_JMP | BPF_JA {
                    k = (rng.next() % (left + 1)) as u32;
                } else {
                    jt = (rng.next() % (left + 1)) as u8;
                    jf = (rng.next() % (left + 1)) as u8;
                }
            }
            prog.push(C::new(code, jt, jf, k));
        }
        prog.push(if rng.next() % 2 == 0 {
            s(BPF_RET | BPF_A, 0)
        } else {
            s(BPF_RET | BPF_K, rng.pick(&[0, 1, 0xffff]))
        });
        if cbpf::check(&prog).is_err() {
            continue;
        }
        valid += 1;
        check_program(&format!("random program #{tried}"), &prog, &pkts);
    }
}
