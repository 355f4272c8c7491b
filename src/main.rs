//! The `xdpcap` command: parse the command line, hand the work to the
//! library, print errors as one line and map them to an exit status
//! (0 normal stop, 1 usage or filter error, 2 runtime error).

mod cli;

/// `eprintln!` that never panics: a closed stderr is no reason to abort a
/// capture (the panic would empty the hook slots mid-capture).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::ExitCode;

use cli::{CaptureArgs, Command, UsageError};
use xdpcap::capture::{self, offline, Capture, CaptureConfig, HookSource, OfflineConfig, Sink};
use xdpcap::filter::{self, cbpf};
use xdpcap::hook::Action;
use xdpcap::hook::{Hook, Owner, Slot};
use xdpcap::pcap;

/// Why the command failed, which decides the exit status.
enum Failure {
    /// Exit 1: nothing was loaded.
    Usage(String),
    /// Exit 2.
    Runtime(String),
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Self {
        Failure::Usage(e.0)
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            say!("xdpcap: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Runtime(msg)) => {
            say!("xdpcap: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<OsString>) -> Result<(), Failure> {
    match cli::parse(args)? {
        Command::Help => print_stdout(cli::USAGE),
        Command::Version => print_stdout(&format!("xdpcap {}\n", env!("CARGO_PKG_VERSION"))),
        Command::DumpCbpf {
            level,
            filter,
            linktype,
            input,
        } => {
            let lt = dump_linktype(linktype, input.as_deref())?;
            let prog = compile_filter(&filter, lt)?;
            let style = match level {
                1 => cbpf::DumpStyle::Image,
                2 => cbpf::DumpStyle::C,
                _ => cbpf::DumpStyle::Decimal,
            };
            print_stdout(&cbpf::format(&prog, style))
        }
        Command::DumpEbpf {
            filter,
            linktype,
            input,
            actions,
            snaplen,
        } => {
            let lt = dump_linktype(linktype, input.as_deref())?;
            let prog = compile_filter(&filter, lt)?;
            let actions = actions.unwrap_or_else(|| Action::ALL.to_vec());
            let mut text = String::new();
            for action in actions {
                let insns = capture::load::instructions(
                    action,
                    &prog,
                    snaplen.unwrap_or(filter::DEFAULT_SNAPLEN),
                    false,
                    None,
                    false,
                )
                .map_err(runtime)?;
                text.push_str(&format!(
                    "; {} ({} instructions)\n{}",
                    capture::program::program_name(action),
                    insns.len(),
                    xdpcap::asm::disasm(&insns)
                ));
            }
            print_stdout(&text)
        }
        Command::Capture(args) => match &args.source {
            cli::Source::File(path) => offline(&args, path),
            cli::Source::Hook(path) => live(&args, path),
        },
        Command::CreateHook { path, entries } => {
            let hook = Hook::create(entries).map_err(runtime)?;
            hook.pin(&path).map_err(runtime)?;
            say!(
                "xdpcap: created hook {} with {entries} slot(s)",
                path.display()
            );
            Ok(())
        }
        Command::ListHook(path) => {
            let hook = Hook::open(&path).map_err(runtime)?;
            let mut text = String::new();
            for (action, slot) in hook.slots().map_err(runtime)? {
                text.push_str(&format!("{:<9} {}\n", action.name(), describe_slot(&slot)));
            }
            print_stdout(&text)
        }
        Command::ClearHook(path) => {
            let hook = Hook::open(&path).map_err(runtime)?;
            let cleared = hook.clear_leftovers().map_err(runtime)?;
            for (action, id) in &cleared {
                say!("xdpcap: cleared slot {action} (leftover capture program id {id})");
            }
            if cleared.is_empty() {
                say!("xdpcap: no leftover capture program in {}", path.display());
            }
            Ok(())
        }
    }
}

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

/// One `-list-hook` line's description of a slot.
fn describe_slot(slot: &Slot) -> String {
    match slot {
        Slot::Empty => "empty".into(),
        Slot::Ours {
            prog_id,
            name,
            owner: Owner::Running(pid),
        } => format!("capture program {name} (id {prog_id}) of running xdpcap pid {pid}"),
        Slot::Ours {
            prog_id,
            name,
            owner: Owner::Unknown,
        } => format!(
            "capture program {name} (id {prog_id}); without /proc there is no telling whether its xdpcap still runs"
        ),
        Slot::Ours {
            prog_id,
            name,
            owner: Owner::Gone,
        } => format!(
            "leftover capture program {name} (id {prog_id}), no process holds it; remove with -clear-hook"
        ),
        Slot::Other { prog_id, name } => format!("program {name:?} (id {prog_id}), not xdpcap's"),
    }
}

/// Compile a filter; a failure is a usage error with the caret rendering.
fn compile_filter(expr: &str, linktype: u32) -> Result<Vec<filter::cbpf::Insn>, Failure> {
    filter::build(expr, linktype).map_err(|e| Failure::Usage(format!("filter: {}", e.render(expr))))
}

/// The link type for `-d`: `-linktype`, else that of the `-r` file, else
/// Ethernet.
fn dump_linktype(linktype: Option<u32>, input: Option<&Path>) -> Result<u32, Failure> {
    if let Some(l) = linktype {
        return Ok(l);
    }
    let Some(path) = input else {
        return Ok(filter::DLT_EN10MB);
    };
    let reader = open_input(path)?;
    input_linktype(&reader, path)
}

fn open_input(path: &Path) -> Result<pcap::Reader<Box<dyn Read + Send>>, Failure> {
    let r: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        let f =
            File::open(path).map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    pcap::Reader::new(r).map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))
}

fn input_linktype<R: Read>(reader: &pcap::Reader<R>, path: &Path) -> Result<u32, Failure> {
    let lt = u32::from(reader.linktype().unwrap_or(pcap::LINKTYPE_ETHERNET));
    offline::filter_linktype(lt).ok_or_else(|| {
        Failure::Runtime(format!(
            "{}: link type {lt} is not supported (only Ethernet and raw IP); pass -linktype to force one",
            path.display()
        ))
    })
}

/// The output: a buffered file, buffered stdout, or text on stdout.
fn open_sink(args: &CaptureArgs) -> Result<Sink, Failure> {
    let stdout = || -> Result<File, Failure> {
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Failure::Runtime(format!("stdout: {e}")))?;
        Ok(File::from(fd))
    };
    let format = match args.format {
        cli::Format::Pcapng => pcap::Format::Pcapng,
        cli::Format::Pcap => pcap::Format::Pcap,
    };
    Ok(match &args.output {
        cli::Output::Print => Sink::Text(Box::new(BufWriter::new(stdout()?))),
        cli::Output::Stdout => Sink::Pcap {
            out: Box::new(BufWriter::with_capacity(1 << 16, stdout()?)),
            format,
        },
        cli::Output::File(path) => {
            let f = File::create(path).map_err(|e| {
                Failure::Runtime(format!("{}: cannot create the output: {e}", path.display()))
            })?;
            Sink::Pcap {
                out: Box::new(BufWriter::with_capacity(1 << 16, f)),
                format,
            }
        }
    })
}

