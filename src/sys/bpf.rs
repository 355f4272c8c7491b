//! The `bpf(2)` system call: one raw entry point (`sys_bpf`) and one small
//! wrapper per command.
//!
//! Each wrapper zeroes the attr struct of its command (see `bpf_attr.rs`),
//! fills the few fields it needs, and returns an [`OwnedFd`] or `()`. Every
//! pointer handed to the kernel points into a slice or a struct borrowed
//! for the duration of the call, and every buffer the kernel writes into is
//! checked against the size the kernel will write, so the wrappers are
//! safe to call with any arguments.
//!
//! Under `cfg(test)` the raw entry point can be replaced per thread by a
//! test double (module `double`) so the encoding of each command is tested
//! without root.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use super::bpf_attr::*;
use super::error::{Errno, Error, Result};

// enum bpf_cmd
pub const BPF_MAP_CREATE: u32 = 0;
pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
pub const BPF_MAP_DELETE_ELEM: u32 = 3;
pub const BPF_MAP_GET_NEXT_KEY: u32 = 4;
pub const BPF_PROG_LOAD: u32 = 5;
pub const BPF_OBJ_PIN: u32 = 6;
pub const BPF_OBJ_GET: u32 = 7;
pub const BPF_PROG_TEST_RUN: u32 = 10;
pub const BPF_PROG_GET_NEXT_ID: u32 = 11;
pub const BPF_MAP_GET_NEXT_ID: u32 = 12;
pub const BPF_PROG_GET_FD_BY_ID: u32 = 13;
pub const BPF_MAP_GET_FD_BY_ID: u32 = 14;
pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
pub const BPF_LINK_CREATE: u32 = 28;

// enum bpf_map_type (the ones xdpcap uses)
pub const BPF_MAP_TYPE_HASH: u32 = 1;
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
pub const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
pub const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
pub const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: u32 = 21;

// enum bpf_prog_type / enum bpf_attach_type / enum bpf_link_type
pub const BPF_PROG_TYPE_XDP: u32 = 6;
pub const BPF_XDP: u32 = 37;
pub const BPF_LINK_TYPE_XDP: u32 = 6;

// Flags.
/// `BPF_MAP_UPDATE_ELEM`: create or replace.
pub const BPF_ANY: u64 = 0;
/// `BPF_MAP_UPDATE_ELEM`: create only.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_MAP_UPDATE_ELEM`: replace only.
pub const BPF_EXIST: u64 = 2;
/// `BPF_MAP_CREATE`: no preallocation (hash maps).
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
/// `BPF_MAP_CREATE` / `BPF_OBJ_GET`: read-only for user space.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// `BPF_MAP_CREATE` / `BPF_OBJ_GET`: write-only for user space.
pub const BPF_F_WRONLY: u32 = 1 << 4;
/// `BPF_MAP_CREATE`: read-only for programs.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_PROG_LOAD`: an XDP program that handles multi-buffer packets.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
/// `BPF_PROG_TEST_RUN`: run XDP on live frames (transmit them for real).
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
/// `bpf_perf_event_output` flags: the ring of the current CPU.
pub const BPF_F_CURRENT_CPU: u64 = 0xffff_ffff;

// Helper function ids (enum bpf_func_id) of the helpers xdpcap calls,
// spelled as in the UAPI.
#[allow(non_upper_case_globals)]
mod func_ids {
    pub const BPF_FUNC_map_lookup_elem: i32 = 1;
    pub const BPF_FUNC_ktime_get_ns: i32 = 5;
    pub const BPF_FUNC_tail_call: i32 = 12;
    pub const BPF_FUNC_perf_event_output: i32 = 25;
    pub const BPF_FUNC_xdp_output: i32 = 121;
    pub const BPF_FUNC_xdp_get_buff_len: i32 = 188;
    pub const BPF_FUNC_xdp_load_bytes: i32 = 189;
}
pub use func_ids::*;

/// XDP actions (enum xdp_action).
pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

/// `XDP_FLAGS_*` of `linux/if_link.h`, for [`link_create_xdp`].
pub const XDP_FLAGS_UPDATE_IF_NOEXIST: u32 = 1 << 0;
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// Verifier log buffer when the caller asks for a log without a size, and
/// for the retry that fetches the reason of a failed load.
pub const LOG_SIZE_DEFAULT: u32 = 1 << 20;
/// The log buffer grows (on `ENOSPC`) up to this size.
pub const LOG_SIZE_MAX: u32 = 16 << 20;

/// `bpf(cmd, attr, sizeof attr)`: the only place that makes the system call.
///
/// Returns the non-negative result (an fd for the commands that create one).
fn sys_bpf<T: Pod>(cmd: u32, attr: &mut T) -> std::result::Result<i64, Errno> {
    let bytes = attr.as_bytes_mut();
    #[cfg(test)]
    if let Some(r) = double::call(cmd, bytes) {
        return r;
    }
    // SAFETY: `bytes` is a live, initialised attr of the command's layout;
    // every address inside it points into memory the calling wrapper keeps
    // borrowed (and, for outputs, sized as the kernel will write) until
    // this call returns.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_int,
            bytes.as_mut_ptr(),
            bytes.len() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO))
    } else {
        Ok(ret)
    }
}

