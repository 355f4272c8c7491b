//! A live capture on a hook.
//!
//! [`Capture::start`] compiles the filter (before touching the kernel, so a
//! bad filter loads nothing), opens the hook and checks its slots, creates
//! a perf ring per online CPU, then loads a capture program per action and
//! puts it in the action's slot, finding the load flavour the hook's owner
//! demands. [`Capture::poll`] waits for samples (or a stop signal) and
//! writes them; [`Capture::stop`] empties the slots, drains the rings and
//! writes the final statistics.
//!
//! Whatever happens the slots are emptied: by `stop`, by `Drop` on an
//! error path, and by a panic hook (the release build aborts on panic, so
//! no destructor would run). A slot is only emptied if it still holds the
//! program this capture put there (ids compared), so a capture that
//! replaced ours is left alone.
//!
//! ```no_run
//! use xdpcap::capture::{Capture, CaptureConfig, HookSource, Sink};
//! use xdpcap::pcap::Format;
//!
//! let file = std::fs::File::create("drops.pcapng")?;
//! let mut config = CaptureConfig::new(HookSource::Path("/sys/fs/bpf/my_hook".into()));
//! config.filter = "tcp port 80".into();
//! config.count = Some(100);
//! let mut capture = Capture::start(
//!     config,
//!     Sink::Pcap { out: Box::new(file), format: Format::Pcapng },
//! )?;
//! let stop = capture.run(|_stats| {})?;
//! let stats = capture.stop()?;
//! eprintln!("{stop:?}: {} packets", stats.written);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use super::load::{self, Flavour, LogOpts, Maps, Program};
use super::merge::{merge_sorted, Clock};
use super::program::{counter, Meta};
use super::{compile_filter, Error, OutIface, OutPacket, Output, Sink};
use crate::filter;
use crate::hook::{Action, Hook, Owner, Slot};
use crate::sys::{self, perf, Errno};

/// Where the hook comes from.
#[derive(Debug)]
pub enum HookSource {
    /// A pinned hook (opened and checked by [`Capture::start`]).
    Path(PathBuf),
    /// An already open hook.
    Hook(Hook),
}

/// Settings of a live capture.
#[derive(Debug)]
pub struct CaptureConfig {
    pub hook: HookSource,
    /// pcap-filter expression or raw cBPF; empty matches everything.
    pub filter: String,
    /// Link type the filter is compiled for (and the output declares).
    pub linktype: u32,
    /// Actions to capture; `None`: every slot the hook has.
    pub actions: Option<Vec<Action>>,
    /// At most this many bytes of each packet.
    pub snaplen: u32,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Perf ring bytes per CPU (rounded up to pages × 2^n); `None`: from
    /// the CPU count and a memory budget.
    pub buffer: Option<usize>,
    /// Wake the reader after this many bytes; `None`: a quarter of the ring.
    pub watermark: Option<usize>,
    /// Flush the output after every packet.
    pub flush: bool,
    /// Take slots held by other programs.
    pub force: bool,
    /// Keep the verifier log of every program ([`Capture::verifier_logs`]).
    pub verifier_log: bool,
    pub verifier_log_size: Option<u32>,
    /// Block SIGINT, SIGTERM and SIGHUP (and ignore SIGPIPE) and end
    /// [`Capture::run`] when one arrives. Call `start` before spawning
    /// threads then.
    pub handle_signals: bool,
    /// How long [`Capture::poll`] waits for the watermark before reading
    /// the rings anyway, so that quiet traffic shows up promptly.
    pub poll_interval: Duration,
}

impl CaptureConfig {
    /// Defaults: no filter, Ethernet, every action, whole packets.
    pub fn new(hook: HookSource) -> CaptureConfig {
        CaptureConfig {
            hook,
            filter: String::new(),
            linktype: filter::DLT_EN10MB,
            actions: None,
            snaplen: filter::DEFAULT_SNAPLEN,
            count: None,
            buffer: None,
            watermark: None,
            flush: false,
            force: false,
            verifier_log: false,
            verifier_log_size: None,
            handle_signals: false,
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// Why [`Capture::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// `count` packets were written.
    Count,
    /// The output's reader went away (EPIPE).
    BrokenPipe,
    /// The caller's stop condition ([`Capture::run_until`]).
    Requested,
}

/// Counts of one captured action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionStats {
    pub action: Option<Action>,
    /// Packets that reached the capture program.
    pub received: u64,
    /// Packets the filter matched.
    pub matched: u64,
    /// Matches the kernel could not put in a ring (full).
    pub lost: u64,
    /// Packets written to the output.
    pub written: u64,
}

/// Counts of a capture so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub actions: Vec<ActionStats>,
    /// Packets written, all actions.
    pub written: u64,
    /// Sum of the rings' `PERF_RECORD_LOST` counts.
    pub ring_lost: u64,
}

