//! End to end: the `xdpcap` binary capturing live traffic of an
//! instrumented XDP program on a veth pair in namespaces this test creates.
//! UDP to port 5000 + n gets action n (see tests/common/xdp.rs), so every
//! action can be produced on purpose. Root only; a missing tool fails.
mod common;

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;

use common::capture::{self, read_capture, xdpcap, Running, Scratch};
use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour, Hook};
use rustix::process::Signal;

const ACTION_NAMES: [&str; 5] = ["aborted", "drop", "pass", "tx", "redirect"];
const DROP: u32 = 1;
const PASS: u32 = 2;
const TX: u32 = 3;

/// A namespace pair with the instrumented program attached to B's end.
struct Live {
    pair: NetPair,
    hook: Hook,
    _prog: OwnedFd,
}

impl Live {
    fn new(flavour: Flavour) -> Live {
        let mut pair = NetPair::new();
        let hook = Hook::new();
        let prog = xdp::instrumented(&hook, flavour);
        xdp::attach(&mut pair, Side::B, prog.as_fd());
        Live {
            pair,
            hook,
            _prog: prog,
        }
    }

    /// `count` UDP datagrams from A that get `action`.
    fn send(&self, action: u32, count: u32) {
        self.pair
            .udp(Side::A, false, xdp::action_port(action), count, 16);
    }

    /// Starts `xdpcap -q FLAGS -actions drop HOOK OUT` and waits until it
    /// holds the DROP slot.
    fn capture_drops(&self, flags: &[&str], out: &str) -> Running {
        let mut args = vec!["-q"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["-actions", "drop", self.hook.path_str(), out]);
        Running::start(xdpcap(&args), &self.hook, &[DROP])
    }

    /// Runs `xdpcap args` until it filled `slots`, then `traffic`; gives
    /// it 300 ms to write, stops it with `signal`, and checks that it
    /// exited 0 and emptied every slot.
    fn capture(
        &self,
        args: &[&str],
        slots: &[u32],
        signal: Signal,
        traffic: impl FnOnce(),
    ) -> capture::Finished {
        let cap = Running::start(xdpcap(args), &self.hook, slots);
        traffic();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let done = cap.stop(signal);
        assert_clean_exit(&done);
        self.assert_empty();
        done
    }

    fn assert_empty(&self) {
        assert_eq!(
            self.hook.slots(),
            vec![None; 5],
            "slots left filled in {}",
            self.hook.path.display()
        );
    }
}

fn assert_clean_exit(f: &capture::Finished) {
    assert!(
        f.status.success(),
        "xdpcap exited with {}:\n{}",
        f.status,
        f.stderr
    );
}

#[test]
fn every_action_on_its_own_interface() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("all.pcapng");
    live.capture(
        &["-q", live.hook.path_str(), &out],
        &[0, 1, 2, 3, 4],
        Signal::INT,
        || {
            for action in 0..5 {
                live.send(action, 2);
            }
        },
    );

    let bytes = std::fs::read(&out).unwrap();
    let names = capture::pcapng_interface_names(&bytes);
    let expected: Vec<String> = ACTION_NAMES.iter().map(|a| format!("xdp{a}")).collect();
    assert_eq!(names, expected, "one interface per action, in slot order");
    let packets = read_capture(&out);
    let udp_to = |iface: &str, action: u32| {
        packets
            .iter()
            .filter(|p| p.iface == iface)
            .filter(|p| capture::udp_dport(&p.data) == Some(xdp::action_port(action)))
            .count()
    };
    for action in 0..5u32 {
        let iface = &expected[action as usize];
        assert_eq!(udp_to(iface, action), 2, "{iface}: {packets:?}");
        if action != PASS {
            // Only the test's datagrams get an action other than PASS.
            let all = packets.iter().filter(|p| &p.iface == iface).count();
            assert_eq!(all, 2, "{iface}: {packets:?}");
        }
    }
    assert!(packets.iter().all(|p| p.orig_len as usize == p.data.len()));
    // tcpdump reads the same file and sees the same packets.
    let lines = capture::tcpdump_lines(&out);
    assert_eq!(lines.len(), packets.len(), "{lines:?}");
    for action in 0..5 {
        let to = format!("> 198.18.0.2.{}: UDP", xdp::action_port(action));
        let n = lines.iter().filter(|l| l.contains(&to)).count();
        assert_eq!(n, 2, "{to}: {lines:?}");
    }
}

