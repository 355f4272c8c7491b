//! The eBPF assembler: instruction encoding ([`insn`]), a label-based
//! builder whose jumps are resolved once ([`label`]), a disassembler that
//! prints like the kernel verifier log ([`disasm()`]), and a small
//! interpreter that runs generated programs in tests without a kernel
//! ([`interp`]). Nothing here makes a system call.

use std::fmt;

pub mod disasm;
pub mod insn;
pub mod interp;
pub mod label;

pub use disasm::{disasm, disasm_insn};
pub use insn::*;
pub use label::{Asm, Label};
pub use Reg::*;

/// A program that could not be assembled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A jump at instruction `at` names a label that was never bound.
    UnboundLabel { label: u32, at: usize },
    /// A label was bound twice.
    LabelRebound { label: u32 },
    /// The jump at `at` would need offset `off`, which does not fit 16 bits.
    JumpOutOfRange { at: usize, off: i64 },
    /// The jump at `at` targets a label bound after the last instruction.
    JumpPastEnd { at: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnboundLabel { label, at } => {
                write!(f, "eBPF assembly: jump at insn {at} to label {label}, which is never bound")
            }
            Error::LabelRebound { label } => {
                write!(f, "eBPF assembly: label {label} bound twice")
            }
            Error::JumpOutOfRange { at, off } => write!(
                f,
                "eBPF assembly: jump at insn {at} spans {off} instructions, more than a 16-bit offset holds"
            ),
            Error::JumpPastEnd { at } => {
                write!(f, "eBPF assembly: jump at insn {at} targets the end of the program")
            }
        }
    }
}

impl std::error::Error for Error {}
