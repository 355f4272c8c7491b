//! Classic BPF: the instruction form libpcap produces and `tcpdump -ddd`
//! prints, our intermediate representation between the filter compiler and
//! the eBPF backend.
//!
//! Besides the instruction type and its UAPI constants this module holds the
//! tools around it: the `-ddd` text parser ([`parse_ddd`]), the validator
//! with the kernel's classic-BPF rules ([`validate`]), the reference
//! interpreter with libpcap's semantics ([`interpret`]) and the
//! `tcpdump -d/-dd/-ddd` listings ([`format()`]).

mod ddd;
mod image;
mod interp;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use ddd::{looks_like_ddd, parse_ddd};
pub use image::{format, image, DumpStyle};
pub use interp::interpret;
pub use validate::{check, unwritten_reads, validate, Invalid};

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Insn {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Self {
        Insn { code, jt, jf, k }
    }
    pub const fn stmt(code: u16, k: u32) -> Self {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        Insn { code, jt, jf, k }
    }
}

// Instruction classes and fields, with their UAPI names (linux/filter.h, linux/bpf_common.h).
pub const BPF_LD: u16 = 0x00;
pub const BPF_LDX: u16 = 0x01;
pub const BPF_ST: u16 = 0x02;
pub const BPF_STX: u16 = 0x03;
pub const BPF_ALU: u16 = 0x04;
pub const BPF_JMP: u16 = 0x05;
pub const BPF_RET: u16 = 0x06;
pub const BPF_MISC: u16 = 0x07;

pub const BPF_W: u16 = 0x00;
pub const BPF_H: u16 = 0x08;
pub const BPF_B: u16 = 0x10;

pub const BPF_IMM: u16 = 0x00;
pub const BPF_ABS: u16 = 0x20;
pub const BPF_IND: u16 = 0x40;
pub const BPF_MEM: u16 = 0x60;
pub const BPF_LEN: u16 = 0x80;
pub const BPF_MSH: u16 = 0xa0;

pub const BPF_ADD: u16 = 0x00;
pub const BPF_SUB: u16 = 0x10;
pub const BPF_MUL: u16 = 0x20;
pub const BPF_DIV: u16 = 0x30;
pub const BPF_OR: u16 = 0x40;
pub const BPF_AND: u16 = 0x50;
pub const BPF_LSH: u16 = 0x60;
pub const BPF_RSH: u16 = 0x70;
pub const BPF_NEG: u16 = 0x80;
pub const BPF_MOD: u16 = 0x90;
pub const BPF_XOR: u16 = 0xa0;

pub const BPF_JA: u16 = 0x00;
pub const BPF_JEQ: u16 = 0x10;
pub const BPF_JGT: u16 = 0x20;
pub const BPF_JGE: u16 = 0x30;
pub const BPF_JSET: u16 = 0x40;

pub const BPF_K: u16 = 0x00;
pub const BPF_X: u16 = 0x08;
pub const BPF_A: u16 = 0x10;

pub const BPF_TAX: u16 = 0x00;
pub const BPF_TXA: u16 = 0x80;

/// Scratch memory words (`M[0..BPF_MEMWORDS]`).
pub const BPF_MEMWORDS: u32 = 16;
/// Longest program the kernel accepts (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;
/// Start of the Linux ancillary-data offsets of absolute loads
/// (`SKF_AD_OFF`, i.e. -0x1000 as a 32-bit offset).
pub const SKF_AD_OFF: u32 = 0xffff_f000;

#[inline]
pub const fn class(code: u16) -> u16 {
    code & 0x07
}
#[inline]
pub const fn size(code: u16) -> u16 {
    code & 0x18
}
#[inline]
pub const fn mode(code: u16) -> u16 {
    code & 0xe0
}
#[inline]
pub const fn op(code: u16) -> u16 {
    code & 0xf0
}
#[inline]
pub const fn src(code: u16) -> u16 {
    code & 0x08
}
#[inline]
pub const fn rval(code: u16) -> u16 {
    code & 0x18
}
#[inline]
pub const fn miscop(code: u16) -> u16 {
    code & 0xf8
}
