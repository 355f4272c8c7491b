//! The static binary (`make static` → dist/xdpcap) on a bare appliance:
//! nothing in its root but itself, the bpffs and the CPU list bind-mounted
//! in. It must run there: usage, version, filters with built-in service and
//! protocol names (no /etc), an offline run and a live capture of a hook
//! set up outside. Each run happens in a private mount namespace
//! (`unshare --mount`), so its mounts vanish with it.
//!
//! Also: the ELF asks for no interpreter and no shared library, stays
//! within its size budget, and the aarch64 build (`make static-aarch64` →
//! dist/xdpcap-aarch64) runs under qemu-aarch64.
mod common;

use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::capture::{read_capture, Running};
use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour, Hook};
use common::{corpus, oracle};
use xdpcap::pcap;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The stripped static binary must stay under 1 MiB.
const SIZE_BUDGET: u64 = 1 << 20;

/// Raw classic BPF (tcpdump -ddd) for `tcp` on Ethernet, as libpcap 1.10
/// compiles it: a filter that needs no expression compiler.
const DDD_TCP: &str = "12,40 0 0 12,21 0 2 2048,48 0 0 23,21 6 7 6,21 0 6 34525,48 0 0 20,\
21 3 0 6,21 0 3 44,48 0 0 54,21 0 1 6,6 0 0 262144,6 0 0 0";

/// `tcpdump -d` of the same program: what `-d` must print for it.
const D_TCP: &str = "\
(000) ldh      [12]
(001) jeq      #0x800           jt 2\tjf 4
(002) ldb      [23]
(003) jeq      #0x6             jt 10\tjf 11
(004) jeq      #0x86dd          jt 5\tjf 11
(005) ldb      [20]
(006) jeq      #0x6             jt 10\tjf 7
(007) jeq      #0x2c            jt 8\tjf 11
(008) ldb      [54]
(009) jeq      #0x6             jt 10\tjf 11
(010) ret      #262144
(011) ret      #0
";

/// dist/xdpcap, which `make test` builds first (`make static`).
fn static_binary() -> PathBuf {
    dist("xdpcap", "make static")
}

/// `dist/<name>`, built by `make_target`. Panics when it is missing or
/// older than the sources, so a stale binary is never what gets tested.
fn dist(name: &str, make_target: &str) -> PathBuf {
    let root = Path::new(ROOT);
    let bin = root.join("dist").join(name);
    let built = fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run `{make_target}` (make test does)",
                bin.display()
            )
        });
    let mut sources = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("reading src/") {
            let path = entry.expect("src/ entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                sources.push(path);
            }
        }
    }
    for src in sources {
        let changed = fs::metadata(&src).and_then(|m| m.modified());
        if matches!(changed, Ok(t) if t > built) {
            panic!(
                "{} is older than {}: run `{make_target}` again",
                bin.display(),
                src.display()
            );
        }
    }
    bin
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A kernel interface bind-mounted, at the same path, into the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bind {
    /// `/sys/fs/bpf`: the pinned hooks.
    Bpffs,
    /// `/sys/devices/system/cpu`: the CPUs to open perf rings on.
    Cpus,
}

impl Bind {
    fn path(self) -> &'static str {
        match self {
            Bind::Bpffs => "/sys/fs/bpf",
            Bind::Cpus => "/sys/devices/system/cpu",
        }
    }
}

/// What a capture needs bind-mounted; nothing else (no /proc, /dev, /etc).
const BINDS: [Bind; 2] = [Bind::Bpffs, Bind::Cpus];

/// An empty root holding only /xdpcap and the mount points it needs;
/// removed on drop.
struct Chroot {
    root: PathBuf,
    binds: Vec<Bind>,
}

impl Chroot {
    /// A root with [`BINDS`].
    fn new() -> Chroot {
        Chroot::with_binds(&BINDS)
    }

    fn with_binds(binds: &[Bind]) -> Chroot {
        common::require_root();
        for tool in ["unshare", "mount", "chroot", "bash"] {
            common::require_tool(tool);
        }
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(common::unique_name("chroot"));
        fs::create_dir_all(&root).unwrap_or_else(|e| panic!("creating {}: {e}", root.display()));
        let chroot = Chroot {
            root,
            binds: binds.to_vec(),
        };
        for bind in binds {
            let point = chroot.inside(bind.path());
            fs::create_dir_all(&point)
                .unwrap_or_else(|e| panic!("creating {}: {e}", point.display()));
        }
        let bin = static_binary();
        fs::copy(&bin, chroot.root.join("xdpcap"))
            .unwrap_or_else(|e| panic!("copying {}: {e}", bin.display()));
        chroot
    }

