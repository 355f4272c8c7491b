//! Classic BPF → eBPF: lowers a validated cBPF program into a fragment of
//! the capture program.
//!
//! Entry contract: R6 = ctx (`struct xdp_md *`), R7 = `data` and
//! R8 = `data_end` as loaded from ctx (so the verifier knows them as packet
//! pointers), R9 = the full packet length (`len`). The fragment may clobber
//! R0-R5 and its stack area, never writes R6-R10, and ends by jumping to
//! `on_match` with R0 = the cBPF return value (non-zero), or to
//! `on_nomatch`.
//!
//! What it guarantees the verifier, and how it keeps libpcap's semantics:
//! - The program is validated first (kernel rules, see [`cbpf::check`]).
//! - A (R0) and X (R5) are zeroed at entry when a path reads them before
//!   writing them; the scratch words M[] live on the stack and the
//!   validator proves each is written before it is read.
//! - Every packet load is guarded against `data_end`. A constant-offset
//!   load is covered by one check `data + n > data_end` placed at the
//!   first load of a path that needs it, where `n` is the length every
//!   path from there needs anyway (a shorter packet is rejected on all of
//!   them, so checking early changes no verdict); a check is only emitted
//!   where the lengths already checked on every incoming path fall short.
//!   An `X + k` load goes through a pointer `data + X` with X bounded (so
//!   the pointer stays in the 64 KiB range the verifier tracks); the
//!   pointer is reused, and its checks coalesced the same way, by later
//!   loads with the same X. The bound allows a little room
//!   ([`flow::IND_SLACK`]) for those later loads, so it rejects early only
//!   packets with more than `0xffff - IND_SLACK` bytes of linear data,
//!   which XDP does not produce; without `frags`, bytes beyond offset
//!   0xffff are out of reach (no XDP packet is that long in one buffer).
//! - A packet too short for a load is rejected, as libpcap rejects it.
//!   With `frags` (multi-buffer packets, `BPF_F_XDP_HAS_FRAGS`), a guard
//!   that fails instead continues in a second copy of the program whose
//!   loads go through `bpf_xdp_load_bytes`, reaching bytes beyond the
//!   linear part; only a load beyond the whole packet rejects it.
//! - A and X are 32-bit unsigned (32-bit ALU and jumps), packet words are
//!   big-endian (converted with `BPF_END`, except for a load whose value
//!   only meets `jeq`/`jset` with constants: those constants are swapped
//!   instead), a run-time division or modulo by zero rejects the packet,
//!   a shift by X ≥ 32 gives 0.
//! - Backward jumps (libpcap's `protochain` loops) are counted; after
//!   [`MAX_BACK_JUMPS`] the packet is rejected, so every loop is bounded.
//!
//! The passes: control and data flow ([`flow`]: successors, liveness,
//! anticipated lengths, guard placement, X-relative pointer plan,
//! swap-free loads), then emission in program order (`emit`), fast copy
//! first, then the slow copy from the points where fast guards hand over.
//!
//! The fragment is not followed by code of its own: a caller must only
//! emit code behind `on_match` / `on_nomatch` if [`Asm::is_used`] says the
//! fragment jumps there (a program that rejects everything never jumps to
//! `on_match`), since the verifier refuses unreachable instructions.

use super::{cbpf, Error};
use crate::asm::{Asm, Label};

mod emit;
pub mod flow;
#[cfg(test)]
mod tests;

pub use emit::MAX_BACK_JUMPS;

/// Where and how the fragment runs inside the capture program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowerOpts {
    /// Offset from the frame pointer (R10) of the fragment's stack area,
    /// [`FRAGMENT_STACK`] bytes long; negative and 8-byte aligned.
    pub stack_base: i16,
    /// The program is loaded with `BPF_F_XDP_HAS_FRAGS`: loads beyond the
    /// linear part fall back to `bpf_xdp_load_bytes`.
    pub frags: bool,
}

/// The fragment needs this many bytes of stack at
/// `[fp + stack_base, fp + stack_base + FRAGMENT_STACK)`.
pub const FRAGMENT_STACK: i16 = 80;

/// Lower `prog` into `asm` (see the module doc for the contract).
pub fn lower(
    prog: &[cbpf::Insn],
    asm: &mut Asm,
    opts: &LowerOpts,
    on_match: Label,
    on_nomatch: Label,
) -> Result<(), Error> {
    cbpf::validate(prog)?;
    let base = opts.stack_base as i32;
    if base % 8 != 0 || base + FRAGMENT_STACK as i32 > 0 || base < -512 {
        return Err(Error::new(
            format!("eBPF backend: stack area at fp{base:+} is not 8-byte aligned inside the 512-byte stack"),
            None,
        ));
    }
    emit::Lowering::new(prog, asm, *opts, on_match, on_nomatch).run();
    Ok(())
}
