//! Least privilege: a live capture runs as an unprivileged user (uid
//! 65534) holding only CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN plus
//! read-write access to the pinned hook; with one of them missing it fails
//! with exit status 2 and a message naming what is missing, and leaves the
//! hook slots empty. A perf ring larger than the kernel lets an unprivileged
//! user lock (`kernel.perf_event_mlock_kb` per CPU, then RLIMIT_MEMLOCK)
//! also needs CAP_IPC_LOCK, or a smaller `-buffer`.
//!
//! Capabilities are set with `setpriv` (util-linux): as ambient
//! capabilities of the new uid, with a bounding set of the same.
mod common;

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::capture::{read_capture_bytes, Running};
use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour, Hook};

/// The unprivileged user the captures run as (`nobody`).
const UID: u32 = 65534;

/// What a capture needs, as setpriv names them, with their numbers.
const NEEDED: [(&str, u32); 3] = [("bpf", 39), ("perfmon", 38), ("net_admin", 12)];

/// A ring small enough for the unprivileged locked-memory allowance
/// (kernel.perf_event_mlock_kb per CPU, then RLIMIT_MEMLOCK).
const SMALL_RING: &str = "262144";

/// Held while a copy of the binary is written and while a child is
/// spawned: a child forked while another thread writes a copy inherits
/// the writable fd until its exec, and executing that copy then fails
/// with ETXTBSY.
static SPAWN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A copy of the xdpcap binary in a directory every user can enter;
/// removed on drop.
struct Binary {
    dir: PathBuf,
    path: PathBuf,
}

