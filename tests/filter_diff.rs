//! Differential filter tests: for every expression of the shared libpcap
//! corpus and of our own lists, the packets our compiled program keeps (run
//! through the classic BPF interpreter) must be exactly the packets tcpdump
//! keeps from the same deterministic corpus.
//!
//! libpcap's own program (`tcpdump -ddd`) is also run through the
//! interpreter and must agree with tcpdump: that checks the interpreter and
//! this harness, independently of our compiler.
//!
//! Needs tcpdump; the offline tests, which run the binary's capture
//! programs in the kernel, also need root. Details of each run are written to
//! `$CARGO_TARGET_TMPDIR/filter-{diff,selfcheck}-<list>.txt`; with
//! `XDPCAP_CORPUS_DIR=dir` the corpus pcaps are kept there too.

mod common;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use common::{corpus, oracle};
use xdpcap::filter::{self, cbpf};
use xdpcap::pcap;

/// One list of expressions and the link type it is compiled for.
#[derive(Clone, Copy)]
struct List {
    name: &'static str,
    file: &'static str,
    linktype: u32,
}

const LIBPCAP: List = List {
    name: "libpcap-en10mb",
    file: "../shared/filter-corpus/libpcap-en10mb.txt",
    linktype: filter::DLT_EN10MB,
};
const SYSNAMES: List = List {
    name: "libpcap-en10mb-sysnames",
    file: "../shared/filter-corpus/libpcap-en10mb-sysnames.txt",
    linktype: filter::DLT_EN10MB,
};
const OWN: List = List {
    name: "own-en10mb",
    file: "tests/data/filters-en10mb.txt",
    linktype: filter::DLT_EN10MB,
};
const OWN_RAW: List = List {
    name: "own-raw",
    file: "tests/data/filters-raw.txt",
    linktype: filter::LINKTYPE_RAW,
};

/// The expressions of a list file: one per line, `#` lines and blank lines
/// skipped, whitespace inside an expression kept.
fn read_list(list: List) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(list.file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "filter list {} missing ({e}): the differential tests need it",
            path.display()
        )
    });
    let exprs: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!exprs.is_empty(), "{} holds no expression", path.display());
    exprs
}

/// A corpus and what libpcap does with one list over it.
struct Oracle {
    frames: &'static [Vec<u8>],
    exprs: Vec<String>,
    /// Kept packet indices, or tcpdump's error.
    select: Vec<Result<Vec<usize>, String>>,
    /// libpcap's program, or tcpdump's error.
    ddd: Vec<Result<Vec<cbpf::Insn>, String>>,
    /// Packets on which libpcap's program reads scratch memory it never
    /// wrote: tcpdump's verdict is undefined there, so they are left out of
    /// both sides of every comparison (and out of `select`).
    undefined: Vec<Vec<usize>>,
}

impl Oracle {
    /// `ours` without the packets whose libpcap verdict is undefined.
    fn defined(&self, i: usize, mut ours: Vec<usize>) -> Vec<usize> {
        if !self.undefined[i].is_empty() {
            ours.retain(|p| self.undefined[i].binary_search(p).is_err());
        }
        ours
    }
}

fn corpus_for(linktype: u32) -> &'static [Vec<u8>] {
    static ETH: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    static RAW: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    if linktype == filter::LINKTYPE_RAW {
        RAW.get_or_init(corpus::raw_corpus)
    } else {
        ETH.get_or_init(corpus::ethernet_corpus)
    }
}

/// Removes the corpus pcap however the test ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `f` over `items` on two threads, keeping the order of results.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = Mutex::new(0usize);
    let out: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(item) = items.get(i) else { break };
                *out[i].lock().unwrap() = Some(f(item));
            });
        }
    });
    out.into_iter()
        .map(|m| m.into_inner().unwrap().expect("every item processed"))
        .collect()
}

