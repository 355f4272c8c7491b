//! `perf_event_open(2)` for `PERF_COUNT_SW_BPF_OUTPUT` events — the
//! per-CPU targets of `bpf_perf_event_output` — and [`PerfRing`], the
//! mmap'd ring of one such event.
//!
//! A ring is one metadata page (`struct perf_event_mmap_page`) followed by
//! 2^n data pages; [`RingReader`] does the reading.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use super::bpf_attr::Pod;
use super::error::{Errno, Error, Result};
pub use super::perf_ring::{
    Batch, Chunk, Record, RingReader, PERF_RECORD_LOST, PERF_RECORD_SAMPLE,
};

/// `enum perf_type_id`.
pub const PERF_TYPE_SOFTWARE: u32 = 1;
/// `enum perf_sw_ids`: the event `bpf_perf_event_output` writes to.
pub const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
/// `enum perf_event_sample_format`.
pub const PERF_SAMPLE_RAW: u64 = 1 << 10;
/// `perf_event_open` flags.
pub const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
/// `_IO('$', 0)`.
pub const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `_IO('$', 1)`.
pub const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
/// `PERF_ATTR_SIZE_VER1`: the size of our `struct perf_event_attr` prefix.
pub const PERF_ATTR_SIZE_VER1: u32 = 72;

/// `perf_event_attr.flags` bit `watermark`: wake up after
/// `wakeup_watermark` bytes instead of `wakeup_events` records.
const ATTR_FLAG_WATERMARK: u64 = 1 << 14;

/// `struct perf_event_attr` up to `config2` (`PERF_ATTR_SIZE_VER1`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct PerfEventAttr {
    pub type_: u32,
    pub size: u32,
    pub config: u64,
    pub sample_period: u64,
    pub sample_type: u64,
    pub read_format: u64,
    /// The bit fields `disabled`, `inherit`, ... `watermark` (bit 14) ...
    pub flags: u64,
    /// `wakeup_events` or, with the `watermark` flag, `wakeup_watermark`.
    pub wakeup: u32,
    pub bp_type: u32,
    pub config1: u64,
    pub config2: u64,
}

// SAFETY: `#[repr(C)]`, integers only, no gap between fields (checked by
// `attr_layout`).
unsafe impl Pod for PerfEventAttr {}

fn bpf_output_attr(wakeup_watermark_bytes: u32) -> PerfEventAttr {
    let mut attr = PerfEventAttr {
        type_: PERF_TYPE_SOFTWARE,
        size: PERF_ATTR_SIZE_VER1,
        config: PERF_COUNT_SW_BPF_OUTPUT,
        sample_period: 1,
        sample_type: PERF_SAMPLE_RAW,
        ..Default::default()
    };
    if wakeup_watermark_bytes > 0 {
        attr.flags |= ATTR_FLAG_WATERMARK;
        attr.wakeup = wakeup_watermark_bytes;
    } else {
        attr.wakeup = 1;
    }
    attr
}

/// `perf_event_open(2)` of a `PERF_COUNT_SW_BPF_OUTPUT` event on `cpu`
/// (any process), enabled, sampling `PERF_SAMPLE_RAW`. Its reader is woken
/// once `wakeup_watermark_bytes` bytes are in the ring, or at every sample
/// if 0. The fd goes into a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` at index `cpu`
/// and is mmap'd by [`PerfRing::new`].
///
/// With a byte watermark, samples below it wake nobody: wait with a
/// timeout and read every ring after it, not only the ready ones.
pub fn open_bpf_output(cpu: u32, wakeup_watermark_bytes: u32) -> Result<OwnedFd> {
    let mut attr = bpf_output_attr(wakeup_watermark_bytes);
    let bytes = attr.as_bytes_mut();
    // SAFETY: `bytes` is a valid `perf_event_attr` of `attr.size` bytes
    // that lives across the call; the other arguments are plain integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            bytes.as_mut_ptr(),
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO);
        return Err(Error::new("perf_event_open", e).with_object(format!("cpu {cpu}")));
    }
    // SAFETY: perf_event_open returned a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn perf_ioctl(op: &'static str, fd: BorrowedFd<'_>, request: libc::c_ulong) -> Result<()> {
    // SAFETY: ENABLE/DISABLE take an integer argument and touch no memory
    // of ours.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, 0) };
    if r < 0 {
        let e = Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO);
        return Err(Error::new(op, e));
    }
    Ok(())
}

