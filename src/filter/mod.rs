//! Filters: pcap-filter expressions and raw classic BPF, compiled to classic
//! BPF and lowered to an eBPF fragment for the capture program.

pub mod cbpf;
