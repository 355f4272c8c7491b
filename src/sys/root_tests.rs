//! Tests against the real kernel. They need root and a bpffs at
//! `/sys/fs/bpf`, and fail loudly without them. Every object they create is
//! named with the pid and removed by a guard, also on failure.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::bpf::*;
use super::perf::{open_bpf_output, PerfRing, Record};
use super::{cpu, netns, Errno};

fn require_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test needs root (it loads BPF programs and opens perf events)"
    );
    assert!(
        super::is_bpffs(Path::new("/sys/fs/bpf")).unwrap_or(false),
        "this test needs a bpffs at /sys/fs/bpf: mount -t bpf bpf /sys/fs/bpf"
    );
}

/// A directory of pins under /sys/fs/bpf, removed with its contents.
struct PinDir(PathBuf);

impl PinDir {
    fn new() -> PinDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = PathBuf::from(format!("/sys/fs/bpf/xdpcap-sys-{}-{n}", std::process::id()));
        std::fs::create_dir(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        PinDir(p)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One eBPF instruction: opcode, dst, src, off, imm.
fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = op;
    b[1] = dst | (src << 4);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

const MOV64_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const MOV64_REG: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const ADD64_IMM: u8 = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
const ST_DW: u8 = 0x7a; // BPF_ST | BPF_MEM | BPF_DW
const LD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// `r0 = 2; exit`, written out byte by byte.
const RETURN_PASS: [u8; 16] = [
    0xb7, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, // r0 = 2
    0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // exit
];

fn load_xdp(name: &str, insns: &[u8], log_level: u32) -> Result<Loaded, super::Error> {
    prog_load(&ProgLoad {
        prog_type: BPF_PROG_TYPE_XDP,
        expected_attach_type: BPF_XDP,
        prog_flags: 0,
        name,
        license: "GPL",
        insns,
        log_level,
        log_size: 0,
    })
}

fn prog_array(name: &str) -> OwnedFd {
    map_create(&MapCreate {
        map_type: BPF_MAP_TYPE_PROG_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 5,
        map_flags: 0,
        name,
    })
    .unwrap()
}

#[test]
fn prog_array_is_created_pinned_and_opened_again() {
    require_root();
    let dir = PinDir::new();
    let map = prog_array("xdpcap_t_hook");
    let info = map_info(map.as_fd()).unwrap();
    assert_eq!(
        (
            info.map_type,
            info.key_size,
            info.value_size,
            info.max_entries
        ),
        (BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 5)
    );
    assert_eq!(info.name, "xdpcap_t_hook");
    assert!(info.id > 0);

    let pin = dir.0.join("hook");
    obj_pin(map.as_fd(), &pin).unwrap();
    let again = obj_get(&pin).unwrap();
    assert_eq!(map_info(again.as_fd()).unwrap(), info);
    let by_id = map_get_fd_by_id(info.id).unwrap();
    assert_eq!(map_info(by_id.as_fd()).unwrap().id, info.id);

    let e = obj_pin(map.as_fd(), &pin).unwrap_err();
    assert_eq!(e.errno(), Errno::EXIST);
    assert!(e.to_string().contains(&*pin.to_string_lossy()), "{e}");

    let missing = dir.0.join("missing");
    let e = obj_get(&missing).unwrap_err();
    assert_eq!((e.op(), e.errno()), ("BPF_OBJ_GET", Errno::NOENT));
    assert!(e.to_string().contains(&*missing.to_string_lossy()), "{e}");

    // Outside a bpffs the error says so and how to fix it.
    let outside = std::env::temp_dir().join(format!("xdpcap-sys-{}", std::process::id()));
    let e = obj_pin(map.as_fd(), &outside).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("not on a bpffs") && s.contains("mount -t bpf"),
        "{s}"
    );
    let _ = std::fs::remove_file(&outside);
}

#[test]
fn xdp_program_loads_runs_and_describes_itself() {
    require_root();
    let quiet = load_xdp("xdpcap_t_pass", &RETURN_PASS, 0).unwrap();
    assert_eq!(quiet.log, "");
    let loud = load_xdp("xdpcap_t_pass", &RETURN_PASS, 1).unwrap();
    assert!(loud.log.contains("processed 2 insns"), "log: {}", loud.log);

    let info = prog_info(quiet.fd.as_fd()).unwrap();
    assert_eq!(info.prog_type, BPF_PROG_TYPE_XDP);
    assert_eq!(info.name, "xdpcap_t_pass");
    assert_eq!(info.xlated_prog_len, 16);
    assert!(info.jited_prog_len > 0);
    assert!(info.verified_insns >= 2, "{info:?}");
    assert_ne!(info.tag, [0; 8]);
    assert_eq!(info.created_by_uid, 0);
    assert!(info.load_time > 0);
    assert!(info.gpl_compatible);
    assert!(info.map_ids.is_empty());
    // Same instructions, same tag; distinct programs, distinct ids.
    let loud_info = prog_info(loud.fd.as_fd()).unwrap();
    assert_eq!(loud_info.tag, info.tag);
    assert_ne!(loud_info.id, info.id);

    let by_id = prog_get_fd_by_id(info.id).unwrap();
    assert_eq!(prog_info(by_id.as_fd()).unwrap().id, info.id);
    assert_eq!(prog_get_next_id(info.id - 1).unwrap(), Some(info.id));
    assert_eq!(prog_get_next_id(i32::MAX as u32 - 1).unwrap(), None);
    assert_eq!(prog_get_next_id(u32::MAX).unwrap(), None);

    let packet: Vec<u8> = (0..64u8).collect();
    let mut out = vec![0u8; 256];
    let r = prog_test_run(&mut TestRun {
        prog_fd: quiet.fd.as_fd(),
        data_in: &packet,
        data_out: Some(&mut out),
        ctx_in: None,
        repeat: 10,
        flags: 0,
    })
    .unwrap();
    assert_eq!(r.retval, XDP_PASS);
    assert_eq!(r.data_size_out, 64);
    assert_eq!(&out[..64], &packet[..]);
}

#[test]
fn rejected_program_error_carries_the_verifier_log() {
    require_root();
    // `exit` with r0 never written.
    let insns = insn(EXIT, 0, 0, 0, 0);
    let e = load_xdp("xdpcap_t_bad", &insns, 0).unwrap_err();
    assert_eq!(e.op(), "BPF_PROG_LOAD");
    assert_eq!(e.errno(), Errno::ACCESS);
    let log = e
        .verifier_log()
        .expect("a log was fetched after the failure");
    assert!(log.contains("R0 !read_ok"), "log: {log}");
    let s = e.to_string();
    assert!(
        s.contains("xdpcap_t_bad") && s.contains("R0 !read_ok"),
        "{s}"
    );
}

#[test]
fn prog_array_slot_holds_the_program_id() {
    require_root();
    let map = prog_array("xdpcap_t_slots");
    let prog = load_xdp("xdpcap_t_slot", &RETURN_PASS, 0).unwrap();
    let id = prog_info(prog.fd.as_fd()).unwrap().id;
    let key = 2u32.to_ne_bytes();
    let mut value = [0u8; 4];
    assert!(!map_lookup_elem(map.as_fd(), &key, &mut value).unwrap());
    let fd = prog.fd.as_raw_fd() as u32;
    map_update_elem(map.as_fd(), &key, &fd.to_ne_bytes(), BPF_ANY).unwrap();
    assert!(map_lookup_elem(map.as_fd(), &key, &mut value).unwrap());
    assert_eq!(u32::from_ne_bytes(value), id);
    let prog_map = map_info(map.as_fd()).unwrap();
    assert_eq!(prog_map.max_entries, 5);
    // Out of range keys are the kernel's EINVAL/E2BIG, reported as such.
    let e =
        map_update_elem(map.as_fd(), &9u32.to_ne_bytes(), &fd.to_ne_bytes(), BPF_ANY).unwrap_err();
    assert_eq!(e.op(), "BPF_MAP_UPDATE_ELEM");
    assert!(map_delete_elem(map.as_fd(), &key).unwrap());
    assert!(!map_delete_elem(map.as_fd(), &key).unwrap());
    assert!(!map_lookup_elem(map.as_fd(), &key, &mut value).unwrap());
}

#[test]
fn percpu_array_lookup_has_a_slot_per_possible_cpu() {
    require_root();
    let map = map_create(&MapCreate {
        map_type: BPF_MAP_TYPE_PERCPU_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 2,
        map_flags: 0,
        name: "xdpcap_t_pcpu",
    })
    .unwrap();
    let ncpu = cpu::possible_cpus().unwrap();
    let size = percpu_value_size(4).unwrap();
    assert_eq!(size, 8 * ncpu);
    let mut v = vec![0u8; size];
    for c in 0..ncpu {
        v[c * 8..c * 8 + 4].copy_from_slice(&(100 + c as u32).to_ne_bytes());
    }
    map_update_elem(map.as_fd(), &1u32.to_ne_bytes(), &v, BPF_ANY).unwrap();
    let mut back = vec![0xffu8; size];
    assert!(map_lookup_elem(map.as_fd(), &1u32.to_ne_bytes(), &mut back).unwrap());
    assert_eq!(back, v);
    let mut short = vec![0u8; 4];
    let e = map_lookup_elem(map.as_fd(), &1u32.to_ne_bytes(), &mut short).unwrap_err();
    assert_eq!(e.errno(), Errno::INVAL);
}

#[test]
fn perf_event_and_ring_per_online_cpu() {
    require_root();
    let pages = super::perf::pages_for_bytes(64 << 10);
    for c in cpu::online_cpus().unwrap() {
        let fd = open_bpf_output(c, 4096).unwrap();
        let mut ring = PerfRing::new(fd, pages).unwrap();
        assert_eq!(ring.size(), pages * super::perf::page_size());
        ring.enable().unwrap();
        assert_eq!(ring.pending(), 0);
        assert_eq!(ring.read(|_| panic!("no record expected")).samples, 0);
    }
    let e = open_bpf_output(100_000, 0).unwrap_err();
    assert!(e.to_string().contains("cpu 100000"), "{e}");
}

/// An XDP program that sends 16 bytes of stack and the first 64 bytes of
/// the packet to the perf ring of the current CPU, then returns PASS.
fn perf_output_program(map: BorrowedFd<'_>) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(insn(MOV64_REG, 6, 1, 0, 0)); // r6 = ctx
    p.extend(insn(ST_DW, 10, 0, -16, 0x0102_0304)); // *(u64 *)(r10 - 16) = ...
    p.extend(insn(ST_DW, 10, 0, -8, -2)); // *(u64 *)(r10 - 8) = -2
    p.extend(insn(MOV64_REG, 1, 6, 0, 0)); // r1 = ctx
    p.extend(insn(LD_IMM64, 2, BPF_PSEUDO_MAP_FD, 0, map.as_raw_fd())); // r2 = map
    p.extend(insn(0, 0, 0, 0, 0));
    // r3 = BPF_F_CURRENT_CPU | 64 << 32: append 64 packet bytes.
    p.extend(insn(LD_IMM64, 3, 0, 0, -1));
    p.extend(insn(0, 0, 0, 0, 64));
    p.extend(insn(MOV64_REG, 4, 10, 0, 0)); // r4 = r10 - 16
    p.extend(insn(ADD64_IMM, 4, 0, 0, -16));
    p.extend(insn(MOV64_IMM, 5, 0, 0, 16)); // r5 = 16
    p.extend(insn(CALL, 0, 0, 0, BPF_FUNC_perf_event_output));
    p.extend(insn(MOV64_IMM, 0, 0, 0, XDP_PASS as i32));
    p.extend(insn(EXIT, 0, 0, 0, 0));
    p
}

#[test]
fn sample_from_perf_event_output_reaches_the_ring_of_its_cpu() {
    require_root();
    let online = cpu::online_cpus().unwrap();
    let perf_map = map_create(&MapCreate {
        map_type: BPF_MAP_TYPE_PERF_EVENT_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: cpu::possible_cpus().unwrap() as u32,
        map_flags: 0,
        name: "xdpcap_t_perf",
    })
    .unwrap();
    let mut rings = Vec::new();
    for &c in &online {
        let ring = PerfRing::new(open_bpf_output(c, 0).unwrap(), 1).unwrap();
        let fd = ring.as_fd().as_raw_fd() as u32;
        map_update_elem(
            perf_map.as_fd(),
            &c.to_ne_bytes(),
            &fd.to_ne_bytes(),
            BPF_ANY,
        )
        .unwrap();
        rings.push((c, ring));
    }
    let prog = load_xdp("xdpcap_t_out", &perf_output_program(perf_map.as_fd()), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let prog_id = prog_info(prog.fd.as_fd()).unwrap().map_ids;
    assert_eq!(prog_id, vec![map_info(perf_map.as_fd()).unwrap().id]);

    let packet: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(7)).collect();
    let mut expected = Vec::new();
    expected.extend(0x0102_0304u64.to_ne_bytes());
    expected.extend((-2i64).to_ne_bytes());
    expected.extend(&packet[..64]);

    let here = *online.last().unwrap();
    let rounds = 3 + 4096 / expected.len(); // enough to wrap a 1-page ring
    std::thread::scope(|s| {
        s.spawn(|| {
            cpu::pin_current_thread(here).unwrap();
            for round in 0..rounds {
                let r = prog_test_run(&mut TestRun {
                    prog_fd: prog.fd.as_fd(),
                    data_in: &packet,
                    data_out: None,
                    ctx_in: None,
                    repeat: 1,
                    flags: 0,
                })
                .unwrap();
                assert_eq!(r.retval, XDP_PASS);
                for (c, ring) in rings.iter_mut() {
                    let mut samples = Vec::new();
                    let mut lost = 0;
                    ring.read(|rec| match rec {
                        Record::Sample(chunk) => samples.push(chunk.to_vec()),
                        Record::Lost(n) => lost += n,
                    });
                    assert_eq!(lost, 0);
                    if *c == here {
                        assert_eq!(samples.len(), 1, "round {round}");
                        // 4 + 80 bytes, padded by the kernel to 8 with 4
                        // bytes of whatever was in the ring.
                        assert_eq!(samples[0].len(), 84);
                        assert_eq!(&samples[0][..80], &expected[..], "round {round}");
                    } else {
                        assert!(samples.is_empty(), "sample on cpu {c}, ran on {here}");
                    }
                }
            }
        });
    });
}

#[test]
fn full_ring_reports_lost_samples() {
    require_root();
    let here = *cpu::online_cpus().unwrap().first().unwrap();
    let perf_map = map_create(&MapCreate {
        map_type: BPF_MAP_TYPE_PERF_EVENT_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: cpu::possible_cpus().unwrap() as u32,
        map_flags: 0,
        name: "xdpcap_t_lost",
    })
    .unwrap();
    let mut ring = PerfRing::new(open_bpf_output(here, 0).unwrap(), 1).unwrap();
    let fd = ring.as_fd().as_raw_fd() as u32;
    map_update_elem(
        perf_map.as_fd(),
        &here.to_ne_bytes(),
        &fd.to_ne_bytes(),
        BPF_ANY,
    )
    .unwrap();
    let prog = load_xdp("xdpcap_t_lost", &perf_output_program(perf_map.as_fd()), 0).unwrap();
    let packet = vec![0x5au8; 64];
    let run = |repeat: u32| {
        std::thread::scope(|s| {
            s.spawn(|| {
                cpu::pin_current_thread(here).unwrap();
                prog_test_run(&mut TestRun {
                    prog_fd: prog.fd.as_fd(),
                    data_in: &packet,
                    data_out: None,
                    ctx_in: None,
                    repeat,
                    flags: 0,
                })
                .unwrap();
            });
        })
    };
    let mut samples = 0u64;
    let mut lost = 0u64;
    let mut drain = |ring: &mut PerfRing| {
        ring.read(|rec| match rec {
            Record::Sample(_) => samples += 1,
            Record::Lost(n) => lost += n,
        })
    };
    // 200 samples of 96 bytes overflow a 4 KiB ring; the kernel counts
    // the overflow and writes its LOST record once there is room again.
    run(200);
    let first = drain(&mut ring);
    assert!(first.samples > 0 && first.samples < 200, "{first:?}");
    run(1);
    let second = drain(&mut ring);
    assert!(second.lost > 0, "{second:?}");
    assert_eq!(samples + lost, 201, "every run is a sample or counted lost");
}

/// A network namespace created with `ip netns add`, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("xdpcap-sys-{tag}-{}", std::process::id());
        ip(&["netns", "add", &name]);
        Netns(name)
    }
    fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.0))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip")
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("this test needs iproute2's `ip`: {e}"));
    assert!(st.success(), "ip {} failed", args.join(" "));
}

