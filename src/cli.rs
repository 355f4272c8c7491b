//! The command line: raw flags first (no side effects), then resolved
//! settings.
//!
//! The original tool is a Go program, so its flags are spelled Go style
//! (`-buffer 8192`, `-actions=drop`, `--flush`); tcpdump users reach for
//! short flags (`-c 5`, `-s64`, `-dd`, `-vq`). [`normalise`] rewrites the
//! single-dash long flags into `--long` form before lexopt sees them and
//! leaves short flags and clusters alone, so both families parse.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use xdpcap::hook::Action;

/// A command line that cannot be acted on: one line saying what is wrong
/// and what to type instead. Exit status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        UsageError(e.to_string())
    }
}

fn usage_err<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}

/// Long flag names, as the original spells them (single dash, Go style)
/// plus our own. `-d-ebpf` is here because lexopt would read it as a
/// cluster of short flags.
const LONG_FLAGS: &[&str] = &[
    "actions",
    "buffer",
    "watermark",
    "flush",
    "linktype",
    "print-verifier-logs",
    "verifier-log-size",
    "help",
    "version",
    "format",
    "print",
    "force",
    "d-ebpf",
    "dump-ebpf",
    "create-hook",
    "list-hook",
    "clear-hook",
    "entries",
    "snaplen",
    "count",
    "quiet",
    "verbose",
];

/// Long flags that take a value.
const VALUE_FLAGS: &[&str] = &[
    "actions",
    "buffer",
    "watermark",
    "linktype",
    "verifier-log-size",
    "format",
    "create-hook",
    "list-hook",
    "clear-hook",
    "entries",
    "snaplen",
    "count",
];

/// Short flags that take a value (`-s 64`, `-s64`).
const SHORT_WITH_VALUE: &str = "scr";
/// Short flags that take none and may be clustered (`-dd`, `-vq`).
const SHORT_BOOL: &str = "dqvhV";

/// Rewrite Go-style single-dash long flags (`-buffer`, `-actions=drop`) to
/// `--buffer`, `--actions=drop`. Short flags (`-c 5`, `-s64`, `-ddd`), `-`
/// and everything after `--` are left alone. A single-dash word that is
/// neither a known long flag nor a valid cluster of short flags is an
/// error naming the whole word (lexopt would only name its first letter).
pub fn normalise(args: Vec<OsString>) -> Result<Vec<OsString>, UsageError> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        let wants_value = arg.to_str().is_some_and(takes_separate_value);
        if wants_value {
            // `-c -1`, `-r -x.pcap`: the next word is the flag's value,
            // whatever it looks like; the flag's own check judges it.
            out.push(normalise_word(arg));
            out.extend(iter.next());
            continue;
        }
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s.len() >= 2 && s.starts_with('-') && s.as_bytes()[1].is_ascii_digit() {
            return usage_err(format!(
                "{s}: filter words starting with '-' must follow '--' (e.g. xdpcap HOOK OUT -- 'ip[0] = {s}')"
            ));
        }
        if !s.starts_with('-') || s.starts_with("--") || s.len() <= 2 {
            out.push(arg);
            continue;
        }
        let body = &s[1..];
        let name = body.split('=').next().unwrap_or(body);
        let first = body.chars().next().unwrap_or('-');
        if LONG_FLAGS.contains(&name) || (name.len() == 1 && body.contains('=')) {
            out.push(OsString::from(format!("--{body}")));
        } else if SHORT_WITH_VALUE.contains(first) || body.chars().all(|c| SHORT_BOOL.contains(c)) {
            out.push(arg);
        } else {
            return usage_err(format!("unknown flag {s} (see xdpcap -h)"));
        }
    }
    Ok(out)
}

/// Whether `s` is a flag whose value is the next word (`-c`, `-buffer`,
/// `--format`; not `-c5` nor `-buffer=1`).
fn takes_separate_value(s: &str) -> bool {
    let name = s.strip_prefix("--").or_else(|| s.strip_prefix('-'));
    match name {
        Some(n) if n.len() == 1 => SHORT_WITH_VALUE.contains(n),
        Some(n) => VALUE_FLAGS.contains(&n),
        None => false,
    }
}

