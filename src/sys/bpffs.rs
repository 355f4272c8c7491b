//! The BPF filesystem, where maps and programs are pinned, and the memlock
//! limit that older kernels charged BPF memory to.

use std::path::Path;

use super::error::{Error, Result};

/// `BPF_FS_MAGIC` of `linux/magic.h`: `statfs.f_type` of a bpffs.
pub const BPF_FS_MAGIC: u64 = 0xcafe_4a11;

/// Where bpffs is mounted by convention.
pub const BPF_FS_DEFAULT: &str = "/sys/fs/bpf";

/// `statfs(2)`: whether `path` is on a bpffs. Callers use it to say "X is
/// not on a bpffs; mount it with `mount -t bpf bpf /sys/fs/bpf`".
pub fn is_bpffs(path: &Path) -> Result<bool> {
    let st = rustix::fs::statfs(path)
        .map_err(|e| Error::new("statfs", e).with_object(path.display().to_string()))?;
    #[allow(clippy::unnecessary_cast)]
    Ok(st.f_type as u64 == BPF_FS_MAGIC)
}

/// `setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY)`, best effort: returns whether
/// it worked. Current kernels charge BPF memory to the memory cgroup and
/// ignore this limit, and root without `CAP_SYS_RESOURCE` cannot raise it,
/// so a failure is not an error.
pub fn raise_memlock() -> bool {
    use rustix::process::{setrlimit, Resource, Rlimit};
    setrlimit(
        Resource::Memlock,
        Rlimit {
            current: None,
            maximum: None,
        },
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_and_proc_are_not_bpffs() {
        assert!(!is_bpffs(Path::new("/proc")).unwrap());
        assert!(!is_bpffs(Path::new("/")).unwrap());
    }

    #[test]
    fn missing_path_is_an_error_naming_it() {
        let e = is_bpffs(Path::new("/nonexistent/xdpcap")).unwrap_err();
        assert_eq!(e.errno(), rustix::io::Errno::NOENT);
        assert!(e.to_string().contains("/nonexistent/xdpcap"), "{e}");
    }
}
