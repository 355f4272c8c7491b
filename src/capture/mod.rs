//! One capture session: builds the capture programs, loads them, puts them
//! in the hook slots, reads the perf rings, writes the packets, and cleans
//! up on every way out. Offline mode runs a capture file through the same
//! program with `BPF_PROG_TEST_RUN`.

pub mod program;