/// Map a capture error to a failure, printing the verifier log first when
/// asked for.
fn capture_failure(e: capture::Error, args: &CaptureArgs) -> Failure {
    if args.print_verifier_logs {
        if let Some(log) = e.verifier_log() {
            say!("{log}");
        }
    }
    if e.is_usage() {
        Failure::Usage(e.to_string())
    } else {
        Failure::Runtime(e.to_string())
    }
}

/// A live capture on the hook at `path`.
fn live(args: &CaptureArgs, path: &Path) -> Result<(), Failure> {
    let linktype = args.linktype.unwrap_or(filter::DLT_EN10MB);
    // Filter and hook first: a mistake there leaves no output file behind.
    compile_filter(&args.filter, linktype)?;
    let hook = Hook::open(path).map_err(runtime)?;
    let actions = capture::session::resolve_actions(&hook, args.actions.as_deref())
        .map_err(|e| capture_failure(e, args))?;
    capture::session::check_slots(&hook, &actions, args.force)
        .map_err(|e| capture_failure(e, args))?;
    let sink = open_sink(args)?;
    let mut cfg = CaptureConfig::new(HookSource::Hook(hook));
    cfg.filter = args.filter.clone();
    cfg.linktype = linktype;
    cfg.actions = args.actions.clone();
    cfg.snaplen = args.snaplen.unwrap_or(filter::DEFAULT_SNAPLEN);
    cfg.count = args.count;
    cfg.buffer = args.buffer;
    cfg.watermark = args.watermark;
    cfg.flush = args.flush;
    cfg.force = args.force;
    cfg.verifier_log = args.print_verifier_logs;
    cfg.verifier_log_size = args.verifier_log_size;
    cfg.handle_signals = true;
    let mut cap = Capture::start(cfg, sink).map_err(|e| capture_failure(e, args))?;
    for note in cap.notes() {
        if args.verbose
            || note.starts_with("taking over")
            || note.starts_with("-force")
            || note.starts_with("warning")
        {
            say!("xdpcap: {note}");
        }
    }
    if args.print_verifier_logs {
        for (action, log) in cap.verifier_logs() {
            say!("xdpcap: verifier log of the {action} capture program:\n{log}");
        }
    }
    if !args.quiet {
        let names: Vec<&str> = cap.actions().iter().map(|a| a.name()).collect();
        say!(
            "xdpcap: capturing {} on {}{}",
            names.join(","),
            path.display(),
            if args.filter.is_empty() {
                String::new()
            } else {
                format!(" matching {:?}", args.filter)
            }
        );
    }
    let quiet = args.quiet;
    let result = cap.run(|stats| {
        if !quiet {
            say!("xdpcap: {}", stats_line(stats));
        }
    });
    // Whatever run returned, empty the slots and flush before reporting.
    let stopped = cap.stop();
    let stop = match result {
        Ok(stop) => stop,
        Err(e) => {
            if let Ok(stats) = &stopped {
                say!(
                    "xdpcap: {} packets written; {}",
                    stats.written,
                    stats_line(stats)
                );
            }
            return Err(capture_failure(e, args));
        }
    };
    let stats = match stopped {
        Ok(s) => s,
        Err(e) if e.is_broken_pipe() => return Ok(()),
        Err(e) => return Err(capture_failure(e, args)),
    };
    if args.verbose {
        let why = match stop {
            capture::Stop::Signal(sig) => xdpcap::sys::signal::signal_name(sig).to_string(),
            capture::Stop::Count => format!("{} packets", stats.written),
            capture::Stop::BrokenPipe => "the reader of the output went away".into(),
            capture::Stop::Requested => "stop requested".into(),
        };
        say!("xdpcap: stopped: {why}");
    }
    say!(
        "xdpcap: {} packets written; {}",
        stats.written,
        stats_line(&stats)
    );
    Ok(())
}