/// A flag that `takes_separate_value` picked, spelled for lexopt.
fn normalise_word(arg: OsString) -> OsString {
    match arg.to_str() {
        Some(s) if s.len() > 2 && !s.starts_with("--") => OsString::from(format!("-{s}")),
        _ => arg,
    }
}

/// Flags exactly as typed, before any checking against each other.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RawArgs {
    pub actions: Option<String>,
    pub buffer: Option<String>,
    pub watermark: Option<String>,
    pub quiet: bool,
    pub flush: bool,
    pub linktype: Option<String>,
    pub print_verifier_logs: bool,
    pub verifier_log_size: Option<String>,
    pub help: bool,
    pub version: bool,
    pub snaplen: Option<String>,
    pub count: Option<String>,
    /// Number of `d`s: 1 = `-d`, 2 = `-dd`, 3 = `-ddd`.
    pub dump: u8,
    pub dump_ebpf: bool,
    pub format: Option<String>,
    pub print: bool,
    pub verbose: bool,
    pub force: bool,
    pub read: Option<PathBuf>,
    pub create_hook: Option<PathBuf>,
    pub list_hook: Option<PathBuf>,
    pub clear_hook: Option<PathBuf>,
    pub entries: Option<String>,
    pub positional: Vec<String>,
}

fn string(v: OsString, flag: &str) -> Result<String, UsageError> {
    v.into_string()
        .or_else(|v| usage_err(format!("{flag}: value {v:?} is not valid UTF-8")))
}

/// A Go-style boolean flag: `-flush`, `-flush=true`, `-flush=false`.
fn bool_flag(p: &mut lexopt::Parser, flag: &str) -> Result<bool, UsageError> {
    match p.optional_value() {
        None => Ok(true),
        Some(v) => match v.to_str() {
            Some("true" | "1" | "t" | "T" | "TRUE" | "True") => Ok(true),
            Some("false" | "0" | "f" | "F" | "FALSE" | "False") => Ok(false),
            _ => usage_err(format!(
                "-{flag}={}: expected true or false",
                v.to_string_lossy()
            )),
        },
    }
}

/// Parse the arguments (without the program name) into raw flags.
pub fn parse_raw(args: Vec<OsString>) -> Result<RawArgs, UsageError> {
    use lexopt::Arg::*;
    let args = normalise(args)?;
    let mut p = lexopt::Parser::from_args(args);
    let mut r = RawArgs::default();
    while let Some(arg) = p.next()? {
        match arg {
            Long("actions") => r.actions = Some(string(p.value()?, "-actions")?),
            Long("buffer") => r.buffer = Some(string(p.value()?, "-buffer")?),
            Long("watermark") => r.watermark = Some(string(p.value()?, "-watermark")?),
            Short('q') | Long("q") | Long("quiet") => r.quiet = bool_flag(&mut p, "q")?,
            Long("flush") => r.flush = bool_flag(&mut p, "flush")?,
            Long("linktype") => r.linktype = Some(string(p.value()?, "-linktype")?),
            Long("print-verifier-logs") => {
                r.print_verifier_logs = bool_flag(&mut p, "print-verifier-logs")?
            }
            Long("verifier-log-size") => {
                r.verifier_log_size = Some(string(p.value()?, "-verifier-log-size")?)
            }
            Short('h') | Long("h") | Long("help") => r.help = true,
            Short('V') | Long("V") | Long("version") => r.version = true,
            Short('s') | Long("s") | Long("snaplen") => r.snaplen = Some(string(p.value()?, "-s")?),
            Short('c') | Long("c") | Long("count") => r.count = Some(string(p.value()?, "-c")?),
            Short('d') | Long("d") => r.dump = r.dump.saturating_add(1),
            Long("dd") => r.dump = r.dump.max(2),
            Long("ddd") => r.dump = r.dump.max(3),
            Long("d-ebpf") | Long("dump-ebpf") => r.dump_ebpf = true,
            Long("format") => r.format = Some(string(p.value()?, "-format")?),
            Long("print") => r.print = bool_flag(&mut p, "print")?,
            Short('v') | Long("v") | Long("verbose") => r.verbose = bool_flag(&mut p, "v")?,
            Long("force") => r.force = bool_flag(&mut p, "force")?,
            Short('r') | Long("r") => r.read = Some(p.value()?.into()),
            Long("create-hook") => r.create_hook = Some(p.value()?.into()),
            Long("list-hook") => r.list_hook = Some(p.value()?.into()),
            Long("clear-hook") => r.clear_hook = Some(p.value()?.into()),
            Long("entries") => r.entries = Some(string(p.value()?, "-entries")?),
            Value(v) => r.positional.push(string(v, "argument")?),
            Short(c) => return usage_err(format!("unknown flag -{c} (see xdpcap -h)")),
            Long(l) => return usage_err(format!("unknown flag --{l} (see xdpcap -h)")),
        }
    }
    Ok(r)
}

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcapng,
    Pcap,
}

