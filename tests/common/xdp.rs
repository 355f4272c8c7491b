//! A hook and an instrumented XDP program for live tests, built with the
//! crate's own `sys` and `asm` layers (no clang, no libbpf).
//!
//! The instrumented program picks its action from the traffic so that a
//! test can produce every action on purpose: an IPv4 UDP datagram (no IP
//! options) to port `5000 + n`, n in 0..=4, gets action n (ABORTED, DROP,
//! PASS, TX, REDIRECT); everything else is passed. Each branch ends like
//! hook.h's `xdpcap_exit`: a tail call into the hook slot with a constant
//! index, then `return action`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use xdpcap::asm::{self, Asm, Insn, Reg::*};
use xdpcap::sys::bpf::{self, MapCreate, ProgLoad};

use super::netns::{NetPair, Side, VETH};

/// UDP destination port that selects action 0 (ABORTED); `+ n` selects
/// action n.
pub const ACTION_PORT_BASE: u16 = 5000;

/// The port whose traffic gets `action` (0..=4).
pub fn action_port(action: u32) -> u16 {
    ACTION_PORT_BASE + action as u16
}

/// A hook map pinned at `<dir>/hook` in a fresh directory of /sys/fs/bpf;
/// dropping it removes the pin and the directory.
pub struct Hook {
    pub fd: OwnedFd,
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl Hook {
    /// The standard hook: PROG_ARRAY, key 4, value 4, 5 entries.
    pub fn new() -> Hook {
        Hook::with_map(bpf::BPF_MAP_TYPE_PROG_ARRAY, 5)
    }

    /// A map of `map_type` (key 4, value 4) with `entries` slots, pinned
    /// like a hook: for tests of what the tool refuses.
    pub fn with_map(map_type: u32, entries: u32) -> Hook {
        super::require_root();
        assert!(
            xdpcap::sys::is_bpffs(Path::new("/sys/fs/bpf")).unwrap_or(false),
            "no bpffs at /sys/fs/bpf: run `mount -t bpf bpf /sys/fs/bpf` (make test does)"
        );
        let dir = Path::new("/sys/fs/bpf").join(super::unique_name("xdpcap_test"));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join("hook");
        // Built field by field so that a failure below still removes `dir`.
        let fd = bpf::map_create(&MapCreate {
            map_type,
            key_size: 4,
            value_size: 4,
            max_entries: entries,
            map_flags: 0,
            name: "test_hook",
        });
        let fd = match fd {
            Ok(fd) => fd,
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                panic!("creating the hook map: {e}");
            }
        };
        let hook = Hook { fd, dir, path };
        bpf::obj_pin(hook.fd.as_fd(), &hook.path)
            .unwrap_or_else(|e| panic!("pinning {}: {e}", hook.path.display()));
        hook
    }

