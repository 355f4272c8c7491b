//! The hook: a pinned `BPF_MAP_TYPE_PROG_ARRAY` with one slot per XDP
//! action, the ABI shared with instrumented XDP programs.
//!
//! An instrumented program ends with `bpf_tail_call(ctx, &hook, ACTION);
//! return ACTION;`. While a capture runs, slot `ACTION` holds a capture
//! program that records the packet and returns `ACTION` itself, so the
//! packet's fate never changes. An empty slot costs one failed tail call.
//!
//! [`Hook`] creates, pins and opens hooks, checking the ABI (type, key and
//! value size, number of slots), and tells who holds each slot:
//!
//! ```no_run
//! use xdpcap::hook::{Hook, Slot};
//!
//! // A loader creates and pins the hook its XDP program tail-calls into...
//! let hook = Hook::create(5)?;
//! hook.pin("/sys/fs/bpf/my_hook")?;
//!
//! // ...and anyone can later open it and see what the slots hold.
//! let hook = Hook::open("/sys/fs/bpf/my_hook")?;
//! for (action, slot) in hook.slots()? {
//!     match slot {
//!         Slot::Empty => println!("{action}: empty"),
//!         Slot::Ours { prog_id, owner, .. } => {
//!             println!("{action}: xdpcap program {prog_id}, {owner:?}")
//!         }
//!         Slot::Other { prog_id, name } => println!("{action}: {name} ({prog_id})"),
//!     }
//! }
//! // Slots left behind by a killed capture can be emptied.
//! hook.clear_leftovers()?;
//! # Ok::<(), xdpcap::hook::Error>(())
//! ```

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::capture::program::NAME_PREFIX;
use crate::sys::{self, bpf, Errno};

/// Key and value size of a hook (`u32` slot index, `u32` program fd / id).
pub const KEY_SIZE: u32 = 4;
pub const VALUE_SIZE: u32 = 4;
/// One slot per XDP action.
pub const MAX_ENTRIES: u32 = 5;

/// Why a hook could not be created, opened or changed.
#[derive(Debug)]
pub enum Error {
    /// Nothing is pinned at the path.
    NotFound { path: PathBuf },
    /// The path is not on a bpffs.
    NotBpffs { path: PathBuf },
    /// The pinned object is not a hook: wrong map type, key or value size,
    /// or number of slots.
    WrongAbi { path: PathBuf, problem: String },
    /// A hook pinned where a new one should go is still used by a loaded
    /// program.
    InUse {
        path: PathBuf,
        prog_id: u32,
        name: String,
    },
    /// A system call failed.
    Sys { what: String, err: sys::Error },
}

impl Error {
    fn sys(what: impl Into<String>, err: sys::Error) -> Error {
        Error::Sys {
            what: what.into(),
            err,
        }
    }

