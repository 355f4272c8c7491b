//! The static binary (`make static` → dist/xdpcap) on a bare appliance:
//! nothing in its root but itself, the bpffs and the CPU list bind-mounted
//! in. It must run there: usage, version, filters with built-in service and
//! protocol names (no /etc), an offline run and a live capture of a hook
//! set up outside. Each run happens in a private mount namespace
//! (`unshare --mount`), so its mounts vanish with it.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// dist/xdpcap, which `make test` builds first (`make static`).
fn static_binary() -> PathBuf {
    let bin = Path::new(ROOT).join("dist/xdpcap");
    assert!(
        bin.is_file(),
        "{} is missing: run `make static` (make test does)",
        bin.display()
    );
    bin
}

/// An empty root holding only /xdpcap and the mount points it needs.
struct Chroot {
    root: PathBuf,
}

/// What is bind-mounted into the root (source = target inside).
const BINDS: [&str; 2] = ["/sys/fs/bpf", "/sys/devices/system/cpu"];

impl Chroot {
    fn new() -> Chroot {
        common::require_root();
        common::require_tool("unshare");
        common::require_tool("chroot");
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(common::unique_name("chroot"));
        std::fs::create_dir_all(&root).unwrap();
        let chroot = Chroot { root };
        for dir in BINDS {
            std::fs::create_dir_all(chroot.inside(dir)).unwrap();
        }
        std::fs::copy(static_binary(), chroot.root.join("xdpcap")).unwrap();
        chroot
    }

    fn inside(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// `/xdpcap args...` chrooted, in a private mount namespace with the
    /// bind mounts; stdin closed, stdout and stderr piped.
    fn xdpcap(&self, args: &[&str]) -> Command {
        let root = self.root.to_str().unwrap();
        let mut script = String::from("set -e; ");
        for dir in BINDS {
            script.push_str(&format!("mount --bind {dir} {root}{dir}; "));
        }
        script.push_str(&format!("exec chroot {root} /xdpcap \"$@\""));
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "--", "bash", "-c"])
            .arg(script)
            .arg("xdpcap")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        // Never recurse into a live mount (that would empty the real
        // bpffs): the mounts live in namespaces that died with their runs.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.root.to_str().unwrap();
        if mounts.contains(root) {
            eprintln!("not removing {root}: something is still mounted below it");
            return;
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn has_no_interpreter_and_no_shared_library() {
    let bin = static_binary();
    let readelf = common::require_tool("readelf");
    let headers = Command::new(&readelf)
        .arg("-lW")
        .arg(&bin)
        .output()
        .unwrap();
    assert!(headers.status.success());
    assert!(!String::from_utf8_lossy(&headers.stdout).contains("INTERP"));
    let dynamic = Command::new(&readelf)
        .arg("-dW")
        .arg(&bin)
        .output()
        .unwrap();
    assert!(dynamic.status.success());
    assert!(!String::from_utf8_lossy(&dynamic.stdout).contains("(NEEDED)"));
}

#[test]
fn usage_and_version_in_an_empty_root() {
    let chroot = Chroot::new();
    let help = chroot.xdpcap(&["-h"]).output().unwrap();
    assert!(help.status.success(), "{help:?}");
    assert!(String::from_utf8_lossy(&help.stdout).contains("usage"));
    let version = chroot.xdpcap(&["-V"]).output().unwrap();
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("xdpcap {}", env!("CARGO_PKG_VERSION"))
    );
}
