//! Classic BPF → eBPF lowering (being written).

use super::{cbpf, Error};
use crate::asm::{Asm, Label};

/// Where and how the fragment runs inside the capture program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowerOpts {
    /// Offset from the frame pointer (R10) of the fragment's stack area,
    /// `FRAGMENT_STACK` bytes long; negative, 8-byte aligned.
    pub stack_base: i16,
    /// The program is loaded with `BPF_F_XDP_HAS_FRAGS`: loads beyond the
    /// linear part fall back to `bpf_xdp_load_bytes`.
    pub frags: bool,
}

/// The fragment needs this many bytes of stack at
/// `[fp + stack_base, fp + stack_base + FRAGMENT_STACK)`.
pub const FRAGMENT_STACK: i16 = 80;

/// Lower `prog` into `asm`. Entry: R6 = ctx, R7 = data, R8 = data_end,
/// R9 = packet length. Exit: a jump to `on_match` (R0 = the cBPF return
/// value, non-zero) or to `on_nomatch`. Clobbers R0-R5 and the stack area.
pub fn lower(
    prog: &[cbpf::Insn],
    asm: &mut Asm,
    opts: &LowerOpts,
    on_match: Label,
    on_nomatch: Label,
) -> Result<(), Error> {
    let _ = (prog, asm, opts, on_match, on_nomatch);
    Err(Error::new("the eBPF backend is not written yet", None))
}