/// `sys_bpf` for the commands that return a new file descriptor.
fn sys_bpf_fd<T: Pod>(cmd: u32, attr: &mut T) -> std::result::Result<OwnedFd, Errno> {
    let fd = sys_bpf(cmd, attr)?;
    // SAFETY: on success these commands return a new file descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn ptr<T>(s: &[T]) -> u64 {
    s.as_ptr() as u64
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

fn path_cstring(op: &'static str, path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::new(op, Errno::INVAL).with_object(path.display().to_string()))
}

/// Refuses, before the kernel does with a bare `EINVAL`, an object name
/// with characters other than letters, digits, `_` and `.`.
fn check_name(op: &'static str, name: &str) -> Result<()> {
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Ok(());
    }
    Err(Error::new(op, Errno::INVAL)
        .with_object(format!("{name:?}"))
        .with_hint("object names allow only letters, digits, '_' and '.'"))
}

/// Arguments of [`map_create`].
#[derive(Clone, Debug)]
pub struct MapCreate<'a> {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    /// Truncated to 15 bytes; the kernel accepts `[A-Za-z0-9_.]` only.
    pub name: &'a str,
}

/// `BPF_MAP_CREATE`: creates a map.
pub fn map_create(m: &MapCreate<'_>) -> Result<OwnedFd> {
    check_name("BPF_MAP_CREATE", m.name)?;
    let mut attr = MapCreateAttr {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        map_flags: m.map_flags,
        map_name: obj_name(m.name),
        ..Default::default()
    };
    sys_bpf_fd(BPF_MAP_CREATE, &mut attr)
        .map_err(|e| Error::new("BPF_MAP_CREATE", e).with_object(m.name))
}

/// Key and value sizes of a map, as the kernel reads and writes them from
/// user space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ElemSizes {
    key: usize,
    value: usize,
}

fn is_percpu(map_type: u32) -> bool {
    matches!(
        map_type,
        BPF_MAP_TYPE_PERCPU_HASH
            | BPF_MAP_TYPE_PERCPU_ARRAY
            | BPF_MAP_TYPE_LRU_PERCPU_HASH
            | BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
    )
}

/// The number of possible CPUs, read once.
fn possible_cpus_cached() -> Result<usize> {
    static N: OnceLock<usize> = OnceLock::new();
    if let Some(n) = N.get() {
        return Ok(*n);
    }
    let n = super::cpu::possible_cpus()?;
    Ok(*N.get_or_init(|| n))
}

/// The per-CPU value size of a per-CPU map: `round_up(value_size, 8) *
/// possible_cpus`.
pub fn percpu_value_size(value_size: u32) -> Result<usize> {
    Ok((value_size as usize).div_ceil(8) * 8 * possible_cpus_cached()?)
}

/// Asks the kernel how many bytes it reads and writes for `fd`'s keys and
/// values, so that no buffer we hand it is too short.
fn elem_sizes(op: &'static str, fd: BorrowedFd<'_>) -> Result<ElemSizes> {
    let info = map_info(fd).map_err(|e| Error::new(op, e.errno()))?;
    let value = if is_percpu(info.map_type) {
        percpu_value_size(info.value_size)?
    } else {
        info.value_size as usize
    };
    Ok(ElemSizes {
        key: info.key_size as usize,
        value,
    })
}

fn check_len(op: &'static str, what: &str, got: usize, need: usize) -> Result<()> {
    if got < need {
        return Err(Error::new(op, Errno::INVAL).with_hint(format!(
            "{what} buffer of {got} bytes, the map needs {need}"
        )));
    }
    Ok(())
}

/// `BPF_MAP_UPDATE_ELEM`: sets `key` to `value` (`flags`: [`BPF_ANY`],
/// [`BPF_NOEXIST`], [`BPF_EXIST`]). For a prog array `value` is a program
/// fd as 4 native-endian bytes; for a per-CPU map it holds one 8-byte
/// aligned value per possible CPU.
pub fn map_update_elem(fd: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
    const OP: &str = "BPF_MAP_UPDATE_ELEM";
    let sizes = elem_sizes(OP, fd)?;
    check_len(OP, "key", key.len(), sizes.key)?;
    check_len(OP, "value", value.len(), sizes.value)?;
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        key: ptr(key),
        value: ptr(value),
        flags,
        ..Default::default()
    };
    sys_bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map_err(|e| Error::new(OP, e))?;
    Ok(())
}

/// `BPF_MAP_LOOKUP_ELEM`: copies the value of `key` into `value`; `false`
/// when there is no such key (`ENOENT`). A prog array yields the *id* of
/// the program in the slot. A per-CPU map needs `value` of
/// [`percpu_value_size`] bytes.
pub fn map_lookup_elem(fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> Result<bool> {
    const OP: &str = "BPF_MAP_LOOKUP_ELEM";
    let sizes = elem_sizes(OP, fd)?;
    check_len(OP, "key", key.len(), sizes.key)?;
    check_len(OP, "value", value.len(), sizes.value)?;
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        key: ptr(key),
        value: value.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(Error::new(OP, e)),
    }
}

