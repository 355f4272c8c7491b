//! Signals as a file descriptor: SIGINT, SIGTERM and SIGHUP are blocked
//! and delivered through a `signalfd(2)` that sits in the capture's epoll
//! set, so a stop request is handled at a well-defined point (the hook
//! slots emptied, the rings drained, the output flushed) rather than in a
//! handler. SIGPIPE is ignored so a vanished reader of stdout is an
//! `EPIPE` write error.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::error::{Errno, Error, Result};

/// The signals that stop a capture.
pub const STOP_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO)
}

fn stop_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in STOP_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// A signalfd for [`STOP_SIGNALS`], which stay blocked while it lives.
pub struct SignalFd {
    fd: OwnedFd,
    old_mask: libc::sigset_t,
}

impl std::fmt::Debug for SignalFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalFd").field("fd", &self.fd).finish()
    }
}

/// Ignores SIGPIPE, blocks [`STOP_SIGNALS`] in the calling thread (and so
/// in every thread it spawns afterwards: call it before spawning any) and
/// returns a non-blocking signalfd that becomes readable when one of them
/// arrives.
pub fn block_stop_signals() -> Result<SignalFd> {
    // SAFETY: SIG_IGN for SIGPIPE installs no handler code.
    if unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) } == libc::SIG_ERR {
        return Err(Error::new("signal", last_errno()).with_object("SIGPIPE"));
    }
    let set = stop_set();
    // SAFETY: an all-zero sigset_t is a valid (empty) set.
    let mut old_mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` and `old_mask` are valid sigsets owned by this frame.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old_mask) };
    if r != 0 {
        return Err(Error::new("pthread_sigmask", Errno::from_raw_os_error(r)));
    }
    // SAFETY: `set` is a valid sigset; -1 asks for a new descriptor.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        let e = last_errno();
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
        return Err(Error::new("signalfd", e));
    }
    // SAFETY: signalfd returned a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(SignalFd { fd, old_mask })
}

impl SignalFd {
    /// The signal that arrived, if any (`None` when nothing is pending).
    pub fn read_signal(&self) -> Result<Option<i32>> {
        // SAFETY: an all-zero signalfd_siginfo is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is a writable buffer of `size` bytes.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                &mut info as *mut libc::signalfd_siginfo as *mut libc::c_void,
                size,
            )
        };
        if n < 0 {
            return match last_errno() {
                Errno::AGAIN | Errno::INTR => Ok(None),
                e => Err(Error::new("read", e).with_object("signalfd")),
            };
        }
        if n as usize != size {
            return Err(Error::new("read", Errno::IO).with_object("signalfd"));
        }
        Ok(Some(info.ssi_signo as i32))
    }

    /// Restores the calling thread's signal mask to what it was before
    /// [`block_stop_signals`] (e.g. in a child about to exec).
    pub fn unblock(&self) -> Result<()> {
        // SAFETY: `old_mask` is the valid sigset saved at creation.
        let r = unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(Error::new("pthread_sigmask", Errno::from_raw_os_error(r)));
        }
        Ok(())
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The name of a stop signal, for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_signals_arrive_through_the_fd() {
        // Runs in its own thread: the mask is per thread, and `raise`
        // directs the signal at the calling thread, so nothing else in
        // the test process sees it.
        std::thread::spawn(|| {
            let sfd = block_stop_signals().unwrap();
            assert_eq!(sfd.read_signal().unwrap(), None);
            for sig in STOP_SIGNALS {
                // SAFETY: the signal is blocked in this thread, so raising
                // it only makes it pending.
                assert_eq!(unsafe { libc::raise(sig) }, 0);
                assert_eq!(
                    sfd.read_signal().unwrap(),
                    Some(sig),
                    "{}",
                    signal_name(sig)
                );
                assert_eq!(sfd.read_signal().unwrap(), None);
            }
            sfd.unblock().unwrap();
            // SAFETY: reads the current mask into a local set.
            let blocked = unsafe {
                let mut cur: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur);
                libc::sigismember(&cur, libc::SIGTERM)
            };
            assert_eq!(blocked, 0, "SIGTERM unblocked again");
        })
        .join()
        .unwrap();
    }
}
