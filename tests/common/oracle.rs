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

/// Whether running libpcap's program `prog` on `pkt` reads a scratch memory
/// slot `M[k]` that the run has not written. libpcap's interpreter does not
/// initialise `M[]` (it holds whatever an earlier call left on the stack),
/// so tcpdump's verdict on such a packet is undefined and is not compared.
/// Programs that do this come from `geneve` under `not`/`or`.
pub fn reads_unset_memory(prog: &[Insn], pkt: &[u8]) -> bool {
    use xdpcap::filter::cbpf::*;
    if !prog
        .iter()
        .any(|i| (class(i.code) == BPF_LD || class(i.code) == BPF_LDX) && mode(i.code) == BPF_MEM)
    {
        return false;
    }
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; BPF_MEMWORDS as usize];
    let mut set = 0u32;
    let load = |at: u64, n: u64| -> Option<u32> {
        let end = at.checked_add(n)?;
        let bytes = pkt.get(usize::try_from(at).ok()?..usize::try_from(end).ok()?)?;
        Some(bytes.iter().fold(0u32, |v, &b| v << 8 | u32::from(b)))
    };
    let width = |code: u16| match size(code) {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    };
    let mut pc = 0usize;
    for _ in 0..1 << 20 {
        let Some(&i) = prog.get(pc) else { return false };
        pc += 1;
        let k = i.k;
        let slot = (k % BPF_MEMWORDS) as usize;
        match class(i.code) {
            BPF_RET => return false,
            BPF_LD | BPF_LDX if mode(i.code) == BPF_MEM => {
                if set & (1 << slot) == 0 {
                    return true;
                }
                if class(i.code) == BPF_LD {
                    a = mem[slot];
                } else {
                    x = mem[slot];
                }
            }
            BPF_LD => {
                a = match mode(i.code) {
                    BPF_ABS => match load(u64::from(k), width(i.code)) {
                        Some(v) => v,
                        None => return false,
                    },
                    BPF_IND => match load(u64::from(x) + u64::from(k), width(i.code)) {
                        Some(v) => v,
                        None => return false,
                    },
                    BPF_LEN => pkt.len() as u32,
                    _ => k,
                }
            }
            BPF_LDX => {
                x = match mode(i.code) {
                    BPF_MSH => match load(u64::from(k), 1) {
                        Some(v) => (v & 0xf) << 2,
                        None => return false,
                    },
                    BPF_LEN => pkt.len() as u32,
                    _ => k,
                }
            }
            BPF_ST | BPF_STX => {
                mem[slot] = if class(i.code) == BPF_ST { a } else { x };
                set |= 1 << slot;
            }
            BPF_ALU => {
                let v = if src(i.code) == BPF_X { x } else { k };
                a = match op(i.code) {
                    BPF_ADD => a.wrapping_add(v),
                    BPF_SUB => a.wrapping_sub(v),
                    BPF_MUL => a.wrapping_mul(v),
                    BPF_DIV | BPF_MOD if v == 0 => return false,
                    BPF_DIV => a / v,
                    BPF_MOD => a % v,
                    BPF_AND => a & v,
                    BPF_OR => a | v,
                    BPF_XOR => a ^ v,
                    BPF_LSH => a.checked_shl(v).unwrap_or(0),
                    BPF_RSH => a.checked_shr(v).unwrap_or(0),
                    _ => a.wrapping_neg(),
                }
            }
            BPF_JMP => {
                let v = if src(i.code) == BPF_X { x } else { k };
                let taken = match op(i.code) {
                    BPF_JA => {
                        pc = pc.wrapping_add(k as i32 as isize as usize);
                        continue;
                    }
                    BPF_JEQ => a == v,
                    BPF_JGT => a > v,
                    BPF_JGE => a >= v,
                    _ => a & v != 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            _ => {
                if miscop(i.code) == BPF_TAX {
                    x = a;
                } else {
                    a = x;
                }
            }
        }
    }
    false
}