/// `BPF_MAP_DELETE_ELEM`: removes `key`; `false` if it was not there
/// (`ENOENT`).
pub fn map_delete_elem(fd: BorrowedFd<'_>, key: &[u8]) -> Result<bool> {
    const OP: &str = "BPF_MAP_DELETE_ELEM";
    let sizes = elem_sizes(OP, fd)?;
    check_len(OP, "key", key.len(), sizes.key)?;
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        key: ptr(key),
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(Error::new(OP, e)),
    }
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key if `key` is
/// `None`) into `next`; `false` at the end.
pub fn map_get_next_key(fd: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
    const OP: &str = "BPF_MAP_GET_NEXT_KEY";
    let sizes = elem_sizes(OP, fd)?;
    if let Some(key) = key {
        check_len(OP, "key", key.len(), sizes.key)?;
    }
    check_len(OP, "next key", next.len(), sizes.key)?;
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        key: key.map_or(0, ptr),
        value: next.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(_) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(Error::new(OP, e)),
    }
}

/// Adds the "not on a bpffs" hint to a pin/get error when `path` (or its
/// nearest existing ancestor) is not on a bpffs.
fn bpffs_hint(e: Error, path: &Path) -> Error {
    let mut p = Some(path);
    while let Some(cur) = p {
        if cur.as_os_str().is_empty() {
            break;
        }
        match super::bpffs::is_bpffs(cur) {
            Ok(true) => return e,
            Ok(false) => {
                return e.with_hint(format!(
                    "{} is not on a bpffs; mount it with `mount -t bpf bpf /sys/fs/bpf`",
                    path.display()
                ))
            }
            Err(_) => p = cur.parent(),
        }
    }
    e
}

/// `BPF_OBJ_PIN`: pins the map, program or link `fd` at `path`, which must
/// be on a bpffs and must not exist yet.
pub fn obj_pin(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    const OP: &str = "BPF_OBJ_PIN";
    let c = path_cstring(OP, path)?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as u64,
        bpf_fd: fd_u32(fd),
        ..Default::default()
    };
    sys_bpf(BPF_OBJ_PIN, &mut attr).map_err(|e| {
        let err = Error::new(OP, e).with_object(path.display().to_string());
        match e {
            Errno::EXIST => err.with_hint("something is already pinned there"),
            _ => bpffs_hint(err, path),
        }
    })?;
    Ok(())
}

/// `BPF_OBJ_GET`: opens the object pinned at `path`.
pub fn obj_get(path: &Path) -> Result<OwnedFd> {
    obj_get_flags(path, 0)
}

/// `BPF_OBJ_GET` with `file_flags` ([`BPF_F_RDONLY`], [`BPF_F_WRONLY`]).
pub fn obj_get_flags(path: &Path, file_flags: u32) -> Result<OwnedFd> {
    const OP: &str = "BPF_OBJ_GET";
    let c = path_cstring(OP, path)?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as u64,
        file_flags,
        ..Default::default()
    };
    sys_bpf_fd(BPF_OBJ_GET, &mut attr).map_err(|e| {
        bpffs_hint(
            Error::new(OP, e).with_object(path.display().to_string()),
            path,
        )
    })
}

/// Arguments of [`prog_load`].
#[derive(Clone, Debug)]
pub struct ProgLoad<'a> {
    pub prog_type: u32,
    pub expected_attach_type: u32,
    pub prog_flags: u32,
    /// Truncated to 15 bytes; the kernel accepts `[A-Za-z0-9_.]` only.
    pub name: &'a str,
    pub license: &'a str,
    /// Raw 8-byte instructions.
    pub insns: &'a [u8],
    /// 0: no log unless the load fails; 1: the log; 2: verbose.
    pub log_level: u32,
    /// Initial log buffer size; 0 means [`LOG_SIZE_DEFAULT`].
    pub log_size: u32,
}

/// A loaded program and the verifier's log (empty when none was asked for).
#[derive(Debug)]
pub struct Loaded {
    pub fd: OwnedFd,
    pub log: String,
}

fn load_once(
    p: &ProgLoad<'_>,
    license: &CString,
    log_level: u32,
    log: &mut [u8],
) -> std::result::Result<OwnedFd, Errno> {
    let mut attr = ProgLoadAttr {
        prog_type: p.prog_type,
        insn_cnt: (p.insns.len() / 8) as u32,
        insns: ptr(p.insns),
        license: license.as_ptr() as u64,
        log_level,
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        prog_flags: p.prog_flags,
        prog_name: obj_name(p.name),
        expected_attach_type: p.expected_attach_type,
        ..Default::default()
    };
    sys_bpf_fd(BPF_PROG_LOAD, &mut attr)
}