/// Where captured packets go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `-`: standard output (implies `-q` and `-flush`).
    Stdout,
    File(PathBuf),
    /// `-print`: one text line per packet on standard output.
    Print,
}

/// Where packets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A pinned hook map (path resolved: bare names looked up in /sys/fs/bpf).
    Hook(PathBuf),
    /// `-r FILE`.
    File(PathBuf),
}

/// Everything a capture needs, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureArgs {
    pub source: Source,
    pub output: Output,
    pub filter: String,
    /// `-linktype`; `None` means the default (Ethernet, or the input file's).
    pub linktype: Option<u32>,
    /// `-actions`; `None` means every slot the hook has.
    pub actions: Option<Vec<Action>>,
    pub snaplen: Option<u32>,
    pub count: Option<u64>,
    pub buffer: Option<usize>,
    pub watermark: Option<usize>,
    pub quiet: bool,
    pub flush: bool,
    pub format: Format,
    pub verbose: bool,
    pub force: bool,
    pub print_verifier_logs: bool,
    pub verifier_log_size: Option<u32>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    /// `-d`/`-dd`/`-ddd`: print the compiled classic BPF.
    DumpCbpf {
        level: u8,
        filter: String,
        linktype: Option<u32>,
        input: Option<PathBuf>,
    },
    /// `-d-ebpf`: print the generated capture programs.
    DumpEbpf {
        filter: String,
        linktype: Option<u32>,
        input: Option<PathBuf>,
        actions: Option<Vec<Action>>,
        snaplen: Option<u32>,
    },
    CreateHook {
        path: PathBuf,
        entries: u32,
    },
    ListHook(PathBuf),
    ClearHook(PathBuf),
    Capture(Box<CaptureArgs>),
}