#[test]
fn actions_flag_fills_only_those_slots() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("some.pcapng");
    live.capture(
        &["-q", "-actions", "DROP,3", live.hook.path_str(), &out],
        &[DROP, TX],
        Signal::INT,
        || {
            let slots = live.hook.slots();
            assert!(slots[0].is_none() && slots[2].is_none() && slots[4].is_none());
            for action in 0..5 {
                live.send(action, 1);
            }
        },
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        capture::pcapng_interface_names(&bytes),
        ["xdpdrop", "xdptx"]
    );
    let ports: Vec<_> = read_capture(&out)
        .iter()
        .filter_map(|p| capture::udp_dport(&p.data))
        .collect();
    assert!(ports.contains(&xdp::action_port(DROP)), "{ports:?}");
    assert!(ports.contains(&xdp::action_port(TX)), "{ports:?}");
    assert!(
        ports
            .iter()
            .all(|&p| p == xdp::action_port(DROP) || p == xdp::action_port(TX)),
        "{ports:?}"
    );
}

#[test]
fn count_stops_the_capture() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("count.pcapng");
    let mut cap = live.capture_drops(&["-c", "3"], &out);
    live.send(DROP, 5);
    let done = cap.wait();
    assert_clean_exit(&done);
    live.assert_empty();
    assert_eq!(read_capture(&out).len(), 3);
}

#[test]
fn snaplen_cuts_packets_but_keeps_their_length() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("snap.pcapng");
    let cap = live.capture_drops(&["-s", "60"], &out);
    live.pair
        .udp(Side::A, false, xdp::action_port(DROP), 2, 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_clean_exit(&cap.stop(Signal::INT));
    let packets = read_capture(&out);
    assert_eq!(packets.len(), 2);
    for p in packets {
        assert_eq!(p.data.len(), 60);
        assert_eq!(p.orig_len, 14 + 20 + 8 + 200);
    }
}

#[test]
fn stdout_into_tcpdump() {
    let live = Live::new(Flavour::LIBBPF);
    let tcpdump = common::require_tool("tcpdump");
    let mut cmd = xdpcap(&["-actions", "drop", live.hook.path_str(), "-"]);
    let cap = Running::start(
        {
            cmd.stdout(Stdio::piped());
            cmd
        },
        &live.hook,
        &[DROP],
    );
    let mut cap = cap;
    let pipe = cap.child.as_mut().unwrap().stdout.take().unwrap();
    let reader = std::process::Command::new(tcpdump)
        .args(["-n", "-r", "-"])
        .stdin(pipe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    live.send(DROP, 4);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let done = cap.stop(Signal::TERM);
    assert_clean_exit(&done);
    let out = reader.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains(&format!("198.18.0.2.{}", xdp::action_port(DROP))));
    live.assert_empty();
}