/// The page size of this machine.
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// The number of data pages for a ring of at least `bytes` bytes: rounded
/// up to whole pages, then to a power of two (at least one page).
pub fn pages_for_bytes(bytes: usize) -> usize {
    bytes.div_ceil(page_size()).max(1).next_power_of_two()
}

/// Total memory the default rings of all CPUs may take.
pub const RING_BUDGET_BYTES: usize = 32 << 20;
/// Smallest default ring per CPU.
pub const RING_MIN_BYTES: usize = 256 << 10;
/// Largest default ring per CPU. Mapping a ring costs start-up time
/// (about 10 ms per CPU for 8 MiB) and, without root, locked memory.
pub const RING_MAX_BYTES: usize = 2 << 20;

/// The default number of data pages per CPU for `ncpus` rings: the budget
/// spread over the CPUs, clamped between 256 KiB and 2 MiB, rounded down
/// to a power of two pages.
pub fn default_ring_pages(ncpus: usize) -> usize {
    let per_cpu = (RING_BUDGET_BYTES / ncpus.max(1)).clamp(RING_MIN_BYTES, RING_MAX_BYTES);
    let pages = (per_cpu / page_size()).max(1);
    // Largest power of two not above `pages`.
    1 << (usize::BITS - 1 - pages.leading_zeros())
}

/// The mmap'd ring of one perf event.
#[derive(Debug)]
pub struct PerfRing {
    // Field order: the reader points into the mapping, which must outlive
    // it; the mapping must go before the fd it maps.
    reader: RingReader,
    _map: memmap2::MmapRaw,
    fd: OwnedFd,
}

// SAFETY: the ring owns its mapping and fd; the raw pointers of its reader
// point into that mapping, which is valid from any thread, and `read`
// takes `&mut self`.
unsafe impl Send for PerfRing {}

impl PerfRing {
    /// `mmap(2)` of 1 metadata page + `data_pages` data pages (a power of
    /// two), shared and writable (so the kernel sees our `data_tail`).
    pub fn new(fd: OwnedFd, data_pages: usize) -> Result<PerfRing> {
        if data_pages == 0 || !data_pages.is_power_of_two() {
            return Err(Error::new("mmap", Errno::INVAL)
                .with_object("perf ring")
                .with_hint(format!("{data_pages} data pages is not a power of two")));
        }
        let page = page_size();
        let len = page * (1 + data_pages);
        let map = memmap2::MmapOptions::new()
            .len(len)
            .map_raw(&fd)
            .map_err(|e| {
                Error::from_io("mmap", &e)
                    .with_object(format!("perf ring of {} KiB", page * data_pages / 1024))
            })?;
        let base = NonNull::new(map.as_mut_ptr()).expect("mmap returned null");
        // SAFETY: the mapping is `page` bytes of `struct
        // perf_event_mmap_page` followed by `page * data_pages` bytes of
        // data, page aligned, read-write; it lives as long as the reader
        // (same struct, dropped after it); the kernel writes records only
        // between data_head and data_tail + size, and only the reader
        // writes data_tail.
        let reader = unsafe {
            RingReader::new(
                base,
                NonNull::new(base.as_ptr().add(page)).unwrap(),
                page * data_pages,
            )
        };
        Ok(PerfRing {
            reader,
            _map: map,
            fd,
        })
    }

    /// `ioctl(PERF_EVENT_IOC_ENABLE)`. Events from [`open_bpf_output`]
    /// start enabled; this undoes [`PerfRing::disable`].
    pub fn enable(&self) -> Result<()> {
        perf_ioctl(
            "PERF_EVENT_IOC_ENABLE",
            self.fd.as_fd(),
            PERF_EVENT_IOC_ENABLE,
        )
    }

