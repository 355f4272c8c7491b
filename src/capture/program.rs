//! The capture program: one XDP program per captured action, assembled in
//! memory, which sits in hook slot `ACTION`.
//!
//! It counts the packet, runs the filter fragment, and for a match emits a
//! [`Meta`] record followed by the first `caplen` bytes of the packet
//! through `bpf_perf_event_output` (the kernel copies the packet bytes,
//! fragments included, when `caplen` is given in the upper half of the
//! flags). Whatever happens it returns `ACTION`: the packet's fate never
//! changes.
//!
//! Register use (the filter fragment's entry contract): R6 = ctx,
//! R7 = data, R8 = data_end, R9 = full packet length. Stack, from the frame
//! pointer down: the spilled counter pointer, the metadata record, then the
//! fragment's scratch area.

use crate::asm::{self, Asm, Insn, Label, Reg::*};
use crate::filter::{self, cbpf};
use crate::hook::Action;

/// Every capture program's name starts with this, so a slot left behind
/// by a killed capture is recognisable.
pub const NAME_PREFIX: &str = "xdpcap_";

/// The kernel name of the capture program for `action` (≤ 15 bytes).
pub fn program_name(action: Action) -> String {
    format!("{NAME_PREFIX}{}", action.name())
}

/// Largest number of packet bytes one sample carries. A perf record's size
/// is a `u16`, and the record also holds its header, the raw-size word and
/// the metadata.
pub const MAX_CAPLEN: u32 = 65535 - 64;

/// The metadata record in front of each sample's packet bytes, as the
/// program writes it (host byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub action: u32,
    pub ifindex: u32,
    pub rx_queue: u32,
    pub orig_len: u32,
    pub caplen: u32,
    /// `bpf_ktime_get_ns()`: CLOCK_MONOTONIC.
    pub ts_mono_ns: u64,
}

/// Field offsets of [`Meta`] in a sample, shared by the program and the
/// reader.
pub mod meta {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const ACTION: Range<usize> = 4..8;
    pub const IFINDEX: Range<usize> = 8..12;
    pub const RX_QUEUE: Range<usize> = 12..16;
    pub const ORIG_LEN: Range<usize> = 16..20;
    pub const CAPLEN: Range<usize> = 20..24;
    pub const TS: Range<usize> = 24..32;
    pub const SIZE: usize = 32;
    /// `"XDC"` and layout version 1.
    pub const MAGIC_VALUE: u32 = 0x5844_4301;
}

impl Meta {
    /// Split a sample into its metadata and packet bytes; `None` if it is
    /// not one of ours (wrong magic, too short).
    pub fn parse(sample: &[u8]) -> Option<(Meta, &[u8])> {
        let u32_at = |r: std::ops::Range<usize>| -> Option<u32> {
            Some(u32::from_ne_bytes(sample.get(r)?.try_into().ok()?))
        };
        if u32_at(meta::MAGIC)? != meta::MAGIC_VALUE {
            return None;
        }
        let m = Meta {
            action: u32_at(meta::ACTION)?,
            ifindex: u32_at(meta::IFINDEX)?,
            rx_queue: u32_at(meta::RX_QUEUE)?,
            orig_len: u32_at(meta::ORIG_LEN)?,
            caplen: u32_at(meta::CAPLEN)?,
            ts_mono_ns: u64::from_ne_bytes(sample.get(meta::TS)?.try_into().ok()?),
        };
        let data = sample.get(meta::SIZE..meta::SIZE + m.caplen as usize)?;
        Some((m, data))
    }
}

/// Per-CPU counters, one `[u64; COUNTERS]` value per action (key = action).
pub mod counter {
    /// Packets that reached the capture program.
    pub const RECEIVED: usize = 0;
    /// Packets the filter accepted.
    pub const MATCHED: usize = 1;
    /// Samples `bpf_perf_event_output` could not deliver (ring full).
    pub const LOST: usize = 2;
    /// Number of counters per action.
    pub const COUNTERS: usize = 3;
    /// Value size of the counter map.
    pub const VALUE_SIZE: u32 = (COUNTERS * 8) as u32;
}

