//! libpcap as the oracle: run the installed tcpdump over a corpus pcap and
//! report which packets an expression keeps, or the program libpcap
//! compiles for it.
//!
//! Packets are mapped back to corpus indices by their timestamps, which
//! `corpus::write_pcap` sets to the index in microseconds.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use xdpcap::filter::cbpf::Insn;

/// How long one tcpdump run may take. libpcap's interpreter can loop
/// forever (its `protochain` code jumps backwards), so a hang is a corpus
/// bug to report, not something to wait out.
const TCPDUMP_TIMEOUT: Duration = Duration::from_secs(120);

fn tcpdump(args: &[&str]) -> Output {
    let spawned = Command::new("tcpdump")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("tcpdump not found: install it (apt-get install tcpdump)")
        }
        Err(e) => panic!("cannot run tcpdump: {e}"),
    };
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for tcpdump") {
            break status;
        }
        if start.elapsed() > TCPDUMP_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tcpdump {args:?} still runs after {TCPDUMP_TIMEOUT:?}: libpcap loops on some corpus packet");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

fn stderr_message(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.starts_with("reading from file"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The corpus indices of the packets of `pcap` that libpcap's filter
/// `expr` keeps, in file order; `Err` with tcpdump's message when libpcap
/// rejects the expression.
pub fn tcpdump_select(pcap: &Path, expr: &str) -> Result<Vec<usize>, String> {
    let path = pcap.to_str().expect("UTF-8 path");
    let o = tcpdump(&["-r", path, "-w", "-", "--", expr]);
    if !o.status.success() {
        return Err(stderr_message(&o));
    }
    Ok(pcap_indices(&o.stdout))
}

/// Corpus indices of the records of a classic microsecond pcap in
/// little-endian byte order, as tcpdump writes it here.
pub fn pcap_indices(file: &[u8]) -> Vec<usize> {
    assert!(file.len() >= 24, "tcpdump wrote no pcap header");
    let magic = u32::from_le_bytes(file[0..4].try_into().unwrap());
    assert_eq!(magic, 0xa1b2_c3d4, "unexpected pcap magic {magic:#x}");
    let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut at = 24;
    while at < file.len() {
        assert!(at + 16 <= file.len(), "truncated pcap record header");
        let (sec, usec, caplen) = (word(at), word(at + 4), word(at + 8));
        out.push(sec * 1_000_000 + usec);
        at += 16 + caplen;
    }
    assert_eq!(at, file.len(), "truncated pcap record");
    out
}

/// libpcap's classic BPF program for `expr` against the link type of
/// `pcap` (`tcpdump -ddd`); `Err` with tcpdump's message on rejection.
pub fn tcpdump_ddd(pcap: &Path, expr: &str) -> Result<Vec<Insn>, String> {
    let path = pcap.to_str().expect("UTF-8 path");
    let o = tcpdump(&["-ddd", "-r", path, "--", expr]);
    if !o.status.success() {
        return Err(stderr_message(&o));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    parse_ddd_text(&text).map_err(|e| format!("unreadable tcpdump -ddd output ({e}): {text}"))
}

/// Parses `tcpdump -ddd` text: a count, then `code jt jf k` per line.
pub fn parse_ddd_text(text: &str) -> Result<Vec<Insn>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let count: usize = lines
        .next()
        .ok_or("empty")?
        .trim()
        .parse()
        .map_err(|e| format!("count: {e}"))?;
    let mut prog = Vec::with_capacity(count);
    for line in lines {
        let f: Vec<u64> = line
            .split_whitespace()
            .map(|w| w.parse::<u64>().map_err(|e| format!("{line:?}: {e}")))
            .collect::<Result<_, _>>()?;
        if f.len() != 4 {
            return Err(format!("{line:?}: expected 4 fields"));
        }
        prog.push(Insn::new(f[0] as u16, f[1] as u8, f[2] as u8, f[3] as u32));
    }
    if prog.len() != count {
        return Err(format!("count {count} but {} instructions", prog.len()));
    }
    Ok(prog)
}