    /// Whether the failure is a missing privilege (EPERM / EACCES).
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::Sys { err, .. } if matches!(err.errno(), Errno::PERM | Errno::ACCESS))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { path } => write!(
                f,
                "{}: no hook pinned there (load the instrumented XDP program first, or create one with xdpcap -create-hook {})",
                path.display(),
                path.display()
            ),
            Error::NotBpffs { path } => write!(
                f,
                "{}: not on a bpffs (mount one with: mount -t bpf bpf /sys/fs/bpf)",
                path.display()
            ),
            Error::WrongAbi { path, problem } => write!(
                f,
                "{}: not an xdpcap hook: {problem} (a hook is a BPF_MAP_TYPE_PROG_ARRAY with 4-byte keys and values and 1 to 5 entries)",
                path.display()
            ),
            Error::InUse {
                path,
                prog_id,
                name,
            } => write!(
                f,
                "{}: the hook pinned there is used by program {name:?} (id {prog_id}); unload that program or pick another path",
                path.display()
            ),
            Error::Sys { what, err } => {
                write!(f, "{what}: {err}")?;
                if matches!(err.errno(), Errno::PERM | Errno::ACCESS) && err.hint().is_none() {
                    write!(f, " (needs root or CAP_BPF and CAP_NET_ADMIN)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

/// What a hook slot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    Empty,
    /// An xdpcap capture program (recognised by its name prefix), and
    /// whether the capture that put it there still runs.
    Ours {
        prog_id: u32,
        name: String,
        owner: Owner,
    },
    /// Some other program.
    Other {
        prog_id: u32,
        name: String,
    },
}

/// What kind of BPF object `fd` refers to ("map", "prog", "link"...),
/// from its /proc/self/fd link (`anon_inode:bpf-map`); `None` when /proc
/// cannot tell.
fn bpf_object_kind(fd: BorrowedFd<'_>) -> Option<String> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let link = link.to_str()?;
    let kind = link.strip_prefix("anon_inode:bpf")?;
    Some(kind.trim_start_matches(['-', '_']).to_string())
}

/// The nearest ancestor directory of `path` that exists (`.` for a bare
/// relative name).
fn existing_ancestor(path: &Path) -> Option<&Path> {
    path.ancestors()
        .skip(1)
        .map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .find(|d| d.exists())
}

/// Who holds a capture program open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The process with this pid (a running capture).
    Running(u32),
    /// Nobody: a leftover of a capture that was killed.
    Gone,
    /// Cannot tell: /proc is not mounted.
    Unknown,
}

/// An open hook map.
#[derive(Debug)]
pub struct Hook {
    fd: OwnedFd,
    path: Option<PathBuf>,
    max_entries: u32,
}

impl Hook {
    /// Create an unpinned hook with `max_entries` slots (1 to 5).
    pub fn create(max_entries: u32) -> Result<Hook, Error> {
        if !(1..=MAX_ENTRIES).contains(&max_entries) {
            return Err(Error::WrongAbi {
                path: PathBuf::from("(new hook)"),
                problem: format!("{max_entries} entries"),
            });
        }
        let fd = bpf::map_create(&bpf::MapCreate {
            map_type: bpf::BPF_MAP_TYPE_PROG_ARRAY,
            key_size: KEY_SIZE,
            value_size: VALUE_SIZE,
            max_entries,
            map_flags: 0,
            name: "xdpcap_hook",
        })
        .map_err(|e| Error::sys("creating the hook map", e))?;
        Ok(Hook {
            fd,
            path: None,
            max_entries,
        })
    }

    /// Pin the hook at `path` (on a bpffs). A hook already pinned there
    /// (a stale pin of an earlier run) is replaced; anything else there is
    /// an error.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        if path.exists() {
            match Hook::open(path) {
                Ok(old) => {
                    if let Some((prog_id, name)) = old.user()? {
                        return Err(Error::InUse {
                            path: path.to_path_buf(),
                            prog_id,
                            name,
                        });
                    }
                    std::fs::remove_file(path).map_err(|e| {
                        Error::sys(
                            format!("removing the stale pin {}", path.display()),
                            sys::Error::new(
                                "unlink",
                                Errno::from_io_error(&e).unwrap_or(Errno::IO),
                            ),
                        )
                    })?
                }
                Err(Error::WrongAbi { problem, .. }) => {
                    return Err(Error::WrongAbi {
                        path: path.to_path_buf(),
                        problem: format!("{problem}; refusing to replace it"),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(false) = sys::is_bpffs(dir) {
                return Err(Error::NotBpffs {
                    path: path.to_path_buf(),
                });
            }
        }
        bpf::obj_pin(self.fd.as_fd(), path)
            .map_err(|e| Error::sys(format!("pinning the hook at {}", path.display()), e))
    }

    /// Open the hook pinned at `path`, checking that it is one.
    pub fn open(path: impl AsRef<Path>) -> Result<Hook, Error> {
        let path = path.as_ref();
        let fd = match bpf::obj_get(path) {
            Ok(fd) => fd,
            Err(e) => {
                // Nothing there: say so only if it could be there, that is
                // if the directory is on a bpffs.
                if e.errno() == Errno::NOENT && !path.exists() {
                    if let Some(Ok(false)) = existing_ancestor(path).map(sys::is_bpffs) {
                        return Err(Error::NotBpffs {
                            path: path.to_path_buf(),
                        });
                    }
                    return Err(Error::NotFound {
                        path: path.to_path_buf(),
                    });
                }
                if let Ok(false) = sys::is_bpffs(path) {
                    return Err(Error::NotBpffs {
                        path: path.to_path_buf(),
                    });
                }
                return Err(Error::sys(format!("opening hook {}", path.display()), e));
            }
        };
        Hook::from_fd(fd, Some(path.to_path_buf()))
    }

    /// A hook from a map fd (e.g. one a loader created), checking the ABI.
    pub fn from_fd(fd: OwnedFd, path: Option<PathBuf>) -> Result<Hook, Error> {
        let name = || path.clone().unwrap_or_else(|| PathBuf::from("(hook fd)"));
        // The kernel answers BPF_OBJ_GET_INFO_BY_FD for programs and links
        // too (with their own info), so ask /proc what the fd is.
        if let Some(kind) = bpf_object_kind(fd.as_fd()).filter(|k| *k != "map") {
            return Err(Error::WrongAbi {
                path: name(),
                problem: format!("the pinned object is not a map but a {kind}"),
            });
        }
        let info = match bpf::map_info(fd.as_fd()) {
            Ok(i) => i,
            Err(e) if e.errno() == Errno::INVAL => {
                return Err(Error::WrongAbi {
                    path: name(),
                    problem: "the pinned object is not a map (a program or link?)".into(),
                })
            }
            Err(e) => return Err(Error::sys(format!("inspecting {}", name().display()), e)),
        };
        let problem = if info.map_type != bpf::BPF_MAP_TYPE_PROG_ARRAY {
            Some(format!(
                "map {:?} is a {} ({}), not a BPF_MAP_TYPE_PROG_ARRAY ({})",
                info.name,
                map_type_name(info.map_type),
                info.map_type,
                bpf::BPF_MAP_TYPE_PROG_ARRAY
            ))
        } else if info.key_size != KEY_SIZE {
            Some(format!(
                "map {:?} has {}-byte keys, not {KEY_SIZE}",
                info.name, info.key_size
            ))
        } else if info.value_size != VALUE_SIZE {
            Some(format!(
                "map {:?} has {}-byte values, not {VALUE_SIZE}",
                info.name, info.value_size
            ))
        } else if !(1..=MAX_ENTRIES).contains(&info.max_entries) {
            Some(format!(
                "map {:?} has {} entries, not 1 to {MAX_ENTRIES}",
                info.name, info.max_entries
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::WrongAbi {
                path: name(),
                problem,
            });
        }
        Ok(Hook {
            fd,
            path,
            max_entries: info.max_entries,
        })
    }

    /// A loaded program other than a capture program that refers to this
    /// hook (an instrumented program), if any: (id, name).
    pub fn user(&self) -> Result<Option<(u32, String)>, Error> {
        let me = bpf::map_info(self.fd.as_fd())
            .map_err(|e| Error::sys(format!("inspecting {}", self.display_name()), e))?
            .id;
        let mut id = 0;
        loop {
            id = match bpf::prog_get_next_id(id) {
                Ok(Some(next)) => next,
                Ok(None) => return Ok(None),
                Err(e) => return Err(Error::sys("listing loaded programs", e)),
            };
            // Programs come and go while we look: skip those that went.
            let Ok(fd) = bpf::prog_get_fd_by_id(id) else {
                continue;
            };
            let Ok(info) = bpf::prog_info(fd.as_fd()) else {
                continue;
            };
            if info.map_ids.contains(&me) && !info.name.starts_with(NAME_PREFIX) {
                return Ok(Some((info.id, info.name)));
            }
        }
    }

    /// The pin path, if the hook was opened or pinned by path.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A printable name: the path, or "hook".
    pub fn display_name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "hook".to_string(), |p| p.display().to_string())
    }

    /// Number of slots.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// The actions this hook has a slot for.
    pub fn actions(&self) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|a| a.index() < self.max_entries)
            .collect()
    }

    /// The program id in `action`'s slot, `None` if empty.
    pub fn slot_id(&self, action: Action) -> Result<Option<u32>, Error> {
        let mut value = [0u8; 4];
        let found =
            bpf::map_lookup_elem(self.fd.as_fd(), &action.index().to_ne_bytes(), &mut value)
                .map_err(|e| {
                    Error::sys(
                        format!("reading slot {action} of {}", self.display_name()),
                        e,
                    )
                })?;
        Ok(found.then(|| u32::from_ne_bytes(value)))
    }

    /// What `action`'s slot holds.
    pub fn slot(&self, action: Action) -> Result<Slot, Error> {
        let Some(prog_id) = self.slot_id(action)? else {
            return Ok(Slot::Empty);
        };
        let name = match bpf::prog_get_fd_by_id(prog_id) {
            Ok(fd) => match bpf::prog_info(fd.as_fd()) {
                Ok(info) => info.name,
                Err(_) => String::new(),
            },
            // Gone between the lookup and now: the slot is empty again.
            Err(e) if e.errno() == Errno::NOENT => return Ok(Slot::Empty),
            Err(_) => String::new(),
        };
        if name.starts_with(NAME_PREFIX) {
            Ok(Slot::Ours {
                prog_id,
                name,
                owner: prog_owner(prog_id),
            })
        } else {
            Ok(Slot::Other { prog_id, name })
        }
    }

    /// Every slot and what it holds.
    pub fn slots(&self) -> Result<Vec<(Action, Slot)>, Error> {
        self.actions()
            .into_iter()
            .map(|a| Ok((a, self.slot(a)?)))
            .collect()
    }

    /// Empty the slots holding capture programs whose process is gone;
    /// returns the actions and program ids cleared.
    pub fn clear_leftovers(&self) -> Result<Vec<(Action, u32)>, Error> {
        let mut cleared = Vec::new();
        for (action, slot) in self.slots()? {
            if let Slot::Ours {
                prog_id,
                owner: Owner::Gone,
                ..
            } = slot
            {
                if self.clear_if(action, prog_id)? {
                    cleared.push((action, prog_id));
                }
            }
        }
        Ok(cleared)
    }

    /// Put the program `prog` into `action`'s slot.
    pub fn set(&self, action: Action, prog: BorrowedFd<'_>) -> Result<(), sys::Error> {
        let fd = prog.as_raw_fd_u32();
        bpf::map_update_elem(
            self.fd.as_fd(),
            &action.index().to_ne_bytes(),
            &fd.to_ne_bytes(),
            bpf::BPF_ANY,
        )
    }

    /// Empty `action`'s slot if it still holds program `prog_id`; returns
    /// whether it did.
    pub fn clear_if(&self, action: Action, prog_id: u32) -> Result<bool, Error> {
        if self.slot_id(action)? != Some(prog_id) {
            return Ok(false);
        }
        bpf::map_delete_elem(self.fd.as_fd(), &action.index().to_ne_bytes()).map_err(|e| {
            Error::sys(
                format!("emptying slot {action} of {}", self.display_name()),
                e,
            )
        })
    }

    /// Empty `action`'s slot whatever it holds.
    pub fn clear(&self, action: Action) -> Result<bool, Error> {
        bpf::map_delete_elem(self.fd.as_fd(), &action.index().to_ne_bytes()).map_err(|e| {
            Error::sys(
                format!("emptying slot {action} of {}", self.display_name()),
                e,
            )
        })
    }

    /// Another handle on the same map.
    pub fn try_clone(&self) -> std::io::Result<Hook> {
        Ok(Hook {
            fd: self.fd.try_clone()?,
            path: self.path.clone(),
            max_entries: self.max_entries,
        })
    }
}