/// Parse a byte count: decimal, `0x` hex, or with a `k`/`m`/`g` suffix
/// (powers of 1024).
pub fn parse_size(flag: &str, s: &str) -> Result<u64, UsageError> {
    let t = s.trim();
    let (digits, mult) = match t.as_bytes().last() {
        Some(b'k' | b'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&t[..t.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n = if let Some(h) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        digits.parse::<u64>().ok()
    };
    n.and_then(|n| n.checked_mul(mult)).ok_or_else(|| {
        UsageError(format!(
            "{flag} {s}: expected a number of bytes (e.g. 65536, 64k, 4M)"
        ))
    })
}

fn parse_num(flag: &str, s: &str) -> Result<u64, UsageError> {
    s.trim()
        .parse::<u64>()
        .or_else(|_| usage_err(format!("{flag} {s}: expected a non-negative whole number")))
}

/// `-actions` list: names in any case or numbers, comma separated.
pub fn parse_actions(s: &str) -> Result<Vec<Action>, UsageError> {
    let mut out: Vec<Action> = Vec::new();
    for word in s.split(',') {
        let w = word.trim();
        if w.is_empty() {
            return usage_err(format!(
                "-actions {s}: empty action name (expected a comma-separated list of aborted, drop, pass, tx, redirect or 0-4)"
            ));
        }
        let Some(a) = Action::parse(w) else {
            return usage_err(format!(
                "-actions {s}: unknown action {w:?} (expected aborted, drop, pass, tx, redirect or 0-4)"
            ));
        };
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// `-linktype`: `ethernet`/`en10mb`, `raw`, or a DLT/LINKTYPE number.
pub fn parse_linktype(s: &str) -> Result<u32, UsageError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "ethernet" | "ether" | "en10mb" | "eth" => Ok(xdpcap::filter::DLT_EN10MB),
        "raw" | "ip" => Ok(xdpcap::filter::LINKTYPE_RAW),
        n => match n.parse::<u32>() {
            Ok(1) => Ok(xdpcap::filter::DLT_EN10MB),
            Ok(12 | 14 | 101) => Ok(xdpcap::filter::LINKTYPE_RAW),
            Ok(v) => usage_err(format!(
                "-linktype {s}: link type {v} is not supported (use ethernet, raw, 1, 12 or 101)"
            )),
            Err(_) => usage_err(format!(
                "-linktype {s}: unknown link type (use ethernet, raw, or a DLT number such as 1 or 101)"
            )),
        },
    }
}

/// Hook path: as given if it exists or contains a `/`; a bare name that
/// does not exist in the current directory is looked up in /sys/fs/bpf.
pub fn resolve_hook_path(p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.exists() || p.contains('/') {
        return path;
    }
    PathBuf::from("/sys/fs/bpf").join(p)
}

const MAX_SNAPLEN: u64 = 262144;

impl RawArgs {
    /// Check the flags against each other and decide what to do.
    pub fn resolve(self) -> Result<Command, UsageError> {
        let r = self;
        if r.help {
            return Ok(Command::Help);
        }
        if r.version {
            return Ok(Command::Version);
        }
        let linktype = r.linktype.as_deref().map(parse_linktype).transpose()?;
        let actions = r.actions.as_deref().map(parse_actions).transpose()?;
        let snaplen = match &r.snaplen {
            Some(s) => {
                let n = parse_num("-s", s)?;
                // tcpdump: 0 means the default (everything).
                Some(if n == 0 || n > MAX_SNAPLEN {
                    MAX_SNAPLEN as u32
                } else {
                    n as u32
                })
            }
            None => None,
        };
        let format = match r.format.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("pcapng") => Format::Pcapng,
            Some("pcap") => Format::Pcap,
            Some(_) => {
                return usage_err(format!(
                    "-format {}: unknown format (use pcapng or pcap)",
                    r.format.as_deref().unwrap_or_default()
                ))
            }
        };
        let hook_cmds = [&r.create_hook, &r.list_hook, &r.clear_hook]
            .iter()
            .filter(|o| o.is_some())
            .count();
        if hook_cmds > 1 {
            return usage_err("-create-hook, -list-hook and -clear-hook exclude each other");
        }
        if r.entries.is_some() && r.create_hook.is_none() {
            return usage_err("-entries only goes with -create-hook PATH");
        }
        if hook_cmds == 1 && !r.positional.is_empty() {
            return usage_err(format!(
                "unexpected argument {:?} after a hook management flag",
                r.positional[0]
            ));
        }
        if let Some(path) = r.create_hook {
            let entries = match &r.entries {
                Some(e) => {
                    let n = parse_num("-entries", e)?;
                    if !(1..=5).contains(&n) {
                        return usage_err(format!(
                            "-entries {e}: a hook has 1 to 5 slots (one per XDP action)"
                        ));
                    }
                    n as u32
                }
                None => 5,
            };
            return Ok(Command::CreateHook { path, entries });
        }
        if let Some(path) = r.list_hook {
            return Ok(Command::ListHook(resolve_hook_path(
                &path.to_string_lossy(),
            )));
        }
        if let Some(path) = r.clear_hook {
            return Ok(Command::ClearHook(resolve_hook_path(
                &path.to_string_lossy(),
            )));
        }
        if r.dump > 0 || r.dump_ebpf {
            if r.dump > 3 {
                return usage_err("-d may be given at most three times (-d, -dd, -ddd)");
            }
            if r.dump > 0 && r.dump_ebpf {
                return usage_err("-d and -d-ebpf exclude each other");
            }
            let filter = r.positional.join(" ");
            return Ok(if r.dump_ebpf {
                Command::DumpEbpf {
                    filter,
                    linktype,
                    input: r.read,
                    actions,
                    snaplen,
                }
            } else {
                Command::DumpCbpf {
                    level: r.dump,
                    filter,
                    linktype,
                    input: r.read,
                }
            });
        }

        let mut pos = r.positional.into_iter();
        let source = match r.read {
            Some(path) => Source::File(path),
            None => match pos.next() {
                Some(h) => Source::Hook(resolve_hook_path(&h)),
                None => {
                    return usage_err(if r.print {
                        "missing <hook> (usage: xdpcap -print <hook> [<filter expr>]; see xdpcap -h)"
                    } else {
                        "missing <hook> and <output> (usage: xdpcap [options] <hook> <output> [<filter expr>]; see xdpcap -h)"
                    })
                }
            },
        };
        let mut quiet = r.quiet;
        let mut flush = r.flush;
        let output = if r.print {
            // Text goes to stdout; statistics would interleave on a terminal
            // but go to stderr, so keep them unless -q.
            flush = true;
            Output::Print
        } else {
            match pos.next() {
                Some(o) if o == "-" => {
                    quiet = true;
                    flush = true;
                    Output::Stdout
                }
                Some(o) => Output::File(PathBuf::from(o)),
                None => {
                    return usage_err(match source {
                        Source::File(_) => "missing <output> (usage: xdpcap [options] -r <input.pcap> <output> [<filter expr>]; use - for stdout)",
                        Source::Hook(_) => "missing <output> (usage: xdpcap [options] <hook> <output> [<filter expr>]; use - for stdout)",
                    })
                }
            }
        };
        let filter = pos.collect::<Vec<_>>().join(" ");

        let buffer = r
            .buffer
            .as_deref()
            .map(|s| parse_size("-buffer", s))
            .transpose()?;
        let watermark = r
            .watermark
            .as_deref()
            .map(|s| parse_size("-watermark", s))
            .transpose()?;
        if buffer == Some(0) {
            return usage_err("-buffer 0: the per-CPU ring needs at least one page");
        }
        if let (Some(w), Some(b)) = (watermark, buffer) {
            if w >= b {
                return usage_err(format!(
                    "-watermark {w} must be smaller than -buffer {b} (the ring would never wake the reader)"
                ));
            }
        }
        if buffer.is_some_and(|b| b > 1 << 30) {
            return usage_err("-buffer: at most 1G per CPU");
        }
        let count = match &r.count {
            Some(c) => {
                let n = parse_num("-c", c)?;
                if n == 0 {
                    return usage_err("-c 0: the packet count must be at least 1");
                }
                Some(n)
            }
            None => None,
        };
        let verifier_log_size = match &r.verifier_log_size {
            Some(s) => {
                let n = parse_size("-verifier-log-size", s)?;
                if !(128..=u32::MAX as u64 >> 2).contains(&n) {
                    return usage_err(format!(
                        "-verifier-log-size {s}: must be between 128 bytes and 1G"
                    ));
                }
                Some(n as u32)
            }
            None => None,
        };
        Ok(Command::Capture(Box::new(CaptureArgs {
            source,
            output,
            filter,
            linktype,
            actions,
            snaplen,
            count,
            buffer: buffer.map(|b| b as usize),
            watermark: watermark.map(|w| w as usize),
            quiet,
            flush,
            format,
            verbose: r.verbose,
            force: r.force,
            print_verifier_logs: r.print_verifier_logs,
            verifier_log_size,
        })))
    }
}

