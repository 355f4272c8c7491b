//! Offline mode (`-r`): every packet of a capture file goes through the
//! very capture program a live capture loads, in the kernel, with
//! `BPF_PROG_TEST_RUN`; a sample in the ring afterwards means the filter
//! matched. The matching packets are written with their original
//! timestamps and lengths, in order.
//!
//! The program is loaded standalone (no hook), with the frags flag so that
//! packets larger than a page run whole. The work runs on a thread pinned
//! to one CPU, whose ring alone receives the samples
//! (`BPF_F_CURRENT_CPU`).
//!
//! Two details keep the verdicts those of libpcap reading the file:
//! - `len` is the packet's original length, which exceeds the bytes present
//!   when the file was written with a snap length. The program variant
//!   used here reads it from 4 bytes of XDP metadata in front of the
//!   packet (`struct xdp_md.data` = 4), and loads stay bounded by the bytes
//!   present.
//! - XDP test runs refuse packets shorter than an Ethernet header (14
//!   bytes, counting fragments). A shorter packet is followed by zero bytes
//!   up to 14 and `data_end` marks where it ends: the kernel puts the
//!   padding in a fragment, so the program loaded without the frags flag
//!   (whose length is `data_end - data`) sees exactly the packet.

use std::io::Read;
use std::os::fd::AsFd;

use super::load::{self, Flavour, LogOpts, Maps};
use super::program::Meta;
use super::{compile_filter, Error, OutIface, OutPacket, Output, Sink};
use crate::filter::{self, cbpf};
use crate::hook::Action;
use crate::pcap;
use crate::sys::{self, bpf, perf};

/// Settings of an offline run.
#[derive(Clone, Debug)]
pub struct OfflineConfig {
    /// pcap-filter expression or raw cBPF; empty matches everything.
    pub filter: String,
    /// Link type to compile the filter for; `None`: the input's.
    pub linktype: Option<u32>,
    /// At most this many bytes of each packet are kept.
    pub snaplen: u32,
    /// Stop after this many matching packets.
    pub count: Option<u64>,
    /// Flush the output after every packet.
    pub flush: bool,
    /// Ask the verifier for its log even when it accepts the program.
    pub verifier_log: bool,
    pub verifier_log_size: Option<u32>,
    /// Name of the output interface (pcapng IDB); the input file's name.
    pub iface_name: String,
}

impl Default for OfflineConfig {
    fn default() -> Self {
        OfflineConfig {
            filter: String::new(),
            linktype: None,
            snaplen: filter::DEFAULT_SNAPLEN,
            count: None,
            flush: false,
            verifier_log: false,
            verifier_log_size: None,
            iface_name: "xdpcap-offline".into(),
        }
    }
}

/// What an offline run did.
#[derive(Clone, Debug, Default)]
pub struct OfflineStats {
    /// Packets read from the input.
    pub read: u64,
    /// Packets the filter matched (and that were written).
    pub matched: u64,
    /// Samples the ring lost (should stay 0: it is drained after each run).
    pub lost: u64,
    /// Link type the filter was compiled for.
    pub linktype: u32,
    /// The CPU the test runs ran on.
    pub cpu: u32,
    /// The verifier log, when asked for.
    pub verifier_log: String,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
}

/// The filter link type for a capture file's `LINKTYPE_*`.
pub fn filter_linktype(file_linktype: u32) -> Option<u32> {
    match file_linktype {
        1 => Some(filter::DLT_EN10MB),
        // LINKTYPE_RAW, and DLT_RAW as BSDs and Linux number it.
        101 | 12 | 14 => Some(filter::LINKTYPE_RAW),
        _ => None,
    }
}

/// `sizeof(struct xdp_md)` and the offsets of `data` and `data_end`.
const XDP_MD_SIZE: usize = 24;
const XDP_MD_DATA: usize = 0;
const XDP_MD_DATA_END: usize = 4;
/// The kernel's minimum XDP test packet (`ETH_HLEN`), counting fragments.
const ETH_HLEN: usize = 14;
/// Metadata in front of the packet: its original length.
const METALEN: usize = 4;