fn log_string(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `BPF_PROG_LOAD`: loads a program through the verifier.
///
/// With `log_level` 0 no log is asked for; if the load then fails it is
/// retried once with a log so that the error always carries the verifier's
/// reason. A log buffer that is too small (`ENOSPC`) is grown, up to
/// [`LOG_SIZE_MAX`] (or the caller's size if larger).
pub fn prog_load(p: &ProgLoad<'_>) -> Result<Loaded> {
    const OP: &str = "BPF_PROG_LOAD";
    if p.insns.is_empty() || p.insns.len() % 8 != 0 {
        return Err(Error::new(OP, Errno::INVAL)
            .with_object(p.name)
            .with_hint(format!(
                "{} bytes of instructions, not a non-zero multiple of 8",
                p.insns.len()
            )));
    }
    check_name(OP, p.name)?;
    let license = CString::new(p.license).map_err(|_| {
        Error::new(OP, Errno::INVAL)
            .with_object(p.name)
            .with_hint("NUL in license")
    })?;
    let mut log_level = p.log_level;
    let mut size = if p.log_size == 0 {
        LOG_SIZE_DEFAULT
    } else {
        p.log_size.clamp(128, u32::MAX >> 2)
    };
    let max = size.max(LOG_SIZE_MAX);
    let mut retried = false;
    loop {
        let mut log = vec![0u8; if log_level == 0 { 0 } else { size as usize }];
        match load_once(p, &license, log_level, &mut log) {
            Ok(fd) => {
                return Ok(Loaded {
                    fd,
                    log: log_string(&log),
                })
            }
            Err(Errno::NOSPC) if log_level > 0 && size < max => {
                size = size.saturating_mul(4).min(max);
            }
            Err(Errno::PERM) => {
                return Err(Error::new(OP, Errno::PERM).with_object(p.name));
            }
            Err(_) if log_level == 0 && !retried => {
                retried = true;
                log_level = 1;
                size = size.max(LOG_SIZE_DEFAULT);
            }
            Err(e) => {
                let text = log_string(&log);
                let mut err = Error::new(OP, e).with_object(p.name);
                if e == Errno::NOSPC && log_level > 0 {
                    err = err.with_hint(format!(
                        "the verifier log did not fit in {size} bytes; raise the log size"
                    ));
                } else if !text.is_empty() {
                    err = err.with_hint("rejected by the verifier");
                }
                if !text.is_empty() {
                    err = err.with_log(text);
                }
                return Err(err);
            }
        }
    }
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says about a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgInfo {
    pub id: u32,
    pub prog_type: u32,
    pub name: String,
    pub tag: [u8; BPF_TAG_SIZE],
    pub xlated_prog_len: u32,
    pub jited_prog_len: u32,
    pub verified_insns: u32,
    /// Nanoseconds since boot.
    pub load_time: u64,
    pub created_by_uid: u32,
    pub gpl_compatible: bool,
    /// Run statistics (zero unless `kernel.bpf_stats_enabled`).
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub map_ids: Vec<u32>,
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says about a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    pub id: u32,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: String,
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says about a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub id: u32,
    pub link_type: u32,
    pub prog_id: u32,
    /// For XDP links, the device.
    pub ifindex: Option<u32>,
}

fn get_info<T: Pod>(op: &'static str, fd: BorrowedFd<'_>, info: &mut T) -> Result<()> {
    let bytes = info.as_bytes_mut();
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(fd),
        info_len: bytes.len() as u32,
        info: bytes.as_mut_ptr() as u64,
    };
    sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map_err(|e| Error::new(op, e))?;
    Ok(())
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a program.
pub fn prog_info(fd: BorrowedFd<'_>) -> Result<ProgInfo> {
    const OP: &str = "BPF_OBJ_GET_INFO_BY_FD";
    let mut raw = BpfProgInfo::default();
    get_info(OP, fd, &mut raw)?;
    let mut map_ids = vec![0u32; raw.nr_map_ids as usize];
    if !map_ids.is_empty() {
        // The map set of a loaded program never changes, so a second call
        // with room for `nr_map_ids` ids gets them all.
        let mut again = BpfProgInfo {
            nr_map_ids: map_ids.len() as u32,
            map_ids: map_ids.as_mut_ptr() as u64,
            ..Default::default()
        };
        get_info(OP, fd, &mut again)?;
        map_ids.truncate(again.nr_map_ids as usize);
    }
    Ok(ProgInfo {
        id: raw.id,
        prog_type: raw.type_,
        name: name_str(&raw.name),
        tag: raw.tag,
        xlated_prog_len: raw.xlated_prog_len,
        jited_prog_len: raw.jited_prog_len,
        verified_insns: raw.verified_insns,
        load_time: raw.load_time,
        created_by_uid: raw.created_by_uid,
        gpl_compatible: raw.gpl_compatible & 1 != 0,
        run_time_ns: raw.run_time_ns,
        run_cnt: raw.run_cnt,
        map_ids,
    })
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a map.
pub fn map_info(fd: BorrowedFd<'_>) -> Result<MapInfo> {
    let mut raw = BpfMapInfo::default();
    get_info("BPF_OBJ_GET_INFO_BY_FD", fd, &mut raw)?;
    Ok(MapInfo {
        id: raw.id,
        map_type: raw.type_,
        key_size: raw.key_size,
        value_size: raw.value_size,
        max_entries: raw.max_entries,
        map_flags: raw.map_flags,
        name: name_str(&raw.name),
    })
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a link.
pub fn link_info(fd: BorrowedFd<'_>) -> Result<LinkInfo> {
    let mut raw = BpfLinkInfo::default();
    get_info("BPF_OBJ_GET_INFO_BY_FD", fd, &mut raw)?;
    Ok(LinkInfo {
        id: raw.id,
        link_type: raw.type_,
        prog_id: raw.prog_id,
        ifindex: (raw.type_ == BPF_LINK_TYPE_XDP).then_some(raw.union0[0]),
    })
}

fn get_fd_by_id(cmd: u32, op: &'static str, what: &str, id: u32) -> Result<OwnedFd> {
    let mut attr = IdAttr {
        start_id: id,
        ..Default::default()
    };
    sys_bpf_fd(cmd, &mut attr).map_err(|e| Error::new(op, e).with_object(format!("{what} id {id}")))
}

/// `BPF_PROG_GET_FD_BY_ID`: opens the program with this id (`ENOENT` if
/// it is gone).
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    get_fd_by_id(
        BPF_PROG_GET_FD_BY_ID,
        "BPF_PROG_GET_FD_BY_ID",
        "program",
        id,
    )
}

/// `BPF_MAP_GET_FD_BY_ID`: opens the map with this id.
pub fn map_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    get_fd_by_id(BPF_MAP_GET_FD_BY_ID, "BPF_MAP_GET_FD_BY_ID", "map", id)
}

fn get_next_id(cmd: u32, op: &'static str, start: u32) -> Result<Option<u32>> {
    // Ids stay below INT_MAX; the kernel refuses to search above it.
    if start >= i32::MAX as u32 {
        return Ok(None);
    }
    let mut attr = IdAttr {
        start_id: start,
        ..Default::default()
    };
    match sys_bpf(cmd, &mut attr) {
        Ok(_) => Ok(Some(attr.next_id)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::new(op, e)),
    }
}

/// `BPF_PROG_GET_NEXT_ID`: the smallest program id above `start`, `None`
/// past the last one.
pub fn prog_get_next_id(start: u32) -> Result<Option<u32>> {
    get_next_id(BPF_PROG_GET_NEXT_ID, "BPF_PROG_GET_NEXT_ID", start)
}

/// `BPF_MAP_GET_NEXT_ID`: the smallest map id above `start`.
pub fn map_get_next_id(start: u32) -> Result<Option<u32>> {
    get_next_id(BPF_MAP_GET_NEXT_ID, "BPF_MAP_GET_NEXT_ID", start)
}

/// Arguments of [`prog_test_run`].
#[derive(Debug)]
pub struct TestRun<'a> {
    pub prog_fd: BorrowedFd<'a>,
    pub data_in: &'a [u8],
    /// Receives the packet as the program left it.
    pub data_out: Option<&'a mut [u8]>,
    /// For XDP, a `struct xdp_md` (ingress_ifindex, rx_queue_index, ...).
    pub ctx_in: Option<&'a [u8]>,
    pub repeat: u32,
    pub flags: u32,
}

/// What [`prog_test_run`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value (the XDP action).
    pub retval: u32,
    /// Average duration of one run.
    pub duration_ns: u32,
    /// Size of the packet after the run; may exceed `data_out`'s length,
    /// which then holds its beginning.
    pub data_size_out: u32,
}

