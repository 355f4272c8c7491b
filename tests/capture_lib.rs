//! The capture library on the real kernel (needs root): offline runs keep
//! every packet whole with its timestamp, a live capture finds the load
//! flavour of each kind of hook owner, writes what went through each slot,
//! and leaves no slot occupied on any way out; the hook API tells ours,
//! leftovers and others apart.
mod common;

use std::fs::File;
use std::io::BufWriter;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::xdp::{self, Flavour};
use xdpcap::capture::{
    self, run_offline, Capture, CaptureConfig, HookSource, OfflineConfig, Sink, Stop,
};
use xdpcap::hook::{Action, Hook, Owner, Slot};
use xdpcap::pcap::{self, Format};

/// A file in the temp dir removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(common::unique_name(&format!("xdpcap_{tag}_"))))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn read_all(path: &Path) -> Vec<pcap::Packet> {
    let mut r = pcap::Reader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().expect("reading the output") {
        out.push(p);
    }
    out
}

fn pcap_sink(path: &Path, format: Format) -> Sink {
    Sink::Pcap {
        out: Box::new(BufWriter::new(
            File::create(path).expect("creating the output"),
        )),
        format,
    }
}

/// Packets of awkward sizes: empty, shorter than an Ethernet header, one
/// page and a jumbo frame that only runs whole as fragments.
fn odd_packets() -> Vec<(u64, u32, Vec<u8>)> {
    [0usize, 1, 13, 14, 60, 1514, 4000, 9000]
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let data: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
            let ts = 1_700_000_000_000_000_000 + i as u64 * 1_234_567;
            // The third one was truncated when it was captured.
            let orig = len as u32 + if i == 2 { 100 } else { 0 };
            (ts, orig, data)
        })
        .collect()
}

fn write_input(path: &Path, packets: &[(u64, u32, Vec<u8>)]) {
    let iface = pcap::Interface {
        name: "in".into(),
        filter: None,
        linktype: pcap::LINKTYPE_ETHERNET,
        snaplen: 262144,
        description: None,
    };
    let f = BufWriter::new(File::create(path).expect("creating the input"));
    let mut w = pcap::Writer::new(f, Format::Pcap, &[iface]).expect("pcap header");
    for (ts, orig, data) in packets {
        let meta = pcap::PacketMeta {
            ts_ns: *ts,
            orig_len: *orig,
            ifindex: None,
            queue: None,
            comment: None,
        };
        w.write_packet(0, &meta, data).expect("writing the input");
    }
    w.flush().expect("flushing the input");
}

#[test]
fn offline_empty_filter_keeps_every_packet_whole() {
    common::require_root();
    let input = TempFile::new("in");
    let output = TempFile::new("out");
    let packets = odd_packets();
    write_input(&input.0, &packets);
    for format in [Format::Pcapng, Format::Pcap] {
        let reader = pcap::Reader::open(&input.0).expect("opening the input");
        let stats = run_offline(
            &OfflineConfig::default(),
            reader,
            "input",
            pcap_sink(&output.0, format),
        )
        .unwrap_or_else(|e| panic!("offline run ({format:?}): {e}"));
        assert_eq!(
            (stats.read, stats.matched, stats.lost),
            (8, 8, 0),
            "{format:?}"
        );
        let got = read_all(&output.0);
        assert_eq!(got.len(), packets.len(), "{format:?}");
        for (g, (ts, orig, data)) in got.iter().zip(&packets) {
            assert_eq!(g.ts_ns, *ts, "{format:?}, {} bytes", data.len());
            assert_eq!(g.orig_len, *orig, "{format:?}, {} bytes", data.len());
            assert_eq!(&g.data, data, "{format:?}, {} bytes", data.len());
        }
    }
}

