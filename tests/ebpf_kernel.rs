//! The eBPF backend against the kernel: for every expression of the shared
//! libpcap corpus (and a few touching offsets beyond the linear part),
//! libpcap's own classic program (`tcpdump -ddd`) is lowered into a
//! minimal XDP program, loaded through the verifier with and without
//! `BPF_F_XDP_HAS_FRAGS`, and run with `BPF_PROG_TEST_RUN` on the
//! Ethernet corpus: its verdict must equal the reference interpreter's
//! (`cbpf::interpret`) for every packet. Large packets (multi-buffer under
//! the frags flag) exercise the `bpf_xdp_load_bytes` fallback.
//!
//! Needs root and tcpdump; fails loudly without them.

mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use common::{corpus, oracle};
use xdpcap::asm::{self, Asm, Insn, Reg::*};
use xdpcap::filter::{cbpf, ebpf};
use xdpcap::sys::bpf::{self, ProgLoad, TestRun};

const XDP_DROP: i32 = 1;
const XDP_PASS: i32 = 2;

/// ctx → R6, data/data_end → R7/R8, R9 = length, the fragment, then
/// XDP_PASS on a match and XDP_DROP otherwise.
fn program(prog: &[cbpf::Insn], frags: bool) -> Result<Vec<Insn>, String> {
    let mut a = Asm::new();
    let on_match = a.label();
    let on_nomatch = a.label();
    a.push(Insn::mov64_reg(R6, R1));
    if frags {
        a.push(Insn::call(asm::BPF_FUNC_xdp_get_buff_len));
        a.push(Insn::mov64_reg(R9, R0));
    }
    a.push(Insn::ldx_mem(asm::BPF_W, R7, R6, 0));
    a.push(Insn::ldx_mem(asm::BPF_W, R8, R6, 4));
    if !frags {
        a.push(Insn::mov64_reg(R9, R8));
        a.push(Insn::alu64_reg(asm::BPF_SUB, R9, R7));
    }
    let opts = ebpf::LowerOpts {
        stack_base: -ebpf::FRAGMENT_STACK,
        frags,
    };
    ebpf::lower(prog, &mut a, &opts, on_match, on_nomatch).map_err(|e| e.to_string())?;
    // Only code something jumps to: the verifier refuses unreachable code.
    if a.is_used(on_match) {
        a.bind(on_match);
        a.push(Insn::mov64_imm(R0, XDP_PASS));
        a.push(Insn::exit());
    }
    if a.is_used(on_nomatch) {
        a.bind(on_nomatch);
        a.push(Insn::mov64_imm(R0, XDP_DROP));
        a.push(Insn::exit());
    }
    a.finish().map_err(|e| e.to_string())
}

fn load(insns: &[Insn], frags: bool) -> Result<OwnedFd, String> {
    let bytes = asm::to_bytes(insns);
    bpf::prog_load(&ProgLoad {
        prog_type: bpf::BPF_PROG_TYPE_XDP,
        expected_attach_type: bpf::BPF_XDP,
        prog_flags: if frags { bpf::BPF_F_XDP_HAS_FRAGS } else { 0 },
        name: "xdpcap_ebpf_t",
        license: "GPL",
        insns: &bytes,
        log_level: 0,
        log_size: 0,
    })
    .map(|l| l.fd)
    .map_err(|e| e.to_string())
}

fn run(fd: &OwnedFd, pkt: &[u8]) -> i32 {
    let mut t = TestRun {
        prog_fd: fd.as_fd(),
        data_in: pkt,
        data_out: None,
        ctx_in: None,
        repeat: 1,
        flags: 0,
    };
    let r = bpf::prog_test_run(&mut t)
        .unwrap_or_else(|e| panic!("test run of a {}-byte packet: {e}", pkt.len()));
    r.retval as i32
}

fn hex(b: &[u8]) -> String {
    b.iter().take(96).map(|x| format!("{x:02x}")).collect()
}

/// An empty Ethernet savefile for `tcpdump -ddd`.
fn savefile() -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}.pcap", common::unique_name("xdpcap_ebpf")));
    corpus::write_pcap(&path, 1, &[]);
    path
}

struct Removed(PathBuf);
impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Expressions of our own that read far into large packets, so that the
/// frags program goes through its `bpf_xdp_load_bytes` fallback.
const FAR: &[&str] = &[
    "ether[5000] = 0x55",
    "ether[3990:4] = 0x55555555 or ether[12:2] = 0x800",
    "ip[6000:2] > 0x5000",
    "len > 4000 and ether[4000] & 1 = 1",
    "tcp[4500] = 0x55",
    "ip[ip[0] & 0xf] = 4 and ether[8000] = 0x55",
];

#[test]
fn lowered_libpcap_programs_pass_the_verifier_and_agree_with_the_reference() {
    common::require_root();
    common::require_tool("tcpdump");
    let file = Removed(savefile());
    let list = std::fs::read_to_string("../shared/filter-corpus/libpcap-en10mb.txt")
        .or_else(|_| std::fs::read_to_string("/work/shared/filter-corpus/libpcap-en10mb.txt"))
        .expect("the shared libpcap filter corpus (../shared/filter-corpus)");
    let exprs: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .chain(FAR.iter().copied())
        .collect();
    // XDP test runs need at least an Ethernet header.
    let small: Vec<Vec<u8>> = corpus::ethernet_corpus()
        .into_iter()
        .filter(|p| p.len() >= 14)
        .collect();
    // Large frames: corpus frames padded with 0x55 to multi-buffer sizes.
    let large: Vec<Vec<u8>> = small
        .iter()
        .step_by(37)
        .zip([4100usize, 6100, 9000].into_iter().cycle())
        .map(|(p, len)| {
            let mut p = p.clone();
            p.resize(len.max(p.len()), 0x55);
            p
        })
        .collect();
    let mut programs = 0;
    let mut runs = 0;
    // Matches that needed bytes beyond the first page.
    let mut far_matches = 0;
    for expr in &exprs {
        let Ok(prog) = oracle::tcpdump_ddd(&file.0, expr) else {
            continue; // libpcap rejects it: nothing to lower
        };
        for frags in [false, true] {
            let insns = program(&prog, frags).unwrap_or_else(|e| panic!("{expr}: {e}"));
            let fd = load(&insns, frags).unwrap_or_else(|e| {
                panic!(
                    "{expr} (frags {frags}): the verifier refuses the lowered program: {e}\n{}",
                    asm::disasm(&insns)
                )
            });
            programs += 1;
            let packets = if frags {
                small
                    .iter()
                    .step_by(3)
                    .chain(large.iter())
                    .collect::<Vec<_>>()
            } else {
                small.iter().step_by(2).collect()
            };
            for pkt in packets {
                let want = cbpf::interpret(&prog, pkt, pkt.len() as u32) != 0;
                let got = run(&fd, pkt);
                runs += 1;
                if frags && want && pkt.len() > 4096 && FAR.contains(expr) {
                    far_matches += 1;
                }
                assert_eq!(
                    got,
                    if want { XDP_PASS } else { XDP_DROP },
                    "{expr} (frags {frags}): packet of {} bytes {}...: reference says {want}\n{}\n{}",
                    pkt.len(),
                    hex(pkt),
                    cbpf::format(&prog, cbpf::DumpStyle::Image),
                    asm::disasm(&insns)
                );
            }
        }
    }
    assert!(programs > 500, "only {programs} programs loaded");
    assert!(far_matches > 10, "only {far_matches} large packets matched");
    eprintln!("{programs} programs verified, {runs} test runs agree");
}