/// Parse and resolve a command line (without the program name).
pub fn parse(args: Vec<OsString>) -> Result<Command, UsageError> {
    parse_raw(args)?.resolve()
}

/// `-h` text.
pub const USAGE: &str = "\
xdpcap: tcpdump for XDP

usage:
  xdpcap [options] <hook> <output> [<filter expr> ...]
  xdpcap [options] -r <input.pcap> <output> [<filter expr> ...]
  xdpcap [options] -print <hook> [<filter expr> ...]
  xdpcap -d|-dd|-ddd|-d-ebpf [-linktype T] [<filter expr> ...]
  xdpcap -create-hook PATH [-entries N] | -list-hook PATH | -clear-hook PATH

Capture the packets an XDP program returns through the hook map pinned at
<hook> (a bare name is looked up in /sys/fs/bpf), with the action it
returned, filtered in the kernel by a pcap-filter expression.
<filter expr> may also be classic BPF as printed by tcpdump -ddd
('<count>,<code> <jt> <jf> <k>,...'). <output> may be - for stdout
(implies -q and -flush).

options (-flag value, -flag=value and --flag all work):
  -actions LIST          actions to capture: aborted,drop,pass,tx,redirect
                         (any case) or 0-4; default every slot of the hook
  -buffer BYTES          perf ring size per CPU (rounded up to pages x 2^n);
                         default 2 MiB, less with over 16 CPUs
  -watermark BYTES       wake the reader after this many bytes (< -buffer);
                         default a quarter of the ring
  -q                     no periodic statistics
  -flush                 flush the output after every packet
  -linktype NAME|NUM     link type the filter is compiled for: ethernet
                         (default), raw, or a DLT number
  -print-verifier-logs   print the verifier log of each loaded program
  -verifier-log-size N   size of the verifier log buffer
  -s SNAPLEN             capture at most SNAPLEN bytes of each packet
  -c COUNT               stop after COUNT packets
  -d, -dd, -ddd          print the compiled classic BPF, then exit
  -d-ebpf, --dump-ebpf   print the generated eBPF capture program, then exit
  -format pcapng|pcap    output format (default pcapng)
  -print                 print one line per packet instead of writing a file
  -r FILE                offline: run the packets of a pcap/pcapng file
                         through the capture program (BPF_PROG_TEST_RUN)
  -force                 take hook slots held by another program
  -v                     say what was chosen and why
  -create-hook PATH      create and pin an empty hook (-entries N, default 5)
  -list-hook PATH        show what each slot of a hook holds
  -clear-hook PATH       empty slots left behind by a killed xdpcap
  -h, --help             this text
  -V, --version          version

