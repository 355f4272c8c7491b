//! The pcap-filter expression compiler (not written yet).

use super::{cbpf, Error};

/// Compile a pcap-filter expression to classic BPF for `linktype`.
pub fn compile(_expr: &str, _linktype: u32) -> Result<Vec<cbpf::Insn>, Error> {
    Err(Error::new(
        "filter expressions are not supported yet: pass raw classic BPF (tcpdump -ddd output)",
        None,
    ))
}