fn oracle(list: List) -> &'static Oracle {
    static CACHE: Mutex<Vec<(&'static str, &'static Oracle)>> = Mutex::new(Vec::new());
    if let Some(&(_, o)) = CACHE.lock().unwrap().iter().find(|(n, _)| *n == list.name) {
        return o;
    }
    let exprs = read_list(list);
    let frames = corpus_for(list.linktype);
    let pcap = TempFile(std::env::temp_dir().join(format!(
        "xdpcap-corpus-{}-{}.pcap",
        std::process::id(),
        list.name
    )));
    corpus::write_pcap(&pcap.0, list.linktype, frames);
    // To look at the corpus with tcpdump or wireshark, name a directory to
    // keep a copy in.
    if let Some(dir) = std::env::var_os("XDPCAP_CORPUS_DIR") {
        let keep = Path::new(&dir).join(format!("corpus-{}.pcap", list.name));
        corpus::write_pcap(&keep, list.linktype, frames);
    }
    let results = par_map(&exprs, |e| {
        (
            oracle::tcpdump_select(&pcap.0, e),
            oracle::tcpdump_ddd(&pcap.0, e),
        )
    });
    let (mut select, ddd): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    let undefined: Vec<Vec<usize>> = par_map(&ddd, |prog| match prog {
        Ok(prog) => (0..frames.len())
            .filter(|&p| oracle::reads_unset_memory(prog, &frames[p]))
            .collect(),
        Err(_) => Vec::new(),
    });
    for (sel, undef) in select.iter_mut().zip(&undefined) {
        if let Ok(sel) = sel {
            sel.retain(|p| undef.binary_search(p).is_err());
        }
    }
    let o: &'static Oracle = Box::leak(Box::new(Oracle {
        frames,
        exprs,
        select,
        ddd,
        undefined,
    }));
    let mut cache = CACHE.lock().unwrap();
    if let Some(&(_, o)) = cache.iter().find(|(n, _)| *n == list.name) {
        return o;
    }
    cache.push((list.name, o));
    o
}

/// Indices of the frames `prog` accepts.
fn run(prog: &[cbpf::Insn], frames: &[Vec<u8>]) -> Vec<usize> {
    frames
        .iter()
        .enumerate()
        .filter(|(_, f)| cbpf::interpret(prog, f, f.len() as u32) != 0)
        .map(|(i, _)| i)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().take(160).enumerate() {
        if i > 0 && i % 32 == 0 {
            s.push_str("\n        ");
        } else if i > 0 && i % 2 == 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    if bytes.len() > 160 {
        let _ = write!(s, " ... ({} bytes)", bytes.len());
    }
    s
}

/// Describes where two selections differ: the first few packets with their
/// bytes and both verdicts.
fn describe_diff(frames: &[Vec<u8>], ours: &[usize], theirs: &[usize], who: &str) -> String {
    let a: HashSet<usize> = ours.iter().copied().collect();
    let b: HashSet<usize> = theirs.iter().copied().collect();
    let mut diff: Vec<usize> = a.symmetric_difference(&b).copied().collect();
    diff.sort_unstable();
    let mut s = format!(
        "  {who} keeps {} packets, tcpdump keeps {}; {} differ\n",
        ours.len(),
        theirs.len(),
        diff.len()
    );
    for &i in diff.iter().take(3) {
        let _ = writeln!(
            s,
            "    packet #{i} ({} bytes): {who} {}, tcpdump {}\n        {}",
            frames[i].len(),
            if a.contains(&i) { "ACCEPT" } else { "reject" },
            if b.contains(&i) { "ACCEPT" } else { "reject" },
            hex(&frames[i])
        );
    }
    s
}

fn write_report(list: List, kind: &str, report: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("filter-{kind}-{}.txt", list.name));
    let _ = std::fs::write(path, report);
}

/// Our compiler against tcpdump for every expression of `list`; the
/// summary line on failure.
fn diff_list(list: List) -> Result<(), String> {
    let o = oracle(list);
    let verdicts = par_map(
        &o.exprs.iter().enumerate().collect::<Vec<_>>(),
        |&(i, e)| {
            let theirs = &o.select[i];
            let ours = std::panic::catch_unwind(|| filter::build(e, list.linktype));
            match (ours, theirs) {
                (Err(_), _) => Some(format!("{e}\n  our compiler PANICKED\n")),
                (Ok(Err(err)), Ok(_)) => Some(format!(
                    "{e}\n  we reject, tcpdump accepts: {}\n",
                    err.render(e).replace('\n', "\n  ")
                )),
                (Ok(Ok(_)), Err(msg)) => {
                    Some(format!("{e}\n  we accept, tcpdump rejects: {msg}\n"))
                }
                (Ok(Err(_)), Err(_)) => None,
                (Ok(Ok(prog)), Ok(theirs)) => {
                    let ours = o.defined(i, run(&prog, o.frames));
                    (ours != *theirs)
                        .then(|| format!("{e}\n{}", describe_diff(o.frames, &ours, theirs, "we")))
                }
            }
        },
    );
    let mut report = String::new();
    let mut failed = 0;
    for v in verdicts.iter().flatten() {
        failed += 1;
        report.push_str(v);
    }
    let m = o.exprs.len();
    let n = m - failed;
    let summary = format!(
        "filter-diff: {n}/{m} expressions identical ({:.1}%) [{}: {} packets]",
        100.0 * n as f64 / m as f64,
        list.name,
        o.frames.len()
    );
    report.push_str(&summary);
    report.push('\n');
    write_report(list, "diff", &report);
    println!("{report}");
    verdict(failed == 0, summary)
}