impl Stats {
    /// Lost samples, all actions.
    pub fn lost(&self) -> u64 {
        self.actions.iter().map(|a| a.lost).sum::<u64>()
    }
}

/// Hook slots holding our programs. Emptied on drop (only where a slot
/// still holds our program).
#[derive(Debug)]
struct Attached {
    hook: Hook,
    slots: Vec<(Action, u32)>,
}

impl Attached {
    fn add(&mut self, action: Action, prog_id: u32) {
        self.slots.push((action, prog_id));
        register(&self.hook, action, prog_id);
    }

    fn detach(&mut self) -> Result<(), Error> {
        let mut first_err = None;
        for (action, id) in self.slots.drain(..) {
            if let Err(e) = self.hook.clear_if(action, id) {
                first_err.get_or_insert(Error::Hook(e));
            }
            unregister(id);
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.detach();
    }
}

/// Slots to empty if the process panics: (hook, action, program id).
static PANIC_CLEANUP: Mutex<Vec<(Hook, Action, u32)>> = Mutex::new(Vec::new());
static PANIC_HOOK: Once = Once::new();

fn register(hook: &Hook, action: Action, prog_id: u32) {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // try_lock: a panic while the list is locked must not deadlock.
            if let Ok(mut list) = PANIC_CLEANUP.try_lock() {
                for (hook, action, id) in list.drain(..) {
                    let _ = hook.clear_if(action, id);
                }
            }
            previous(info);
        }));
    });
    if let (Ok(h), Ok(mut list)) = (hook.try_clone(), PANIC_CLEANUP.lock()) {
        list.push((h, action, prog_id));
    }
}

fn unregister(prog_id: u32) {
    if let Ok(mut list) = PANIC_CLEANUP.lock() {
        list.retain(|(_, _, id)| *id != prog_id);
    }
}

