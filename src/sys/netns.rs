//! Network namespaces and interface names: what tests and tools need to
//! attach XDP to a device inside a namespace (`setns(2)` then
//! `BPF_LINK_CREATE` with its ifindex).

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use super::error::{Errno, Error, Result};

/// The calling thread's network namespace.
pub const CURRENT_NETNS: &str = "/proc/thread-self/ns/net";

fn open(path: &Path) -> Result<OwnedFd> {
    File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::from_io("open", &e).with_object(path.display().to_string()))
}

fn enter(fd: &OwnedFd, what: &Path) -> Result<()> {
    move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network))
        .map_err(|e| Error::new("setns", e).with_object(what.display().to_string()))
}

/// `setns(2)` with `CLONE_NEWNET`: moves the calling thread into the
/// network namespace at `path` (e.g. `/run/netns/NAME`).
pub fn setns_path(path: &Path) -> Result<()> {
    enter(&open(path)?, path)
}

/// Keeps the calling thread in another network namespace until dropped,
/// then returns it to the one it came from.
///
/// Create and drop it on the same thread: namespaces are per thread.
#[derive(Debug)]
pub struct NetnsGuard {
    saved: OwnedFd,
}

impl NetnsGuard {
    /// Saves the current network namespace and enters the one at `path`.
    pub fn enter(path: &Path) -> Result<NetnsGuard> {
        let saved = open(Path::new(CURRENT_NETNS))?;
        setns_path(path)?;
        Ok(NetnsGuard { saved })
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        // Going back into a namespace we were in cannot fail for lack of
        // rights; if it fails anyway the thread must not go on elsewhere.
        if let Err(e) = enter(&self.saved, Path::new(CURRENT_NETNS)) {
            panic!("cannot return to the original network namespace: {e}");
        }
    }
}

/// `if_nametoindex(3)`: the ifindex of device `name` in the calling
/// thread's network namespace.
pub fn if_nametoindex(name: &str) -> Result<u32> {
    let c = CString::new(name)
        .map_err(|_| Error::new("if_nametoindex", Errno::INVAL).with_object(name))?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        let e = Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::NODEV);
        return Err(Error::new("if_nametoindex", e).with_object(name));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_index_one_and_unknown_devices_error() {
        assert_eq!(if_nametoindex("lo").unwrap(), 1);
        let e = if_nametoindex("xdpcap-nonexistent").unwrap_err();
        assert!(e.to_string().contains("xdpcap-nonexistent"), "{e}");
        assert!(if_nametoindex("a\0b").is_err());
    }

    #[test]
    fn missing_namespace_is_an_error_naming_it() {
        let e = NetnsGuard::enter(Path::new("/run/netns/xdpcap-missing")).unwrap_err();
        assert_eq!(e.errno(), Errno::NOENT);
        assert!(e.to_string().contains("/run/netns/xdpcap-missing"), "{e}");
    }
}