#[test]
fn reader_going_away_is_a_clean_stop() {
    let live = Live::new(Flavour::LIBBPF);
    let mut cap = Running::start(
        xdpcap(&["-actions", "drop", live.hook.path_str(), "-"]),
        &live.hook,
        &[DROP],
    );
    // Read the file header and one packet, then close the pipe.
    live.send(DROP, 1);
    let mut pipe = cap.child.as_mut().unwrap().stdout.take().unwrap();
    let mut first = [0u8; 64];
    pipe.read_exact(&mut first).expect("xdpcap wrote to stdout");
    drop(pipe);
    // The next writes hit EPIPE.
    for _ in 0..20 {
        live.send(DROP, 5);
        if cap.child.as_mut().unwrap().try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let done = cap.wait();
    assert_clean_exit(&done);
    live.assert_empty();
}

#[test]
fn signals_stop_cleanly() {
    let live = Live::new(Flavour::LIBBPF);
    for signal in [Signal::INT, Signal::TERM, Signal::HUP] {
        let dir = Scratch::new();
        let out = dir.file("sig.pcapng");
        live.capture(
            &["-q", live.hook.path_str(), &out],
            &[0, 1, 2, 3, 4],
            signal,
            || {
                live.send(DROP, 2);
            },
        );
        let drops = read_capture(&out)
            .iter()
            .filter(|p| p.iface == "xdpdrop")
            .count();
        assert_eq!(drops, 2, "{signal:?}");
    }
}

#[test]
fn statistics_count_the_packets_sent() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("stats.pcapng");
    let cap = Running::start(
        xdpcap(&["-actions", "drop,tx", live.hook.path_str(), &out]),
        &live.hook,
        &[DROP, TX],
    );
    live.send(DROP, 7);
    live.send(TX, 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let done = cap.stop(Signal::INT);
    assert_clean_exit(&done);
    let bytes = std::fs::read(&out).unwrap();
    let names = capture::pcapng_interface_names(&bytes);
    let stats = capture::pcapng_statistics(&bytes);
    for (name, sent) in [("xdpdrop", 7), ("xdptx", 3)] {
        let id = names.iter().position(|n| n == name).unwrap() as u32;
        let (_, recv, dropped) = *stats
            .iter()
            .find(|s| s.0 == id)
            .unwrap_or_else(|| panic!("no statistics block for {name}: {stats:?}"));
        assert_eq!(recv, Some(sent), "{name} received");
        assert_eq!(dropped.unwrap_or(0), 0, "{name} lost");
    }
    // The final summary on stderr says the same: received/matched.
    let summary = done.stderr.lines().last().unwrap_or_default().to_string();
    assert!(summary.contains("drop 7/7"), "{}", done.stderr);
    assert!(summary.contains("tx 3/3"), "{}", done.stderr);
}

#[test]
fn every_load_flavour_is_captured() {
    for flavour in Flavour::ALL {
        let live = Live::new(flavour);
        let dir = Scratch::new();
        let out = dir.file("flavour.pcapng");
        let done = live.capture(
            &["-q", "-v", live.hook.path_str(), &out],
            &[0, 1, 2, 3, 4],
            Signal::INT,
            || {
                live.send(DROP, 2);
                live.send(PASS, 1);
            },
        );
        let packets = read_capture(&out);
        let count = |iface: &str, action: u32| {
            packets
                .iter()
                .filter(|p| p.iface == iface)
                .filter(|p| capture::udp_dport(&p.data) == Some(xdp::action_port(action)))
                .count()
        };
        assert_eq!(
            (count("xdpdrop", DROP), count("xdppass", PASS)),
            (2, 1),
            "{flavour:?}: {packets:?}\n{}",
            done.stderr
        );
    }
}

#[test]
fn a_second_capture_on_the_same_hook_is_refused() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let first_out = dir.file("first.pcapng");
    let first = Running::start(
        xdpcap(&["-q", live.hook.path_str(), &first_out]),
        &live.hook,
        &[0, 1, 2, 3, 4],
    );
    let before = live.hook.slots();
    let second = xdpcap(&["-q", live.hook.path_str(), &dir.file("second.pcapng")])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let msg = String::from_utf8_lossy(&second.stderr);
    assert!(msg.contains(live.hook.path_str()), "{msg}");
    assert_eq!(
        live.hook.slots(),
        before,
        "the first capture's slots changed"
    );
    live.send(DROP, 1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_clean_exit(&first.stop(Signal::INT));
    live.assert_empty();
    let drops = read_capture(&first_out)
        .iter()
        .filter(|p| p.iface == "xdpdrop")
        .count();
    assert_eq!(drops, 1);
}

#[test]
fn leftovers_of_a_killed_capture_are_recognised_and_cleared() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let path = live.hook.path_str();
    for clear_with_flag in [true, false] {
        let cap = Running::start(
            xdpcap(&["-q", path, &dir.file("killed.pcapng")]),
            &live.hook,
            &[0, 1, 2, 3, 4],
        );
        let done = cap.stop(Signal::KILL);
        assert!(!done.status.success());
        assert!(
            live.hook.slots().iter().all(Option::is_some),
            "kill -9 leaves the slots filled"
        );
        let list = xdpcap(&["-list-hook", path]).output().unwrap();
        assert!(list.status.success());
        let text = String::from_utf8_lossy(&list.stdout);
        assert!(text.contains("leftover"), "-list-hook: {text}");
        if clear_with_flag {
            let clear = xdpcap(&["-clear-hook", path]).output().unwrap();
            assert!(clear.status.success(), "{clear:?}");
            live.assert_empty();
        } else {
            // The next capture takes the leftover slots over by itself.
            let out = dir.file("next.pcapng");
            let next = Running::start(xdpcap(&["-q", path, &out]), &live.hook, &[0, 1, 2, 3, 4]);
            live.send(DROP, 1);
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert_clean_exit(&next.stop(Signal::INT));
            live.assert_empty();
            let drops = read_capture(&out)
                .iter()
                .filter(|p| p.iface == "xdpdrop")
                .count();
            assert_eq!(drops, 1);
        }
    }
}

