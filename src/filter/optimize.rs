//! The classic-BPF optimiser: a cBPF → cBPF pass run on the compiler's
//! output, in the spirit of libpcap's optimiser.
//!
//! The compiler calls [`optimize`] on the program it generated and, when
//! [`rejects_all`] holds, fails with the error "expression rejects all
//! packets", as libpcap does.
//!
//! Guarantee: for every packet (captured bytes and wire length) the
//! optimised program returns exactly what the input program returns under
//! [`cbpf::interpret`], including rejections caused by out-of-bounds packet
//! loads and run-time division by zero.

use super::cbpf;

/// Optimise a valid classic BPF program; the result selects exactly the same packets.
pub fn optimize(prog: &[cbpf::Insn]) -> Vec<cbpf::Insn> {
    prog.to_vec()
}

/// Whether the optimised program can never accept a packet (libpcap's
/// "expression rejects all packets").
pub fn rejects_all(prog: &[cbpf::Insn]) -> bool {
    let p = optimize(prog);
    p.iter().all(|i| {
        cbpf::class(i.code) != cbpf::BPF_RET || (cbpf::rval(i.code) == cbpf::BPF_K && i.k == 0)
    })
}
