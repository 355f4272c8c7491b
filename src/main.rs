//! The `xdpcap` command: parse the command line, hand the work to the
//! library, print errors as one line and map them to an exit status
//! (0 normal stop, 1 usage or filter error, 2 runtime error).

mod cli;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use cli::{Command, UsageError};
use xdpcap::filter;
use xdpcap::hook::{Hook, Slot};

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
            eprintln!("xdpcap: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("xdpcap: {msg}");
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
            input: _,
        } => {
            let lt = linktype.unwrap_or(filter::DLT_EN10MB);
            let prog = compile_filter(&filter, lt)?;
            print_stdout(&dump_cbpf(&prog, level))
        }
        Command::CreateHook { path, entries } => {
            let hook = Hook::create(entries).map_err(runtime)?;
            hook.pin(&path).map_err(runtime)?;
            eprintln!(
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
                eprintln!("xdpcap: cleared slot {action} (leftover capture program id {id})");
            }
            if cleared.is_empty() {
                eprintln!("xdpcap: no leftover capture program in {}", path.display());
            }
            Ok(())
        }
        _ => Err(Failure::Runtime("capture is not built yet".into())),
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
            owner: Some(pid),
        } => format!("capture program {name} (id {prog_id}) of running xdpcap pid {pid}"),
        Slot::Ours {
            prog_id,
            name,
            owner: None,
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

/// tcpdump's `-d` (listing), `-dd` (C array) and `-ddd` (decimal) forms.
fn dump_cbpf(prog: &[filter::cbpf::Insn], level: u8) -> String {
    let mut s = String::new();
    match level {
        2 => {
            for i in prog {
                s.push_str(&format!(
                    "{{ 0x{:x}, {}, {}, 0x{:08x} }},\n",
                    i.code, i.jt, i.jf, i.k
                ));
            }
        }
        3 => {
            s.push_str(&format!("{}\n", prog.len()));
            for i in prog {
                s.push_str(&format!("{} {} {} {}\n", i.code, i.jt, i.jf, i.k));
            }
        }
        _ => {
            for (n, i) in prog.iter().enumerate() {
                s.push_str(&format!(
                    "({n:03}) code=0x{:02x} jt={} jf={} k=0x{:x}\n",
                    i.code, i.jt, i.jf, i.k
                ));
            }
        }
    }
    s
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