    /// `ioctl(PERF_EVENT_IOC_DISABLE)`: `bpf_perf_event_output` to this
    /// CPU fails until re-enabled.
    pub fn disable(&self) -> Result<()> {
        perf_ioctl(
            "PERF_EVENT_IOC_DISABLE",
            self.fd.as_fd(),
            PERF_EVENT_IOC_DISABLE,
        )
    }

    /// Size of the data area in bytes.
    pub fn size(&self) -> usize {
        self.reader.size()
    }

    /// Bytes waiting to be read.
    pub fn pending(&self) -> u64 {
        self.reader.pending()
    }

    /// Hands every record written since the last call to `f` (samples as
    /// [`Record::Sample`], lost counts as [`Record::Lost`]), then gives
    /// their space back to the kernel.
    pub fn read(&mut self, f: impl FnMut(Record<'_>)) -> Batch {
        self.reader.read(f)
    }
}

impl AsFd for PerfRing {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn attr_layout() {
        // struct perf_event_attr in linux/perf_event.h.
        assert_eq!(offset_of!(PerfEventAttr, config), 8);
        assert_eq!(offset_of!(PerfEventAttr, sample_period), 16);
        assert_eq!(offset_of!(PerfEventAttr, sample_type), 24);
        assert_eq!(offset_of!(PerfEventAttr, read_format), 32);
        assert_eq!(offset_of!(PerfEventAttr, flags), 40);
        assert_eq!(offset_of!(PerfEventAttr, wakeup), 48);
        assert_eq!(offset_of!(PerfEventAttr, bp_type), 52);
        assert_eq!(offset_of!(PerfEventAttr, config1), 56);
        assert_eq!(offset_of!(PerfEventAttr, config2), 64);
        assert_eq!(size_of::<PerfEventAttr>(), PERF_ATTR_SIZE_VER1 as usize);
    }

    #[test]
    fn bpf_output_attr_fields() {
        let a = bpf_output_attr(4096);
        assert_eq!((a.type_, a.config, a.sample_type), (1, 10, 1 << 10));
        assert_eq!(a.flags, 1 << 14);
        // Bit 0, `disabled`, clear: the event starts enabled.
        assert_eq!(a.flags & 1, 0);
        assert_eq!(a.wakeup, 4096);
        let a = bpf_output_attr(0);
        assert_eq!((a.flags, a.wakeup), (0, 1));
    }

    #[test]
    fn ring_sizes() {
        let p = page_size();
        assert_eq!(pages_for_bytes(0), 1);
        assert_eq!(pages_for_bytes(1), 1);
        assert_eq!(pages_for_bytes(p), 1);
        assert_eq!(pages_for_bytes(p + 1), 2);
        assert_eq!(pages_for_bytes(3 * p), 4);
        assert_eq!(
            pages_for_bytes(8192 * 3),
            (8192 * 3usize).div_ceil(p).next_power_of_two()
        );
        // 32 MiB over 2 CPUs is 16 MiB each, clamped to 2 MiB.
        assert_eq!(default_ring_pages(2) * p, 2 << 20);
        assert_eq!(default_ring_pages(16) * p, 2 << 20);
        // 32 MiB / 24 = 1.33 MiB, rounded down to 1 MiB.
        assert_eq!(default_ring_pages(24) * p, 1 << 20);
        assert_eq!(default_ring_pages(1024) * p, 256 << 10);
        assert_eq!(default_ring_pages(0) * p, 2 << 20);
        for n in 1..300 {
            assert!(default_ring_pages(n).is_power_of_two());
        }
    }

    #[test]
    fn odd_page_counts_are_refused() {
        let fd: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let e = PerfRing::new(fd, 3).unwrap_err();
        assert_eq!(e.errno(), Errno::INVAL);
        assert!(e.to_string().contains("3 data pages"), "{e}");
    }
}
