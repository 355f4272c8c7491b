//! Reading a perf ring: the records the kernel writes between `data_tail`
//! (ours) and `data_head` (the kernel's) in the data pages after a
//! `struct perf_event_mmap_page`.
//!
//! The reader works on any memory laid out that way — the mmap of a perf
//! event, or a synthetic ring in anonymous memory in the tests — so the
//! tests exercise the very code a capture runs.
//!
//! Guarantees: `data_head` is read once per batch, volatile, followed by an
//! acquire fence (so record bytes are read after the kernel published
//! them); `data_tail` is written once per batch, after a release fence (so
//! the kernel reuses the space only after we are done with it). A record
//! that wraps around the end of the data area is handed out as two slices,
//! never copied. `PERF_RECORD_LOST` records are reported, other unknown
//! record types skipped; a malformed record header (size 0 or past the
//! head) ends the batch and discards the rest of it rather than looping.

use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

/// `offsetof(struct perf_event_mmap_page, data_head)`.
pub const DATA_HEAD_OFFSET: usize = 1024;
/// `offsetof(struct perf_event_mmap_page, data_tail)`.
pub const DATA_TAIL_OFFSET: usize = 1032;

/// `enum perf_event_type`: lost samples (`u64 id; u64 lost`).
pub const PERF_RECORD_LOST: u32 = 2;
/// `enum perf_event_type`: a sample (with `PERF_SAMPLE_RAW`: `u32 size;
/// char data[size]`).
pub const PERF_RECORD_SAMPLE: u32 = 9;

/// `sizeof(struct perf_event_header)`: `u32 type; u16 misc; u16 size`.
pub const PERF_EVENT_HEADER_SIZE: usize = 8;

/// The bytes of a record, in one piece (`b` empty) or in two when the
/// record wraps around the end of the ring.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    pub a: &'a [u8],
    pub b: &'a [u8],
}

impl<'a> Chunk<'a> {
    /// A chunk in one piece.
    pub fn new(a: &'a [u8]) -> Chunk<'a> {
        Chunk { a, b: &[] }
    }

    pub fn len(&self) -> usize {
        self.a.len() + self.b.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the bytes to `out`.
    pub fn copy_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.a);
        out.extend_from_slice(self.b);
    }

    /// The bytes as one vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.copy_to(&mut v);
        v
    }

    /// Fills `dst` from the start of the chunk; returns how many bytes
    /// were copied (fewer than `dst.len()` if the chunk is shorter).
    pub fn copy_prefix(&self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.len());
        let from_a = n.min(self.a.len());
        dst[..from_a].copy_from_slice(&self.a[..from_a]);
        dst[from_a..n].copy_from_slice(&self.b[..n - from_a]);
        n
    }

    /// The chunk without its first `n` bytes (empty if shorter).
    pub fn skip(&self, n: usize) -> Chunk<'a> {
        if n <= self.a.len() {
            Chunk {
                a: &self.a[n..],
                b: self.b,
            }
        } else {
            let n = (n - self.a.len()).min(self.b.len());
            Chunk::new(&self.b[n..])
        }
    }

    /// The first `n` bytes of the chunk (all of it if shorter).
    pub fn take(&self, n: usize) -> Chunk<'a> {
        if n <= self.a.len() {
            Chunk::new(&self.a[..n])
        } else {
            let n = (n - self.a.len()).min(self.b.len());
            Chunk {
                a: self.a,
                b: &self.b[..n],
            }
        }
    }
}

impl PartialEq<[u8]> for Chunk<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.len() == other.len()
            && &other[..self.a.len()] == self.a
            && &other[self.a.len()..] == self.b
    }
}

/// One record of the ring.
#[derive(Clone, Copy, Debug)]
pub enum Record<'a> {
    /// The raw payload of a `PERF_SAMPLE_RAW` sample: what the program
    /// passed to `bpf_perf_event_output` (its data, then the packet bytes
    /// asked for in the flags' upper 32 bits), then up to 7 bytes of
    /// padding of unspecified content that keep the record 8-byte aligned.
    /// The payload should say its own length.
    Sample(Chunk<'a>),
    /// The kernel dropped this many samples because the ring was full.
    Lost(u64),
}

/// Counts of one [`RingReader::read`] batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub samples: u64,
    /// Sum of the `PERF_RECORD_LOST` counts.
    pub lost: u64,
    /// Records of other types, skipped.
    pub other: u64,
    /// Bytes of the ring consumed.
    pub bytes: u64,
}

/// A reader of one perf ring in memory.
#[derive(Debug)]
pub struct RingReader {
    meta: NonNull<u8>,
    data: NonNull<u8>,
    size: usize,
}

