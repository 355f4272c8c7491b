//! Every system call of xdpcap and every `unsafe` of the crate.
//!
//! - [`bpf`]: `bpf(2)`, one wrapper per command, attrs laid out as in
//!   `linux/bpf.h`; object info, test runs, XDP links.
//! - [`perf`]: `perf_event_open(2)` for `PERF_COUNT_SW_BPF_OUTPUT` events
//!   and the mmap'd perf ring they write samples into.
//! - [`bpffs`], [`cpu`], [`netns`], [`epoll`], [`signal`]: the rest of what
//!   a capture needs from the kernel.
//!
//! File descriptors are [`std::os::fd::OwnedFd`] from birth. Errors are one
//! [`Error`] type that names the system call, the errno and the object.

pub mod bpf;
mod bpf_attr;
pub mod bpffs;
pub mod cpu;
pub mod epoll;
mod error;
pub mod netns;
pub mod perf;
mod perf_ring;
#[cfg(test)]
mod root_tests;
pub mod signal;

pub use bpf_attr::{BPF_OBJ_NAME_LEN, BPF_TAG_SIZE};
pub use bpffs::{is_bpffs, raise_memlock};
pub use error::{errno_name, Errno, Error, Result};
pub use netns::if_nametoindex;