/// `BPF_PROG_TEST_RUN`: runs a program on `data_in`, `repeat` times, on
/// the calling CPU.
pub fn prog_test_run(t: &mut TestRun<'_>) -> Result<TestRunResult> {
    const OP: &str = "BPF_PROG_TEST_RUN";
    let (data_out, data_size_out) = match &mut t.data_out {
        Some(out) => (out.as_mut_ptr() as u64, out.len() as u32),
        None => (0, 0),
    };
    let mut attr = TestRunAttr {
        prog_fd: fd_u32(t.prog_fd),
        data_size_in: t.data_in.len() as u32,
        data_size_out,
        data_in: ptr(t.data_in),
        data_out,
        repeat: t.repeat,
        ctx_size_in: t.ctx_in.map_or(0, |c| c.len() as u32),
        ctx_in: t.ctx_in.map_or(0, ptr),
        flags: t.flags,
        ..Default::default()
    };
    let result = match sys_bpf(BPF_PROG_TEST_RUN, &mut attr) {
        Ok(_) => attr.retval,
        // The output did not fit: the kernel still copied its beginning
        // and reports the full size.
        Err(Errno::NOSPC) if data_out != 0 => attr.retval,
        Err(e) => return Err(Error::new(OP, e)),
    };
    Ok(TestRunResult {
        retval: result,
        duration_ns: attr.duration,
        data_size_out: attr.data_size_out,
    })
}

