//! Running the `xdpcap` binary in live tests: start a capture, wait until
//! it filled its hook slots, stop it with a signal, read what it wrote.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::xdp::Hook;

/// The `xdpcap` binary of this build.
pub fn xdpcap_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xdpcap"))
}

/// `xdpcap args...` with stdin closed and stdout/stderr captured.
pub fn xdpcap(args: &[&str]) -> Command {
    let mut cmd = Command::new(xdpcap_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// What a finished capture left.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// A running capture; killed (SIGKILL) if dropped before it was stopped.
pub struct Running {
    pub child: Option<Child>,
}

impl Running {
    /// Spawns `cmd` and waits (up to 10 s) until every slot in `slots` of
    /// `hook` holds a program other than the one it held before (a
    /// leftover of a killed capture, say); panics with xdpcap's stderr when
    /// it exits first.
    pub fn start(mut cmd: Command, hook: &Hook, slots: &[u32]) -> Running {
        let before: Vec<_> = slots.iter().map(|&s| hook.slot(s)).collect();
        let child = cmd.spawn().expect("starting xdpcap");
        let mut running = Running { child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let child = running.child.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("xdpcap exited before filling slots {slots:?}: {status}\n{err}");
            }
            let filled = |(&s, old): (&u32, &Option<u32>)| {
                let now = hook.slot(s);
                now.is_some() && now != *old
            };
            if slots.iter().zip(&before).all(filled) {
                return running;
            }
            assert!(
                Instant::now() < deadline,
                "xdpcap did not fill slots {slots:?} of {} within 10 s: {:?}",
                hook.path.display(),
                hook.slots()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> rustix::process::Pid {
        rustix::process::Pid::from_child(self.child.as_ref().unwrap())
    }

    /// Sends `signal` and waits for the exit (up to 10 s).
    pub fn stop(mut self, signal: rustix::process::Signal) -> Finished {
        rustix::process::kill_process(self.pid(), signal).expect("signalling xdpcap");
        self.wait()
    }

    /// Waits (up to 10 s) for the capture to exit by itself.
    pub fn wait(&mut self) -> Finished {
        let mut child = self.child.take().expect("not waited for yet");
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "xdpcap did not exit within 10 s; stderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        Finished {
            status: out.status,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A scratch directory under the test target dir; removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(super::unique_name("scratch"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One packet read back from a capture file.
#[derive(Clone, Debug)]
pub struct Captured {
    /// `if_name` of the packet's interface (pcapng), "" for classic pcap.
    pub iface: String,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Every packet of a pcap or pcapng file, read with xdpcap's own reader,
/// with its interface's name from the Interface Description Blocks.
pub fn read_capture(path: &str) -> Vec<Captured> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    read_capture_bytes(&bytes)
}

pub fn read_capture_bytes(bytes: &[u8]) -> Vec<Captured> {
    let names = pcapng_interface_names(bytes);
    let mut reader = xdpcap::pcap::Reader::new(bytes).expect("a pcap or pcapng file");
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet().expect("a well-formed capture") {
        out.push(Captured {
            iface: names.get(p.iface as usize).cloned().unwrap_or_default(),
            orig_len: p.orig_len,
            data: p.data,
        });
    }
    out
}

/// pcapng block types and option codes used below (pcapng spec).
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const ISB: u32 = 5;
const IF_NAME: u16 = 2;
const ISB_IFRECV: u16 = 4;
const ISB_IFDROP: u16 = 5;

/// Blocks of a little-endian pcapng file (the byte order xdpcap writes on
/// this machine): (type, body).
fn pcapng_blocks(bytes: &[u8]) -> Vec<(u32, &[u8])> {
    let mut blocks = Vec::new();
    if bytes.len() < 4 || u32::from_le_bytes(bytes[0..4].try_into().unwrap()) != SHB {
        return blocks;
    }
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let btype = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        assert!(
            len >= 12 && at + len <= bytes.len(),
            "bad pcapng block at {at}"
        );
        blocks.push((btype, &bytes[at + 8..at + len - 4]));
        at += len;
    }
    blocks
}

/// (code, value) of the options in `opts`.
fn options(mut opts: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while opts.len() >= 4 {
        let code = u16::from_le_bytes([opts[0], opts[1]]);
        let len = u16::from_le_bytes([opts[2], opts[3]]) as usize;
        if code == 0 || 4 + len > opts.len() {
            break;
        }
        out.push((code, &opts[4..4 + len]));
        opts = &opts[(4 + len.div_ceil(4) * 4).min(opts.len())..];
    }
    out
}

/// `if_name` of each interface, in order; empty for classic pcap.
pub fn pcapng_interface_names(bytes: &[u8]) -> Vec<String> {
    pcapng_blocks(bytes)
        .into_iter()
        .filter(|(t, _)| *t == IDB)
        .map(|(_, body)| {
            options(&body[8..])
                .into_iter()
                .find(|(c, _)| *c == IF_NAME)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Interface Statistics Blocks: (interface id, isb_ifrecv, isb_ifdrop).
pub fn pcapng_statistics(bytes: &[u8]) -> Vec<(u32, Option<u64>, Option<u64>)> {
    pcapng_blocks(bytes)
        .into_iter()
        .filter(|(t, _)| *t == ISB)
        .map(|(_, body)| {
            let id = u32::from_le_bytes(body[0..4].try_into().unwrap());
            let opts = options(&body[12..]);
            let get = |code| {
                opts.iter()
                    .find(|(c, _)| *c == code)
                    .map(|(_, v)| u64::from_le_bytes(v[..8].try_into().unwrap()))
            };
            (id, get(ISB_IFRECV), get(ISB_IFDROP))
        })
        .collect()
}

/// UDP destination port of an Ethernet/IPv4 frame (no IP options).
pub fn udp_dport(frame: &[u8]) -> Option<u16> {
    (frame.len() >= 38 && frame[12..14] == [8, 0] && frame[23] == 17)
        .then(|| u16::from_be_bytes([frame[36], frame[37]]))
}

/// `tcpdump -n -r path` (or stdin when path is "-"): its output lines.
pub fn tcpdump_lines(path: &str) -> Vec<String> {
    let tcpdump = super::require_tool("tcpdump");
    let out = Command::new(tcpdump)
        .args(["-n", "-r", path])
        .output()
        .expect("running tcpdump");
    assert!(
        out.status.success(),
        "tcpdump -r {path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// pcapng options as (code, value).
pub type Options = Vec<(u16, Vec<u8>)>;

/// Enhanced Packet Blocks: (interface id, timestamp in the file's units,
/// options).
pub fn pcapng_packets(bytes: &[u8]) -> Vec<(u32, u64, Options)> {
    pcapng_blocks(bytes)
        .into_iter()
        .filter(|(t, _)| *t == 6)
        .map(|(_, body)| {
            let word = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap());
            let ts = (u64::from(word(4)) << 32) | u64::from(word(8));
            let caplen = word(12) as usize;
            let opts = options(&body[20 + caplen.div_ceil(4) * 4..])
                .into_iter()
                .map(|(c, v)| (c, v.to_vec()))
                .collect();
            (word(0), ts, opts)
        })
        .collect()
}

/// Options of each Interface Description Block, as (code, value).
pub fn pcapng_interface_options(bytes: &[u8]) -> Vec<Options> {
    pcapng_blocks(bytes)
        .into_iter()
        .filter(|(t, _)| *t == IDB)
        .map(|(_, body)| {
            options(&body[8..])
                .into_iter()
                .map(|(c, v)| (c, v.to_vec()))
                .collect()
        })
        .collect()
}