#[test]
fn offline_snaplen_and_count() {
    common::require_root();
    let input = TempFile::new("in");
    let output = TempFile::new("out");
    let packets = odd_packets();
    write_input(&input.0, &packets);
    let cfg = OfflineConfig {
        snaplen: 20,
        count: Some(5),
        ..OfflineConfig::default()
    };
    let reader = pcap::Reader::open(&input.0).expect("opening the input");
    let stats = run_offline(&cfg, reader, "input", pcap_sink(&output.0, Format::Pcap))
        .unwrap_or_else(|e| panic!("offline run: {e}"));
    assert_eq!((stats.read, stats.matched), (5, 5));
    let got = read_all(&output.0);
    assert_eq!(got.len(), 5);
    for (g, (_, orig, data)) in got.iter().zip(&packets) {
        assert_eq!(g.orig_len, *orig);
        assert_eq!(g.data, data[..data.len().min(20)]);
    }
}

/// Poll `f` for up to two seconds.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn config(hook: &xdp::Hook) -> CaptureConfig {
    let mut cfg = CaptureConfig::new(HookSource::Path(hook.path.clone()));
    cfg.buffer = Some(256 << 10);
    cfg
}

#[test]
fn live_capture_in_every_flavour_then_slots_are_empty() {
    common::require_root();
    for flavour in Flavour::ALL {
        let hook = xdp::Hook::new();
        let prog = xdp::instrumented(&hook, flavour);
        let output = TempFile::new("live");
        let mut cfg = config(&hook);
        cfg.count = Some(5);
        let mut cap = Capture::start(cfg, pcap_sink(&output.0, Format::Pcapng))
            .unwrap_or_else(|e| panic!("{flavour:?}: {e}"));
        assert_eq!(cap.flavour().frags, flavour.frags, "{flavour:?}");
        assert_eq!(
            cap.flavour().expected_attach_type,
            flavour.attach_type,
            "{flavour:?}"
        );
        let ids = cap.program_ids();
        assert_eq!(ids.len(), 5);
        for (action, id) in &ids {
            assert_eq!(hook.slot(action.index()), Some(*id), "{flavour:?} {action}");
        }
        // Three drops, two passes; with frags one is a jumbo frame, which
        // only a frags program sees whole.
        let big = if flavour.frags { 8000 } else { 1400 };
        let frames = [
            (1, xdp::udp_frame(xdp::action_port(1), 10)),
            (2, xdp::udp_frame(xdp::action_port(2), 20)),
            (1, xdp::udp_frame(xdp::action_port(1), 30)),
            (2, xdp::udp_frame(xdp::action_port(2), big)),
            (1, xdp::udp_frame(xdp::action_port(1), 40)),
        ];
        for (action, frame) in &frames {
            assert_eq!(xdp::test_run(prog.as_fd(), frame), *action);
        }
        let stop = cap.run(|_| {}).expect("running the capture");
        assert_eq!(stop, Stop::Count);
        let stats = cap.stop().expect("stopping the capture");
        assert_eq!(stats.written, 5);
        let by = |a: Action| stats.actions.iter().find(|s| s.action == Some(a)).unwrap();
        assert_eq!(
            (by(Action::Drop).received, by(Action::Drop).matched),
            (3, 3)
        );
        assert_eq!(
            (by(Action::Pass).received, by(Action::Pass).written),
            (2, 2)
        );
        assert_eq!(stats.lost(), 0);
        assert_eq!(
            hook.slots(),
            vec![None; 5],
            "{flavour:?}: slots left occupied"
        );

        let got = read_all(&output.0);
        assert_eq!(got.len(), frames.len(), "{flavour:?}");
        for (i, (p, (_, frame))) in got.iter().zip(&frames).enumerate() {
            assert_eq!(p.data.len(), frame.len(), "{flavour:?}: packet {i} length");
            assert!(p.data == *frame, "{flavour:?}: packet {i} bytes differ");
            assert_eq!(p.orig_len as usize, frame.len(), "{flavour:?}: packet {i}");
        }
        // One interface per action in slot order: drop is 1, pass is 2.
        let ifaces: Vec<u32> = got.iter().map(|p| p.iface).collect();
        assert_eq!(ifaces, vec![1, 2, 1, 2, 1], "{flavour:?}");
        let now = capture::merge::Clock::now().to_realtime(0);
        for p in &got {
            assert!(
                p.ts_ns > now,
                "timestamp {} is not wall-clock time",
                p.ts_ns
            );
        }
    }
}