    /// The host path of `path` inside the root.
    fn inside(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// `/xdpcap args...` chrooted, in a private mount namespace with the
    /// bind mounts; stdin closed, stdout and stderr piped. Every step execs
    /// the next, so the child's pid is xdpcap's (signals reach it).
    fn xdpcap(&self, args: &[&str]) -> Command {
        let root = self.root.to_str().expect("UTF-8 path");
        let mut script = String::from("set -e; ");
        for bind in &self.binds {
            let dir = bind.path();
            script.push_str(&format!("mount --bind {dir} {root}{dir}; "));
        }
        script.push_str(&format!("exec chroot {root} /xdpcap \"$@\""));
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "--", "bash", "-c"])
            .arg(script)
            .arg("xdpcap")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.xdpcap(args)
            .output()
            .unwrap_or_else(|e| panic!("running {args:?} in {}: {e}", self.root.display()))
    }

    /// Runs `args`, demands exit status 0 and returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "chrooted xdpcap {args:?}: {}\nstderr: {}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        // Never recurse into a live mount (that would empty the real
        // bpffs): the mounts live in namespaces that died with their runs.
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.root.to_str().unwrap_or_default();
        if mounts.contains(root) {
            eprintln!("not removing {root}: something is still mounted below it");
            return;
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// `readelf args path`, stdout.
fn readelf(args: &[&str], path: &Path) -> String {
    let readelf = common::require_tool("readelf");
    let out = Command::new(readelf)
        .args(args)
        .arg(path)
        .output()
        .expect("running readelf");
    assert!(out.status.success(), "readelf: {}", text(&out.stderr));
    text(&out.stdout)
}

/// No program interpreter, no shared library, stripped, for `machine`.
fn assert_self_contained(bin: &Path, machine: &str) {
    let header = readelf(&["-hW"], bin);
    assert!(
        header
            .lines()
            .any(|l| l.contains("Machine:") && l.contains(machine)),
        "{} is not for {machine}:\n{header}",
        bin.display()
    );
    let segments = readelf(&["-lW"], bin);
    assert!(
        !segments.contains("INTERP"),
        "{} asks for a program interpreter:\n{segments}",
        bin.display()
    );
    let dynamic = readelf(&["-dW"], bin);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "{} needs shared libraries:\n{dynamic}",
        bin.display()
    );
    let sections = readelf(&["-SW"], bin);
    assert!(
        !sections.contains(".symtab") && !sections.contains(".debug_"),
        "{} is not stripped:\n{sections}",
        bin.display()
    );
}

#[test]
fn has_no_interpreter_and_no_shared_library() {
    assert_self_contained(&static_binary(), "X86-64");
}

#[test]
fn stays_within_the_size_budget() {
    let bin = static_binary();
    let size = fs::metadata(&bin).expect("stat").len();
    assert!(
        size < SIZE_BUDGET,
        "{} is {size} bytes, over the budget of {SIZE_BUDGET}: see what grew with \
         `cargo build --profile release-syms --target x86_64-unknown-linux-musl` and \
         `nm -S --size-sort -C`",
        bin.display()
    );
}