    /// A hook pinned by another loader at `path`. Dropping it removes the
    /// pin and its directory, as for a hook of our own: use it only for pins
    /// in a directory the test created.
    pub fn open_for_test(path: &Path) -> Hook {
        let fd = bpf::obj_get(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
        Hook {
            fd,
            dir: path.parent().unwrap().to_path_buf(),
            path: path.to_path_buf(),
        }
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("pin paths are ASCII")
    }

    /// Program id in `slot`, or None when the slot is empty.
    pub fn slot(&self, slot: u32) -> Option<u32> {
        let mut value = [0u8; 4];
        match bpf::map_lookup_elem(self.fd.as_fd(), &slot.to_ne_bytes(), &mut value) {
            Ok(true) => Some(u32::from_ne_bytes(value)),
            Ok(false) => None,
            Err(e) => panic!("reading slot {slot} of {}: {e}", self.path.display()),
        }
    }

    /// Every slot's program id (None: empty).
    pub fn slots(&self) -> Vec<Option<u32>> {
        (0..5).map(|s| self.slot(s)).collect()
    }

    /// Puts `prog` into `slot`.
    pub fn set(&self, slot: u32, prog: BorrowedFd<'_>) -> Result<(), xdpcap::sys::Error> {
        let fd = rustix::fd::AsRawFd::as_raw_fd(&prog) as u32;
        bpf::map_update_elem(
            self.fd.as_fd(),
            &slot.to_ne_bytes(),
            &fd.to_ne_bytes(),
            bpf::BPF_ANY,
        )
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        // Anything else a test put there (e.g. a leftover pin) goes too.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How a program is loaded: the combinations a prog array tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flavour {
    /// `expected_attach_type`: 0 (older loaders) or `BPF_XDP` (libbpf's
    /// `SEC("xdp")`).
    pub attach_type: u32,
    /// `BPF_F_XDP_HAS_FRAGS` (`SEC("xdp.frags")`).
    pub frags: bool,
}

impl Flavour {
    pub const LEGACY: Flavour = Flavour {
        attach_type: 0,
        frags: false,
    };
    pub const LIBBPF: Flavour = Flavour {
        attach_type: bpf::BPF_XDP,
        frags: false,
    };

    /// All four combinations.
    pub const ALL: [Flavour; 4] = [
        Flavour::LEGACY,
        Flavour::LIBBPF,
        Flavour {
            attach_type: 0,
            frags: true,
        },
        Flavour {
            attach_type: bpf::BPF_XDP,
            frags: true,
        },
    ];

    fn prog_flags(self) -> u32 {
        if self.frags {
            bpf::BPF_F_XDP_HAS_FRAGS
        } else {
            0
        }
    }
}

/// Byte offsets in an Ethernet + IPv4 (no options) + UDP frame.
const ETH_TYPE: i16 = 12;
const IP_VHL: i16 = 14;
const IP_PROTO: i16 = 14 + 9;
const UDP_DPORT: i16 = 14 + 20 + 2;
const UDP_END: i32 = 14 + 20 + 8;
const IPPROTO_UDP: i32 = 17;

/// The instrumented program's instructions for `hook_fd`; see the module
/// doc.
pub fn instrumented_insns(hook_fd: BorrowedFd<'_>) -> Vec<Insn> {
    let hook = rustix::fd::AsRawFd::as_raw_fd(&hook_fd);
    let mut a = Asm::new();
    let pass = a.label();
    let exits: Vec<_> = (0..5).map(|_| a.label()).collect();
    a.push(Insn::mov64_reg(R6, R1));
    a.push(Insn::ldx_mem(asm::BPF_W, R2, R6, 0)); // data
    a.push(Insn::ldx_mem(asm::BPF_W, R3, R6, 4)); // data_end
    a.push(Insn::mov64_reg(R4, R2));
    a.push(Insn::alu64_imm(asm::BPF_ADD, R4, UDP_END));
    a.jmp_reg(asm::BPF_JGT, R4, R3, pass);
    a.push(Insn::ldx_mem(asm::BPF_H, R5, R2, ETH_TYPE));
    a.push(Insn::endian(true, R5, 16));
    a.jmp_imm(asm::BPF_JNE, R5, 0x0800, pass);
    a.push(Insn::ldx_mem(asm::BPF_B, R5, R2, IP_VHL));
    a.jmp_imm(asm::BPF_JNE, R5, 0x45, pass);
    a.push(Insn::ldx_mem(asm::BPF_B, R5, R2, IP_PROTO));
    a.jmp_imm(asm::BPF_JNE, R5, IPPROTO_UDP, pass);
    a.push(Insn::ldx_mem(asm::BPF_H, R5, R2, UDP_DPORT));
    a.push(Insn::endian(true, R5, 16));
    a.push(Insn::alu64_imm(asm::BPF_SUB, R5, ACTION_PORT_BASE as i32));
    for (action, exit) in exits.iter().enumerate() {
        a.jmp_imm(asm::BPF_JEQ, R5, action as i32, *exit);
    }
    a.bind(pass);
    a.ja(exits[2]);
    // xdpcap_exit(ctx, &hook, action) for each action, constant index.
    for (action, exit) in exits.iter().enumerate() {
        a.bind(*exit);
        a.push(Insn::mov64_reg(R1, R6));
        a.push_all(&Insn::ld_map_fd(R2, hook));
        a.push(Insn::mov64_imm(R3, action as i32));
        a.push(Insn::call(asm::BPF_FUNC_tail_call));
        a.push(Insn::mov64_imm(R0, action as i32));
        a.push(Insn::exit());
    }
    a.finish().expect("the instrumented program assembles")
}

/// Loads `insns` as an XDP program of `flavour`.
pub fn load(name: &str, insns: &[Insn], flavour: Flavour) -> OwnedFd {
    let bytes = asm::to_bytes(insns);
    let loaded = bpf::prog_load(&ProgLoad {
        prog_type: bpf::BPF_PROG_TYPE_XDP,
        expected_attach_type: flavour.attach_type,
        prog_flags: flavour.prog_flags(),
        name,
        license: "GPL",
        insns: &bytes,
        log_level: 0,
        log_size: 0,
    })
    .unwrap_or_else(|e| panic!("loading {name} ({flavour:?}): {e}"));
    loaded.fd
}

/// The instrumented program for `hook`, loaded as `flavour`.
pub fn instrumented(hook: &Hook, flavour: Flavour) -> OwnedFd {
    load("test_instr", &instrumented_insns(hook.fd.as_fd()), flavour)
}

/// A program that only returns `action`.
pub fn returning(action: u32, flavour: Flavour) -> OwnedFd {
    let insns = [Insn::mov64_imm(R0, action as i32), Insn::exit()];
    load("test_ret", &insns, flavour)
}

/// An Ethernet/IPv4/UDP frame to `dport` with `payload` bytes, as side A
/// would send it to side B.
pub fn udp_frame(dport: u16, payload: usize) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&40000u16.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    l4.extend_from_slice(&[0, 0]); // no UDP checksum
    l4.resize(l4.len() + payload, b'x');
    ipv4_frame(IPPROTO_UDP as u8, &l4)
}

/// An Ethernet/IPv4/TCP SYN from A to B's `dport`.
pub fn tcp_syn_frame(dport: u16) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&40000u16.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&1u32.to_be_bytes()); // seq
    l4.extend_from_slice(&0u32.to_be_bytes()); // ack
    l4.extend_from_slice(&[0x50, 0x02]); // 20-byte header, SYN
    l4.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]); // window, checksum, urgent
    ipv4_frame(6, &l4)
}