#[test]
fn dropping_a_capture_empties_its_slots() {
    common::require_root();
    let hook = xdp::Hook::new();
    let _prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    let mut cfg = config(&hook);
    cfg.actions = Some(vec![Action::Drop, Action::Tx]);
    let cap = Capture::start(cfg, Sink::Text(Box::new(std::io::sink()))).expect("start");
    assert!(hook.slot(1).is_some() && hook.slot(3).is_some());
    assert_eq!(hook.slot(2), None, "an action not asked for was taken");
    let mut cap = cap;
    let polls = std::cell::Cell::new(0);
    let stop = cap
        .run_until(
            || {
                polls.set(polls.get() + 1);
                polls.get() >= 3
            },
            |_| {},
        )
        .expect("run_until");
    assert_eq!(stop, Stop::Requested);
    assert!(hook.slot(1).is_some(), "run_until must not empty the slots");
    drop(cap);
    assert_eq!(hook.slots(), vec![None; 5]);
}

#[test]
fn a_slot_that_is_not_ours_is_refused_unless_forced() {
    common::require_root();
    let hook = xdp::Hook::new();
    let _prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    let other = xdp::returning(2, Flavour::LIBBPF);
    hook.set(2, other.as_fd()).expect("occupying slot pass");
    let other_id = hook.slot(2).unwrap();

    let err = Capture::start(config(&hook), Sink::Text(Box::new(std::io::sink())))
        .expect_err("a busy slot must be refused");
    let msg = err.to_string();
    assert!(msg.contains("slot pass") && msg.contains("-force"), "{msg}");
    assert!(msg.contains(&other_id.to_string()), "{msg}");
    assert_eq!(
        hook.slot(2),
        Some(other_id),
        "refusing must leave the slot alone"
    );
    assert_eq!(hook.slot(1), None, "refusing must attach nothing");

    let opened = Hook::open(&hook.path).expect("opening the hook");
    match opened.slot(Action::Pass).unwrap() {
        Slot::Other { prog_id, name } => {
            assert_eq!(prog_id, other_id);
            assert_eq!(name, "test_ret");
        }
        s => panic!("slot pass: {s:?}"),
    }

    let mut cfg = config(&hook);
    cfg.force = true;
    let cap = Capture::start(cfg, Sink::Text(Box::new(std::io::sink()))).expect("-force");
    assert_ne!(hook.slot(2), Some(other_id));
    cap.stop().expect("stop");
    assert_eq!(hook.slots(), vec![None; 5]);
}

#[test]
fn a_killed_capture_leaves_recognisable_leftovers() {
    common::require_root();
    let hook = xdp::Hook::new();
    let _prog = xdp::instrumented(&hook, Flavour::LEGACY);
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdpcap"))
        .args(["-q", "-actions", "drop,pass", hook.path_str(), "/dev/null"])
        .stdin(Stdio::null())
        .spawn()
        .expect("starting xdpcap");
    wait_for("xdpcap to fill the slots", || {
        hook.slot(1).is_some() && hook.slot(2).is_some()
    });
    let opened = Hook::open(&hook.path).expect("opening the hook");
    match opened.slot(Action::Drop).unwrap() {
        Slot::Ours { owner, name, .. } => {
            assert_eq!(owner, Owner::Running(child.id()));
            assert_eq!(name, "xdpcap_drop");
        }
        s => panic!("slot drop while xdpcap runs: {s:?}"),
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaping xdpcap");
    for action in [Action::Drop, Action::Pass] {
        assert!(
            matches!(
                opened.slot(action).unwrap(),
                Slot::Ours {
                    owner: Owner::Gone,
                    ..
                }
            ),
            "{action} after kill -9: {:?}",
            opened.slot(action)
        );
    }
    // A new capture takes a leftover over without -force.
    let mut cfg = config(&hook);
    cfg.actions = Some(vec![Action::Drop]);
    let cap = Capture::start(cfg, Sink::Text(Box::new(std::io::sink()))).expect("take over");
    assert!(
        cap.notes().iter().any(|n| n.contains("leftover")),
        "{:?}",
        cap.notes()
    );
    cap.stop().expect("stop");
    let cleared = opened.clear_leftovers().expect("clearing leftovers");
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0].0, Action::Pass);
    assert_eq!(hook.slots(), vec![None; 5]);
}

