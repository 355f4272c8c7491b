//! The error of the `sys` layer: which system call failed, with which errno,
//! on which object, and — for `BPF_PROG_LOAD` — what the verifier said.
//!
//! `Display` names the operation and the object and adds a hint when the
//! fix is obvious from the errno (missing privileges, missing bpffs, missing
//! pin), so a caller can print it as is.

use std::fmt;

pub use rustix::io::Errno;

/// Result of every `sys` call.
pub type Result<T> = std::result::Result<T, Error>;

/// A failed system call.
#[derive(Debug)]
pub struct Error {
    op: &'static str,
    errno: Errno,
    object: Option<String>,
    hint: Option<String>,
    log: Option<String>,
}

impl Error {
    /// An error of `op` (the UAPI name of the command or the name of the
    /// system call, e.g. `"BPF_PROG_LOAD"`, `"perf_event_open"`).
    pub fn new(op: &'static str, errno: Errno) -> Error {
        Error {
            op,
            errno,
            object: None,
            hint: None,
            log: None,
        }
    }

    /// The error of `op` from a `std::io::Error` (e.g. a failed file read).
    pub fn from_io(op: &'static str, e: &std::io::Error) -> Error {
        Error::new(op, Errno::from_io_error(e).unwrap_or(Errno::IO))
    }

    /// Names the object involved: a path, a map or program name, an id.
    pub fn with_object(mut self, object: impl Into<String>) -> Error {
        self.object = Some(object.into());
        self
    }

    /// Replaces the hint derived from the errno with a specific one.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Attaches the verifier log of a failed `BPF_PROG_LOAD`.
    pub fn with_log(mut self, log: String) -> Error {
        self.log = Some(log);
        self
    }

    /// The operation that failed (`"BPF_MAP_UPDATE_ELEM"`, `"perf_event_open"`, ...).
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The errno the kernel returned; match it against `Errno::INVAL`,
    /// `Errno::NOENT`, `Errno::PERM`, `Errno::EXIST`, ...
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// The raw errno value.
    pub fn raw_errno(&self) -> i32 {
        self.errno.raw_os_error()
    }

    /// The object involved, if known.
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }

    /// The full verifier log of a failed program load.
    pub fn verifier_log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// The hint shown by `Display`, if any.
    pub fn hint(&self) -> Option<String> {
        if let Some(h) = &self.hint {
            return Some(h.clone());
        }
        default_hint(self.op, self.errno)
    }
}

/// Hints that follow from the operation and errno alone.
fn default_hint(op: &str, errno: Errno) -> Option<String> {
    let bpf = op.starts_with("BPF_");
    Some(match errno {
        Errno::PERM if bpf => match missing_capabilities() {
            Some(missing) => format!(
                "missing {missing} (a capture needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, or root)"
            ),
            None => "needs root or CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN".into(),
        },
        // The file mode of the pin, not a capability, refused the open.
        Errno::ACCESS if op == "BPF_OBJ_GET" => {
            "no read-write access to the pinned file (chown or chmod it, or run as root)".into()
        }
        Errno::PERM | Errno::ACCESS if op == "perf_event_open" => {
            "needs root or CAP_PERFMON (or a lower /proc/sys/kernel/perf_event_paranoid)".into()
        }
        // perf_mmap: beyond kernel.perf_event_mlock_kb (per CPU, per user)
        // the ring counts against RLIMIT_MEMLOCK unless CAP_IPC_LOCK.
        Errno::PERM if op == "mmap" => "over the locked-memory limit for perf rings \
            (kernel.perf_event_mlock_kb per CPU, then RLIMIT_MEMLOCK): lower -buffer, \
            or grant CAP_IPC_LOCK"
            .into(),
        Errno::NOENT if op == "BPF_OBJ_GET" => "no such pinned object".into(),
        Errno::NOSYS if bpf => "the kernel was built without CONFIG_BPF_SYSCALL".into(),
        _ => return None,
    })
}

