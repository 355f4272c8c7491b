//! xdpcap: tcpdump for XDP.
//!
//! An XDP program that returns through an xdpcap *hook* (a pinned
//! `BPF_MAP_TYPE_PROG_ARRAY`) lets this crate capture, at any time and
//! without reloading that program, the packets it returns together with the
//! action it returned, filtered in the kernel by a pcap-filter expression.
//!
//! Layers, each knowing only the ones below it:
//! - [`sys`]: raw `bpf(2)` / `perf_event_open(2)`, the perf ring; all `unsafe`.
//! - [`asm`]: eBPF instructions, labels, disassembler.
//! - [`filter`]: pcap-filter expressions → classic BPF → eBPF fragment.
//! - [`pcap`]: pcap / pcapng writers and reader.
//! - [`capture`]: one capture session, live or offline.
#![deny(unsafe_code)]

pub mod asm;
pub mod capture;
pub mod filter;
pub mod hook;
pub mod pcap;
#[allow(unsafe_code)]
pub mod sys;