exit status: 0 normal stop, 1 usage or filter error, 2 runtime error
";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn norm(v: &[&str]) -> Result<Vec<String>, UsageError> {
        normalise(args(v)).map(|v| v.into_iter().map(|s| s.into_string().unwrap()).collect())
    }

    fn capture(v: &[&str]) -> CaptureArgs {
        match parse(args(v)).unwrap() {
            Command::Capture(c) => *c,
            other => panic!("{v:?}: expected a capture, got {other:?}"),
        }
    }

    fn err(v: &[&str]) -> String {
        match parse(args(v)) {
            Err(e) => e.0,
            Ok(c) => panic!("{v:?}: expected an error, got {c:?}"),
        }
    }

    #[test]
    fn normaliser_table() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["-buffer", "8192"], &["--buffer", "8192"]),
            (&["-actions=drop,pass"], &["--actions=drop,pass"]),
            (&["--flush"], &["--flush"]),
            (
                &["-c", "5", "-s64", "-q", "-v"],
                &["-c", "5", "-s64", "-q", "-v"],
            ),
            (&["-dd", "-ddd", "-vq"], &["-dd", "-ddd", "-vq"]),
            (&["-d-ebpf"], &["--d-ebpf"]),
            (&["-s=64", "-c=2"], &["--s=64", "--c=2"]),
            (&["-rfile.pcap"], &["-rfile.pcap"]),
            (&["-", "--", "-buffer"], &["-", "--", "-buffer"]),
            (&["-print-verifier-logs"], &["--print-verifier-logs"]),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input).unwrap(), *want, "input {input:?}");
        }
    }

    #[test]
    fn normaliser_rejects_unknown_words() {
        assert_eq!(
            norm(&["-bogus"]).unwrap_err().0,
            "unknown flag -bogus (see xdpcap -h)"
        );
        assert!(norm(&["-1"]).unwrap_err().0.contains("must follow '--'"));
        assert!(norm(&["-12"]).unwrap_err().0.contains("'--'"));
        // ... but a flag's value may start with '-'; the flag judges it.
        assert_eq!(norm(&["-c", "-1"]).unwrap(), ["-c", "-1"]);
        assert_eq!(norm(&["-buffer", "-5"]).unwrap(), ["--buffer", "-5"]);
        assert_eq!(norm(&["--s", "-1"]).unwrap(), ["--s", "-1"]);
        assert!(err(&["-c", "-1", "h", "o"]).starts_with("-c -1:"));
        assert!(err(&["-s", "-1", "h", "o"]).starts_with("-s -1:"));
    }

    #[test]
    fn go_style_forms_parse_alike() {
        let forms: &[&[&str]] = &[
            &["-buffer", "65536", "-watermark", "1024", "h", "o", "tcp"],
            &["-buffer=65536", "-watermark=1024", "h", "o", "tcp"],
            &["--buffer", "65536", "--watermark=1024", "h", "o", "tcp"],
            &["h", "-buffer", "64k", "o", "--watermark", "1k", "tcp"],
        ];
        for f in forms {
            let c = capture(f);
            assert_eq!(c.buffer, Some(65536), "{f:?}");
            assert_eq!(c.watermark, Some(1024), "{f:?}");
            assert_eq!(c.filter, "tcp", "{f:?}");
            assert_eq!(c.output, Output::File("o".into()), "{f:?}");
        }
    }

    #[test]
    fn bools_accept_go_values() {
        assert!(capture(&["-flush", "h", "o"]).flush);
        assert!(!capture(&["-flush=false", "h", "o"]).flush);
        assert!(capture(&["--force=true", "h", "o"]).force);
        assert!(err(&["-flush=maybe", "h", "o"]).contains("expected true or false"));
    }

    #[test]
    fn stdout_implies_quiet_and_flush() {
        let c = capture(&["/x/hook", "-", "icmp", "or", "arp"]);
        assert_eq!(c.output, Output::Stdout);
        assert!(c.quiet && c.flush);
        assert_eq!(c.filter, "icmp or arp");
        assert_eq!(c.source, Source::Hook("/x/hook".into()));
    }

    #[test]
    fn bare_hook_name_looked_up_in_bpffs() {
        let c = capture(&["no-such-hook-here-xyz", "out"]);
        assert_eq!(
            c.source,
            Source::Hook("/sys/fs/bpf/no-such-hook-here-xyz".into())
        );
    }

    #[test]
    fn offline_and_print_modes() {
        let c = capture(&["-r", "in.pcap", "out.pcap", "udp"]);
        assert_eq!(c.source, Source::File("in.pcap".into()));
        assert_eq!(c.output, Output::File("out.pcap".into()));
        assert_eq!(c.filter, "udp");
        let c = capture(&["-print", "/h", "port", "53"]);
        assert_eq!(c.output, Output::Print);
        assert_eq!(c.filter, "port 53");
        let c = capture(&["-print", "-r", "x.pcap"]);
        assert_eq!(c.source, Source::File("x.pcap".into()));
        assert_eq!(c.filter, "");
    }

    #[test]
    fn dumps_need_no_hook() {
        assert_eq!(
            parse(args(&["-d", "tcp", "port", "80"])).unwrap(),
            Command::DumpCbpf {
                level: 1,
                filter: "tcp port 80".into(),
                linktype: None,
                input: None
            }
        );
        assert!(matches!(
            parse(args(&["-ddd", "ip"])).unwrap(),
            Command::DumpCbpf { level: 3, .. }
        ));
        assert!(matches!(
            parse(args(&["-dd", "ip"])).unwrap(),
            Command::DumpCbpf { level: 2, .. }
        ));
        assert!(matches!(
            parse(args(&["--dump-ebpf", "-actions", "drop", "ip"])).unwrap(),
            Command::DumpEbpf { .. }
        ));
    }

    #[test]
    fn usage_errors() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "missing <hook> and <output>"),
            (&["h"], "missing <output>"),
            (
                &["-buffer", "4096", "-watermark", "4096", "h", "o"],
                "-watermark 4096 must be smaller than -buffer 4096",
            ),
            (
                &["-actions", "drop,jump", "h", "o"],
                "unknown action \"jump\"",
            ),
            (&["-actions", "7", "h", "o"], "unknown action \"7\""),
            (
                &["-format", "json", "h", "o"],
                "-format json: unknown format",
            ),
            (
                &["-linktype", "wifi", "h", "o"],
                "-linktype wifi: unknown link type",
            ),
            (
                &["-linktype", "105", "h", "o"],
                "link type 105 is not supported",
            ),
            (
                &["-buffer", "lots", "h", "o"],
                "-buffer lots: expected a number of bytes",
            ),
            (
                &["-c", "x", "h", "o"],
                "-c x: expected a non-negative whole number",
            ),
            (&["-x", "h", "o"], "unknown flag -x"),
            (&["--bogus", "h", "o"], "unknown flag --bogus"),
            (
                &["-entries", "3", "h", "o"],
                "-entries only goes with -create-hook",
            ),
            (
                &["-create-hook", "/p", "-entries", "9"],
                "a hook has 1 to 5 slots",
            ),
        ];
        for (input, want) in cases {
            let got = err(input);
            assert!(got.contains(want), "{input:?}: got {got:?}, want {want:?}");
            assert!(!got.contains('\n'), "{input:?}: message has several lines");
        }
    }

    #[test]
    fn actions_any_case_or_number() {
        assert_eq!(
            parse_actions("DROP,pass,4,Tx,0").unwrap(),
            vec![
                Action::Drop,
                Action::Pass,
                Action::Redirect,
                Action::Tx,
                Action::Aborted
            ]
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("-buffer", "64k").unwrap(), 65536);
        assert_eq!(parse_size("-buffer", "0x1000").unwrap(), 4096);
        assert_eq!(parse_size("-buffer", "2M").unwrap(), 2 << 20);
        assert!(parse_size("-buffer", "-1").is_err());
    }

    #[test]
    fn hook_management() {
        assert_eq!(
            parse(args(&["-create-hook", "/sys/fs/bpf/h", "-entries", "3"])).unwrap(),
            Command::CreateHook {
                path: "/sys/fs/bpf/h".into(),
                entries: 3
            }
        );
        assert_eq!(
            parse(args(&["-list-hook=/p"])).unwrap(),
            Command::ListHook("/p".into())
        );
        assert_eq!(
            parse(args(&["--clear-hook", "/p"])).unwrap(),
            Command::ClearHook("/p".into())
        );
    }

    #[test]
    fn snaplen_and_count() {
        let c = capture(&["-s", "64", "-c", "5", "h", "o"]);
        assert_eq!((c.snaplen, c.count), (Some(64), Some(5)));
        assert_eq!(capture(&["-s0", "h", "o"]).snaplen, Some(262144));
    }
}