/// An Ethernet/IPv4 ICMP echo request from A to B.
pub fn icmp_echo_frame() -> Vec<u8> {
    ipv4_frame(1, &[8, 0, 0xf7, 0xfe, 0, 1, 0, 0])
}

/// Ethernet (B's MAC <- A's MAC) + IPv4 (A -> B, no options) + `l4`.
pub fn ipv4_frame(proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0x02, 0, 0xc6, 0x12, 0, 0x02]);
    f.extend_from_slice(&[0x02, 0, 0xc6, 0x12, 0, 0x01]);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + l4.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    let sum = ipv4_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(l4);
    f
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Runs `prog` once on `frame` with `BPF_PROG_TEST_RUN`; the action.
pub fn test_run(prog: BorrowedFd<'_>, frame: &[u8]) -> u32 {
    bpf::prog_test_run(&mut bpf::TestRun {
        prog_fd: prog,
        data_in: frame,
        data_out: None,
        ctx_in: None,
        repeat: 1,
        flags: 0,
    })
    .unwrap_or_else(|e| panic!("test run: {e}"))
    .retval
}

/// Attaches `prog` (native XDP, `BPF_LINK_CREATE`) to the veth end of
/// `side`, from a thread that enters that namespace; the link lives as long
/// as `pair`.
pub fn attach(pair: &mut NetPair, side: Side, prog: BorrowedFd<'_>) {
    let ns_path = PathBuf::from(pair.ns_path(side));
    let prog = prog
        .try_clone_to_owned()
        .expect("duplicating the program fd");
    let link = std::thread::spawn(move || {
        use xdpcap::sys::netns;
        netns::setns_path(&ns_path).unwrap_or_else(|e| panic!("entering the namespace: {e}"));
        let ifindex = netns::if_nametoindex(VETH).unwrap_or_else(|e| panic!("{e}"));
        bpf::link_create_xdp(prog.as_fd(), ifindex, 0)
            .unwrap_or_else(|e| panic!("attaching XDP in {}: {e}", ns_path.display()))
    })
    .join()
    .expect("the attaching thread panicked");
    pair.keep(link);
}
