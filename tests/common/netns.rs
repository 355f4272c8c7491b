//! Two network namespaces joined by a veth pair, for live tests.
//!
//! Side A (`198.18.0.1/24`, `fd00::1/64`) sends, side B (`198.18.0.2/24`,
//! `fd00::2/64`) receives; XDP programs are attached to B's end. Both ends
//! have fixed MAC addresses and permanent neighbour entries, so no ARP or
//! neighbour solicitation mixes with the test traffic. Traffic never leaves
//! the two namespaces. Dropping the guard deletes both namespaces (and so
//! the veth pair) and closes the XDP links, also when a test panics.

use std::os::fd::OwnedFd;
use std::process::{Command, Output, Stdio};

/// One end of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn peer(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    pub fn addr4(self) -> &'static str {
        match self {
            Side::A => "198.18.0.1",
            Side::B => "198.18.0.2",
        }
    }

    pub fn addr6(self) -> &'static str {
        match self {
            Side::A => "fd00::1",
            Side::B => "fd00::2",
        }
    }

    pub fn mac(self) -> &'static str {
        match self {
            Side::A => "02:00:c6:12:00:01",
            Side::B => "02:00:c6:12:00:02",
        }
    }
}

/// Name of the veth end inside either namespace.
pub const VETH: &str = "veth0";

/// The two namespaces and their veth pair; see the module doc.
pub struct NetPair {
    /// XDP links attached inside the namespaces; closed before the
    /// namespaces go away.
    links: Vec<OwnedFd>,
    pub ns_a: String,
    pub ns_b: String,
}

impl NetPair {
    /// A pair with the default MTU (1500).
    pub fn new() -> NetPair {
        NetPair::with_mtu(1500)
    }

    /// A pair whose veth ends have `mtu` (9000 gives multi-buffer frames to
    /// an `xdp.frags` program).
    pub fn with_mtu(mtu: u32) -> NetPair {
        super::require_root();
        super::require_tool("ip");
        let base = super::unique_name("xdpcap");
        let pair = NetPair {
            links: Vec::new(),
            ns_a: format!("{base}a"),
            ns_b: format!("{base}b"),
        };
        // From here on, Drop cleans up whatever was created.
        ip(&["netns", "add", &pair.ns_a]);
        ip(&["netns", "add", &pair.ns_b]);
        #[rustfmt::skip]
        ip(&[
            "-n", &pair.ns_a, "link", "add", VETH, "address", Side::A.mac(), "mtu", &mtu.to_string(),
            "type", "veth", "peer", "name", VETH, "address", Side::B.mac(), "mtu", &mtu.to_string(),
            "netns", &pair.ns_b,
        ]);
        for side in [Side::A, Side::B] {
            let ns = pair.ns(side);
            let peer = side.peer();
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", side.addr4()),
                "dev",
                VETH,
            ]);
            #[rustfmt::skip]
            ip(&["-n", ns, "addr", "add", &format!("{}/64", side.addr6()), "dev", VETH, "nodad"]);
            for addr in [peer.addr4(), peer.addr6()] {
                #[rustfmt::skip]
                ip(&["-n", ns, "neigh", "replace", addr, "lladdr", peer.mac(), "dev", VETH, "nud", "permanent"]);
            }
            ip(&["-n", ns, "link", "set", VETH, "up"]);
        }
        pair
    }

    /// The namespace name of `side`.
    pub fn ns(&self, side: Side) -> &str {
        match side {
            Side::A => &self.ns_a,
            Side::B => &self.ns_b,
        }
    }

    /// Path of `side`'s namespace, for `setns(2)`.
    pub fn ns_path(&self, side: Side) -> String {
        format!("/run/netns/{}", self.ns(side))
    }

    /// Keeps an XDP link (or any fd) open as long as the pair exists.
    pub fn keep(&mut self, fd: OwnedFd) {
        self.links.push(fd);
    }

    /// `prog args...` inside `side`'s namespace (`ip netns exec`).
    pub fn command(&self, side: Side, prog: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.ns(side), prog]);
        cmd
    }

    /// Runs `prog args...` inside `side`'s namespace and returns its output.
    pub fn exec(&self, side: Side, prog: &str, args: &[&str]) -> Output {
        self.command(side, prog)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {prog} in {}: {e}", self.ns(side)))
    }

    /// `count` ICMP echo requests of `size` payload bytes from `from` to its
    /// peer (IPv6 when `v6`); true when every one was answered.
    pub fn ping(&self, from: Side, v6: bool, count: u32, size: usize) -> bool {
        super::require_tool("ping");
        let to = if v6 {
            from.peer().addr6()
        } else {
            from.peer().addr4()
        };
        let out = self.exec(
            from,
            "ping",
            &[
                if v6 { "-6" } else { "-4" },
                "-n",
                "-q",
                "-c",
                &count.to_string(),
                "-i",
                "0.01",
                "-W",
                "1",
                "-s",
                &size.to_string(),
                to,
            ],
        );
        out.status.success()
    }

    /// `count` UDP datagrams of `len` bytes ('x') from `from` to its peer's
    /// port `port`, each from a fresh socket (bash's `/dev/udp`).
    pub fn udp(&self, from: Side, v6: bool, port: u16, count: u32, len: usize) {
        let to = if v6 {
            from.peer().addr6()
        } else {
            from.peer().addr4()
        };
        let payload = "x".repeat(len);
        let script =
            format!("for i in $(seq {count}); do printf %s {payload} >/dev/udp/{to}/{port}; done");
        let out = self.exec(from, "bash", &["-c", &script]);
        assert!(
            out.status.success(),
            "sending UDP from {}: {}",
            self.ns(from),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// One TCP connection attempt from `from` to its peer's `port` (bash's
    /// `/dev/tcp`); true when it was accepted. With nothing listening, the
    /// SYN is answered by a RST.
    pub fn tcp_connect(&self, from: Side, port: u16) -> bool {
        let to = from.peer().addr4();
        let script = format!("exec 3<>/dev/tcp/{to}/{port}");
        let out = self.exec(from, "timeout", &["2", "bash", "-c", &script]);
        out.status.success()
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        self.links.clear();
        for ns in [&self.ns_a, &self.ns_b] {
            // Deleting a namespace takes its veth end (and so the pair) along.
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Runs `ip args...`, panicking with its stderr when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip: {e}"));
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}
