//! include/hook.h, the C side of the hook ABI: the example programs in
//! tests/data compile with clang (with only linux/bpf.h, and next to
//! libbpf's headers), the legacy map definition is exactly the hook's, and
//! the BTF-defined hooks, loaded and pinned by bpftool (libbpf), work live.
mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::capture::Scratch;
use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour};
use xdpcap::sys::bpf;

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Compiles tests/data/`name`.c as `make examples` does, into `dir`; the
/// object path.
fn compile(name: &str, dir: &Scratch) -> PathBuf {
    let clang = common::require_tool("clang");
    let obj = dir.0.join(format!("{name}.o"));
    let multiarch = Command::new("gcc")
        .arg("-dumpmachine")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "x86_64-linux-gnu".to_string());
    let out = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror"])
        .arg(format!("-I{ROOT}/include"))
        .arg(format!("-I/usr/include/{multiarch}"))
        .arg("-c")
        .arg(format!("{ROOT}/tests/data/{name}.c"))
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("running clang");
    assert!(
        out.status.success(),
        "clang failed on tests/data/{name}.c:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    obj
}

/// A directory in /sys/fs/bpf for what bpftool pins; removed on drop.
struct PinDir(PathBuf);

impl PinDir {
    fn new() -> PinDir {
        common::require_root();
        let dir = Path::new("/sys/fs/bpf").join(common::unique_name("xdpcap_hookh"));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        PinDir(dir)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bpftool prog load obj <dir>/prog type xdp pinmaps <dir>/maps`; the
/// program's fd.
fn bpftool_load(obj: &Path, dir: &PinDir) -> OwnedFd {
    let bpftool = common::require_tool("bpftool");
    let prog = dir.0.join("prog");
    let out = Command::new(bpftool)
        .args(["prog", "load"])
        .arg(obj)
        .arg(&prog)
        .args(["type", "xdp", "pinmaps"])
        .arg(dir.0.join("maps"))
        .output()
        .expect("running bpftool");
    assert!(
        out.status.success(),
        "bpftool prog load {} failed:\n{}",
        obj.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    bpf::obj_get(&prog).unwrap_or_else(|e| panic!("opening {}: {e}", prog.display()))
}

fn open_hook(dir: &PinDir, name: &str) -> OwnedFd {
    let path = dir.0.join("maps").join(name);
    bpf::obj_get(&path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
}

fn set_slot(hook: &OwnedFd, slot: u32, prog: &OwnedFd) -> Result<(), xdpcap::sys::Error> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(prog) as u32;
    bpf::map_update_elem(
        hook.as_fd(),
        &slot.to_ne_bytes(),
        &fd.to_ne_bytes(),
        bpf::BPF_ANY,
    )
}

/// The 4-byte words of the `maps` section of `obj`, from llvm-objdump.
fn maps_section_words(obj: &Path) -> Vec<u32> {
    let objdump = common::require_tool("llvm-objdump");
    let out = Command::new(objdump)
        .args(["-s", "-j", "maps"])
        .arg(obj)
        .output()
        .expect("running llvm-objdump");
    assert!(out.status.success(), "llvm-objdump -s -j maps failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut bytes = Vec::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("Contents of section maps"))
    {
        // " 0000 03000000 04000000 04000000 05000000  ................"
        let Some(hex) = line.strip_prefix(' ') else {
            continue;
        };
        for group in hex.split("  ").next().unwrap().split_whitespace().skip(1) {
            for pair in group.as_bytes().chunks(2) {
                let s = std::str::from_utf8(pair).unwrap();
                bytes.push(u8::from_str_radix(s, 16).expect("hex byte"));
            }
        }
    }
    bytes
        .chunks(4)
        .map(|w| u32::from_le_bytes(w.try_into().expect("whole words")))
        .collect()
}

#[test]
fn every_example_compiles_with_clang() {
    for entry in std::fs::read_dir(format!("{ROOT}/tests/data")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            let scratch = Scratch::new();
            let obj = compile(&name, &scratch);
            assert!(std::fs::metadata(&obj).unwrap().len() > 0);
        }
    }
}

#[test]
fn header_compiles_alone_and_after_libbpf() {
    // Only linux/bpf.h + hook.h, every macro used, in a scratch file.
    let clang = common::require_tool("clang");
    let scratch = Scratch::new();
    let dir = &scratch.0;
    for (name, prelude) in [("plain", ""), ("libbpf", "#include <bpf/bpf_helpers.h>\n")] {
        let src = dir.join(format!("{name}.c"));
        std::fs::write(
            &src,
            format!(
                "#include <linux/bpf.h>\n{prelude}#include \"hook.h\"\n\
                 struct bpf_map_def SEC(\"maps\") legacy_hook = XDPCAP_HOOK();\n\
                 XDPCAP_HOOK_BTF(btf_hook);\n\
                 SEC(\"xdp\") int p(struct xdp_md *ctx) {{\n\
                   if (ctx->data == ctx->data_end) return xdpcap_exit(ctx, &legacy_hook, XDP_ABORTED);\n\
                   return xdpcap_exit(ctx, &btf_hook, XDP_TX);\n}}\n\
                 char _license[] SEC(\"license\") = \"GPL\";\n"
            ),
        )
        .unwrap();
        let out = Command::new(&clang)
            .args(["-target", "bpf", "-O2", "-Wall", "-Werror"])
            .arg(format!("-I{ROOT}/include"))
            .arg("-I/usr/include/x86_64-linux-gnu")
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(dir.join(format!("{name}.o")))
            .output()
            .expect("running clang");
        assert!(
            out.status.success(),
            "hook.h ({name}) does not compile:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn legacy_map_definition_is_exactly_the_hook() {
    let scratch = Scratch::new();
    let obj = compile("legacy", &scratch);
    // struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }
    assert_eq!(
        maps_section_words(&obj),
        vec![bpf::BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 5, 0],
        "the maps section of {}",
        obj.display()
    );
    // ... and the one object in it is the hook.
    let readelf = common::require_tool("llvm-readelf");
    let out = Command::new(readelf).arg("-s").arg(&obj).output().unwrap();
    let syms = String::from_utf8_lossy(&out.stdout);
    let hook = syms
        .lines()
        .find(|l| l.ends_with(" xdpcap_hook"))
        .expect("symbol xdpcap_hook");
    assert!(hook.contains(" 20 OBJECT "), "xdpcap_hook: {hook}");
}

/// bpftool (libbpf) loads SEC("xdp") with expected_attach_type BPF_XDP and
/// SEC("xdp.frags") with the frags flag too: the pinned hook only takes
/// slot programs of that flavour.
#[test]
fn bpftool_loaded_hooks_take_the_libbpf_flavours() {
    for (name, expected) in [
        ("btf", Flavour::LIBBPF),
        ("btf_libbpf", Flavour::LIBBPF),
        (
            "frags",
            Flavour {
                attach_type: bpf::BPF_XDP,
                frags: true,
            },
        ),
    ] {
        let dir = PinDir::new();
        let _prog = bpftool_load(&compile(name, &Scratch::new()), &dir);
        let hook = open_hook(&dir, "xdpcap_hook");
        let info = bpf::map_info(hook.as_fd()).expect("map info");
        assert_eq!(
            (
                info.map_type,
                info.key_size,
                info.value_size,
                info.max_entries
            ),
            (bpf::BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 5),
            "{name}: the BTF-defined hook"
        );
        for flavour in Flavour::ALL {
            let slot_prog = xdp::returning(XDP_PASS, flavour);
            let result = set_slot(&hook, XDP_PASS, &slot_prog);
            assert_eq!(
                result.is_ok(),
                flavour == expected,
                "{name}: slot program {flavour:?}: {result:?}"
            );
        }
    }
}

/// Live: the libbpf-loaded program attached in a namespace returns through
/// its hook; a program in slot PASS decides the fate of pings.
#[test]
fn btf_hook_works_live() {
    for (name, mtu, size) in [("btf", 1500, 56), ("frags", 9000, 8900)] {
        let mut pair = NetPair::with_mtu(mtu);
        let dir = PinDir::new();
        let prog = bpftool_load(&compile(name, &Scratch::new()), &dir);
        xdp::attach(&mut pair, Side::B, prog.as_fd());
        assert!(pair.ping(Side::A, false, 2, size), "{name}: ping");
        let hook = open_hook(&dir, "xdpcap_hook");
        let frags = name == "frags";
        let drop = xdp::returning(
            XDP_DROP,
            Flavour {
                attach_type: bpf::BPF_XDP,
                frags,
            },
        );
        set_slot(&hook, XDP_PASS, &drop).expect("filling slot PASS");
        assert!(!pair.ping(Side::A, false, 2, size), "{name}: ping survived");
        bpf::map_delete_elem(hook.as_fd(), &XDP_PASS.to_ne_bytes()).unwrap();
        assert!(pair.ping(Side::A, false, 2, size), "{name}: ping after");
    }
}

/// Two programs share one hook and one of them also has a second hook.
#[test]
fn shared_and_several_hooks() {
    let bpftool = common::require_tool("bpftool");
    let scratch = Scratch::new();
    let obj = compile("multi", &scratch);
    let dir = PinDir::new();
    let out = Command::new(bpftool)
        .args(["prog", "loadall"])
        .arg(&obj)
        .arg(dir.0.join("progs"))
        .args(["type", "xdp", "pinmaps"])
        .arg(dir.0.join("maps"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shared = open_hook(&dir, "xdpcap_hook");
    let drops = open_hook(&dir, "drop_hook");
    let frame_9 = xdp::udp_frame(9, 8);
    let frame_80 = xdp::udp_frame(80, 8);
    let tx = xdp::returning(3, Flavour::LIBBPF);
    set_slot(&shared, XDP_PASS, &tx).unwrap();
    set_slot(&drops, XDP_DROP, &tx).unwrap();
    for p in ["prog_a", "prog_b"] {
        let prog = bpf::obj_get(&dir.0.join("progs").join(p)).unwrap();
        // Passed traffic goes through the shared hook in both programs.
        assert_eq!(xdp::test_run(prog.as_fd(), &frame_80), 3, "{p}: port 80");
    }
    let a = bpf::obj_get(&dir.0.join("progs/prog_a")).unwrap();
    let b = bpf::obj_get(&dir.0.join("progs/prog_b")).unwrap();
    // prog_a's drops use the shared hook, whose DROP slot is empty.
    assert_eq!(xdp::test_run(a.as_fd(), &frame_9), XDP_DROP);
    // prog_b's drops use drop_hook.
    assert_eq!(xdp::test_run(b.as_fd(), &frame_9), 3);
}

/// xdpcap captures through hooks that libbpf (bpftool) created and pinned:
/// SEC("xdp") and SEC("xdp.frags"), the latter with 9000-byte frames that
/// arrive as multi-buffer packets and must be captured whole.
#[test]
fn xdpcap_captures_through_libbpf_pinned_hooks() {
    use common::capture::{read_capture, xdpcap, Running};
    for (name, mtu, ping_size) in [("btf", 1500, 56), ("frags", 9000, 8900)] {
        let mut pair = NetPair::with_mtu(mtu);
        let dir = PinDir::new();
        let scratch = Scratch::new();
        let prog = bpftool_load(&compile(name, &scratch), &dir);
        xdp::attach(&mut pair, Side::B, prog.as_fd());
        let hook_path = dir.0.join("maps/xdpcap_hook");
        let hook = xdp::Hook::open_for_test(&hook_path);
        let out = scratch.file("cap.pcapng");
        let cap = Running::start(
            xdpcap(&[
                "-q",
                "-actions",
                "drop,pass",
                hook_path.to_str().unwrap(),
                &out,
            ]),
            &hook,
            &[XDP_DROP, XDP_PASS],
        );
        pair.udp(Side::A, false, 9, 3, 8);
        assert!(pair.ping(Side::A, false, 2, ping_size), "{name}: ping");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let done = cap.stop(rustix::process::Signal::INT);
        assert!(done.status.success(), "{name}: {}", done.stderr);
        assert_eq!(hook.slots(), vec![None; 5], "{name}: slots left filled");
        let packets = read_capture(&out);
        let drops: Vec<_> = packets.iter().filter(|p| p.iface == "xdpdrop").collect();
        assert_eq!(drops.len(), 3, "{name}: {packets:?}");
        assert!(drops
            .iter()
            .all(|p| common::capture::udp_dport(&p.data) == Some(9)));
        // The echo requests, whole: Ethernet + IPv4 + ICMP header + payload.
        let frame_len = 14 + 20 + 8 + ping_size;
        let pings: Vec<_> = packets
            .iter()
            .filter(|p| p.iface == "xdppass" && p.orig_len as usize == frame_len)
            .collect();
        assert_eq!(pings.len(), 2, "{name}: {packets:?}");
        for p in pings {
            assert_eq!(p.data.len(), frame_len, "{name}: captured length");
            // ping fills its payload with a counting pattern: the last byte
            // comes from the last fragment of a multi-buffer frame.
            assert_eq!(
                p.data[frame_len - 1],
                (ping_size - 1) as u8,
                "{name}: last byte"
            );
        }
    }
}
