//! Raw classic BPF in the form `tcpdump -ddd` prints: the instruction
//! count, then one `code jt jf k` quadruple per instruction, in decimal.
//! Records are separated by newlines or commas
//! (`4,40 0 0 12,21 0 1 2048,6 0 0 65535,6 0 0 0`), fields by blanks.

use super::validate::check;
use super::*;
use crate::filter::Error;
use std::ops::Range;

/// Whether a filter argument is raw classic BPF in `-ddd` form rather than
/// an expression: a number alone on its first line or before a comma,
/// followed by more.
pub fn looks_like_ddd(text: &str) -> bool {
    let t = text.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let rest = t[digits..].trim_start_matches([' ', '\t', '\r']);
    digits > 0 && (rest.starts_with(',') || rest.starts_with('\n')) && !rest[1..].trim().is_empty()
}

/// Byte span of each blank-separated word of `text[range]`.
fn words(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text[range.clone()].char_indices() {
        let at = range.start + i;
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(at),
            (true, Some(s)) => {
                out.push(s..at);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..range.end);
    }
    out
}

fn number(text: &str, span: &Range<usize>, what: &str, max: u64) -> Result<u64, Error> {
    let w = &text[span.clone()];
    let parsed = match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => w.parse::<u64>(),
    };
    match parsed {
        Ok(v) if v <= max => Ok(v),
        Ok(_) => Err(Error::new(
            format!("raw classic BPF: {what} {w} is larger than {max}"),
            Some(span.clone()),
        )),
        Err(_) => Err(Error::new(
            format!("raw classic BPF: {what} {w:?} is not a number"),
            Some(span.clone()),
        )),
    }
}

/// Parse tcpdump `-ddd` output (newline- or comma-separated) into a
/// program, and validate it with the kernel's rules. Errors carry the span
/// of the offending field or instruction.
pub fn parse_ddd(text: &str) -> Result<Vec<Insn>, Error> {
    // Records: spans between separators, blank records dropped.
    let mut records = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices().chain([(text.len(), ',')]) {
        if c == ',' || c == '\n' {
            if !text[start..i].trim().is_empty() {
                records.push(start..i);
            }
            start = i + c.len_utf8();
        }
    }
    let Some(first) = records.first() else {
        return Err(Error::new("raw classic BPF: empty program", None));
    };
    let count_words = words(text, first.clone());
    if count_words.len() != 1 {
        return Err(Error::new(
            "raw classic BPF: the first field must be the instruction count alone",
            Some(first.clone()),
        ));
    }
    let count = number(
        text,
        &count_words[0],
        "instruction count",
        BPF_MAXINSNS as u64,
    )?;
    let body = &records[1..];
    if count as usize != body.len() {
        return Err(Error::new(
            format!(
                "raw classic BPF: the count says {count} instructions but {} follow",
                body.len()
            ),
            Some(count_words[0].clone()),
        ));
    }
    let mut prog = Vec::with_capacity(body.len());
    for (n, rec) in body.iter().enumerate() {
        let f = words(text, rec.clone());
        if f.len() != 4 {
            return Err(Error::new(
                format!(
                    "raw classic BPF: instruction {n} has {} fields, expected 4 (code jt jf k)",
                    f.len()
                ),
                Some(rec.clone()),
            ));
        }
        prog.push(Insn {
            code: number(text, &f[0], "opcode", u16::MAX as u64)? as u16,
            jt: number(text, &f[1], "jt", u8::MAX as u64)? as u8,
            jf: number(text, &f[2], "jf", u8::MAX as u64)? as u8,
            k: number(text, &f[3], "k", u32::MAX as u64)? as u32,
        });
    }
    check(&prog).map_err(|e| {
        let span = e.index.and_then(|i| body.get(i)).cloned();
        Error::new(e.to_string(), span)
    })?;
    Ok(prog)
}