// Stack layout (offsets from the frame pointer R10).
const COUNTER_PTR: i16 = -8;
/// The counter key, then (offline) the bytes present in the packet.
const KEY: i16 = -16;
const META: i16 = -48;
const FRAGMENT: i16 = META - filter::ebpf::FRAGMENT_STACK;

/// `struct xdp_md` field offsets (linux/bpf.h).
const XDP_MD_DATA: i16 = 0;
const XDP_MD_DATA_END: i16 = 4;
const XDP_MD_DATA_META: i16 = 8;
const XDP_MD_INGRESS_IFINDEX: i16 = 12;
const XDP_MD_RX_QUEUE_INDEX: i16 = 16;

/// What a capture program is built from.
#[derive(Clone, Copy, Debug)]
pub struct Spec<'a> {
    pub action: Action,
    pub filter: &'a [cbpf::Insn],
    /// At most this many packet bytes per sample (clamped to [`MAX_CAPLEN`]).
    pub snaplen: u32,
    /// Loaded with `BPF_F_XDP_HAS_FRAGS`: the length comes from
    /// `bpf_xdp_get_buff_len` and the filter may read past the first buffer.
    pub frags: bool,
    /// The `BPF_MAP_TYPE_PERF_EVENT_ARRAY` fd.
    pub perf_map_fd: i32,
    /// The per-CPU counter array fd.
    pub counters_fd: i32,
    /// Offline runs: the packet's original length (`len`, which may exceed
    /// the bytes present when the input was truncated by a snap length)
    /// is a `u32` in the 4 bytes of XDP metadata in front of the packet.
    pub orig_len_in_meta: bool,
}

