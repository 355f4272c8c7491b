//! The demo behind `sudo make demo` (run through scripts/demo.sh, which
//! also cleans up after Ctrl-C): two network namespaces joined by a veth
//! pair, a small instrumented XDP program assembled with xdpcap's own eBPF
//! assembler (it drops UDP to port 9 and passes everything else, both
//! through a hook), live captures with the xdpcap binary while pings and
//! UDP cross the pair, and what was captured, through tcpdump when it is
//! installed, else through xdpcap's own `-print`.
//!
//! Usage: `demo <xdpcap binary> <unique name>`; the name prefixes the
//! namespaces (`<name>a`, `<name>b`) and the bpffs directory
//! (`/sys/fs/bpf/<name>`), so the script can remove them whatever happens.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use xdpcap::asm::{self, Asm, Insn, Reg::*};
use xdpcap::hook::{Action, Hook};
use xdpcap::sys::bpf;

const ADDR_A: &str = "198.18.0.1";
const ADDR_B: &str = "198.18.0.2";
const MAC_A: &str = "02:00:c6:12:00:01";
const MAC_B: &str = "02:00:c6:12:00:02";
const VETH: &str = "veth0";
/// UDP to this port (discard) is dropped by the demo program.
const DROP_PORT: u16 = 9;
/// UDP to this port is passed (a port tcpdump decodes as nothing special).
const PASS_PORT: u16 = 12345;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [xdpcap, name] = args.as_slice() else {
        eprintln!("usage: demo <xdpcap binary> <unique name>");
        return ExitCode::from(1);
    };
    match run(Path::new(xdpcap), name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::from(2)
        }
    }
}

type Result<T> = std::result::Result<T, String>;

/// Everything the demo created; removed on drop (the script removes the
/// same names again if the demo is killed).
struct Setup {
    ns_a: String,
    ns_b: String,
    pin_dir: PathBuf,
    files: Vec<PathBuf>,
    link: Option<OwnedFd>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.link = None;
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.pin_dir);
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