impl Binary {
    fn new() -> Binary {
        use std::os::unix::fs::PermissionsExt;
        let _lock = spawn_lock();
        let dir = std::env::temp_dir().join(common::unique_name("xdpcap_caps"));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let bin = Binary {
            path: dir.join("xdpcap"),
            dir,
        };
        std::fs::copy(env!("CARGO_BIN_EXE_xdpcap"), &bin.path).expect("copying xdpcap");
        for (path, mode) in [(&bin.dir, 0o755), (&bin.path, 0o755)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        bin
    }

    /// `xdpcap args...` as uid/gid [`UID`] with exactly `caps` (setpriv
    /// names, e.g. `"bpf"`), stdin closed, stdout and stderr piped.
    fn as_user(&self, caps: &[&str], args: &[&str]) -> Command {
        self.as_user_limited(None, caps, args)
    }

    /// The same, with `RLIMIT_MEMLOCK` set to `memlock` bytes first
    /// (`prlimit`).
    fn as_user_limited(&self, memlock: Option<u64>, caps: &[&str], args: &[&str]) -> Command {
        common::require_root();
        let setpriv = common::require_tool("setpriv");
        let mut cmd = match memlock {
            Some(bytes) => {
                let mut cmd = Command::new(common::require_tool("prlimit"));
                cmd.arg(format!("--memlock={bytes}:{bytes}")).arg(setpriv);
                cmd
            }
            None => Command::new(setpriv),
        };
        let mut set = String::from("-all");
        for cap in caps {
            set.push_str(",+");
            set.push_str(cap);
        }
        cmd.args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
            &format!("--inh-caps={set}"),
            &format!("--ambient-caps={set}"),
            &format!("--bounding-set={set}"),
            "--",
        ])
        .arg(&self.path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Gives [`UID`] the pin (bpffs pins have an owner and a mode like files).
fn hand_over(hook: &Hook) {
    std::os::unix::fs::chown(&hook.path, Some(UID), Some(UID))
        .unwrap_or_else(|e| panic!("chown {}: {e}", hook.path.display()));
}

/// A field of /proc/PID/status (`Uid`, `CapEff`, ...).
fn status_field(pid: rustix::process::Pid, field: &str) -> String {
    let path = format!("/proc/{}/status", pid.as_raw_nonzero());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {path}"))
        .trim()
        .to_string()
}

fn mask(caps: &[(&str, u32)]) -> u64 {
    caps.iter().fold(0, |m, (_, bit)| m | 1u64 << bit)
}

fn names(caps: &[(&'static str, u32)]) -> Vec<&'static str> {
    caps.iter().map(|(name, _)| *name).collect()
}

#[test]
fn capture_runs_as_nobody_with_bpf_perfmon_net_admin_only() {
    let bin = Binary::new();
    let mut pair = NetPair::new();
    let hook = Hook::new();
    let prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    xdp::attach(&mut pair, Side::B, prog.as_fd());
    hand_over(&hook);

    let port = xdp::action_port(2);
    let filter = format!("udp dst port {port}");
    #[rustfmt::skip]
    let cmd = bin.as_user(&names(&NEEDED), &[
        "-actions", "pass", "-c", "3", "-buffer", SMALL_RING, hook.path_str(), "-", &filter,
    ]);
    let mut running = {
        let _lock = spawn_lock();
        Running::start(cmd, &hook, &[2])
    };
    // It really runs unprivileged, with these three capabilities and no
    // other.
    let pid = running.pid();
    let uids = status_field(pid, "Uid");
    assert!(
        uids.split_whitespace().all(|u| u == UID.to_string()),
        "Uid: {uids}"
    );
    let eff = u64::from_str_radix(&status_field(pid, "CapEff"), 16).expect("CapEff hex");
    assert_eq!(eff, mask(&NEEDED), "effective capabilities {eff:#x}");

    pair.udp(Side::A, false, xdp::action_port(1), 2, 16); // dropped: not captured
    pair.udp(Side::A, false, port, 3, 16);
    let done = running.wait();
    assert!(done.status.success(), "{}\n{}", done.status, done.stderr);
    assert_eq!(hook.slots(), vec![None; 5], "slots left filled");
    let packets = read_capture_bytes(&done.stdout);
    assert_eq!(packets.len(), 3, "{packets:?}");
    for p in &packets {
        assert_eq!(p.iface, "xdppass");
        assert_eq!(common::capture::udp_dport(&p.data), Some(port));
    }
}

/// Runs a capture that must fail: exit status 2, nothing left in the
/// slots; its stderr.
fn failing_capture(bin: &Binary, hook: &Hook, caps: &[&str], extra: &[&str]) -> String {
    let mut args = extra.to_vec();
    args.extend([hook.path_str(), "-", "udp"]);
    let mut cmd = bin.as_user(caps, &args);
    let child = {
        let _lock = spawn_lock();
        cmd.spawn().expect("running setpriv xdpcap")
    };
    let out = child.wait_with_output().expect("waiting for xdpcap");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "caps {caps:?}: {err}");
    assert!(err.starts_with("xdpcap: "), "caps {caps:?}: {err}");
    assert_eq!(hook.slots(), vec![None; 5], "caps {caps:?}: slots filled");
    err
}

/// The capabilities an error reports missing: the list after "missing "
/// up to " (".
fn reported_missing(err: &str) -> Vec<String> {
    let Some(at) = err.find("missing CAP_") else {
        return Vec::new();
    };
    let rest = &err[at + "missing ".len()..];
    let end = rest.find(" (").unwrap_or(rest.len());
    rest[..end].split(", ").map(str::to_string).collect()
}

#[test]
fn each_missing_capability_is_named() {
    let bin = Binary::new();
    let hook = Hook::new();
    hand_over(&hook);
    for (missing, _) in NEEDED {
        let others: Vec<&str> = names(&NEEDED)
            .into_iter()
            .filter(|c| *c != missing)
            .collect();
        let err = failing_capture(&bin, &hook, &others, &["-buffer", SMALL_RING]);
        let cap = format!("CAP_{}", missing.to_uppercase());
        assert!(err.contains(&cap), "without {cap}: {err}");
        if missing == "perfmon" {
            // perf_event_open refuses, and only CAP_PERFMON opens it.
            assert!(err.contains("perf_event_open"), "without {cap}: {err}");
        } else {
            assert_eq!(
                reported_missing(&err),
                vec![cap.clone()],
                "without {cap}: {err}"
            );
        }
    }
    let err = failing_capture(&bin, &hook, &[], &[]);
    assert!(err.contains("CAP_BPF"), "without capabilities: {err}");
}

#[test]
fn a_pin_the_user_cannot_open_is_named() {
    let bin = Binary::new();
    let hook = Hook::new(); // root's, mode 0600
    let err = failing_capture(&bin, &hook, &names(&NEEDED), &["-buffer", SMALL_RING]);
    assert!(err.contains(hook.path_str()), "{err}");
    assert!(err.contains("chown or chmod"), "{err}");
    assert!(reported_missing(&err).is_empty(), "{err}");
}

#[test]
fn a_ring_over_the_memlock_allowance_needs_cap_ipc_lock() {
    let bin = Binary::new();
    let hook = Hook::new();
    hand_over(&hook);
    // 64 MiB per CPU is over any unprivileged allowance under an 8 MiB
    // RLIMIT_MEMLOCK (set here with prlimit, so the result does not depend
    // on the machine's limits).
    let mut cmd = bin.as_user_limited(
        Some(8 << 20),
        &names(&NEEDED),
        &["-buffer", "67108864", hook.path_str(), "-", "udp"],
    );
    let child = {
        let _lock = spawn_lock();
        cmd.spawn().expect("running prlimit setpriv xdpcap")
    };
    let out = child.wait_with_output().expect("waiting for xdpcap");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("CAP_IPC_LOCK") && err.contains("-buffer"),
        "{err}"
    );
    assert_eq!(hook.slots(), vec![None; 5], "slots filled");

    // The default ring with CAP_IPC_LOCK added: the capture attaches.
    let mut caps = names(&NEEDED);
    caps.push("ipc_lock");
    let cmd = bin.as_user(&caps, &[hook.path_str(), "-", "udp"]);
    let running = {
        let _lock = spawn_lock();
        Running::start(cmd, &hook, &[0, 1, 2, 3, 4])
    };
    let done = running.stop(rustix::process::Signal::INT);
    assert!(done.status.success(), "{}\n{}", done.status, done.stderr);
    assert_eq!(hook.slots(), vec![None; 5], "slots left filled");
}
