//! Program listings exactly as `tcpdump -d`, `-dd` and `-ddd` print them
//! (libpcap's `bpf_image` and `bpf_dump`), so our compiler's output can be
//! compared with libpcap's text for text.

use super::*;
use std::fmt::Write;

/// Which listing: `-d`, `-dd` or `-ddd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpStyle {
    /// `tcpdump -d`: `(000) ldh      [12]`.
    Image,
    /// `tcpdump -dd`: a C array body, `{ 0x28, 0, 0, 0x0000000c },`.
    C,
    /// `tcpdump -ddd`: the count, then `code jt jf k` in decimal.
    Decimal,
}

/// The whole listing, one line per instruction, each ending in a newline.
pub fn format(prog: &[Insn], style: DumpStyle) -> String {
    let mut out = String::new();
    match style {
        DumpStyle::Image => {
            for (n, insn) in prog.iter().enumerate() {
                let _ = writeln!(out, "{}", image(insn, n));
            }
        }
        DumpStyle::C => {
            for i in prog {
                let _ = writeln!(
                    out,
                    "{{ {:#x}, {}, {}, 0x{:08x} }},",
                    i.code, i.jt, i.jf, i.k
                );
            }
        }
        DumpStyle::Decimal => {
            let _ = writeln!(out, "{}", prog.len());
            for i in prog {
                let _ = writeln!(out, "{} {} {} {}", i.code, i.jt, i.jf, i.k);
            }
        }
    }
    out
}

/// Names libpcap prints for the Linux ancillary-data offsets of absolute
/// loads, by `(k - SKF_AD_OFF) / 4`.
const ANCILLARY: [&str; 16] = [
    "proto",
    "type",
    "ifidx",
    "nla",
    "nlan",
    "mark",
    "queue",
    "hatype",
    "rxhash",
    "cpu",
    "xor_x",
    "vlan_tci",
    "vlanp",
    "poff",
    "random",
    "vlan_tpid",
];

fn abs_operand(k: u32) -> String {
    let rel = k.wrapping_sub(SKF_AD_OFF);
    if k >= SKF_AD_OFF && rel < 64 && rel % 4 == 0 {
        format!("[{}]", ANCILLARY[(rel / 4) as usize])
    } else {
        format!("[{}]", k as i32)
    }
}

/// One instruction as `tcpdump -d` prints it, `n` being its index.
pub fn image(insn: &Insn, n: usize) -> String {
    let Insn { code, jt, jf, k } = *insn;
    let signed = k as i32;
    let (mnemonic, operand): (&str, String) = match code {
        0x06 => ("ret", format!("#{signed}")),
        0x16 => ("ret", String::new()),
        0x20 => ("ld", abs_operand(k)),
        0x28 => ("ldh", abs_operand(k)),
        0x30 => ("ldb", abs_operand(k)),
        0x80 => ("ld", "#pktlen".into()),
        0x40 => ("ld", format!("[x + {signed}]")),
        0x48 => ("ldh", format!("[x + {signed}]")),
        0x50 => ("ldb", format!("[x + {signed}]")),
        0x00 => ("ld", format!("#{k:#x}")),
        0x01 => ("ldx", format!("#{k:#x}")),
        0xb1 => ("ldxb", format!("4*([{signed}]&0xf)")),
        0x60 => ("ld", format!("M[{signed}]")),
        0x61 => ("ldx", format!("M[{signed}]")),
        0x02 => ("st", format!("M[{signed}]")),
        0x03 => ("stx", format!("M[{signed}]")),
        0x05 => (
            "ja",
            format!("{}", (n as i32).wrapping_add(1).wrapping_add(signed)),
        ),
        0x87 => ("txa", String::new()),
        0x07 => ("tax", String::new()),
        0x84 => ("neg", String::new()),
        _ => {
            let name = match (class(code), op(code)) {
                (BPF_JMP, BPF_JGT) => "jgt",
                (BPF_JMP, BPF_JGE) => "jge",
                (BPF_JMP, BPF_JEQ) => "jeq",
                (BPF_JMP, BPF_JSET) => "jset",
                (BPF_ALU, BPF_ADD) => "add",
                (BPF_ALU, BPF_SUB) => "sub",
                (BPF_ALU, BPF_MUL) => "mul",
                (BPF_ALU, BPF_DIV) => "div",
                (BPF_ALU, BPF_MOD) => "mod",
                (BPF_ALU, BPF_AND) => "and",
                (BPF_ALU, BPF_OR) => "or",
                (BPF_ALU, BPF_XOR) => "xor",
                (BPF_ALU, BPF_LSH) => "lsh",
                (BPF_ALU, BPF_RSH) => "rsh",
                _ => "",
            };
            let exact = code & !(0xf0 | BPF_X) == class(code);
            if name.is_empty() || !exact {
                ("unimp", format!("{code:#x}"))
            } else if src(code) == BPF_X {
                (name, "x".into())
            } else if class(code) == BPF_JMP || matches!(op(code), BPF_AND | BPF_OR | BPF_XOR) {
                (name, format!("#{k:#x}"))
            } else {
                (name, format!("#{signed}"))
            }
        }
    };
    if class(code) == BPF_JMP && op(code) != BPF_JA {
        format!(
            "({n:03}) {mnemonic:<8} {operand:<16} jt {}\tjf {}",
            n + 1 + jt as usize,
            n + 1 + jf as usize
        )
    } else {
        format!("({n:03}) {mnemonic:<8} {operand}")
    }
}