#[test]
fn sigterm_and_sighup_stop_the_binary_cleanly() {
    common::require_root();
    for sig in ["-TERM", "-HUP", "-INT"] {
        let hook = xdp::Hook::new();
        let _prog = xdp::instrumented(&hook, Flavour::LIBBPF);
        let output = TempFile::new("sig");
        let child = Command::new(env!("CARGO_BIN_EXE_xdpcap"))
            .args([hook.path_str(), output.0.to_str().unwrap()])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting xdpcap");
        wait_for("xdpcap to fill the slots", || {
            hook.slots().iter().all(Option::is_some)
        });
        let k = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(k.success());
        let out = child.wait_with_output().expect("waiting for xdpcap");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{sig}: {err}");
        assert!(err.contains("0 packets written"), "{sig}: {err}");
        assert_eq!(hook.slots(), vec![None; 5], "{sig}");
        // The output is a complete pcapng file.
        assert!(read_all(&output.0).is_empty());
    }
}

#[test]
fn hook_api_create_pin_open_and_abi_check() {
    common::require_root();
    let dir = xdp::Hook::new();
    let path = dir.dir.join("made_by_api");
    let hook = Hook::create(3).expect("creating a hook");
    hook.pin(&path).expect("pinning");
    // Pinning again over a stale pin of a hook replaces it.
    Hook::create(2)
        .unwrap()
        .pin(&path)
        .expect("replacing a stale pin");
    let opened = Hook::open(&path).expect("opening");
    assert_eq!(opened.max_entries(), 2);
    assert_eq!(opened.actions(), vec![Action::Aborted, Action::Drop]);
    assert!(opened
        .slots()
        .unwrap()
        .iter()
        .all(|(_, s)| *s == Slot::Empty));

    // A pin whose hook an instrumented program still uses is not stale.
    let prog = xdp::instrumented(&dir, Flavour::LIBBPF);
    let err = Hook::create(5)
        .unwrap()
        .pin(&dir.path)
        .expect_err("replacing a hook in use");
    assert!(err.to_string().contains("test_instr"), "{err}");
    assert!(Hook::open(&dir.path).is_ok(), "the pin in use was removed");
    drop(prog);

    let array = xdp::Hook::with_map(xdpcap::sys::bpf::BPF_MAP_TYPE_ARRAY, 5);
    let err = Hook::open(&array.path).expect_err("an array is not a hook");
    let msg = err.to_string();
    assert!(msg.contains("BPF_MAP_TYPE_PROG_ARRAY"), "{msg}");
    assert!(msg.contains(array.path_str()), "{msg}");
    let err = Hook::open(dir.dir.join("nothing_here")).expect_err("no pin");
    assert!(err.to_string().contains("-create-hook"), "{err}");
    let err = Hook::open("/tmp").expect_err("not bpffs");
    assert!(err.to_string().contains("mount -t bpf"), "{err}");
}