/// `BPF_LINK_CREATE` with attach type `BPF_XDP`: attaches an XDP program
/// to the device `ifindex` for as long as the returned link fd lives (or
/// is pinned). `flags`: `XDP_FLAGS_SKB_MODE`, `XDP_FLAGS_DRV_MODE`, or 0.
pub fn link_create_xdp(prog_fd: BorrowedFd<'_>, ifindex: u32, flags: u32) -> Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: fd_u32(prog_fd),
        target: ifindex,
        attach_type: BPF_XDP,
        flags,
    };
    sys_bpf_fd(BPF_LINK_CREATE, &mut attr).map_err(|e| {
        let err = Error::new("BPF_LINK_CREATE", e).with_object(format!("ifindex {ifindex}"));
        if e == Errno::BUSY {
            err.with_hint("the device already has an XDP program")
        } else {
            err
        }
    })
}

/// A per-thread replacement for the raw `bpf(2)` call, for tests that
/// check what the wrappers hand to the kernel.
#[cfg(test)]
pub(crate) mod double {
    use super::Errno;
    use std::cell::RefCell;

    type Handler = Box<dyn FnMut(u32, &mut [u8]) -> Result<i64, Errno>>;

    thread_local! {
        static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
    }

    pub(super) fn call(cmd: u32, attr: &mut [u8]) -> Option<Result<i64, Errno>> {
        HANDLER.with(|h| h.borrow_mut().as_mut().map(|f| f(cmd, attr)))
    }

    /// Runs `body` with every `bpf(2)` of this thread answered by `handler`.
    pub fn with<R>(
        handler: impl FnMut(u32, &mut [u8]) -> Result<i64, Errno> + 'static,
        body: impl FnOnce() -> R,
    ) -> R {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                HANDLER.with(|h| *h.borrow_mut() = None);
            }
        }
        HANDLER.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
        let _reset = Reset;
        body()
    }
}