fn run(xdpcap: &Path, name: &str) -> Result<()> {
    if !rustix::process::geteuid().is_root() {
        return Err("needs root: run `sudo make demo`".into());
    }
    let mut setup = Setup {
        ns_a: format!("{name}a"),
        ns_b: format!("{name}b"),
        pin_dir: Path::new("/sys/fs/bpf").join(name),
        files: Vec::new(),
        link: None,
    };
    step(&format!(
        "namespaces {} ({ADDR_A}) and {} ({ADDR_B}) joined by a veth pair",
        setup.ns_a, setup.ns_b
    ));
    make_pair(&setup.ns_a, &setup.ns_b)?;

    let hook_path = setup.pin_dir.join("hook");
    std::fs::create_dir(&setup.pin_dir)
        .map_err(|e| format!("creating {}: {e}", setup.pin_dir.display()))?;
    let hook = Hook::create(5).map_err(|e| e.to_string())?;
    hook.pin(&hook_path).map_err(|e| e.to_string())?;
    step(&format!("hook pinned at {}", hook_path.display()));

    let prog = load_demo_program(&hook)?;
    setup.link = Some(attach(&setup.ns_b, prog.as_fd())?);
    step(&format!(
        "XDP program on {VETH} in {}: UDP to port {DROP_PORT} -> DROP, the rest -> PASS, both through the hook",
        setup.ns_b
    ));

    let tcpdump = find_tool("tcpdump");
    let out_file = std::env::temp_dir().join(format!("{name}.pcapng"));
    setup.files.push(out_file.clone());

    // 1. Everything, into a pcapng file, statistics on stderr.
    let file_arg = out_file.to_str().ok_or("temporary path is not UTF-8")?;
    let hook_arg = hook_path.to_str().ok_or("pin path is not UTF-8")?;
    banner(&format!("xdpcap {hook_arg} {file_arg}"));
    let child = Command::new(xdpcap)
        .args([hook_arg, file_arg])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", xdpcap.display()))?;
    run_capture(child, &hook, Action::Pass, None, || traffic(&setup))?;
    match &tcpdump {
        Some(tcpdump) => {
            banner(&format!("tcpdump -n -r {file_arg}"));
            let status = Command::new(tcpdump)
                .args(["-n", "-r", file_arg])
                .status()
                .map_err(|e| format!("running tcpdump: {e}"))?;
            if !status.success() {
                return Err(format!("tcpdump -r {file_arg} failed: {status}"));
            }
        }
        None => println!("(tcpdump is not installed: the second capture uses -print)"),
    }

    // 2. Only what the program drops, straight into tcpdump (or -print).
    match &tcpdump {
        Some(tcpdump) => {
            banner(&format!(
                "xdpcap -actions drop {hook_arg} - \"udp\" | tcpdump -n -r -"
            ));
            let mut capture = Command::new(xdpcap)
                .args(["-actions", "drop", hook_arg, "-", "udp"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("starting {}: {e}", xdpcap.display()))?;
            let reader = Command::new(tcpdump)
                .args(["-n", "-r", "-"])
                .stdin(capture.stdout.take_or_err()?)
                .spawn()
                .map_err(|e| format!("starting tcpdump: {e}"))?;
            run_capture(capture, &hook, Action::Drop, Some(reader), || {
                udp(&setup, DROP_PORT, 3)
            })?
        }
        None => {
            banner(&format!("xdpcap -print -actions drop {hook_arg} udp"));
            let capture = Command::new(xdpcap)
                .args(["-print", "-actions", "drop", hook_arg, "udp"])
                .stdin(Stdio::null())
                .spawn()
                .map_err(|e| format!("starting {}: {e}", xdpcap.display()))?;
            run_capture(capture, &hook, Action::Drop, None, || {
                udp(&setup, DROP_PORT, 3)
            })?
        }
    }
    step("done; removing the namespaces, the hook and the capture file");
    Ok(())
}

/// Waits until the capture filled `action`'s slot, runs `traffic`, gives
/// the capture half a second, stops it with SIGINT like Ctrl-C would, and
/// waits for it (and for `reader`, which sees the end of its input).
fn run_capture(
    mut child: Child,
    hook: &Hook,
    action: Action,
    reader: Option<Child>,
    traffic: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("xdpcap stopped before capturing: {status}"));
        }
        if hook.slot_id(action).map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("xdpcap did not fill slot {action} within 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = traffic();
    std::thread::sleep(Duration::from_millis(500));
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT)
        .map_err(|e| format!("stopping xdpcap: {e}"))?;
    let status = child.wait().map_err(|e| e.to_string())?;
    if let Some(mut reader) = reader {
        reader.wait().map_err(|e| e.to_string())?;
    }
    sent?;
    if !status.success() {
        return Err(format!("xdpcap exited with {status}"));
    }
    if hook.slot_id(action).map_err(|e| e.to_string())?.is_some() {
        return Err(format!("xdpcap left slot {action} filled"));
    }
    Ok(())
}

trait TakeOrErr {
    fn take_or_err(&mut self) -> Result<Stdio>;
}

impl TakeOrErr for Option<std::process::ChildStdout> {
    fn take_or_err(&mut self) -> Result<Stdio> {
        self.take()
            .map(Stdio::from)
            .ok_or_else(|| "no pipe from xdpcap".to_string())
    }
}

fn traffic(setup: &Setup) -> Result<()> {
    step(&format!(
        "ping -c 4 {ADDR_B}; UDP to ports {DROP_PORT} and {PASS_PORT}"
    ));
    let ping = Command::new("ip")
        .args(["netns", "exec", &setup.ns_a, "ping", "-n", "-q"])
        .args(["-c", "4", "-i", "0.25", "-W", "1", ADDR_B])
        .stdout(Stdio::null())
        .status();
    match ping {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(format!("ping {ADDR_B} failed: {s}")),
        Err(e) => return Err(format!("ping is not installed ({e}): run `make deps`")),
    }
    udp(setup, DROP_PORT, 3)?;
    udp(setup, PASS_PORT, 2)
}

/// `count` UDP datagrams from A to B's `port` (bash's /dev/udp).
fn udp(setup: &Setup, port: u16, count: u32) -> Result<()> {
    let script = format!(
        "for i in $(seq {count}); do printf 'hello xdpcap' >/dev/udp/{ADDR_B}/{port}; done"
    );
    let status = Command::new("ip")
        .args(["netns", "exec", &setup.ns_a, "bash", "-c", &script])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("sending UDP to port {port}: {status}"))
    }
}