fn verdict(ok: bool, summary: String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(summary)
    }
}

/// Fails the test with every list's failure summary, after all ran.
fn all_ok(results: &[Result<(), String>]) {
    let errors: Vec<&str> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(String::as_str)
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// libpcap's own programs through our interpreter against tcpdump, and the
/// corpus coverage of `list`: how many expressions keep some packets but
/// not all.
fn self_check(list: List) -> Result<(), String> {
    let o = oracle(list);
    let mut report = String::new();
    let (mut bad, mut partial, mut none, mut all, mut rejected) = (0, 0, 0, 0, 0);
    let mut unselective = String::new();
    for (i, e) in o.exprs.iter().enumerate() {
        match (&o.select[i], &o.ddd[i]) {
            (Ok(theirs), Ok(prog)) => {
                let ours = o.defined(i, run(prog, o.frames));
                if ours != *theirs {
                    bad += 1;
                    let _ = write!(
                        report,
                        "{e}\n{}",
                        describe_diff(o.frames, &ours, theirs, "interpreter")
                    );
                }
                match theirs.len() {
                    0 => {
                        none += 1;
                        let _ = writeln!(unselective, "  none: {e}");
                    }
                    n if n == o.frames.len() => {
                        all += 1;
                        let _ = writeln!(unselective, "  all:  {e}");
                    }
                    _ => partial += 1,
                }
            }
            (Err(a), Err(_)) => {
                rejected += 1;
                let _ = writeln!(report, "{e}\n  tcpdump rejects it: {a}");
            }
            (a, b) => {
                bad += 1;
                let _ = writeln!(
                    report,
                    "{e}\n  tcpdump -w and -ddd disagree: {a:?} / {:?}",
                    b.as_ref().map(|p| p.len())
                );
            }
        }
    }
    let m = o.exprs.len();
    let _ = write!(
        report,
        "corpus coverage [{}]: {partial}/{m} expressions keep some but not all of {} packets ({:.1}%); {none} keep none, {all} keep all, {rejected} rejected by tcpdump\n{unselective}",
        list.name,
        o.frames.len(),
        100.0 * partial as f64 / m as f64
    );
    let _ = writeln!(
        report,
        "interpreter self-check: {}/{m} libpcap programs agree with tcpdump",
        m - bad
    );
    for (e, undef) in o.exprs.iter().zip(&o.undefined) {
        if !undef.is_empty() {
            let _ = writeln!(
                report,
                "  {} packets left out for {e:?}: libpcap reads M[] it never wrote (e.g. #{})",
                undef.len(),
                undef[0]
            );
        }
    }
    write_report(list, "selfcheck", &report);
    println!("{report}");
    verdict(
        bad == 0 && rejected == 0,
        format!(
            "[{}] {bad} libpcap programs disagree with tcpdump through the interpreter, {rejected} expressions rejected by tcpdump",
            list.name
        ),
    )
}

/// Raw classic BPF (libpcap's `-ddd` text) through `filter::build` must
/// keep exactly what tcpdump keeps.
fn raw_cbpf(list: List) -> Result<(), String> {
    let o = oracle(list);
    let mut bad = Vec::new();
    for (i, e) in o.exprs.iter().enumerate() {
        let (Ok(theirs), Ok(prog)) = (&o.select[i], &o.ddd[i]) else {
            continue;
        };
        let mut text = format!("{}", prog.len());
        for insn in prog {
            let _ = write!(text, ",{} {} {} {}", insn.code, insn.jt, insn.jf, insn.k);
        }
        match filter::build(&text, list.linktype) {
            Err(err) => bad.push(format!("{e}\n  raw cBPF rejected: {err}\n  {text}")),
            Ok(p) if p != *prog => bad.push(format!("{e}\n  raw cBPF parsed differently: {text}")),
            Ok(p) => {
                let ours = o.defined(i, run(&p, o.frames));
                if ours != *theirs {
                    bad.push(format!(
                        "{e}\n{}",
                        describe_diff(o.frames, &ours, theirs, "raw cBPF")
                    ));
                }
            }
        }
    }
    for b in &bad {
        println!("{b}");
    }
    let summary = format!(
        "raw-cbpf: {}/{} programs identical [{}]",
        o.exprs.len() - bad.len(),
        o.exprs.len(),
        list.name
    );
    println!("{summary}");
    verdict(bad.is_empty(), summary)
}

/// Packet indices of a capture written by the binary: corpus packet `i`
/// has the timestamp `i` microseconds. Also checks each packet is whole.
fn captured_indices(path: &Path, frames: &[Vec<u8>]) -> Result<Vec<usize>, String> {
    let mut r = pcap::Reader::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut out = Vec::new();
    while let Some(p) = r
        .next_packet()
        .map_err(|e| format!("reading {}: {e}", path.display()))?
    {
        let i = (p.ts_ns / 1000) as usize;
        match frames.get(i) {
            Some(f) if *f == p.data => out.push(i),
            Some(_) => return Err(format!("packet #{i} was not written whole and unchanged")),
            None => return Err(format!("timestamp {} ns names no corpus packet", p.ts_ns)),
        }
    }
    Ok(out)
}

/// The real binary in offline mode (`xdpcap -r corpus.pcap out EXPR`, the
/// capture program run in the kernel with `BPF_PROG_TEST_RUN`) against
/// tcpdump, for every expression of `list`. Needs root.
fn offline_list(list: List) -> Result<(), String> {
    common::require_root();
    let o = oracle(list);
    let tag = format!("xdpcap-offline-{}-{}", std::process::id(), list.name);
    let input = TempFile(std::env::temp_dir().join(format!("{tag}.pcap")));
    corpus::write_pcap(&input.0, list.linktype, o.frames);
    let verdicts = par_map(
        &o.exprs.iter().enumerate().collect::<Vec<_>>(),
        |&(i, e)| {
            let Ok(theirs) = &o.select[i] else {
                return None;
            };
            let output = TempFile(std::env::temp_dir().join(format!("{tag}-{i}.pcapng")));
            let run = std::process::Command::new(env!("CARGO_BIN_EXE_xdpcap"))
                .arg("-q")
                .arg("-r")
                .arg(&input.0)
                .arg(&output.0)
                .arg("--")
                .arg(e)
                .output()
                .expect("running xdpcap");
            if !run.status.success() {
                return Some(format!(
                    "{e}\n  xdpcap -r failed ({}): {}\n",
                    run.status,
                    String::from_utf8_lossy(&run.stderr).trim()
                ));
            }
            match captured_indices(&output.0, o.frames).map(|ours| o.defined(i, ours)) {
                Err(msg) => Some(format!("{e}\n  {msg}\n")),
                Ok(ours) if ours != *theirs => Some(format!(
                    "{e}\n{}",
                    describe_diff(o.frames, &ours, theirs, "xdpcap -r")
                )),
                Ok(_) => None,
            }
        },
    );
    let mut report = String::new();
    let failed = verdicts.iter().flatten().count();
    for v in verdicts.iter().flatten() {
        report.push_str(v);
    }
    let m = o.select.iter().filter(|s| s.is_ok()).count();
    let summary = format!(
        "filter-offline: {}/{m} expressions identical ({:.1}%) [{}: {} packets, xdpcap -r in the kernel]",
        m - failed,
        100.0 * (m - failed) as f64 / m.max(1) as f64,
        list.name,
        o.frames.len()
    );
    report.push_str(&summary);
    report.push('\n');
    write_report(list, "offline", &report);
    println!("{report}");
    verdict(failed == 0, summary)
}

#[test]
fn offline_binary_matches_tcpdump_libpcap_corpus() {
    all_ok(&[offline_list(LIBPCAP)]);
}

#[test]
fn offline_binary_matches_tcpdump_own_lists() {
    all_ok(&[offline_list(OWN), offline_list(OWN_RAW)]);
}

#[test]
fn libpcap_corpus_matches_tcpdump() {
    all_ok(&[diff_list(LIBPCAP)]);
}

#[test]
fn libpcap_sysnames_match_tcpdump() {
    all_ok(&[diff_list(SYSNAMES)]);
}

#[test]
fn own_en10mb_list_matches_tcpdump() {
    all_ok(&[diff_list(OWN)]);
}

#[test]
fn own_raw_list_matches_tcpdump() {
    all_ok(&[diff_list(OWN_RAW)]);
}

#[test]
fn interpreter_agrees_with_tcpdump_libpcap_corpus() {
    all_ok(&[self_check(LIBPCAP)]);
}

#[test]
fn interpreter_agrees_with_tcpdump_own_lists() {
    all_ok(&[self_check(OWN), self_check(OWN_RAW)]);
}

#[test]
fn raw_cbpf_matches_tcpdump() {
    all_ok(&[raw_cbpf(LIBPCAP), raw_cbpf(OWN), raw_cbpf(OWN_RAW)]);
}