/// The test-run input for a packet of original length `orig_len`: the
/// buffer handed to the kernel (metadata, packet, padding), the
/// `struct xdp_md` for it, and whether the packet needed padding.
pub fn test_input(packet: &[u8], orig_len: u32) -> (Vec<u8>, [u8; XDP_MD_SIZE], bool) {
    let padded = packet.len() < ETH_HLEN;
    let mut buf = Vec::with_capacity(METALEN + packet.len().max(ETH_HLEN));
    buf.extend_from_slice(&orig_len.max(packet.len() as u32).to_ne_bytes());
    buf.extend_from_slice(packet);
    if padded {
        buf.resize(METALEN + ETH_HLEN, 0);
    }
    let mut ctx = [0u8; XDP_MD_SIZE];
    ctx[XDP_MD_DATA..XDP_MD_DATA + 4].copy_from_slice(&(METALEN as u32).to_ne_bytes());
    ctx[XDP_MD_DATA_END..XDP_MD_DATA_END + 4]
        .copy_from_slice(&((METALEN + packet.len()) as u32).to_ne_bytes());
    (buf, ctx, padded)
}

/// Ring size for offline runs: room for the largest sample.
const OFFLINE_RING_BYTES: usize = 256 << 10;

/// Run every packet of `input` through the capture program for `cfg`'s
/// filter and write the matching ones to `sink`.
pub fn run_offline<R: Read + Send>(
    cfg: &OfflineConfig,
    input: pcap::Reader<R>,
    input_path: &str,
    sink: Sink,
) -> Result<OfflineStats, Error> {
    std::thread::scope(|s| {
        s.spawn(|| run_pinned(cfg, input, input_path, sink))
            .join()
            .unwrap_or_else(|_| Err(Error::Config("the offline worker thread panicked".into())))
    })
}

fn input_err(path: &str, err: pcap::Error) -> Error {
    Error::Input {
        path: path.to_string(),
        err,
    }
}

fn run_pinned<R: Read>(
    cfg: &OfflineConfig,
    mut input: pcap::Reader<R>,
    input_path: &str,
    sink: Sink,
) -> Result<OfflineStats, Error> {
    let first = input.next_packet().map_err(|e| input_err(input_path, e))?;
    let file_linktype = first
        .as_ref()
        .map(|p| p.linktype)
        .or(input.linktype())
        .unwrap_or(pcap::LINKTYPE_ETHERNET) as u32;
    let linktype = match cfg.linktype {
        Some(l) => l,
        None => filter_linktype(file_linktype).ok_or_else(|| {
            Error::Config(format!(
                "{input_path}: link type {file_linktype} is not supported (only Ethernet and raw IP); pass -linktype to force one"
            ))
        })?,
    };
    let prog = compile_filter(&cfg.filter, linktype)?;

    let log = LogOpts {
        always: cfg.verifier_log,
        size: cfg.verifier_log_size.unwrap_or(0),
    };
    let mut runner = Runner::new(&prog, cfg.snaplen, log)?;

    let iface = OutIface {
        name: cfg.iface_name.clone(),
        label: "match".to_string(),
        linktype: file_linktype,
    };
    let mut output = Output::new(sink, &[iface], &cfg.filter, cfg.snaplen, cfg.flush)?;
    let mut stats = OfflineStats {
        linktype,
        cpu: runner.cpu,
        verifier_log: runner.program.log.clone(),
        verified_insns: runner.program.verified_insns,
        ..OfflineStats::default()
    };

    let mut next = first;
    let mut sample = Vec::new();
    while let Some(packet) = next {
        stats.read += 1;
        if u32::from(packet.linktype) != file_linktype {
            return Err(Error::Config(format!(
                "{input_path}: packet {} is on an interface of link type {}, the first packet's is {file_linktype}; one link type per file, as for tcpdump",
                stats.read, packet.linktype
            )));
        }
        let matched = runner
            .run(&packet.data, packet.orig_len, &mut sample)
            .map_err(|e| match e {
                Error::Sys { what, err } => Error::Sys {
                    what: format!("{input_path}: packet {}: {what}", stats.read),
                    err,
                },
                Error::Config(msg) => {
                    Error::Config(format!("{input_path}: packet {}: {msg}", stats.read))
                }
                e => e,
            })?;
        if let Some(data) = matched {
            stats.matched += 1;
            output.packet(&OutPacket {
                iface: 0,
                ts_ns: packet.ts_ns,
                orig_len: packet.orig_len,
                ifindex: None,
                queue: None,
                data: &sample[data],
            })?;
            if cfg.count.is_some_and(|c| stats.matched >= c) {
                break;
            }
        }
        next = input.next_packet().map_err(|e| input_err(input_path, e))?;
    }
    stats.lost = runner.lost;
    output.stats(0, super::realtime_ns(), stats.read, stats.lost)?;
    output.flush()?;
    Ok(stats)
}

