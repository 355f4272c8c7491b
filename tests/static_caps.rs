//! Capabilities, not uid 0: root whose bounding set holds only CAP_BPF,
//! CAP_PERFMON and CAP_NET_ADMIN (no CAP_SYS_ADMIN, no CAP_DAC_OVERRIDE)
//! captures live. tests/caps.rs covers the unprivileged user with ambient
//! capabilities and the messages naming a missing capability.
mod common;

use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use common::capture::{read_capture, xdpcap_bin, Running, Scratch};
use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour, Hook};
use rustix::process::Signal;

const NEEDED: [&str; 3] = ["bpf", "perfmon", "net_admin"];

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