/// The actions to capture: `requested`, checked against the hook's
/// slots, or every slot the hook has.
pub fn resolve_actions(hook: &Hook, requested: Option<&[Action]>) -> Result<Vec<Action>, Error> {
    let Some(list) = requested else {
        return Ok(hook.actions());
    };
    for a in list {
        if a.index() >= hook.max_entries() {
            return Err(Error::Usage(format!(
                "{} has {} slot(s) ({}); it has no slot for action {a}",
                hook.display_name(),
                hook.max_entries(),
                hook.actions()
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(list.to_vec())
}

/// Check that the slots of `actions` are free, or leftovers of a killed
/// capture, or may be taken (`force`). Returns notes on what will be taken
/// over.
pub fn check_slots(hook: &Hook, actions: &[Action], force: bool) -> Result<Vec<String>, Error> {
    let hook_name = hook.display_name();
    let mut notes = Vec::new();
    for &action in actions {
        match hook.slot(action)? {
            Slot::Empty => {}
            Slot::Ours {
                prog_id,
                owner: Owner::Gone,
                ..
            } => notes.push(format!(
                "taking over slot {action} of {hook_name} from leftover capture program {prog_id} (its xdpcap is gone)"
            )),
            Slot::Ours {
                prog_id,
                owner: Owner::Running(pid),
                ..
            } if !force => {
                return Err(Error::Config(format!(
                    "{hook_name}: slot {action} is in use by another xdpcap (pid {pid}, capture program id {prog_id}); stop it first, or use -force to take the slot"
                )))
            }
            Slot::Ours {
                prog_id,
                owner: Owner::Unknown,
                ..
            } if !force => {
                return Err(Error::Config(format!(
                    "{hook_name}: slot {action} holds capture program {prog_id}, and without /proc there is no telling whether its xdpcap still runs; use -force to take the slot"
                )))
            }
            Slot::Other { prog_id, name } if !force => {
                return Err(Error::Busy {
                    hook: hook_name,
                    action,
                    prog_id,
                    name,
                })
            }
            Slot::Ours { prog_id, .. } | Slot::Other { prog_id, .. } => notes.push(format!(
                "-force: taking slot {action} of {hook_name} from program {prog_id}"
            )),
        }
    }
    Ok(notes)
}

/// A CPU's ring.
struct Ring {
    cpu: u32,
    ring: perf::PerfRing,
}

/// Token of the signal fd in the epoll set; rings use their index.
const SIGNAL_TOKEN: u64 = u64::MAX;

/// A running live capture.
pub struct Capture {
    // Field order matters for drop: slots are emptied first.
    attached: Attached,
    programs: Vec<Program>,
    maps: Maps,
    rings: Vec<Ring>,
    epoll: sys::epoll::Epoll,
    signals: Option<sys::signal::SignalFd>,
    output: Output,
    clock: Clock,
    /// Output interface of each action (index into the IDBs).
    iface_of: [Option<usize>; 5],
    actions: Vec<Action>,
    written: [u64; 5],
    total_written: u64,
    ring_lost: u64,
    count: Option<u64>,
    poll_interval: Duration,
    notes: Vec<String>,
    ready: Vec<u64>,
    stopped_by: Option<Stop>,
    flavour: Flavour,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("actions", &self.actions)
            .field("flavour", &self.flavour)
            .field("written", &self.total_written)
            .finish()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Slots first; then the caller gets its signals back (a stop
        // signal still pending is delivered now, after the cleanup).
        let _ = self.attached.detach();
        if let Some(s) = &self.signals {
            let _ = s.unblock();
        }
    }
}

/// The ring bytes per CPU for `buffer` (None: default for `ncpus`).
fn ring_pages(buffer: Option<usize>, ncpus: usize) -> usize {
    match buffer {
        Some(b) => perf::pages_for_bytes(b),
        None => perf::default_ring_pages(ncpus),
    }
}

impl Capture {
    /// Start capturing: see the module documentation.
    pub fn start(config: CaptureConfig, sink: Sink) -> Result<Capture, Error> {
        let cbpf = compile_filter(&config.filter, config.linktype)?;
        let hook = match config.hook {
            HookSource::Path(p) => Hook::open(&p)?,
            HookSource::Hook(h) => h,
        };
        let hook_name = hook.display_name();
        let actions = resolve_actions(&hook, config.actions.as_deref())?;
        let mut notes = check_slots(&hook, &actions, config.force)?;

        let signals = if config.handle_signals {
            Some(
                sys::signal::block_stop_signals()
                    .map_err(|e| Error::sys("setting up signal handling", e))?,
            )
        } else {
            None
        };

        let maps = Maps::create()?;
        let cpus = sys::cpu::online_cpus().map_err(|e| Error::sys("reading the online CPUs", e))?;
        let pages = ring_pages(config.buffer, cpus.len());
        let ring_bytes = pages * perf::page_size();
        let watermark = config.watermark.unwrap_or(ring_bytes / 4);
        if watermark >= ring_bytes {
            return Err(Error::Usage(format!(
                "-watermark {watermark} must be smaller than the ring of {ring_bytes} bytes per CPU"
            )));
        }
        let snaplen = config.snaplen.min(super::program::MAX_CAPLEN);
        if snaplen as usize + 64 > ring_bytes {
            notes.push(format!(
                "warning: a ring of {ring_bytes} bytes cannot hold a sample of {snaplen} bytes; larger packets will be lost (raise -buffer or lower -s)"
            ));
        }
        notes.push(format!(
            "{} CPU(s) online ({}); perf ring {} KiB per CPU, watermark {watermark} bytes",
            cpus.len(),
            cpus.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            ring_bytes / 1024
        ));
        let mut epoll = sys::epoll::Epoll::new().map_err(|e| Error::sys("creating epoll", e))?;
        let mut rings = Vec::with_capacity(cpus.len());
        for (i, &cpu) in cpus.iter().enumerate() {
            let fd = perf::open_bpf_output(cpu, watermark as u32)
                .map_err(|e| Error::sys(format!("opening the perf event of CPU {cpu}"), e))?;
            let ring = perf::PerfRing::new(fd, pages)
                .map_err(|e| Error::sys(format!("mapping the perf ring of CPU {cpu}"), e))?;
            maps.set_perf_event(cpu, ring.as_fd())?;
            epoll
                .add(ring.as_fd(), i as u64)
                .map_err(|e| Error::sys("adding a perf ring to epoll", e))?;
            rings.push(Ring { cpu, ring });
        }
        if let Some(s) = &signals {
            epoll
                .add(s.as_fd(), SIGNAL_TOKEN)
                .map_err(|e| Error::sys("adding the signal fd to epoll", e))?;
        }

        let mut iface_of = [None; 5];
        let ifaces: Vec<OutIface> = actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                iface_of[a.index() as usize] = Some(i);
                OutIface {
                    name: format!("xdp{}", a.name()),
                    label: a.name().to_string(),
                    linktype: config.linktype,
                }
            })
            .collect();
        let output = Output::new(sink, &ifaces, &config.filter, snaplen, config.flush)?;

        let log = LogOpts {
            always: config.verifier_log,
            size: config.verifier_log_size.unwrap_or(0),
        };
        let mut attached = Attached {
            hook,
            slots: Vec::new(),
        };
        let mut programs = Vec::new();
        let mut flavour: Option<Flavour> = None;
        for &action in &actions {
            let candidates: Vec<Flavour> = match flavour {
                Some(f) => vec![f],
                None => Flavour::ALL.to_vec(),
            };
            let mut last_err = None;
            let mut placed = None;
            for f in candidates {
                let prog = match load::load(action, &cbpf, snaplen, f, &maps, log) {
                    Ok(p) => p,
                    // This kernel does not know the flavour (no frags on
                    // old kernels): try the next.
                    Err(Error::Load { err, .. })
                        if err.errno() == Errno::INVAL
                            && err.verifier_log().map_or(true, |l| l.trim().is_empty()) =>
                    {
                        last_err = Some(err);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match attached.hook.set(action, prog.fd.as_fd()) {
                    Ok(()) => {
                        attached.add(action, prog.id);
                        placed = Some(prog);
                        break;
                    }
                    Err(e) if e.errno() == Errno::INVAL => {
                        notes.push(format!("slot {action}: {f} refused"));
                        last_err = Some(e);
                    }
                    Err(e) => {
                        return Err(Error::sys(
                            format!("putting the {action} capture program in {hook_name}"),
                            e,
                        ))
                    }
                }
            }
            let Some(prog) = placed else {
                return Err(Error::Incompatible {
                    hook: hook_name,
                    action,
                    err: last_err
                        .unwrap_or_else(|| sys::Error::new("BPF_MAP_UPDATE_ELEM", Errno::INVAL)),
                });
            };
            if flavour.is_none() {
                notes.push(format!("load flavour: {}", prog.flavour));
                flavour = Some(prog.flavour);
            }
            notes.push(format!(
                "slot {action}: capture program {} (id {}), {} instructions verified",
                super::program::program_name(action),
                prog.id,
                prog.verified_insns
            ));
            programs.push(prog);
        }
        let flavour = flavour.unwrap_or(Flavour::ALL[0]);

        Ok(Capture {
            attached,
            programs,
            maps,
            rings,
            epoll,
            signals,
            output,
            clock: Clock::now(),
            iface_of,
            actions,
            written: [0; 5],
            total_written: 0,
            ring_lost: 0,
            count: config.count,
            poll_interval: config.poll_interval,
            notes,
            ready: Vec::new(),
            stopped_by: None,
            flavour,
        })
    }

    /// What was chosen and why (load flavour, rings, CPUs, take-overs).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The load flavour the hook accepted.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The actions captured.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The verifier log of each program (empty unless asked for).
    pub fn verifier_logs(&self) -> Vec<(Action, &str)> {
        self.programs
            .iter()
            .map(|p| (p.action, p.log.as_str()))
            .collect()
    }

    /// The ids of the programs in the hook slots.
    pub fn program_ids(&self) -> Vec<(Action, u32)> {
        self.programs.iter().map(|p| (p.action, p.id)).collect()
    }

    /// Current counts (kernel counters plus what was written).
    pub fn stats(&self) -> Result<Stats, Error> {
        let mut actions = Vec::with_capacity(self.actions.len());
        for &a in &self.actions {
            let c = self.maps.counters(a)?;
            actions.push(ActionStats {
                action: Some(a),
                received: c[counter::RECEIVED],
                matched: c[counter::MATCHED],
                lost: c[counter::LOST],
                written: self.written[a.index() as usize],
            });
        }
        Ok(Stats {
            actions,
            written: self.total_written,
            ring_lost: self.ring_lost,
        })
    }

    /// Wait up to the poll interval for samples or a stop signal, then
    /// write what the rings hold. `Some(stop)` when the capture should end.
    pub fn poll(&mut self) -> Result<Option<Stop>, Error> {
        if let Some(s) = self.stopped_by {
            return Ok(Some(s));
        }
        let mut ready = std::mem::take(&mut self.ready);
        let waited = self.epoll.wait(Some(self.poll_interval), &mut ready);
        let signalled = ready.contains(&SIGNAL_TOKEN);
        self.ready = ready;
        waited.map_err(|e| Error::sys("waiting for samples", e))?;
        let mut stop = None;
        if signalled {
            if let Some(s) = &self.signals {
                if let Some(sig) = s
                    .read_signal()
                    .map_err(|e| Error::sys("reading the signal fd", e))?
                {
                    stop = Some(Stop::Signal(sig));
                }
            }
        }
        if let Some(s) = self.drain()? {
            stop = Some(s);
        }
        if stop.is_some() {
            self.stopped_by = stop;
        }
        Ok(stop)
    }

    /// Poll until a stop; `on_tick` gets the statistics about once a second.
    pub fn run(&mut self, on_tick: impl FnMut(&Stats)) -> Result<Stop, Error> {
        self.run_until(|| false, on_tick)
    }

    /// [`Capture::run`], also stopping (with [`Stop::Requested`]) once
    /// `stop` returns true; it is asked after every poll interval at most.
    pub fn run_until(
        &mut self,
        stop: impl Fn() -> bool,
        mut on_tick: impl FnMut(&Stats),
    ) -> Result<Stop, Error> {
        let mut last = Instant::now();
        loop {
            if let Some(stop) = self.poll()? {
                return Ok(stop);
            }
            if stop() {
                self.stopped_by = Some(Stop::Requested);
                return Ok(Stop::Requested);
            }
            if last.elapsed() >= Duration::from_secs(1) {
                last = Instant::now();
                on_tick(&self.stats()?);
            }
        }
    }

    /// Read every ring, merge by timestamp, write. `Some(stop)` if `count`
    /// was reached or the output went away.
    fn drain(&mut self) -> Result<Option<Stop>, Error> {
        let mut runs: Vec<Vec<(Meta, Vec<u8>)>> = Vec::with_capacity(self.rings.len());
        let mut lost = 0;
        for r in &mut self.rings {
            let mut run = Vec::new();
            r.ring.read(|rec| match rec {
                perf::Record::Sample(chunk) => {
                    let bytes = chunk.to_vec();
                    if let Some((meta, _)) = Meta::parse(&bytes) {
                        run.push((meta, bytes));
                    }
                }
                perf::Record::Lost(n) => lost += n,
            });
            let _ = r.cpu;
            runs.push(run);
        }
        self.ring_lost += lost;
        let merged = merge_sorted(runs, |(m, _)| m.ts_mono_ns);
        for (meta, bytes) in merged {
            if self.count.is_some_and(|c| self.total_written >= c) {
                return Ok(Some(Stop::Count));
            }
            let Some(action) = Action::from_index(meta.action) else {
                continue;
            };
            let Some(iface) = self.iface_of[action.index() as usize] else {
                continue;
            };
            let data = &bytes[super::program::meta::SIZE..][..meta.caplen as usize];
            let res = self.output.packet(&OutPacket {
                iface,
                ts_ns: self.clock.to_realtime(meta.ts_mono_ns),
                orig_len: meta.orig_len,
                ifindex: Some(meta.ifindex),
                queue: Some(meta.rx_queue),
                data,
            });
            match res {
                Ok(()) => {}
                Err(e) if e.is_broken_pipe() => return Ok(Some(Stop::BrokenPipe)),
                Err(e) => return Err(e),
            }
            self.written[action.index() as usize] += 1;
            self.total_written += 1;
        }
        if self.count.is_some_and(|c| self.total_written >= c) {
            return Ok(Some(Stop::Count));
        }
        Ok(None)
    }

    /// Empty the hook slots (where they still hold our programs), drain
    /// the rings, write the interface statistics, flush; the final counts.
    pub fn stop(mut self) -> Result<Stats, Error> {
        let detached = self.attached.detach();
        let pipe_gone = self.stopped_by == Some(Stop::BrokenPipe);
        if !pipe_gone && self.stopped_by != Some(Stop::Count) {
            // Samples emitted before the slots were emptied.
            match self.drain() {
                Ok(Some(Stop::BrokenPipe)) => self.stopped_by = Some(Stop::BrokenPipe),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        let stats = self.stats()?;
        if self.stopped_by != Some(Stop::BrokenPipe) {
            let now = super::realtime_ns();
            for (i, a) in stats.actions.iter().enumerate() {
                let res = self.output.stats(i, now, a.received, a.lost);
                if let Err(e) = res {
                    if e.is_broken_pipe() {
                        break;
                    }
                    return Err(e);
                }
            }
            match self.output.flush() {
                Ok(()) => {}
                Err(e) if e.is_broken_pipe() => {}
                Err(e) => return Err(e),
            }
        }
        detached?;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ring_is_a_power_of_two_of_pages() {
        for n in [1, 2, 8, 64, 512] {
            let p = ring_pages(None, n);
            assert!(p.is_power_of_two(), "{n} cpus: {p} pages");
        }
        assert_eq!(
            ring_pages(Some(8192), 2) * perf::page_size(),
            8192.max(perf::page_size())
        );
        assert!(ring_pages(Some(10_000), 2) * perf::page_size() >= 10_000);
    }
}