/// `aborted 0/0  drop 12/3  pass 1000/0, lost 0`: received/matched per action.
fn stats_line(stats: &capture::Stats) -> String {
    let per: Vec<String> = stats
        .actions
        .iter()
        .map(|a| {
            format!(
                "{} {}/{}",
                a.action.map_or("?", |a| a.name()),
                a.received,
                a.matched
            )
        })
        .collect();
    format!(
        "{} (received/matched), lost {}",
        per.join("  "),
        stats.lost()
    )
}

/// `-r`: run a capture file through the capture program.
fn offline(args: &CaptureArgs, path: &Path) -> Result<(), Failure> {
    let reader = match open_input(path) {
        Ok(r) => r,
        Err(e) => {
            // A mistake in the command line is reported before a missing file.
            compile_filter(&args.filter, args.linktype.unwrap_or(filter::DLT_EN10MB))?;
            return Err(e);
        }
    };
    let linktype = match args.linktype {
        Some(l) => l,
        None => input_linktype(&reader, path)?,
    };
    // A bad filter is a usage error before anything is created.
    compile_filter(&args.filter, linktype)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| path != Path::new("-") && !n.is_empty())
        .unwrap_or_else(|| "xdpcap-offline".into());
    let cfg = OfflineConfig {
        filter: args.filter.clone(),
        linktype: Some(linktype),
        snaplen: args.snaplen.unwrap_or(filter::DEFAULT_SNAPLEN),
        count: args.count,
        flush: args.flush,
        verifier_log: args.print_verifier_logs || args.verbose,
        verifier_log_size: args.verifier_log_size,
        iface_name: name,
    };
    let sink = open_sink(args)?;
    let path_text = path.display().to_string();
    match capture::run_offline(&cfg, reader, &path_text, sink) {
        Ok(stats) => {
            if args.print_verifier_logs {
                say!(
                    "xdpcap: verifier log of the capture program:\n{}",
                    stats.verifier_log
                );
            }
            if args.verbose {
                say!(
                    "xdpcap: filter compiled for link type {}; capture program: {} instructions verified; test runs on CPU {}",
                    stats.linktype, stats.verified_insns, stats.cpu
                );
            }
            if !args.quiet {
                say!(
                    "{} packets read, {} matched{}",
                    stats.read,
                    stats.matched,
                    if stats.lost > 0 {
                        format!(", {} lost", stats.lost)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(())
        }
        Err(e) if e.is_broken_pipe() => Ok(()),
        Err(e) => Err(capture_failure(e, args)),
    }
}

/// Write to stdout; a closed pipe is not an error (`xdpcap -d ... | head`).
fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Runtime(format!("writing to stdout: {e}"))),
    }
}