/// Why a program could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    Filter(filter::Error),
    Asm(asm::Error),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Filter(e) => write!(f, "lowering the filter to eBPF: {e}"),
            BuildError::Asm(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BuildError {}

/// Assemble the capture program for `spec`.
pub fn build(spec: &Spec) -> Result<Vec<Insn>, BuildError> {
    let opts = filter::ebpf::LowerOpts {
        stack_base: FRAGMENT,
        frags: spec.frags,
    };
    assemble(spec, |asm, on_match, on_nomatch| {
        // A filter that only returns a constant (the empty filter matches
        // everything) needs no fragment.
        if let [insn] = spec.filter {
            if insn.code == cbpf::BPF_RET | cbpf::BPF_K {
                if insn.k == 0 {
                    asm.ja(on_nomatch);
                } else {
                    asm.push(Insn::mov32_imm(R0, insn.k as i32));
                    asm.ja(on_match);
                }
                return Ok(());
            }
        }
        filter::ebpf::lower(spec.filter, asm, &opts, on_match, on_nomatch)
            .map_err(BuildError::Filter)
    })
}

/// `*counter += 1` for the counter at `index`, through the spilled pointer.
fn bump(asm: &mut Asm, index: usize) {
    let off = (index * 8) as i16;
    asm.push(Insn::ldx_mem(asm::BPF_DW, R1, R10, COUNTER_PTR));
    asm.push(Insn::ldx_mem(asm::BPF_DW, R2, R1, off));
    asm.push(Insn::alu64_imm(asm::BPF_ADD, R2, 1));
    asm.push(Insn::stx_mem(asm::BPF_DW, R1, R2, off));
}

/// The program around a filter fragment emitted by `emit_filter`, which
/// must end in a jump to `on_match` (R0 = cBPF return value) or
/// `on_nomatch`.
fn assemble(
    spec: &Spec,
    emit_filter: impl FnOnce(&mut Asm, Label, Label) -> Result<(), BuildError>,
) -> Result<Vec<Insn>, BuildError> {
    use asm::*;
    let action = spec.action.index() as i32;
    let mut a = Asm::new();
    let on_match = a.label();
    let on_nomatch = a.label();
    let out = a.label();

    a.push(Insn::mov64_reg(R6, R1));

    // The counters for this action; the map always has the entry, the
    // check is for the verifier.
    a.push_all(&Insn::ld_map_fd(R1, spec.counters_fd));
    a.push(Insn::st_mem(BPF_W, R10, KEY, action));
    a.push(Insn::mov64_reg(R2, R10));
    a.push(Insn::alu64_imm(BPF_ADD, R2, KEY as i32));
    a.push(Insn::call(BPF_FUNC_map_lookup_elem));
    a.jmp_imm(BPF_JEQ, R0, 0, out);
    a.push(Insn::stx_mem(BPF_DW, R10, R0, COUNTER_PTR));
    bump(&mut a, counter::RECEIVED);

    // Length first: the helper call clobbers R1-R5, not the packet pointers
    // loaded after it.
    if spec.frags {
        a.push(Insn::mov64_reg(R1, R6));
        a.push(Insn::call(BPF_FUNC_xdp_get_buff_len));
        a.push(Insn::mov64_reg(R9, R0));
    }
    a.push(Insn::ldx_mem(BPF_W, R7, R6, XDP_MD_DATA));
    a.push(Insn::ldx_mem(BPF_W, R8, R6, XDP_MD_DATA_END));
    if !spec.frags {
        a.push(Insn::mov64_reg(R9, R8));
        a.push(Insn::alu64_reg(BPF_SUB, R9, R7));
    }
    if spec.orig_len_in_meta {
        // R9 becomes the original length; the bytes present bound caplen.
        a.push(Insn::stx_mem(BPF_DW, R10, R9, KEY));
        let no_meta = a.label();
        a.push(Insn::ldx_mem(BPF_W, R1, R6, XDP_MD_DATA_META));
        a.push(Insn::mov64_reg(R2, R1));
        a.push(Insn::alu64_imm(BPF_ADD, R2, 4));
        a.jmp_reg(BPF_JGT, R2, R7, no_meta);
        a.push(Insn::ldx_mem(BPF_W, R9, R1, 0));
        a.bind(no_meta);
    }

    emit_filter(&mut a, on_match, on_nomatch)?;

    // A filter that rejects everything never jumps to `on_match`; the
    // verifier refuses unreachable code, so the program only counts.
    if a.is_used(on_match) {
        emit_match(&mut a, spec, on_match, out);
    }

    a.bind(on_nomatch);
    a.bind(out);
    a.push(Insn::mov64_imm(R0, action));
    a.push(Insn::exit());
    a.finish().map_err(BuildError::Asm)
}

/// The match block: record the sample (R0 = cBPF return value), then go
/// to `out`.
fn emit_match(a: &mut Asm, spec: &Spec, on_match: Label, out: Label) {
    use asm::*;
    let action = spec.action.index() as i32;
    let snaplen = spec.snaplen.clamp(1, MAX_CAPLEN) as i32;
    a.bind(on_match);
    // caplen = min(packet length, cBPF return value, snaplen), in R2.
    a.push(Insn::mov32_reg(R0, R0));
    a.push(Insn::mov64_reg(R2, R9));
    let le_ret = a.label();
    a.jmp_reg(BPF_JLE, R2, R0, le_ret);
    a.push(Insn::mov64_reg(R2, R0));
    a.bind(le_ret);
    let le_snap = a.label();
    a.jmp_imm(BPF_JLE, R2, snaplen, le_snap);
    a.push(Insn::mov64_imm(R2, snaplen));
    a.bind(le_snap);
    if spec.orig_len_in_meta {
        let le_present = a.label();
        a.push(Insn::ldx_mem(BPF_DW, R1, R10, KEY));
        a.jmp_reg(BPF_JLE, R2, R1, le_present);
        a.push(Insn::mov64_reg(R2, R1));
        a.bind(le_present);
    }
    a.push(Insn::stx_mem(
        BPF_W,
        R10,
        R2,
        META + meta::CAPLEN.start as i16,
    ));
    bump(a, counter::MATCHED);

    a.push(Insn::st_mem(
        BPF_W,
        R10,
        META + meta::MAGIC.start as i16,
        meta::MAGIC_VALUE as i32,
    ));
    a.push(Insn::st_mem(
        BPF_W,
        R10,
        META + meta::ACTION.start as i16,
        action,
    ));
    a.push(Insn::ldx_mem(BPF_W, R1, R6, XDP_MD_INGRESS_IFINDEX));
    a.push(Insn::stx_mem(
        BPF_W,
        R10,
        R1,
        META + meta::IFINDEX.start as i16,
    ));
    a.push(Insn::ldx_mem(BPF_W, R1, R6, XDP_MD_RX_QUEUE_INDEX));
    a.push(Insn::stx_mem(
        BPF_W,
        R10,
        R1,
        META + meta::RX_QUEUE.start as i16,
    ));
    a.push(Insn::stx_mem(
        BPF_W,
        R10,
        R9,
        META + meta::ORIG_LEN.start as i16,
    ));
    a.push(Insn::call(BPF_FUNC_ktime_get_ns));
    a.push(Insn::stx_mem(BPF_DW, R10, R0, META + meta::TS.start as i16));

    // bpf_perf_event_output(ctx, perf_map, BPF_F_CURRENT_CPU | caplen << 32,
    //                       &meta, sizeof meta)
    a.push(Insn::ldx_mem(
        BPF_W,
        R3,
        R10,
        META + meta::CAPLEN.start as i16,
    ));
    a.push(Insn::alu64_imm(BPF_LSH, R3, 32));
    a.push(Insn::mov32_imm(R1, -1));
    a.push(Insn::alu64_reg(BPF_OR, R3, R1));
    a.push(Insn::mov64_reg(R1, R6));
    a.push_all(&Insn::ld_map_fd(R2, spec.perf_map_fd));
    a.push(Insn::mov64_reg(R4, R10));
    a.push(Insn::alu64_imm(BPF_ADD, R4, META as i32));
    a.push(Insn::mov64_imm(R5, meta::SIZE as i32));
    a.push(Insn::call(BPF_FUNC_perf_event_output));
    a.jmp_imm(BPF_JSGE, R0, 0, out);
    bump(a, counter::LOST);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: Action, frags: bool) -> Spec<'static> {
        Spec {
            action,
            filter: &[],
            snaplen: 100,
            frags,
            perf_map_fd: 7,
            counters_fd: 8,
            orig_len_in_meta: false,
        }
    }

    /// A stand-in filter fragment: accept with return value 0x40000.
    fn accept_all(a: &mut Asm, on_match: Label, _: Label) -> Result<(), BuildError> {
        a.push(Insn::mov32_imm(R0, 0x40000));
        a.ja(on_match);
        Ok(())
    }

    #[test]
    fn program_shape() {
        for action in Action::ALL {
            for frags in [false, true] {
                let prog = assemble(&spec(action, frags), accept_all).unwrap();
                let text = asm::disasm(&prog);
                let has = |needle: &str| {
                    assert!(
                        text.contains(needle),
                        "{action} frags={frags}: no {needle:?} in\n{text}"
                    )
                };
                has("r6 = r1");
                has("map_lookup_elem");
                has("ktime_get_ns");
                has("perf_event_output");
                has("<<= 32");
                // Every way out returns the action.
                let last = &prog[prog.len() - 2..];
                assert_eq!(last[0], Insn::mov64_imm(R0, action.index() as i32));
                assert_eq!(last[1], Insn::exit());
                let exits = prog.iter().filter(|i| **i == Insn::exit()).count();
                assert_eq!(exits, 1, "{action}: a single exit\n{text}");
                assert_eq!(text.contains("xdp_get_buff_len"), frags, "{text}");
                // Both map fds are patched in.
                let map_loads: Vec<i32> = prog
                    .iter()
                    .filter(|i| i.is_ld_imm64() && i.src() == asm::BPF_PSEUDO_MAP_FD)
                    .map(|i| i.imm)
                    .collect();
                assert_eq!(map_loads, vec![8, 7]);
                // The snaplen bound is compiled in.
                assert!(prog.contains(&Insn::mov64_imm(R2, 100)), "{text}");
            }
        }
    }

    #[test]
    fn offline_variant_reads_the_original_length_from_metadata() {
        let mut s = spec(Action::Pass, true);
        let plain = assemble(&s, accept_all).unwrap();
        s.orig_len_in_meta = true;
        let prog = assemble(&s, accept_all).unwrap();
        let text = asm::disasm(&prog);
        assert!(
            prog.contains(&Insn::ldx_mem(asm::BPF_W, R1, R6, XDP_MD_DATA_META)),
            "{text}"
        );
        assert!(
            prog.contains(&Insn::ldx_mem(asm::BPF_W, R9, R1, 0)),
            "{text}"
        );
        assert!(!plain.contains(&Insn::ldx_mem(asm::BPF_W, R1, R6, XDP_MD_DATA_META)));
    }

    #[test]
    fn reject_all_filter_only_counts() {
        let reject = [cbpf::Insn {
            code: cbpf::BPF_RET | cbpf::BPF_K,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        for action in Action::ALL {
            for frags in [false, true] {
                let mut s = spec(action, frags);
                s.filter = &reject;
                let prog = build(&s).unwrap();
                let text = asm::disasm(&prog);
                // No match block: nothing would reach it.
                assert!(!text.contains("perf_event_output"), "{text}");
                assert!(!text.contains("ktime_get_ns"), "{text}");
                assert!(text.contains("map_lookup_elem"), "{text}");
                let last = &prog[prog.len() - 2..];
                assert_eq!(last[0], Insn::mov64_imm(R0, action.index() as i32));
                assert_eq!(last[1], Insn::exit());
            }
        }
        // The same filter accepting keeps the match block.
        let accept = [cbpf::Insn {
            k: 0x40000,
            ..reject[0]
        }];
        let mut s = spec(Action::Pass, false);
        s.filter = &accept;
        let text = asm::disasm(&build(&s).unwrap());
        assert!(text.contains("perf_event_output"), "{text}");
    }

    #[test]
    fn snaplen_is_clamped() {
        let mut s = spec(Action::Drop, false);
        s.snaplen = 1 << 20;
        let prog = assemble(&s, accept_all).unwrap();
        assert!(prog.contains(&Insn::mov64_imm(R2, MAX_CAPLEN as i32)));
    }

    // The stack layout fits the 512-byte frame and keeps the fragment
    // area 8-byte aligned.
    const _: () = assert!(FRAGMENT >= -512 && FRAGMENT % 8 == 0);
    const _: () = assert!(META + meta::SIZE as i16 <= KEY);

    #[test]
    fn meta_parse_round_trip() {
        let mut s = vec![0u8; meta::SIZE + 5];
        s[meta::MAGIC].copy_from_slice(&meta::MAGIC_VALUE.to_ne_bytes());
        s[meta::ACTION].copy_from_slice(&3u32.to_ne_bytes());
        s[meta::IFINDEX].copy_from_slice(&7u32.to_ne_bytes());
        s[meta::RX_QUEUE].copy_from_slice(&1u32.to_ne_bytes());
        s[meta::ORIG_LEN].copy_from_slice(&1500u32.to_ne_bytes());
        s[meta::CAPLEN].copy_from_slice(&4u32.to_ne_bytes());
        s[meta::TS].copy_from_slice(&123456789u64.to_ne_bytes());
        s[meta::SIZE..].copy_from_slice(&[1, 2, 3, 4, 0]);
        let (m, data) = Meta::parse(&s).unwrap();
        assert_eq!(
            m,
            Meta {
                action: 3,
                ifindex: 7,
                rx_queue: 1,
                orig_len: 1500,
                caplen: 4,
                ts_mono_ns: 123456789
            }
        );
        assert_eq!(data, &[1, 2, 3, 4]);
        s[0] ^= 1;
        assert!(Meta::parse(&s).is_none());
        assert!(Meta::parse(&s[..10]).is_none());
    }
}