/// The capture program of a filter, ready for test runs on the CPU the
/// calling thread is pinned to.
struct Runner {
    cpu: u32,
    _maps: Maps,
    ring: perf::PerfRing,
    /// Frags flavour: every packet of 14 bytes or more.
    program: load::Program,
    /// Linear flavour: shorter packets, padded behind `data_end`.
    short_program: load::Program,
    lost: u64,
}

impl Runner {
    /// Pins the calling thread to its current CPU and loads the programs.
    fn new(prog: &[cbpf::Insn], snaplen: u32, log: LogOpts) -> Result<Runner, Error> {
        let cpu = sys::cpu::current_cpu();
        sys::cpu::pin_current_thread(cpu)
            .map_err(|e| Error::sys("pinning the offline thread", e))?;
        let maps = Maps::create()?;
        let pages = perf::pages_for_bytes(OFFLINE_RING_BYTES);
        let watermark = (pages * perf::page_size() / 2) as u32;
        let event = perf::open_bpf_output(cpu, watermark)
            .map_err(|e| Error::sys(format!("opening the perf event of CPU {cpu}"), e))?;
        let ring = perf::PerfRing::new(event, pages)
            .map_err(|e| Error::sys(format!("mapping the perf ring of CPU {cpu}"), e))?;
        maps.set_perf_event(cpu, ring.as_fd())?;
        let flavour = |frags| Flavour {
            expected_attach_type: bpf::BPF_XDP,
            frags,
        };
        let program = load::load_variant(
            OFFLINE_ACTION,
            prog,
            snaplen,
            flavour(true),
            &maps,
            log,
            true,
        )?;
        let short_program = load::load_variant(
            OFFLINE_ACTION,
            prog,
            snaplen,
            flavour(false),
            &maps,
            log,
            true,
        )?;
        Ok(Runner {
            cpu,
            _maps: maps,
            ring,
            program,
            short_program,
            lost: 0,
        })
    }

