//! One capture session: builds the capture programs, loads them, puts them
//! in the hook slots, reads the perf rings, writes the packets, and cleans
//! up on every way out. Offline mode runs a capture file through the same
//! program with `BPF_PROG_TEST_RUN`.
//!
//! - [`program`]: the capture program and the sample layout.
//! - [`load`]: its maps, the load flavours.
//! - [`session`]: a live capture on a hook ([`Capture`]).
//! - [`offline`]: `-r`, a capture file through the same program.
//! - [`merge`]: ordering samples of several CPUs, kernel clock to wall clock.
//! - [`text`]: the `-print` line.

use std::fmt;
use std::io::{self, Write};

use crate::filter::{self, cbpf};
use crate::hook::{self, Action};
use crate::pcap;
use crate::sys;

pub mod load;
pub mod merge;
pub mod offline;
pub mod program;
pub mod session;
pub mod text;

pub use load::Flavour;
pub use offline::{run_offline, OfflineConfig, OfflineStats};
pub use session::{ActionStats, Capture, CaptureConfig, HookSource, Stats, Stop};

/// What went wrong in a capture, naming the action, file or filter
/// position involved.
#[derive(Debug)]
pub enum Error {
    /// The filter expression does not compile (nothing was loaded).
    Filter { expr: String, err: filter::Error },
    /// The capture program could not be assembled.
    Build {
        action: Action,
        err: program::BuildError,
    },
    /// Opening or inspecting the hook.
    Hook(hook::Error),
    /// The verifier (or the kernel) refused the capture program.
    Load { action: Action, err: sys::Error },
    /// A hook slot holds a program that is not ours.
    Busy {
        hook: String,
        action: Action,
        prog_id: u32,
        name: String,
    },
    /// No load flavour fits the hook's owner.
    Incompatible {
        hook: String,
        action: Action,
        err: sys::Error,
    },
    /// The settings ask for something the hook cannot do (an action it has
    /// no slot for, a watermark beyond the ring): a usage error.
    Usage(String),
    /// The settings contradict the hook or the input.
    Config(String),
    /// Some other system call failed.
    Sys { what: String, err: sys::Error },
    /// Writing the output.
    Output(io::Error),
    /// Reading the `-r` input.
    Input { path: String, err: pcap::Error },
}

impl Error {
    pub(crate) fn sys(what: impl Into<String>, err: sys::Error) -> Error {
        Error::Sys {
            what: what.into(),
            err,
        }
    }

    /// A usage or filter error (exit status 1): nothing was loaded.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Filter { .. } | Error::Usage(_))
    }

    /// The verifier log of a refused program.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            Error::Load { err, .. } => err.verifier_log(),
            _ => None,
        }
    }

    /// The output's reader went away (EPIPE): a normal stop, not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Filter { expr, err } => write!(f, "filter: {}", err.render(expr)),
            Error::Build { action, err } => {
                write!(f, "building the {action} capture program: {err}")
            }
            Error::Hook(e) => e.fmt(f),
            Error::Load { action, err } => {
                // The sys error carries the tail of the verifier log.
                let first = err.to_string();
                let first = first.lines().next().unwrap_or_default();
                write!(f, "loading the {action} capture program: {first}")?;
                if verifier_rejected(err) {
                    write!(f, " (rerun with -print-verifier-logs to see the verifier log)")?;
                }
                Ok(())
            }
            Error::Busy {
                hook,
                action,
                prog_id,
                name,
            } => write!(
                f,
                "{hook}: slot {action} holds program {name:?} (id {prog_id}), not an xdpcap capture; another tool uses it (use -force to take it)"
            ),
            Error::Incompatible { hook, action, err } => write!(
                f,
                "{hook}: slot {action} accepts none of the four load flavours (expected_attach_type BPF_XDP/0, with/without xdp.frags): {err}; is the program using the hook an XDP program?"
            ),
            Error::Config(msg) | Error::Usage(msg) => f.write_str(msg),
            Error::Sys { what, err } => write!(f, "{what}: {err}"),
            Error::Output(e) => write!(f, "writing the output: {e}"),
            Error::Input { path, err } => write!(f, "{path}: {err}"),
        }
    }
}

impl std::error::Error for Error {}

/// Whether a failed `BPF_PROG_LOAD` was the verifier's refusal (EINVAL or
/// EACCES with a log), the only case where its log explains anything. A
/// missing capability (EPERM) is refused before the verifier runs.
fn verifier_rejected(err: &sys::Error) -> bool {
    matches!(err.errno(), sys::Errno::INVAL | sys::Errno::ACCESS)
        && err.verifier_log().is_some_and(|l| !l.trim().is_empty())
}

impl From<hook::Error> for Error {
    fn from(e: hook::Error) -> Self {
        Error::Hook(e)
    }
}

/// Compile `expr` for `linktype`.
pub fn compile_filter(expr: &str, linktype: u32) -> Result<Vec<cbpf::Insn>, Error> {
    filter::build(expr, linktype).map_err(|err| Error::Filter {
        expr: expr.to_string(),
        err,
    })
}