fn make_pair(ns_a: &str, ns_b: &str) -> Result<()> {
    ip(&["netns", "add", ns_a])?;
    ip(&["netns", "add", ns_b])?;
    ip(&[
        "-n", ns_a, "link", "add", VETH, "address", MAC_A, "type", "veth", "peer", "name", VETH,
        "address", MAC_B, "netns", ns_b,
    ])?;
    for (ns, addr, peer, peer_mac) in [(ns_a, ADDR_A, ADDR_B, MAC_B), (ns_b, ADDR_B, ADDR_A, MAC_A)]
    {
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", VETH])?;
        ip(&[
            "-n",
            ns,
            "neigh",
            "replace",
            peer,
            "lladdr",
            peer_mac,
            "dev",
            VETH,
            "nud",
            "permanent",
        ])?;
        ip(&["-n", ns, "link", "set", VETH, "up"])?;
    }
    Ok(())
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip (is iproute2 installed?): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The demo program: `xdpcap_exit(ctx, &hook, XDP_DROP)` for IPv4 UDP to
/// port 9, `xdpcap_exit(ctx, &hook, XDP_PASS)` for everything else. Loaded
/// with `expected_attach_type` `BPF_XDP`, as libbpf loads `SEC("xdp")`.
fn load_demo_program(hook: &Hook) -> Result<OwnedFd> {
    let mut a = Asm::new();
    let pass = a.label();
    let drop = a.label();
    a.push(Insn::mov64_reg(R6, R1));
    a.push(Insn::ldx_mem(asm::BPF_W, R2, R6, 0)); // ctx->data
    a.push(Insn::ldx_mem(asm::BPF_W, R3, R6, 4)); // ctx->data_end
    a.push(Insn::mov64_reg(R4, R2));
    a.push(Insn::alu64_imm(asm::BPF_ADD, R4, 14 + 20 + 8));
    a.jmp_reg(asm::BPF_JGT, R4, R3, pass);
    a.push(Insn::ldx_mem(asm::BPF_H, R5, R2, 12)); // EtherType
    a.push(Insn::endian(true, R5, 16));
    a.jmp_imm(asm::BPF_JNE, R5, 0x0800, pass);
    a.push(Insn::ldx_mem(asm::BPF_B, R5, R2, 14)); // version + IHL
    a.jmp_imm(asm::BPF_JNE, R5, 0x45, pass);
    a.push(Insn::ldx_mem(asm::BPF_B, R5, R2, 14 + 9)); // protocol
    a.jmp_imm(asm::BPF_JNE, R5, 17, pass);
    a.push(Insn::ldx_mem(asm::BPF_H, R5, R2, 14 + 20 + 2)); // UDP dport
    a.push(Insn::endian(true, R5, 16));
    a.jmp_imm(asm::BPF_JEQ, R5, i32::from(DROP_PORT), drop);
    for (label, action) in [(pass, Action::Pass), (drop, Action::Drop)] {
        a.bind(label);
        a.push(Insn::mov64_reg(R1, R6));
        a.push_all(&Insn::ld_map_fd(R2, hook.as_fd().as_raw_fd()));
        a.push(Insn::mov64_imm(R3, action.index() as i32));
        a.push(Insn::call(asm::BPF_FUNC_tail_call));
        a.push(Insn::mov64_imm(R0, action.index() as i32));
        a.push(Insn::exit());
    }
    let insns = a.finish().map_err(|e| e.to_string())?;
    let bytes = asm::to_bytes(&insns);
    let loaded = bpf::prog_load(&bpf::ProgLoad {
        prog_type: bpf::BPF_PROG_TYPE_XDP,
        expected_attach_type: bpf::BPF_XDP,
        prog_flags: 0,
        name: "demo",
        license: "GPL",
        insns: &bytes,
        log_level: 0,
        log_size: 0,
    })
    .map_err(|e| e.to_string())?;
    Ok(loaded.fd)
}

/// Attaches `prog` to the veth end in `ns` with `BPF_LINK_CREATE`, from a
/// thread that enters the namespace; the link lives as long as its fd.
fn attach(ns: &str, prog: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd> {
    use xdpcap::sys::netns;
    let ns_path = PathBuf::from(format!("/run/netns/{ns}"));
    let prog = prog.try_clone_to_owned().map_err(|e| e.to_string())?;
    std::thread::spawn(move || -> Result<OwnedFd> {
        netns::setns_path(&ns_path).map_err(|e| e.to_string())?;
        let ifindex = netns::if_nametoindex(VETH).map_err(|e| e.to_string())?;
        bpf::link_create_xdp(prog.as_fd(), ifindex, 0).map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the attaching thread panicked".to_string())?
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn step(text: &str) {
    println!("== {text}");
}

fn banner(cmd: &str) {
    println!();
    println!("$ {cmd}");
}
