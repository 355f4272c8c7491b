//! Filters: pcap-filter expressions and raw classic BPF, compiled to classic
//! BPF and lowered to an eBPF fragment for the capture program.
//!
//! Data flow: text → [`compile`] (lexer → parser → AST → cBPF → optimiser)
//! or [`cbpf::parse_ddd`] (tcpdump `-ddd` text) → validated cBPF →
//! [`ebpf`] lowering into the capture program.

use std::fmt;
use std::ops::Range;

pub mod ast;
pub mod cbpf;
mod codegen;
pub mod compile;
#[cfg(test)]
mod difftest;
pub mod ebpf;
mod graph;
mod lexer;
mod names;
pub mod optimize;
mod parser;

/// `DLT_EN10MB` / `LINKTYPE_ETHERNET`.
pub const DLT_EN10MB: u32 = 1;
/// `LINKTYPE_RAW` as written in savefiles (IPv4/IPv6, no link header).
pub const LINKTYPE_RAW: u32 = 101;
/// `DLT_RAW` as libpcap names it on Linux.
pub const DLT_RAW: u32 = 12;
/// Snapshot length libpcap compiles into `ret` for a match.
pub const DEFAULT_SNAPLEN: u32 = 262144;

/// A filter that could not be compiled: what is wrong, and where in the
/// expression (byte span) when it is about one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub msg: String,
    pub span: Option<Range<usize>>,
}

impl Error {
    pub fn new(msg: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Error {
            msg: msg.into(),
            span,
        }
    }

    /// The message with the expression and a caret line under the culprit.
    pub fn render(&self, expr: &str) -> String {
        match &self.span {
            Some(r) if r.start <= expr.len() => {
                let width = r.end.saturating_sub(r.start).max(1);
                // The first line stands alone (offset included); the
                // caret under the expression follows for people.
                format!(
                    "{}\n  {}\n  {}{}",
                    self,
                    expr,
                    " ".repeat(expr[..r.start].chars().count()),
                    "^".repeat(width)
                )
            }
            _ => self.msg.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(r) => write!(f, "{} (at offset {})", self.msg, r.start),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for Error {}

/// The classic BPF program for a filter argument: empty (match all), raw
/// cBPF in tcpdump `-ddd` form, or a pcap-filter expression compiled for
/// `linktype` (a DLT / LINKTYPE number).
pub fn build(expr: &str, linktype: u32) -> Result<Vec<cbpf::Insn>, Error> {
    if expr.trim().is_empty() {
        return Ok(vec![cbpf::Insn::stmt(
            cbpf::BPF_RET | cbpf::BPF_K,
            DEFAULT_SNAPLEN,
        )]);
    }
    if cbpf::looks_like_ddd(expr) {
        return cbpf::parse_ddd(expr);
    }
    compile::compile(expr, linktype)
}