impl AsFd for Hook {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

trait RawFdU32 {
    fn as_raw_fd_u32(&self) -> u32;
}

impl RawFdU32 for BorrowedFd<'_> {
    fn as_raw_fd_u32(&self) -> u32 {
        use std::os::fd::AsRawFd;
        self.as_raw_fd() as u32
    }
}

/// The process holding an fd on program `prog_id`, found through
/// `/proc/*/fdinfo` (`prog_id:` line of bpf-prog fds). A capture program
/// nobody holds is a leftover of a capture that was killed.
pub fn prog_owner(prog_id: u32) -> Owner {
    if !Path::new("/proc/self/fdinfo").is_dir() {
        return Owner::Unknown;
    }
    match find_prog_holder(prog_id) {
        Some(pid) => Owner::Running(pid),
        None => Owner::Gone,
    }
}

fn find_prog_holder(prog_id: u32) -> Option<u32> {
    let needle = format!("prog_id:\t{prog_id}\n");
    let procs = std::fs::read_dir("/proc").ok()?;
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let is_prog = std::fs::read_link(fd.path())
                .map(|t| t.as_os_str() == "anon_inode:bpf-prog")
                .unwrap_or(false);
            if !is_prog {
                continue;
            }
            let info = p.path().join("fdinfo").join(fd.file_name());
            if let Ok(text) = std::fs::read_to_string(info) {
                if text.contains(&needle) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// An XDP action, which is also the index of its hook slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Action {
    Aborted = 0,
    Drop = 1,
    Pass = 2,
    Tx = 3,
    Redirect = 4,
}

impl Action {
    /// Every action, in slot order.
    pub const ALL: [Action; 5] = [
        Action::Aborted,
        Action::Drop,
        Action::Pass,
        Action::Tx,
        Action::Redirect,
    ];

    /// The action for a slot index / XDP return value.
    pub fn from_index(i: u32) -> Option<Action> {
        Action::ALL.get(i as usize).copied()
    }

    /// Slot index and XDP return value (`XDP_DROP` = 1, ...).
    pub fn index(self) -> u32 {
        self as u32
    }

    /// Lower-case name: `aborted`, `drop`, `pass`, `tx`, `redirect`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Aborted => "aborted",
            Action::Drop => "drop",
            Action::Pass => "pass",
            Action::Tx => "tx",
            Action::Redirect => "redirect",
        }
    }

    /// A name in any case (`DROP`, `xdp_drop`) or a number 0-4.
    pub fn parse(s: &str) -> Option<Action> {
        let s = s.trim().to_ascii_lowercase();
        if let Ok(n) = s.parse::<u32>() {
            return Action::from_index(n);
        }
        let s = s.strip_prefix("xdp_").unwrap_or(&s);
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The UAPI name of a map type, for messages about a map of the wrong kind.
fn map_type_name(t: u32) -> &'static str {
    const NAMES: [&str; 34] = [
        "BPF_MAP_TYPE_UNSPEC",
        "BPF_MAP_TYPE_HASH",
        "BPF_MAP_TYPE_ARRAY",
        "BPF_MAP_TYPE_PROG_ARRAY",
        "BPF_MAP_TYPE_PERF_EVENT_ARRAY",
        "BPF_MAP_TYPE_PERCPU_HASH",
        "BPF_MAP_TYPE_PERCPU_ARRAY",
        "BPF_MAP_TYPE_STACK_TRACE",
        "BPF_MAP_TYPE_CGROUP_ARRAY",
        "BPF_MAP_TYPE_LRU_HASH",
        "BPF_MAP_TYPE_LRU_PERCPU_HASH",
        "BPF_MAP_TYPE_LPM_TRIE",
        "BPF_MAP_TYPE_ARRAY_OF_MAPS",
        "BPF_MAP_TYPE_HASH_OF_MAPS",
        "BPF_MAP_TYPE_DEVMAP",
        "BPF_MAP_TYPE_SOCKMAP",
        "BPF_MAP_TYPE_CPUMAP",
        "BPF_MAP_TYPE_XSKMAP",
        "BPF_MAP_TYPE_SOCKHASH",
        "BPF_MAP_TYPE_CGROUP_STORAGE",
        "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY",
        "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE",
        "BPF_MAP_TYPE_QUEUE",
        "BPF_MAP_TYPE_STACK",
        "BPF_MAP_TYPE_SK_STORAGE",
        "BPF_MAP_TYPE_DEVMAP_HASH",
        "BPF_MAP_TYPE_STRUCT_OPS",
        "BPF_MAP_TYPE_RINGBUF",
        "BPF_MAP_TYPE_INODE_STORAGE",
        "BPF_MAP_TYPE_TASK_STORAGE",
        "BPF_MAP_TYPE_BLOOM_FILTER",
        "BPF_MAP_TYPE_USER_RINGBUF",
        "BPF_MAP_TYPE_CGRP_STORAGE",
        "BPF_MAP_TYPE_ARENA",
    ];
    NAMES
        .get(t as usize)
        .copied()
        .unwrap_or("map of an unknown type")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
            assert_eq!(Action::parse(&a.name().to_uppercase()), Some(a));
            assert_eq!(Action::parse(&a.index().to_string()), Some(a));
            assert_eq!(Action::from_index(a.index()), Some(a));
        }
        assert_eq!(Action::parse("XDP_TX"), Some(Action::Tx));
        assert_eq!(Action::parse("5"), None);
        assert_eq!(Action::parse("jump"), None);
    }
}