/// `xdpcap -r in out EXPR` keeps exactly what `tcpdump -r in -w out EXPR`
/// keeps, on frames that exercise the offline details: empty and tiny
/// frames, truncated records (`len` is the original length), a jumbo frame
/// that runs as fragments.
#[test]
fn offline_selects_what_tcpdump_selects() {
    common::require_root();
    let tcpdump = common::require_tool("tcpdump");
    let input = TempFile::new("diff_in");
    let mut frames: Vec<(u64, u32, Vec<u8>)> = Vec::new();
    let mut push = |data: Vec<u8>, orig: Option<u32>| {
        let ts = 1_600_000_000_000_000_000 + frames.len() as u64 * 1_000_000;
        let orig = orig.unwrap_or(data.len() as u32);
        frames.push((ts, orig, data));
    };
    for (port, payload) in [(53, 10), (5001, 0), (80, 200), (5002, 1400), (9, 8000)] {
        push(xdp::udp_frame(port, payload), None);
    }
    // Truncated captures: only the first 40 bytes were kept.
    for (port, payload) in [(53, 100), (5001, 1000)] {
        let f = xdp::udp_frame(port, payload);
        let orig = f.len() as u32;
        push(f[..40].to_vec(), Some(orig));
    }
    let mut arp = xdp::udp_frame(1, 0);
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    push(arp, None);
    for len in [0, 1, 13, 14] {
        push(vec![2; len], None);
    }
    write_input(&input.0, &frames);

    let exprs = [
        "",
        "udp",
        "udp port 53",
        "port 5001 or port 5002",
        "arp",
        "not ip",
        "greater 100",
        "less 60",
        "len > 1000",
        "len < 14",
        "ip[8] = 64",
        "udp[8:4] = 0x78787878",
        "udp[100] = 0x78 or arp",
        "ether[0] = 2",
        "ether src 02:00:c6:12:00:01",
        "host 198.18.0.2 and udp dst port 9",
    ];
    let out_x = TempFile::new("diff_x");
    let out_t = TempFile::new("diff_t");
    for expr in exprs {
        let t = Command::new(&tcpdump)
            .args([
                "-r",
                input.0.to_str().unwrap(),
                "-w",
                out_t.0.to_str().unwrap(),
                expr,
            ])
            .output()
            .expect("running tcpdump");
        assert!(
            t.status.success(),
            "tcpdump {expr:?}: {}",
            String::from_utf8_lossy(&t.stderr)
        );
        let x = Command::new(env!("CARGO_BIN_EXE_xdpcap"))
            .args([
                "-q",
                "-r",
                input.0.to_str().unwrap(),
                out_x.0.to_str().unwrap(),
                expr,
            ])
            .output()
            .expect("running xdpcap");
        assert_eq!(
            x.status.code(),
            Some(0),
            "xdpcap {expr:?}: {}",
            String::from_utf8_lossy(&x.stderr)
        );
        let key = |p: &pcap::Packet| (p.ts_ns, p.orig_len, p.data.clone());
        let want: Vec<_> = read_all(&out_t.0).iter().map(key).collect();
        let got: Vec<_> = read_all(&out_x.0).iter().map(key).collect();
        let brief = |v: &[(u64, u32, Vec<u8>)]| -> Vec<(u64, u32, usize)> {
            v.iter()
                .map(|(t, o, d)| ((t / 1_000_000) % 100, *o, d.len()))
                .collect()
        };
        assert!(
            got == want,
            "{expr:?}: xdpcap kept {:?}, tcpdump kept {:?} (index, orig_len, caplen)",
            brief(&got),
            brief(&want)
        );
    }
}