#[test]
fn usage_and_version_in_an_empty_root() {
    let chroot = Chroot::with_binds(&[]);
    // Nothing but the binary: no /lib, /etc, /usr, /dev.
    let entries: Vec<_> = fs::read_dir(&chroot.root)
        .expect("listing the root")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, ["xdpcap"], "the root holds more than the binary");

    let help = chroot.ok(&["-h"]);
    assert!(help.starts_with("xdpcap: tcpdump for XDP"), "-h: {help}");
    assert!(help.contains("usage"), "-h: {help}");
    assert_eq!(
        chroot.ok(&["-V"]).trim(),
        format!("xdpcap {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(chroot.ok(&["-d", DDD_TCP]), D_TCP, "-d of raw cBPF");

    // A usage error is still one line and exit status 1.
    let out = chroot.run(&["-bogus"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("xdpcap: "));
}

#[test]
fn service_and_protocol_names_need_no_etc() {
    let chroot = Chroot::with_binds(&[]);
    assert!(!chroot.inside("/etc").exists());
    // With no /etc/services or /etc/protocols, the built-in tables give
    // the program that /etc gives on this machine (Debian's files), and
    // names give the programs their numbers give.
    for (named, numbered) in [
        ("port http", "tcp port 80"),
        (r"ip proto \tcp", "ip proto 6"),
        (
            "tcp dst port https or udp port domain",
            "tcp dst port 443 or udp port 53",
        ),
        (
            r"ip6 proto \udp or ip proto \icmp",
            "ip6 proto 17 or ip proto 1",
        ),
    ] {
        let inside = chroot.ok(&["-ddd", named]);
        let with_etc = native(&["-ddd", named]);
        assert!(with_etc.status.success(), "{}", text(&with_etc.stderr));
        assert_eq!(inside, text(&with_etc.stdout), "{named:?} without /etc");
        let by_number = native(&["-ddd", numbered]);
        assert_eq!(inside, text(&by_number.stdout), "{named:?} vs {numbered:?}");
    }
    // As in libpcap, `tcp` after `proto` is the keyword, not a name: a
    // syntax error pointing at it.
    let out = chroot.run(&["-ddd", "ip proto tcp"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("ip proto tcp\n") && err.contains("^^^"),
        "{err}"
    );
}

#[test]
fn hook_management_in_an_empty_root() {
    let chroot = Chroot::new();
    let pins = PinDir::new();
    let path = pins.path.join("hook");
    let path = path.to_str().expect("UTF-8 path");

    chroot.ok(&["-create-hook", path, "-entries", "5"]);
    // Made in the chroot, checked from outside with the library.
    let hook = xdpcap::hook::Hook::open(path)
        .unwrap_or_else(|e| panic!("the hook made in the chroot does not open: {e}"));
    assert_eq!(hook.max_entries(), 5);
    let want: String = xdpcap::hook::Action::ALL
        .iter()
        .map(|a| format!("{:<9} empty\n", a.name()))
        .collect();
    assert_eq!(chroot.ok(&["-list-hook", path]), want, "-list-hook");

    // Without the bpffs the error still names the pin, exit status 2.
    let bare = Chroot::with_binds(&[]);
    let out = bare.run(&["-list-hook", path]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(path), "{}", text(&out.stderr));
}

/// A fresh directory on the host's bpffs for pins; removed on drop.
struct PinDir {
    path: PathBuf,
}

impl PinDir {
    fn new() -> PinDir {
        common::require_root();
        let bpffs = Path::new("/sys/fs/bpf");
        assert!(
            xdpcap::sys::is_bpffs(bpffs).unwrap_or(false),
            "no bpffs at /sys/fs/bpf: run `mount -t bpf bpf /sys/fs/bpf` (make test does)"
        );
        let path = bpffs.join(common::unique_name("xdpcap_static"));
        fs::create_dir(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        PinDir { path }
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// `qemu-aarch64 dist/xdpcap-aarch64 args...`.
fn qemu_aarch64(args: &[&str]) -> Output {
    let qemu = common::require_tool("qemu-aarch64");
    Command::new(qemu)
        .arg(dist("xdpcap-aarch64", "make static-aarch64"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running qemu-aarch64")
}

/// `dist/xdpcap args...` on this machine.
fn native(args: &[&str]) -> Output {
    Command::new(static_binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running dist/xdpcap")
}

#[test]
fn aarch64_binary_is_self_contained_and_runs_under_qemu() {
    let bin = dist("xdpcap-aarch64", "make static-aarch64");
    assert_self_contained(&bin, "AArch64");

    let help = qemu_aarch64(&["-h"]);
    assert!(help.status.success(), "-h: {}", text(&help.stderr));
    assert_eq!(text(&help.stdout), text(&native(&["-h"]).stdout), "-h");

    let dump = qemu_aarch64(&["-d", DDD_TCP]);
    assert!(dump.status.success(), "-d: {}", text(&dump.stderr));
    assert_eq!(text(&dump.stdout), D_TCP, "-d of raw cBPF on aarch64");
    // The compiler, the optimiser, the eBPF backend and the disassembler
    // give the same answers on both machines.
    for args in [
        &["-dd", "tcp port 80 and ip[8] > 2"][..],
        &["-ddd", "udp or icmp6"],
        &[
            "-d-ebpf",
            "-actions",
            "drop",
            r"ip proto \tcp and tcp[13] & 2 != 0",
        ],
        &["-d-ebpf", "-actions", "pass", DDD_TCP],
    ] {
        let arm = qemu_aarch64(args);
        let x86 = native(args);
        assert!(arm.status.success(), "{args:?}: {}", text(&arm.stderr));
        assert!(x86.status.success(), "{args:?}: {}", text(&x86.stderr));
        assert_eq!(text(&arm.stdout), text(&x86.stdout), "{args:?} differs");
    }
}

/// The expression of the live run: built-in names only.
const NAMED_FILTER: &str = r"port http or ip proto \tcp";

/// The expression of the offline run, over a corpus with truncated packets.
const OFFLINE_FILTER: &str = r"port http or ip proto \udp";

#[test]
fn offline_run_in_an_empty_root_selects_what_tcpdump_selects() {
    let chroot = Chroot::new();
    let frames = corpus::ethernet_corpus();
    corpus::write_pcap(&chroot.inside("/in.pcap"), 1, &frames);
    chroot.ok(&["-q", "-r", "/in.pcap", "/out.pcapng", OFFLINE_FILTER]);

    let out = chroot.inside("/out.pcapng");
    let reader = pcap::Reader::open(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    // write_pcap stamps packet i with i microseconds.
    let mut kept = Vec::new();
    for packet in reader {
        let packet = packet.unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        let index = (packet.ts_ns / 1000) as usize;
        assert_eq!(
            packet.data, frames[index],
            "packet {index} was altered on its way through"
        );
        kept.push(index);
    }
    let want = oracle::tcpdump_select(&chroot.inside("/in.pcap"), OFFLINE_FILTER)
        .unwrap_or_else(|e| panic!("tcpdump rejects {OFFLINE_FILTER:?}: {e}"));
    assert!(
        !want.is_empty(),
        "the corpus has no packet for {OFFLINE_FILTER:?}"
    );
    if kept != want {
        let only = |a: &[usize], b: &[usize]| -> Vec<usize> {
            a.iter().filter(|i| !b.contains(i)).copied().collect()
        };
        let show = |which: &[usize]| -> String {
            let mut s = String::new();
            for &i in which.iter().take(5) {
                s.push_str(&format!(
                    "\n  #{i} ({} bytes): {:02x?}",
                    frames[i].len(),
                    frames[i]
                ));
            }
            s
        };
        panic!(
            "offline {OFFLINE_FILTER:?} in the chroot differs from tcpdump\n\
             kept by xdpcap only: {:?}{}\nkept by tcpdump only: {:?}{}",
            only(&kept, &want),
            show(&only(&kept, &want)),
            only(&want, &kept),
            show(&only(&want, &kept)),
        );
    }
}

#[test]
fn live_capture_in_an_empty_root() {
    let chroot = Chroot::new();
    let mut pair = NetPair::new();
    let hook = Hook::new();
    // The instrumented program, loaded and attached from outside with the
    // crate's own API; only the capture runs in the chroot.
    let prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    xdp::attach(&mut pair, Side::B, prog.as_fd());

    let connects = 3;
    let capture = chroot.xdpcap(&[
        "-q",
        "-actions",
        "pass",
        "-c",
        &connects.to_string(),
        hook.path_str(),
        "/live.pcapng",
        NAMED_FILTER,
    ]);
    let mut running = Running::start(capture, &hook, &[2]);
    // Passed, not matched: UDP to the PASS port, and pings.
    pair.udp(Side::A, false, xdp::action_port(2), 4, 32);
    assert!(pair.ping(Side::A, false, 2, 56), "ping A -> B failed");
    // Matched: one SYN per refused connection to B:80.
    for _ in 0..connects {
        assert!(!pair.tcp_connect(Side::A, 80), "nothing listens on B:80");
    }
    let done = running.wait();
    assert!(done.status.success(), "{}\n{}", done.status, done.stderr);
    assert_eq!(hook.slots(), vec![None; 5], "slots left filled");

    let packets = read_capture(chroot.inside("/live.pcapng").to_str().expect("UTF-8"));
    assert_eq!(packets.len(), connects, "{packets:?}");
    for p in &packets {
        assert_eq!(p.iface, "xdppass");
        let eth_type = u16::from_be_bytes([p.data[12], p.data[13]]);
        let proto = p.data[14 + 9];
        let dport = u16::from_be_bytes([p.data[14 + 20 + 2], p.data[14 + 20 + 3]]);
        assert_eq!(
            (eth_type, proto, dport),
            (0x0800, 6, 80),
            "not a TCP packet to port 80: {:02x?}",
            p.data
        );
    }
}