    /// Run one packet; `Some(range)` of the captured bytes in `sample` if
    /// the filter matched.
    fn run(
        &mut self,
        data: &[u8],
        orig_len: u32,
        sample: &mut Vec<u8>,
    ) -> Result<Option<std::ops::Range<usize>>, Error> {
        let (buf, ctx, padded) = test_input(data, orig_len);
        let prog_fd = if padded {
            self.short_program.fd.as_fd()
        } else {
            self.program.fd.as_fd()
        };
        let mut run = bpf::TestRun {
            prog_fd,
            data_in: &buf,
            data_out: None,
            ctx_in: Some(&ctx),
            repeat: 1,
            flags: 0,
        };
        let result = bpf::prog_test_run(&mut run).map_err(|e| {
            Error::sys(
                format!(
                    "running a packet of {} bytes through the capture program",
                    data.len()
                ),
                e,
            )
        })?;
        if result.retval != OFFLINE_ACTION.index() {
            return Err(Error::Config(format!(
                "the capture program returned {} instead of {}",
                result.retval,
                OFFLINE_ACTION.index()
            )));
        }
        let mut got = false;
        let mut lost = 0;
        sample.clear();
        self.ring.read(|rec| match rec {
            perf::Record::Sample(chunk) => {
                if !got {
                    chunk.copy_to(sample);
                    got = true;
                }
            }
            perf::Record::Lost(n) => lost += n,
        });
        self.lost += lost;
        if !got {
            return Ok(None);
        }
        match Meta::parse(sample) {
            Some((meta, _)) => Ok(Some(
                super::program::meta::SIZE..super::program::meta::SIZE + meta.caplen as usize,
            )),
            None => Err(Error::Config(format!(
                "malformed sample of {} bytes in the perf ring",
                sample.len()
            ))),
        }
    }
}

/// Run `packets` (bytes present, original length) through the capture
/// program of `prog` in the kernel, as `-r` does, without files: for each
/// packet, the bytes captured if the filter matched.
///
/// ```no_run
/// use xdpcap::capture::offline::run_packets;
/// use xdpcap::filter;
///
/// let prog = filter::build("udp port 53", filter::DLT_EN10MB)?;
/// let frame = vec![0u8; 60];
/// let verdicts = run_packets(&prog, filter::DEFAULT_SNAPLEN, &[(&frame[..], 60)])?;
/// assert_eq!(verdicts.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_packets(
    prog: &[cbpf::Insn],
    snaplen: u32,
    packets: &[(&[u8], u32)],
) -> Result<Vec<Option<Vec<u8>>>, Error> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut runner = Runner::new(prog, snaplen, LogOpts::default())?;
            let mut sample = Vec::new();
            packets
                .iter()
                .map(|(data, orig)| {
                    Ok(runner
                        .run(data, *orig, &mut sample)?
                        .map(|r| sample[r].to_vec()))
                })
                .collect()
        })
        .join()
        .unwrap_or_else(|_| Err(Error::Config("the offline worker thread panicked".into())))
    })
}

/// The action offline programs return (any would do).
const OFFLINE_ACTION: Action = Action::Pass;

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ctx: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(ctx[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn test_input_layout() {
        for len in 0..40usize {
            let packet: Vec<u8> = (0..len as u8).collect();
            let orig = len as u32 + 7;
            let (buf, ctx, padded) = test_input(&packet, orig);
            assert_eq!(padded, len < ETH_HLEN, "len {len}");
            assert_eq!(buf.len(), METALEN + len.max(ETH_HLEN), "len {len}");
            assert_eq!(&buf[..METALEN], &orig.to_ne_bytes(), "len {len}");
            assert_eq!(&buf[METALEN..METALEN + len], &packet[..], "len {len}");
            assert!(buf[METALEN + len..].iter().all(|&b| b == 0), "len {len}");
            assert_eq!(field(&ctx, XDP_MD_DATA) as usize, METALEN);
            assert_eq!(field(&ctx, XDP_MD_DATA_END) as usize, METALEN + len);
        }
        // An original length below the bytes present is not believed.
        let (buf, _, _) = test_input(&[0; 20], 3);
        assert_eq!(&buf[..METALEN], &20u32.to_ne_bytes());
    }

    #[test]
    fn linktypes() {
        assert_eq!(filter_linktype(1), Some(filter::DLT_EN10MB));
        assert_eq!(filter_linktype(101), Some(filter::LINKTYPE_RAW));
        assert_eq!(filter_linktype(12), Some(filter::LINKTYPE_RAW));
        assert_eq!(filter_linktype(105), None);
    }
}