impl RingReader {
    /// A reader of the ring whose `struct perf_event_mmap_page` is at
    /// `meta` and whose data area of `size` bytes (a power of two) is at
    /// `data`.
    ///
    /// # Safety
    /// `meta` must point to at least `DATA_TAIL_OFFSET + 8` bytes and
    /// `data` to `size` bytes, both 8-byte aligned, readable and writable
    /// for as long as the reader lives; only this reader writes
    /// `data_tail`, and whoever writes records (the kernel) writes only
    /// between `data_head` and `data_tail + size`.
    pub unsafe fn new(meta: NonNull<u8>, data: NonNull<u8>, size: usize) -> RingReader {
        debug_assert!(size.is_power_of_two());
        RingReader { meta, data, size }
    }

    /// The size of the data area in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    fn head(&self) -> u64 {
        // SAFETY: `new`'s contract: the meta page is mapped and 8-byte
        // aligned; the kernel updates `data_head` concurrently, hence the
        // volatile read.
        let head = unsafe {
            std::ptr::read_volatile(self.meta.as_ptr().add(DATA_HEAD_OFFSET) as *const u64)
        };
        // Pairs with the kernel's barrier before it publishes the head:
        // the record bytes below the head are visible after this.
        fence(Ordering::Acquire);
        head
    }

    fn tail(&self) -> u64 {
        // SAFETY: as in `head`; only we write the tail.
        unsafe { std::ptr::read_volatile(self.meta.as_ptr().add(DATA_TAIL_OFFSET) as *const u64) }
    }

    fn set_tail(&mut self, tail: u64) {
        // Our reads of the records must complete before the kernel may
        // overwrite them.
        fence(Ordering::Release);
        // SAFETY: as in `head`; `data_tail` is ours to write.
        unsafe {
            std::ptr::write_volatile(self.meta.as_ptr().add(DATA_TAIL_OFFSET) as *mut u64, tail)
        }
    }

    /// Bytes written by the kernel and not consumed yet.
    pub fn pending(&self) -> u64 {
        self.head().wrapping_sub(self.tail())
    }

    /// `len` bytes at ring position `pos`, as one or two slices.
    ///
    /// Only called for ranges between the tail and the head, which the
    /// kernel does not touch until the tail moves past them.
    fn chunk(&self, pos: u64, len: usize) -> Chunk<'_> {
        let len = len.min(self.size);
        let off = (pos as usize) & (self.size - 1);
        let first = len.min(self.size - off);
        // SAFETY: `off + first <= size` and `len - first <= off`, so both
        // ranges lie within the data area (`new`'s contract); the kernel
        // does not write them while they are between tail and head, and
        // the borrow of `self` ends before the tail moves.
        unsafe {
            Chunk {
                a: std::slice::from_raw_parts(self.data.as_ptr().add(off), first),
                b: std::slice::from_raw_parts(self.data.as_ptr(), len - first),
            }
        }
    }

    fn read_u64(&self, pos: u64) -> u64 {
        let mut b = [0u8; 8];
        self.chunk(pos, 8).copy_prefix(&mut b);
        u64::from_ne_bytes(b)
    }

    fn read_u32(&self, pos: u64) -> u32 {
        let mut b = [0u8; 4];
        self.chunk(pos, 4).copy_prefix(&mut b);
        u32::from_ne_bytes(b)
    }

    /// Hands every record written since the last call to `f`, then gives
    /// their space back to the kernel.
    pub fn read(&mut self, mut f: impl FnMut(Record<'_>)) -> Batch {
        let head = self.head();
        let start = self.tail();
        let mut tail = start;
        let mut batch = Batch::default();
        while head.wrapping_sub(tail) >= PERF_EVENT_HEADER_SIZE as u64 {
            let mut hdr = [0u8; PERF_EVENT_HEADER_SIZE];
            self.chunk(tail, PERF_EVENT_HEADER_SIZE)
                .copy_prefix(&mut hdr);
            let rtype = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let rsize = u16::from_ne_bytes([hdr[6], hdr[7]]) as u64;
            if rsize < PERF_EVENT_HEADER_SIZE as u64 || rsize > head.wrapping_sub(tail) {
                // Not a record the kernel wrote: drop the rest of the batch.
                tail = head;
                break;
            }
            let body = tail.wrapping_add(PERF_EVENT_HEADER_SIZE as u64);
            let body_len = rsize as usize - PERF_EVENT_HEADER_SIZE;
            match rtype {
                PERF_RECORD_SAMPLE if body_len >= 4 => {
                    let raw = self.read_u32(body) as usize;
                    let raw = raw.min(body_len - 4);
                    f(Record::Sample(self.chunk(body.wrapping_add(4), raw)));
                    batch.samples += 1;
                }
                PERF_RECORD_LOST if body_len >= 16 => {
                    let n = self.read_u64(body.wrapping_add(8));
                    f(Record::Lost(n));
                    batch.lost += n;
                }
                _ => batch.other += 1,
            }
            tail = tail.wrapping_add(rsize);
        }
        if tail != start {
            self.set_tail(tail);
        }
        batch.bytes = tail.wrapping_sub(start);
        batch
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const PAGE: usize = 4096;
    /// What the fake ring leaves in padding.
    const PAD: u8 = 0xdd;

    /// A ring in anonymous memory laid out as the kernel lays out a perf
    /// mmap, and a writer that plays the kernel's part.
    pub(crate) struct FakeRing {
        mem: memmap2::MmapMut,
        size: usize,
        head: u64,
    }

    impl FakeRing {
        pub(crate) fn new(size: usize) -> FakeRing {
            let mem = memmap2::MmapOptions::new()
                .len(PAGE + size)
                .map_anon()
                .unwrap();
            FakeRing { mem, size, head: 0 }
        }

        /// Starts both head and tail at `pos`, to put records across the
        /// end of the data area.
        pub(crate) fn start_at(&mut self, pos: u64) {
            self.head = pos;
            self.mem[DATA_HEAD_OFFSET..DATA_HEAD_OFFSET + 8].copy_from_slice(&pos.to_ne_bytes());
            self.mem[DATA_TAIL_OFFSET..DATA_TAIL_OFFSET + 8].copy_from_slice(&pos.to_ne_bytes());
        }

        pub(crate) fn reader(&mut self) -> RingReader {
            let base = self.mem.as_mut_ptr();
            // SAFETY: the mapping holds a page of metadata and `size` data
            // bytes, page aligned, and outlives the reader in every test.
            unsafe {
                RingReader::new(
                    NonNull::new(base).unwrap(),
                    NonNull::new(base.add(PAGE)).unwrap(),
                    self.size,
                )
            }
        }

        fn put(&mut self, bytes: &[u8]) {
            for (i, b) in bytes.iter().enumerate() {
                let off = (self.head as usize + i) % self.size;
                self.mem[PAGE + off] = *b;
            }
            self.head += bytes.len() as u64;
        }

        pub(crate) fn tail(&self) -> u64 {
            u64::from_ne_bytes(
                self.mem[DATA_TAIL_OFFSET..DATA_TAIL_OFFSET + 8]
                    .try_into()
                    .unwrap(),
            )
        }

        /// Makes everything written visible to the reader.
        pub(crate) fn publish(&mut self) {
            let h = self.head.to_ne_bytes();
            self.mem[DATA_HEAD_OFFSET..DATA_HEAD_OFFSET + 8].copy_from_slice(&h);
        }

        fn header(&mut self, rtype: u32, size: usize) {
            let mut h = rtype.to_ne_bytes().to_vec();
            h.extend_from_slice(&0u16.to_ne_bytes());
            h.extend_from_slice(&(size as u16).to_ne_bytes());
            self.put(&h);
        }

        /// A `PERF_SAMPLE_RAW` sample, padded as the kernel pads it (with
        /// stale bytes: the kernel skips the padding without writing it).
        pub(crate) fn sample(&mut self, payload: &[u8]) {
            let raw = (4 + payload.len()).div_ceil(8) * 8 - 4;
            self.header(PERF_RECORD_SAMPLE, 8 + 4 + raw);
            self.put(&(raw as u32).to_ne_bytes());
            self.put(payload);
            self.put(&vec![PAD; raw - payload.len()]);
        }

        pub(crate) fn lost(&mut self, n: u64) {
            self.header(PERF_RECORD_LOST, 24);
            self.put(&7u64.to_ne_bytes());
            self.put(&n.to_ne_bytes());
        }

        pub(crate) fn other(&mut self, rtype: u32, body: usize) {
            self.header(rtype, 8 + body);
            self.put(&vec![0xee; body]);
        }
    }

    fn payload(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| seed.wrapping_add(i as u8)).collect()
    }

    /// Reads one batch into owned records: sample payloads (with the
    /// kernel's padding) and lost counts.
    fn drain(r: &mut RingReader) -> (Vec<Vec<u8>>, Vec<u64>, Batch) {
        let mut samples = Vec::new();
        let mut lost = Vec::new();
        let batch = r.read(|rec| match rec {
            Record::Sample(c) => samples.push(c.to_vec()),
            Record::Lost(n) => lost.push(n),
        });
        (samples, lost, batch)
    }

    fn padded(p: &[u8]) -> Vec<u8> {
        let mut v = p.to_vec();
        v.resize((4 + p.len()).div_ceil(8) * 8 - 4, PAD);
        v
    }

    #[test]
    fn empty_ring_reads_nothing_and_keeps_the_tail() {
        let mut ring = FakeRing::new(PAGE);
        let mut r = ring.reader();
        let (s, l, b) = drain(&mut r);
        assert!(s.is_empty() && l.is_empty());
        assert_eq!(b, Batch::default());
        assert_eq!(ring.tail(), 0);
    }

    #[test]
    fn samples_lost_and_unknown_records_in_order() {
        let mut ring = FakeRing::new(PAGE);
        let p1 = payload(60, 1);
        let p2 = payload(4, 100);
        ring.sample(&p1);
        ring.lost(3);
        ring.other(4, 16); // PERF_RECORD_EXIT, not ours: skipped
        ring.sample(&p2);
        ring.lost(2);
        ring.publish();
        let mut r = ring.reader();
        let (s, l, b) = drain(&mut r);
        assert_eq!(s, vec![padded(&p1), padded(&p2)]);
        assert_eq!(l, vec![3, 2]);
        assert_eq!((b.samples, b.lost, b.other), (2, 5, 1));
        assert_eq!(b.bytes, ring.head);
        assert_eq!(ring.tail(), ring.head, "tail committed to head");
        // Nothing new: nothing read, tail unchanged.
        assert_eq!(drain(&mut r).2, Batch::default());
    }

    #[test]
    fn records_wrapping_the_end_come_in_two_slices() {
        let size = PAGE;
        // Every placement of a 100-byte payload across the end, at each
        // 8-byte step, including a header that starts at the last word.
        for back in (8..=136).step_by(8) {
            let mut ring = FakeRing::new(size);
            let start = (size * 3 - back) as u64;
            ring.start_at(start);
            let p = payload(100, back as u8);
            ring.sample(&p);
            ring.sample(&p[..7]);
            ring.publish();
            let mut r = ring.reader();
            let mut split = Vec::new();
            let mut got = Vec::new();
            r.read(|rec| {
                if let Record::Sample(c) = rec {
                    split.push(!c.b.is_empty());
                    got.push(c.to_vec());
                }
            });
            assert_eq!(got, vec![padded(&p), padded(&p[..7])], "back {back}");
            // The first record's payload spans [12, 112) from its start,
            // the second's [124, 136).
            let want = vec![back > 12 && back < 112, back > 124 && back < 136];
            assert_eq!(split, want, "back {back}");
            assert_eq!(ring.tail(), ring.head);
        }
    }

    #[test]
    fn ring_reused_many_times_round() {
        let mut ring = FakeRing::new(1024);
        let mut r = ring.reader();
        let mut total = 0;
        for round in 0..200u32 {
            let n = 1 + (round as usize * 37) % 300;
            let p = payload(n, round as u8);
            ring.sample(&p);
            if round % 7 == 0 {
                ring.lost(round as u64);
            }
            ring.publish();
            let (s, l, _) = drain(&mut r);
            assert_eq!(s, vec![padded(&p)], "round {round}");
            assert_eq!(
                l,
                if round % 7 == 0 {
                    vec![round as u64]
                } else {
                    vec![]
                }
            );
            total += 1;
        }
        assert_eq!(total, 200);
        assert!(ring.head > 20 * 1024, "the ring wrapped many times");
    }

    #[test]
    fn malformed_header_ends_the_batch_without_looping() {
        let mut ring = FakeRing::new(PAGE);
        ring.sample(&payload(8, 0));
        ring.header(PERF_RECORD_SAMPLE, 0);
        ring.put(&[0; 8]);
        ring.publish();
        let mut r = ring.reader();
        let (s, _, _) = drain(&mut r);
        assert_eq!(s.len(), 1);
        assert_eq!(ring.tail(), ring.head);
    }

    #[test]
    fn chunk_helpers() {
        let c = Chunk {
            a: &[1, 2, 3],
            b: &[4, 5],
        };
        assert_eq!(c.len(), 5);
        assert_eq!(c.to_vec(), vec![1, 2, 3, 4, 5]);
        let mut d = [0u8; 4];
        assert_eq!(c.copy_prefix(&mut d), 4);
        assert_eq!(d, [1, 2, 3, 4]);
        let mut big = [0u8; 8];
        assert_eq!(c.copy_prefix(&mut big), 5);
        assert_eq!(c.skip(2).to_vec(), vec![3, 4, 5]);
        assert_eq!(c.skip(4).to_vec(), vec![5]);
        assert!(c.skip(9).is_empty());
        assert_eq!(c.take(2).to_vec(), vec![1, 2]);
        assert_eq!(c.take(4).to_vec(), vec![1, 2, 3, 4]);
        assert_eq!(c.take(9).to_vec(), vec![1, 2, 3, 4, 5]);
        assert!(c == [1u8, 2, 3, 4, 5][..]);
        assert!(c != [1u8, 2, 3, 4][..]);
    }
}