/// Where captured packets go.
pub enum Sink {
    /// A capture file (pcapng or pcap).
    Pcap {
        out: Box<dyn Write + Send>,
        format: pcap::Format,
    },
    /// One text line per packet ([`text::line`]).
    Text(Box<dyn Write + Send>),
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::Pcap { format, .. } => write!(f, "Sink::Pcap({format:?})"),
            Sink::Text(_) => f.write_str("Sink::Text"),
        }
    }
}

/// One interface of the output: a captured action, or the input file.
#[derive(Clone, Debug)]
pub(crate) struct OutIface {
    /// Name in the pcapng IDB.
    pub name: String,
    /// What the `-print` line shows (the action).
    pub label: String,
    pub linktype: u32,
}

/// A packet to write.
pub(crate) struct OutPacket<'a> {
    pub iface: usize,
    pub ts_ns: u64,
    pub orig_len: u32,
    pub ifindex: Option<u32>,
    pub queue: Option<u32>,
    pub data: &'a [u8],
}

/// The writer behind a [`Sink`].
pub(crate) enum Output {
    Pcap(pcap::Writer<Box<dyn Write + Send>>, bool),
    Text {
        out: Box<dyn Write + Send>,
        ifaces: Vec<OutIface>,
        flush: bool,
    },
}

impl Output {
    pub fn new(
        sink: Sink,
        ifaces: &[OutIface],
        filter: &str,
        snaplen: u32,
        flush: bool,
    ) -> Result<Output, Error> {
        match sink {
            Sink::Pcap { out, format } => {
                let list: Vec<pcap::Interface> = ifaces
                    .iter()
                    .map(|i| pcap::Interface {
                        name: i.name.clone(),
                        filter: (!filter.is_empty()).then(|| filter.to_string()),
                        linktype: i.linktype as u16,
                        snaplen,
                        description: None,
                    })
                    .collect();
                let mut w = pcap::Writer::new(out, format, &list).map_err(Error::Output)?;
                if flush {
                    w.flush().map_err(Error::Output)?;
                }
                Ok(Output::Pcap(w, flush))
            }
            Sink::Text(out) => Ok(Output::Text {
                out,
                ifaces: ifaces.to_vec(),
                flush,
            }),
        }
    }

    pub fn packet(&mut self, p: &OutPacket) -> Result<(), Error> {
        match self {
            Output::Pcap(w, flush) => {
                let meta = pcap::PacketMeta {
                    ts_ns: p.ts_ns,
                    orig_len: p.orig_len,
                    ifindex: p.ifindex,
                    queue: p.queue,
                    comment: None,
                };
                w.write_packet(p.iface, &meta, p.data)
                    .map_err(Error::Output)?;
                if *flush {
                    w.flush().map_err(Error::Output)?;
                }
                Ok(())
            }
            Output::Text { out, ifaces, flush } => {
                let iface = &ifaces[p.iface];
                let mut l = text::line(
                    p.ts_ns,
                    &iface.label,
                    p.ifindex,
                    p.queue,
                    iface.linktype,
                    p.data,
                    p.orig_len,
                );
                l.push('\n');
                out.write_all(l.as_bytes()).map_err(Error::Output)?;
                if *flush {
                    out.flush().map_err(Error::Output)?;
                }
                Ok(())
            }
        }
    }

    /// Interface statistics (pcapng ISB); nothing for other formats.
    pub fn stats(
        &mut self,
        iface: usize,
        ts_ns: u64,
        received: u64,
        dropped: u64,
    ) -> Result<(), Error> {
        match self {
            Output::Pcap(w, _) if w.format() == pcap::Format::Pcapng => w
                .write_stats(iface, ts_ns, received, dropped)
                .map_err(Error::Output),
            _ => Ok(()),
        }
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        match self {
            Output::Pcap(w, _) => w.flush(),
            Output::Text { out, .. } => out.flush(),
        }
        .map_err(Error::Output)
    }
}

/// Wall-clock nanoseconds since the epoch, now.
pub(crate) fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_error(errno: sys::Errno, log: Option<&str>) -> String {
        let mut err = sys::Error::new("BPF_PROG_LOAD", errno).with_object("xdpcap_pass");
        if let Some(l) = log {
            err = err.with_log(l.to_string());
        }
        Error::Load {
            action: Action::Pass,
            err,
        }
        .to_string()
    }

    #[test]
    fn verifier_log_hint_only_for_verifier_refusals() {
        let log = "0: (b7) r0 = 0\nR0 !read_ok\n";
        for errno in [sys::Errno::INVAL, sys::Errno::ACCESS] {
            let msg = load_error(errno, Some(log));
            assert!(msg.contains("-print-verifier-logs"), "{msg}");
            // Without a log there is nothing to look at.
            let msg = load_error(errno, None);
            assert!(!msg.contains("-print-verifier-logs"), "{msg}");
        }
        // EPERM: a missing capability, refused before the verifier (as
        // BPF_PROG_LOAD reports it: no log).
        let msg = load_error(sys::Errno::PERM, None);
        assert!(!msg.contains("verifier"), "{msg}");
        assert!(msg.contains("EPERM"), "{msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }
}
