//! The capabilities a capture needs, as on an appliance where xdpcap does
//! not run as full root: CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, plus
//! access to the pinned hook. With exactly those (as root with a reduced
//! bounding set, and as an ordinary user with ambient capabilities) a live
//! capture works; without one of them the error names the missing one.
mod common;

use std::os::fd::AsFd;
use std::os::unix::fs::chown;
use std::process::{Command, Stdio};

use common::capture::{read_capture, xdpcap_bin, Running, Scratch};
use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour, Hook};
use rustix::process::Signal;

const NEEDED: [&str; 3] = ["bpf", "perfmon", "net_admin"];
/// An unprivileged uid/gid for the ambient-capability run.
const NOBODY: u32 = 65534;

/// `setpriv` running xdpcap as root with only `caps` in the bounding set
/// (so only those are permitted and effective).
fn as_root_with(caps: &[&str], args: &[&str]) -> Command {
    let setpriv = common::require_tool("setpriv");
    let set: String = caps.iter().map(|c| format!(",+{c}")).collect();
    let mut cmd = Command::new(setpriv);
    cmd.arg(format!("--bounding-set=-all{set}"))
        .arg("--inh-caps=-all")
        .arg("--")
        .arg(xdpcap_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `setpriv` running xdpcap as uid/gid 65534 with `caps` as ambient
/// capabilities.
fn as_nobody_with(caps: &[&str], args: &[&str]) -> Command {
    let setpriv = common::require_tool("setpriv");
    let set: String = caps.iter().map(|c| format!(",+{c}")).collect();
    let mut cmd = Command::new(setpriv);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(format!("--inh-caps=-all{set}"))
        .arg(format!("--ambient-caps=-all{set}"))
        .arg("--")
        .arg(xdpcap_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

struct Live {
    pair: NetPair,
    hook: Hook,
    _prog: std::os::fd::OwnedFd,
}

fn live() -> Live {
    let mut pair = NetPair::new();
    let hook = Hook::new();
    let prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    xdp::attach(&mut pair, Side::B, prog.as_fd());
    Live {
        pair,
        hook,
        _prog: prog,
    }
}

/// A ring small enough for the locked-memory allowance of a process
/// without CAP_IPC_LOCK (`perf_event_mlock_kb`, 516 KiB per user): 64 KiB
/// per CPU.
const SMALL_RING: &str = "65536";

fn capture_with(live: &Live, cmd: impl Fn(&[&str]) -> Command, extra: &[&str], out: &str) {
    let mut args = vec!["-q"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[live.hook.path_str(), out]);
    let cap = Running::start(cmd(&args), &live.hook, &[0, 1, 2, 3, 4]);
    live.pair.udp(Side::A, false, xdp::action_port(1), 2, 8);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let done = cap.stop(Signal::INT);
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(live.hook.slots(), vec![None; 5]);
    let drops = read_capture(out)
        .iter()
        .filter(|p| p.iface == "xdpdrop")
        .count();
    assert_eq!(drops, 2);
}

#[test]
fn root_with_only_the_three_capabilities() {
    let live = live();
    let dir = Scratch::new();
    capture_with(
        &live,
        |a| as_root_with(&NEEDED, a),
        &["-buffer", SMALL_RING],
        &dir.file("root.pcapng"),
    );
}

#[test]
fn ordinary_user_with_ambient_capabilities_and_access_to_the_pin() {
    let live = live();
    let dir = Scratch::new();
    // Access to the pinned hook and to the output directory.
    chown(&live.hook.dir, Some(NOBODY), Some(NOBODY)).unwrap();
    chown(&live.hook.path, Some(NOBODY), Some(NOBODY)).unwrap();
    chown(&dir.0, Some(NOBODY), Some(NOBODY)).unwrap();
    capture_with(
        &live,
        |a| as_nobody_with(&NEEDED, a),
        &["-buffer", SMALL_RING],
        &dir.file("nobody.pcapng"),
    );
}

/// The default ring (several MiB per CPU) is more locked memory than
/// `perf_event_mlock_kb` allows: it takes CAP_IPC_LOCK as well.
#[test]
fn default_rings_with_cap_ipc_lock() {
    let live = live();
    let dir = Scratch::new();
    let caps = [NEEDED.as_slice(), &["ipc_lock"]].concat();
    capture_with(
        &live,
        |a| as_root_with(&caps, a),
        &[],
        &dir.file("ipc.pcapng"),
    );
}

#[test]
fn a_missing_capability_is_named() {
    let live = live();
    let dir = Scratch::new();
    for missing in NEEDED {
        let caps: Vec<&str> = NEEDED.into_iter().filter(|c| *c != missing).collect();
        let args = [
            "-q",
            "-buffer",
            SMALL_RING,
            live.hook.path_str(),
            &dir.file("x.pcapng"),
        ];
        let out = as_root_with(&caps, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "without {missing}: {out:?}");
        let msg = String::from_utf8_lossy(&out.stderr);
        let name = format!("CAP_{}", missing.to_uppercase());
        assert!(msg.contains(&name), "without {name} the error says: {msg}");
        assert_eq!(live.hook.slots(), vec![None; 5], "without {name}");
    }
}