/// Every expression of the shared libpcap corpus that compiles gives
/// capture programs the verifier accepts, with and without the frags flag.
#[test]
fn every_corpus_filter_passes_the_verifier() {
    use xdpcap::capture::load::{self, LogOpts, Maps};
    common::require_root();
    let list =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/filter-corpus/libpcap-en10mb.txt");
    let text = std::fs::read_to_string(&list)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared filter corpus)", list.display()));
    let maps = Maps::create().expect("creating the capture maps");
    let (mut loaded, mut failures) = (0, Vec::new());
    for expr in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let Ok(prog) = xdpcap::filter::build(expr, xdpcap::filter::DLT_EN10MB) else {
            continue;
        };
        for flavour in capture::Flavour::ALL
            .iter()
            .filter(|f| f.expected_attach_type != 0)
        {
            match load::load(
                Action::Pass,
                &prog,
                262144,
                *flavour,
                &maps,
                LogOpts::default(),
            ) {
                Ok(_) => loaded += 1,
                Err(e) => failures.push(format!("{expr:?} ({flavour}): {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        loaded > 200,
        "only {loaded} programs loaded: the corpus did not compile"
    );
}

#[test]
fn run_packets_gives_the_kernel_verdicts_without_files() {
    common::require_root();
    let prog = xdpcap::filter::build("len < 10 or udp port 53", xdpcap::filter::DLT_EN10MB)
        .expect("compiling");
    let dns = xdp::udp_frame(53, 20);
    let other = xdp::udp_frame(80, 20);
    let truncated = &dns[..30];
    let tiny = [1u8, 2, 3];
    let packets: Vec<(&[u8], u32)> = vec![
        (&dns, dns.len() as u32),
        (&other, other.len() as u32),
        // Cut before the ports: libpcap rejects it whatever its length.
        (truncated, dns.len() as u32),
        (&tiny, 3),
        // Three bytes present, but 100 on the wire: `len < 10` is false.
        (&tiny, 100),
    ];
    let got = capture::offline::run_packets(&prog, 262144, &packets).expect("test runs");
    let verdicts: Vec<Option<usize>> = got.iter().map(|v| v.as_ref().map(Vec::len)).collect();
    assert_eq!(verdicts, vec![Some(dns.len()), None, None, Some(3), None]);
    assert_eq!(got[0].as_deref(), Some(&dns[..]));
}

/// A raw cBPF filter that rejects everything (`ret #0`) has no match
/// block: the programs pass the verifier, live and offline, count the
/// packets and capture none.
#[test]
fn a_filter_that_rejects_everything_loads_and_captures_nothing() {
    common::require_root();
    const REJECT_ALL: &str = "1,6 0 0 0";
    // Offline, through the binary: empty output, exit 0.
    let input = TempFile::new("reject_in");
    let output = TempFile::new("reject_out");
    write_input(&input.0, &odd_packets());
    let out = Command::new(env!("CARGO_BIN_EXE_xdpcap"))
        .arg("-r")
        .arg(&input.0)
        .arg(&output.0)
        .arg(REJECT_ALL)
        .output()
        .expect("running xdpcap -r");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(read_all(&output.0).is_empty(), "packets captured");

    // Live, in every flavour: every slot loads and the packets are counted.
    for flavour in Flavour::ALL {
        let hook = xdp::Hook::new();
        let prog = xdp::instrumented(&hook, flavour);
        let mut cfg = config(&hook);
        cfg.filter = REJECT_ALL.into();
        let live_out = TempFile::new("reject_live");
        let mut cap = Capture::start(cfg, pcap_sink(&live_out.0, Format::Pcap))
            .unwrap_or_else(|e| panic!("{flavour:?}: {e}"));
        assert_eq!(cap.program_ids().len(), 5, "{flavour:?}");
        for _ in 0..3 {
            assert_eq!(
                xdp::test_run(prog.as_fd(), &xdp::udp_frame(xdp::action_port(1), 10)),
                1
            );
        }
        cap.poll().expect("polling");
        let stats = cap.stats().expect("stats");
        let drops = stats
            .actions
            .iter()
            .find(|a| a.action == Some(Action::Drop))
            .expect("drop stats");
        assert_eq!((drops.received, drops.matched), (3, 0), "{flavour:?}");
        assert_eq!(stats.written, 0, "{flavour:?}");
        drop(cap);
        assert_eq!(hook.slots(), vec![None; 5], "{flavour:?}: slots left");
    }
}

/// The path's directory is not a bpffs (here /tmp): the message says so,
/// names the path and how to mount one; nothing pinned there is not the
/// diagnosis.
#[test]
fn a_hook_path_off_bpffs_says_how_to_mount_one() {
    common::require_root();
    let scratch = std::env::temp_dir().join(common::unique_name("xdpcap_nobpffs_"));
    std::fs::create_dir(&scratch).expect("creating a scratch dir");
    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let scratch = Dir(scratch);
    assert!(
        !xdpcap::sys::is_bpffs(&scratch.0).expect("statfs"),
        "{} is on a bpffs",
        scratch.0.display()
    );
    for hook in [scratch.0.join("hook"), scratch.0.join("sub/hook")] {
        let out = Command::new(env!("CARGO_BIN_EXE_xdpcap"))
            .arg(&hook)
            .arg(scratch.0.join("out.pcap"))
            .arg("udp")
            .output()
            .expect("running xdpcap");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(hook.to_str().unwrap()), "{err}");
        assert!(err.contains("not on a bpffs"), "{err}");
        assert!(err.contains("mount -t bpf bpf /sys/fs/bpf"), "{err}");
        assert!(!err.contains("no hook pinned"), "{err}");
        assert!(!scratch.0.join("out.pcap").exists(), "output created");
    }
}

/// Every way the CLI fails before capturing prints one line naming the
/// culprit, exits 2 and leaves the hook's slots empty.
#[test]
fn cli_error_paths_print_one_line_and_leave_nothing_attached() {
    common::require_root();
    let hook = xdp::Hook::new();
    let prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    let hash = xdp::Hook::with_map(xdpcap::sys::bpf::BPF_MAP_TYPE_HASH, 5);
    // A pinned program where the hook should be.
    let pinned_prog = hook.dir.join("a_program");
    xdpcap::sys::bpf::obj_pin(prog.as_fd(), &pinned_prog).expect("pinning a program");
    let missing = hook.dir.join("missing");
    let scratch = TempFile::new("cli_err");
    let not_pcap = TempFile::new("not_pcap");
    std::fs::write(&not_pcap.0, b"this is not a capture file, just some text\n").unwrap();
    let no_file = TempFile::new("no_such_input");
    let bad_dir_out = std::env::temp_dir()
        .join(common::unique_name("xdpcap_no_dir_"))
        .join("out.pcap");
    let p = |p: &Path| p.to_str().expect("ASCII paths").to_string();
    let out = p(&scratch.0);

    // (args, exit status, what the line must contain)
    let cases: Vec<(Vec<String>, i32, Vec<String>)> = vec![
        (
            vec![p(&missing), out.clone(), "udp".into()],
            2,
            vec![p(&missing), "no hook pinned".into()],
        ),
        (
            vec![p(&pinned_prog), out.clone(), "udp".into()],
            2,
            vec![p(&pinned_prog), "not a map".into()],
        ),
        (
            vec![p(&hash.path), out.clone(), "udp".into()],
            2,
            vec![
                p(&hash.path),
                "a BPF_MAP_TYPE_HASH".into(),
                "BPF_MAP_TYPE_PROG_ARRAY".into(),
            ],
        ),
        (
            vec![p(&hook.path), p(&bad_dir_out), "udp".into()],
            2,
            vec![p(&bad_dir_out)],
        ),
        (
            vec!["-r".into(), p(&not_pcap.0), out.clone(), "udp".into()],
            2,
            vec![p(&not_pcap.0)],
        ),
        (
            vec!["-r".into(), p(&no_file.0), out.clone(), "udp".into()],
            2,
            vec![p(&no_file.0)],
        ),
        (
            vec![p(&hook.path), out.clone(), "udp port".into()],
            1,
            vec!["udp port".into()],
        ),
    ];
    for (args, code, needles) in &cases {
        let res = Command::new(env!("CARGO_BIN_EXE_xdpcap"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running xdpcap");
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(*code), "{args:?}: {err}");
        // A filter error adds its caret rendering (two more lines).
        let lines = if *code == 1 { 3 } else { 1 };
        assert_eq!(err.lines().count(), lines, "{args:?}: {err}");
        assert!(err.starts_with("xdpcap: "), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n.as_str()), "{args:?}: no {n:?} in {err}");
        }
        assert_eq!(hook.slots(), vec![None; 5], "{args:?}: slots left");
        assert!(res.stdout.is_empty(), "{args:?}: stdout");
    }
    assert!(!bad_dir_out.parent().unwrap().exists());
    let _ = std::fs::remove_file(&pinned_prog);
}