#[test]
fn runtime_errors_exit_2_and_leave_nothing() {
    common::require_root();
    let dir = Scratch::new();
    // A path that does not exist.
    let missing = "/sys/fs/bpf/xdpcap-no-such-hook-here";
    let out = xdpcap(&[missing, &dir.file("x.pcapng")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(missing));

    // A file that is not on a bpffs.
    let plain = dir.file("not-a-pin");
    std::fs::write(&plain, b"").unwrap();
    let out = xdpcap(&[&plain, &dir.file("x.pcapng")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let msg = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(msg.contains("bpf"), "{msg}");

    // A pinned map of the wrong type.
    let array = Hook::with_map(xdpcap::sys::bpf::BPF_MAP_TYPE_ARRAY, 5);
    let out = xdpcap(&[array.path_str(), &dir.file("x.pcapng")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains(array.path_str()), "{msg}");
    assert!(msg.to_lowercase().contains("prog"), "{msg}");

    // A usage error (bad filter) is exit 1 and loads nothing.
    let live = Live::new(Flavour::LIBBPF);
    let out = xdpcap(&[
        live.hook.path_str(),
        &dir.file("x.pcapng"),
        "port nonsense(",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    live.assert_empty();
}

#[test]
fn the_filter_selects_in_the_kernel() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("filtered.pcapng");
    let expr = "(udp and dst port 5002) or (icmp6 and ip6[40] = 128)";
    let done = live.capture(
        &[live.hook.path_str(), &out, expr],
        &[0, 1, 2, 3, 4],
        Signal::INT,
        || {
            live.send(PASS, 2);
            live.send(DROP, 2);
            assert!(live.pair.ping(Side::A, false, 2, 56), "IPv4 ping");
            assert!(live.pair.ping(Side::A, true, 3, 56), "IPv6 ping");
        },
    );
    let packets = read_capture(&out);
    let udp: Vec<_> = packets
        .iter()
        .filter_map(|p| capture::udp_dport(&p.data))
        .collect();
    assert_eq!(udp, [5002, 5002], "{packets:?}");
    // IPv6 echo requests: EtherType 0x86dd, next header 58, type 128.
    let echo6 = packets
        .iter()
        .filter(|p| p.data[12..14] == [0x86, 0xdd] && p.data[20] == 58 && p.data[54] == 128)
        .count();
    assert_eq!(echo6, 3, "{packets:?}");
    assert_eq!(packets.len(), 5, "nothing else matches: {packets:?}");
    assert!(packets.iter().all(|p| p.iface == "xdppass"));
    // Received counts everything the slot saw, matched only the 5 above.
    let bytes = std::fs::read(&out).unwrap();
    let stats = capture::pcapng_statistics(&bytes);
    let pass = stats
        .iter()
        .find(|s| s.0 == PASS)
        .expect("statistics of xdppass");
    assert!(pass.1.unwrap_or(0) >= 2 + 2 + 3, "{stats:?}");
    let summary = done.stderr.lines().last().unwrap_or_default().to_string();
    assert!(summary.contains("drop 2/0"), "{}", done.stderr);
    assert!(summary.contains("/5 "), "{}", done.stderr);
}

#[test]
fn print_mode_names_the_action() {
    let live = Live::new(Flavour::LIBBPF);
    let done = live.capture(
        &["-print", "-actions", "drop,tx", live.hook.path_str(), "udp"],
        &[DROP, TX],
        Signal::INT,
        || {
            live.send(DROP, 2);
            live.send(TX, 1);
        },
    );
    let text = String::from_utf8_lossy(&done.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let with = |action: &str, port: u16| {
        lines
            .iter()
            .filter(|l| l.to_lowercase().contains(action) && l.contains(&port.to_string()))
            .count()
    };
    assert_eq!(with("drop", xdp::action_port(DROP)), 2, "{text}");
    assert_eq!(with("tx", xdp::action_port(TX)), 1, "{text}");
    assert!(lines.iter().all(|l| l.contains("198.18.0.2")), "{text}");
}

#[test]
fn classic_pcap_on_request() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("classic.pcap");
    let cap = live.capture_drops(&["-format", "pcap"], &out);
    live.send(DROP, 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_clean_exit(&cap.stop(Signal::INT));
    let bytes = std::fs::read(&out).unwrap();
    // Classic pcap, nanosecond variant: magic a1b23c4d (little-endian here).
    assert_eq!(bytes[..4], [0x4d, 0x3c, 0xb2, 0xa1]);
    let lines = capture::tcpdump_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let port = format!("198.18.0.2.{}: UDP", xdp::action_port(DROP));
    assert!(lines.iter().all(|l| l.contains(&port)), "{lines:?}");
}

#[test]
fn pcapng_records_filter_resolution_ifindex_queue_and_wall_clock() {
    let live = Live::new(Flavour::LIBBPF);
    let dir = Scratch::new();
    let out = dir.file("meta.pcapng");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    live.capture(
        &["-q", "-actions", "drop", live.hook.path_str(), &out, "udp"],
        &[DROP],
        Signal::INT,
        || live.send(DROP, 3),
    );
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let bytes = std::fs::read(&out).unwrap();

    let idbs = capture::pcapng_interface_options(&bytes);
    assert_eq!(idbs.len(), 1, "one interface for -actions drop: {idbs:?}");
    let opt = |code: u16| idbs[0].iter().find(|(c, _)| *c == code).map(|(_, v)| v);
    assert_eq!(opt(2).map(|v| &v[..]), Some(&b"xdpdrop"[..]), "if_name");
    assert_eq!(opt(9).map(|v| &v[..]), Some(&[9u8][..]), "if_tsresol");
    assert_eq!(opt(11).map(|v| &v[..]), Some(&b"\0udp"[..]), "if_filter");

    // The veth end the program runs on, inside B's namespace.
    let link = live
        .pair
        .exec(Side::B, "cat", &["/sys/class/net/veth0/ifindex"]);
    let ifindex = String::from_utf8_lossy(&link.stdout).trim().to_string();
    assert!(!ifindex.is_empty(), "no ifindex for veth0 in B");

    let epbs = capture::pcapng_packets(&bytes);
    assert_eq!(epbs.len(), 3, "{epbs:?}");
    for (iface, ts, opts) in &epbs {
        assert_eq!(*iface, 0);
        assert!(
            (before..=after).contains(ts),
            "timestamp {ts} not between {before} and {after} (wall clock, ns)"
        );
        let queue = opts.iter().find(|(c, _)| *c == 6).map(|(_, v)| v.clone());
        assert_eq!(queue, Some(0u32.to_le_bytes().to_vec()), "epb_queue");
        let comment = opts
            .iter()
            .find(|(c, _)| *c == 1)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        assert!(
            comment.contains(&format!("ifindex {ifindex}")) && comment.contains("queue 0"),
            "comment {comment:?}, want ifindex {ifindex} and queue 0"
        );
    }
}