#[test]
fn xdp_link_in_a_namespace() {
    require_root();
    let ns = Netns::new("link");
    ip(&[
        "-n", &ns.0, "link", "add", "xs0", "type", "veth", "peer", "name", "xs1",
    ]);
    ip(&["-n", &ns.0, "link", "set", "xs0", "up"]);
    ip(&["-n", &ns.0, "link", "set", "xs1", "up"]);
    let prog = load_xdp("xdpcap_t_link", &RETURN_PASS, 0).unwrap();
    let prog_id = prog_info(prog.fd.as_fd()).unwrap().id;
    let outside = std::fs::read_link(netns::CURRENT_NETNS).unwrap();
    {
        let _in = netns::NetnsGuard::enter(&ns.path()).unwrap();
        assert_ne!(std::fs::read_link(netns::CURRENT_NETNS).unwrap(), outside);
        let ifindex = netns::if_nametoindex("xs0").unwrap();
        let link = link_create_xdp(prog.fd.as_fd(), ifindex, 0).unwrap();
        let info = link_info(link.as_fd()).unwrap();
        assert_eq!(info.link_type, BPF_LINK_TYPE_XDP);
        assert_eq!(info.prog_id, prog_id);
        assert_eq!(info.ifindex, Some(ifindex));
        let e = link_create_xdp(prog.fd.as_fd(), ifindex, 0).unwrap_err();
        assert_eq!(e.errno(), Errno::BUSY);
        assert!(e.to_string().contains("already has an XDP program"), "{e}");
    }
    assert_eq!(std::fs::read_link(netns::CURRENT_NETNS).unwrap(), outside);
    assert!(
        netns::if_nametoindex("xs0").is_err(),
        "xs0 lives in the namespace only"
    );
}