/// The capabilities a capture needs that this process lacks in its
/// effective set, as `CAP_X, CAP_Y`; `None` when it lacks none (or has
/// CAP_SYS_ADMIN, which stands in for all three) or the set is unreadable.
fn missing_capabilities() -> Option<String> {
    use rustix::thread::CapabilitySet as Cap;
    let effective = rustix::thread::capabilities(None).ok()?.effective;
    if effective.contains(Cap::SYS_ADMIN) {
        return None;
    }
    let missing: Vec<&str> = [
        (Cap::BPF, "CAP_BPF"),
        (Cap::PERFMON, "CAP_PERFMON"),
        (Cap::NET_ADMIN, "CAP_NET_ADMIN"),
    ]
    .iter()
    .filter(|(cap, _)| !effective.contains(*cap))
    .map(|(_, name)| *name)
    .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// The C name of the errnos the kernel's BPF and perf code returns, so a
/// message can be grepped against the kernel's sources and man pages.
pub fn errno_name(errno: Errno) -> Option<&'static str> {
    Some(match errno.raw_os_error() {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EPIPE => "EPIPE",
        libc::EMSGSIZE => "EMSGSIZE",
        // The kernel-internal ENOTSUPP leaks out of some BPF paths.
        524 => "ENOTSUPP",
        _ => return None,
    })
}

/// The C library's description of `errno`, without std's "(os error N)".
fn strerror(errno: Errno) -> String {
    if errno.raw_os_error() == 524 {
        return "Operation not supported".to_string();
    }
    let s = std::io::Error::from(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The last lines of a verifier log, where its reason for a rejection is.
fn log_tail(log: &str, lines: usize) -> Vec<&str> {
    let all: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = all.len().saturating_sub(lines);
    all[from..].to_vec()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(object) = &self.object {
            write!(f, " {object}")?;
        }
        write!(f, ": {}", strerror(self.errno))?;
        match errno_name(self.errno) {
            Some(name) => write!(f, " ({name})")?,
            None => write!(f, " (errno {})", self.errno.raw_os_error())?,
        }
        if let Some(hint) = self.hint() {
            write!(f, "; {hint}")?;
        }
        if let Some(log) = &self.log {
            let tail = log_tail(log, 6);
            if !tail.is_empty() {
                write!(f, "; verifier log ends with:")?;
                for line in tail {
                    write!(f, "\n    {line}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::new(std::io::Error::from(e.errno).kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_op_object_errno_and_hint() {
        let e = Error::new("BPF_OBJ_GET", Errno::NOENT).with_object("/sys/fs/bpf/hook");
        let s = e.to_string();
        assert_eq!(
            s,
            "BPF_OBJ_GET /sys/fs/bpf/hook: No such file or directory (ENOENT); no such pinned object"
        );
        assert_eq!(e.errno(), Errno::NOENT);
        assert_eq!(e.raw_errno(), libc::ENOENT);
        assert_eq!(e.object(), Some("/sys/fs/bpf/hook"));
    }

    #[test]
    fn eperm_on_bpf_hints_capabilities() {
        let s = Error::new("BPF_MAP_CREATE", Errno::PERM).to_string();
        assert!(s.contains("CAP_BPF"), "{s}");
        let s = Error::new("perf_event_open", Errno::ACCESS).to_string();
        assert!(s.contains("CAP_PERFMON"), "{s}");
        assert_eq!(Error::new("BPF_MAP_CREATE", Errno::INVAL).hint(), None);
        // EACCES from BPF_PROG_LOAD is the verifier's verdict, not a
        // missing capability.
        assert_eq!(Error::new("BPF_PROG_LOAD", Errno::ACCESS).hint(), None);
    }

    #[test]
    fn display_shows_the_end_of_the_verifier_log() {
        let log = "0: (b7) r0 = 2\n1: (95) exit\n\nR0 !read_ok\nprocessed 2 insns\n";
        let e = Error::new("BPF_PROG_LOAD", Errno::ACCESS)
            .with_object("xdpcap_drop")
            .with_log(log.to_string())
            .with_hint("rejected by the verifier");
        let s = e.to_string();
        assert!(s.contains("rejected by the verifier"), "{s}");
        assert!(
            s.contains("\n    R0 !read_ok\n    processed 2 insns"),
            "{s}"
        );
        assert_eq!(e.verifier_log(), Some(log));
    }

    #[test]
    fn unknown_errnos_show_their_number() {
        let s = Error::new("BPF_PROG_LOAD", Errno::from_raw_os_error(524)).to_string();
        assert_eq!(s, "BPF_PROG_LOAD: Operation not supported (ENOTSUPP)");
        let s = Error::new("read", Errno::from_raw_os_error(133)).to_string();
        assert!(s.ends_with("(errno 133)"), "{s}");
    }

    #[test]
    fn log_tail_keeps_last_non_empty_lines() {
        assert_eq!(log_tail("a\n\nb\nc\n\n", 2), vec!["b", "c"]);
        assert_eq!(log_tail("a", 5), vec!["a"]);
        assert!(log_tail("", 5).is_empty());
    }
}