#[cfg(test)]
mod tests {
    //! What each wrapper hands to the kernel, checked byte by byte at the
    //! UAPI offsets through the test double.
    use super::*;
    use std::cell::RefCell;
    use std::os::fd::{AsFd, IntoRawFd};
    use std::rc::Rc;

    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], off: usize) -> u64 {
        u64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
    }
    fn put_u32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }
    /// A real descriptor for the double to "create".
    fn devnull_fd() -> i64 {
        std::fs::File::open("/dev/null").unwrap().into_raw_fd() as i64
    }
    /// Copies `data` to the user address `addr` the wrapper passed in.
    fn write_user(addr: u64, data: &[u8]) {
        // SAFETY: `addr` is a buffer the wrapper under test handed to the
        // double as an output of at least `data.len()` bytes (checked by
        // the callers against the size field next to it).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) }
    }

    type Calls = Rc<RefCell<Vec<(u32, Vec<u8>)>>>;

    #[test]
    fn map_create_fills_the_attr() {
        let calls: Calls = Default::default();
        let seen = calls.clone();
        let fd = double::with(
            move |cmd, attr| {
                seen.borrow_mut().push((cmd, attr.to_vec()));
                Ok(devnull_fd())
            },
            || {
                map_create(&MapCreate {
                    map_type: BPF_MAP_TYPE_PROG_ARRAY,
                    key_size: 4,
                    value_size: 4,
                    max_entries: 5,
                    map_flags: BPF_F_RDONLY_PROG,
                    name: "xdpcap_hook",
                })
            },
        );
        assert!(fd.is_ok());
        let calls = calls.borrow();
        assert_eq!(calls.len(), 1);
        let (cmd, a) = &calls[0];
        assert_eq!(*cmd, BPF_MAP_CREATE);
        assert_eq!(a.len(), 72);
        assert_eq!(u32_at(a, 0), 3);
        assert_eq!(u32_at(a, 4), 4);
        assert_eq!(u32_at(a, 8), 4);
        assert_eq!(u32_at(a, 12), 5);
        assert_eq!(u32_at(a, 16), 1 << 7);
        assert_eq!(&a[28..44], b"xdpcap_hook\0\0\0\0\0");
        assert!(a[20..28].iter().chain(&a[44..]).all(|&b| b == 0));
    }

    #[test]
    fn map_create_error_names_the_map() {
        let e = double::with(
            |_, _| Err(Errno::PERM),
            || {
                map_create(&MapCreate {
                    map_type: BPF_MAP_TYPE_ARRAY,
                    key_size: 4,
                    value_size: 8,
                    max_entries: 1,
                    map_flags: 0,
                    name: "counters",
                })
            },
        )
        .unwrap_err();
        assert_eq!(e.op(), "BPF_MAP_CREATE");
        assert_eq!(e.errno(), Errno::PERM);
        let s = e.to_string();
        assert!(s.contains("counters") && s.contains("CAP_BPF"), "{s}");
    }

    const TWO_INSNS: [u8; 16] = [0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

    fn xdp_load(log_level: u32, log_size: u32) -> ProgLoad<'static> {
        ProgLoad {
            prog_type: BPF_PROG_TYPE_XDP,
            expected_attach_type: BPF_XDP,
            prog_flags: BPF_F_XDP_HAS_FRAGS,
            name: "xdpcap_pass",
            license: "GPL",
            insns: &TWO_INSNS,
            log_level,
            log_size,
        }
    }

    #[test]
    fn prog_load_fills_the_attr() {
        let calls: Calls = Default::default();
        let seen = calls.clone();
        let loaded = double::with(
            move |cmd, attr| {
                seen.borrow_mut().push((cmd, attr.to_vec()));
                // The instructions and the license are readable where the
                // attr says.
                // SAFETY: the wrapper points `insns` at 16 live bytes and
                // `license` at a NUL-terminated string.
                let (insns, license) = unsafe {
                    (
                        std::slice::from_raw_parts(u64_at(attr, 8) as *const u8, 16).to_vec(),
                        std::ffi::CStr::from_ptr(u64_at(attr, 16) as *const libc::c_char)
                            .to_owned(),
                    )
                };
                assert_eq!(insns, TWO_INSNS);
                assert_eq!(license.to_bytes(), b"GPL");
                write_user(u64_at(attr, 32), b"processed 2 insns\n\0");
                Ok(devnull_fd())
            },
            || prog_load(&xdp_load(1, 4096)),
        )
        .unwrap();
        assert_eq!(loaded.log, "processed 2 insns\n");
        let calls = calls.borrow();
        let (cmd, a) = &calls[0];
        assert_eq!(*cmd, BPF_PROG_LOAD);
        assert_eq!(u32_at(a, 0), 6);
        assert_eq!(u32_at(a, 4), 2);
        assert_eq!(u32_at(a, 24), 1);
        assert_eq!(u32_at(a, 28), 4096);
        assert_eq!(u32_at(a, 44), 1 << 5);
        assert_eq!(&a[48..60], b"xdpcap_pass\0");
        assert_eq!(u32_at(a, 68), 37);
    }

    #[test]
    fn failed_load_without_log_is_retried_with_one() {
        let calls: Calls = Default::default();
        let seen = calls.clone();
        let e = double::with(
            move |cmd, attr| {
                seen.borrow_mut().push((cmd, attr.to_vec()));
                if u32_at(attr, 24) > 0 {
                    assert!(u32_at(attr, 28) as usize >= 64);
                    write_user(u64_at(attr, 32), b"0: (95) exit\nR0 !read_ok\n\0");
                }
                Err(Errno::ACCESS)
            },
            || prog_load(&xdp_load(0, 0)),
        )
        .unwrap_err();
        let calls = calls.borrow();
        assert_eq!(calls.len(), 2);
        assert_eq!((u32_at(&calls[0].1, 24), u64_at(&calls[0].1, 32)), (0, 0));
        assert_eq!(u32_at(&calls[1].1, 24), 1);
        assert_eq!(u32_at(&calls[1].1, 28), LOG_SIZE_DEFAULT);
        assert_eq!(e.errno(), Errno::ACCESS);
        assert_eq!(e.verifier_log(), Some("0: (95) exit\nR0 !read_ok\n"));
        let s = e.to_string();
        assert!(
            s.contains("xdpcap_pass") && s.contains("R0 !read_ok"),
            "{s}"
        );
    }

    #[test]
    fn short_log_grows_on_enospc() {
        let sizes = Rc::new(RefCell::new(Vec::new()));
        let seen = sizes.clone();
        let loaded = double::with(
            move |_, attr| {
                let size = u32_at(attr, 28);
                seen.borrow_mut().push(size);
                if size < 10_000 {
                    return Err(Errno::NOSPC);
                }
                write_user(u64_at(attr, 32), b"ok\0");
                Ok(devnull_fd())
            },
            || prog_load(&xdp_load(2, 1000)),
        )
        .unwrap();
        assert_eq!(*sizes.borrow(), vec![1000, 4000, 16000]);
        assert_eq!(loaded.log, "ok");
    }

    #[test]
    fn eperm_is_not_retried() {
        let n = Rc::new(RefCell::new(0));
        let seen = n.clone();
        let e = double::with(
            move |_, _| {
                *seen.borrow_mut() += 1;
                Err(Errno::PERM)
            },
            || prog_load(&xdp_load(0, 0)),
        )
        .unwrap_err();
        assert_eq!(*n.borrow(), 1);
        assert!(e.to_string().contains("CAP_BPF"), "{e}");
    }

    #[test]
    fn ragged_instructions_are_refused_before_the_kernel() {
        let e = double::with(
            |_, _| panic!("no syscall expected"),
            || {
                let mut p = xdp_load(0, 0);
                p.insns = &TWO_INSNS[..12];
                prog_load(&p)
            },
        )
        .unwrap_err();
        assert_eq!(e.errno(), Errno::INVAL);
        assert!(e.to_string().contains("12 bytes"), "{e}");
    }

    #[test]
    fn bad_names_are_refused_before_the_kernel() {
        let e = double::with(
            |_, _| panic!("no syscall expected"),
            || {
                let mut p = xdp_load(0, 0);
                p.name = "xdpcap-drop";
                prog_load(&p)
            },
        )
        .unwrap_err();
        assert_eq!(e.errno(), Errno::INVAL);
        let s = e.to_string();
        assert!(
            s.contains("\"xdpcap-drop\"") && s.contains("only letters"),
            "{s}"
        );
        let e = double::with(
            |_, _| panic!("no syscall expected"),
            || {
                map_create(&MapCreate {
                    map_type: BPF_MAP_TYPE_ARRAY,
                    key_size: 4,
                    value_size: 4,
                    max_entries: 1,
                    map_flags: 0,
                    name: "café",
                })
            },
        )
        .unwrap_err();
        assert_eq!((e.op(), e.errno()), ("BPF_MAP_CREATE", Errno::INVAL));
    }

    #[test]
    fn next_id_maps_enoent_to_none() {
        let got = double::with(
            |cmd, attr| {
                assert_eq!(cmd, BPF_PROG_GET_NEXT_ID);
                match u32_at(attr, 0) {
                    7 => {
                        put_u32(attr, 4, 9);
                        Ok(0)
                    }
                    _ => Err(Errno::NOENT),
                }
            },
            || (prog_get_next_id(7).unwrap(), prog_get_next_id(9).unwrap()),
        );
        assert_eq!(got, (Some(9), None));
    }

    #[test]
    fn test_run_fills_and_reads_the_attr() {
        let data = [0xaau8; 60];
        let ctx = [1u8; 24];
        let mut out = [0u8; 128];
        let dev = std::fs::File::open("/dev/null").unwrap();
        let calls: Calls = Default::default();
        let seen = calls.clone();
        let r = double::with(
            move |cmd, attr| {
                seen.borrow_mut().push((cmd, attr.to_vec()));
                put_u32(attr, 4, 2);
                put_u32(attr, 12, 60);
                put_u32(attr, 36, 17);
                Ok(0)
            },
            || {
                prog_test_run(&mut TestRun {
                    prog_fd: dev.as_fd(),
                    data_in: &data,
                    data_out: Some(&mut out),
                    ctx_in: Some(&ctx),
                    repeat: 3,
                    flags: 0,
                })
            },
        )
        .unwrap();
        assert_eq!(
            r,
            TestRunResult {
                retval: 2,
                duration_ns: 17,
                data_size_out: 60
            }
        );
        let calls = calls.borrow();
        let (cmd, a) = &calls[0];
        assert_eq!(*cmd, BPF_PROG_TEST_RUN);
        assert_eq!(u32_at(a, 0), dev.as_raw_fd() as u32);
        assert_eq!(u32_at(a, 8), 60);
        assert_eq!(u32_at(a, 12), 128);
        assert_eq!(u64_at(a, 16), data.as_ptr() as u64);
        assert_eq!(u32_at(a, 32), 3);
        assert_eq!(u32_at(a, 40), 24);
        assert_eq!(u64_at(a, 48), ctx.as_ptr() as u64);
    }

    /// Answers `BPF_OBJ_GET_INFO_BY_FD` as a prog array of 4-byte keys and
    /// values would, and every lookup with `ENOENT`.
    fn prog_array_double(cmd: u32, attr: &mut [u8]) -> std::result::Result<i64, Errno> {
        match cmd {
            BPF_OBJ_GET_INFO_BY_FD => {
                let mut info = [0u8; 88];
                put_u32(&mut info, 0, BPF_MAP_TYPE_PROG_ARRAY);
                put_u32(&mut info, 8, 4);
                put_u32(&mut info, 12, 4);
                put_u32(&mut info, 16, 5);
                assert_eq!(u32_at(attr, 4), 88);
                write_user(u64_at(attr, 8), &info);
                Ok(0)
            }
            BPF_MAP_LOOKUP_ELEM | BPF_MAP_DELETE_ELEM => Err(Errno::NOENT),
            _ => panic!("unexpected command {cmd}"),
        }
    }

    #[test]
    fn lookup_and_delete_of_missing_keys_are_false() {
        let dev = std::fs::File::open("/dev/null").unwrap();
        let (found, deleted) = double::with(prog_array_double, || {
            let mut v = [0u8; 4];
            (
                map_lookup_elem(dev.as_fd(), &1u32.to_ne_bytes(), &mut v).unwrap(),
                map_delete_elem(dev.as_fd(), &1u32.to_ne_bytes()).unwrap(),
            )
        });
        assert!(!found);
        assert!(!deleted);
    }

    #[test]
    fn short_buffers_are_refused_before_the_kernel() {
        let dev = std::fs::File::open("/dev/null").unwrap();
        let (short_value, short_key) = double::with(prog_array_double, || {
            let mut v = [0u8; 2];
            (
                map_lookup_elem(dev.as_fd(), &1u32.to_ne_bytes(), &mut v).unwrap_err(),
                map_update_elem(dev.as_fd(), &[1u8], &[0u8; 4], BPF_ANY).unwrap_err(),
            )
        });
        assert_eq!(short_value.errno(), Errno::INVAL);
        assert!(short_value.to_string().contains("value buffer of 2 bytes"));
        assert_eq!(short_key.errno(), Errno::INVAL);
        assert!(short_key.to_string().contains("key buffer of 1 bytes"));
    }
}
