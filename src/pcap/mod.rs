//! pcap and pcapng: writers for captured packets and a reader for capture
//! files.
//!
//! The writer emits either pcapng (one Interface Description Block per
//! capture interface, nanosecond timestamps, per-packet options) or classic
//! pcap with the nanosecond magic, in the byte order of the host as both
//! formats allow. Each block or record is assembled in a reusable buffer and
//! handed to the output in a single `write_all`, so flushing after every
//! packet costs one system call.
//!
//! The reader accepts classic pcap (microsecond and nanosecond magic, either
//! byte order) and pcapng (either byte order, several sections, several
//! interfaces with their own link type and timestamp resolution; Enhanced,
//! Simple and obsolete Packet Blocks; unknown blocks skipped). It never
//! panics on malformed input and never allocates more than the data it has
//! actually read: a truncated or corrupt file yields an [`Error`] naming the
//! byte offset and what was wrong.
//!
//! Block and field layouts follow the pcapng specification
//! (draft-ietf-opsawg-pcapng) and the classic pcap file format; every offset
//! used by the code is a named constant in [`field`], shared with the tests.

use std::fmt;
use std::io;

mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use reader::{Options, Packet, PacketRef, Reader};
pub use writer::{Interface, PacketMeta, Stats, Writer};

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// pcapng: several interfaces, nanosecond timestamps, per-packet options.
    Pcapng,
    /// Classic pcap with nanosecond timestamps; one link type per file.
    Pcap,
}

/// `LINKTYPE_ETHERNET`: Ethernet II frames.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// `LINKTYPE_RAW`: IPv4 or IPv6 packets with no link-layer header.
pub const LINKTYPE_RAW: u16 = 101;

/// Byte order of a file or section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The byte order of this machine, used by the writer.
    #[cfg(target_endian = "little")]
    pub const NATIVE: ByteOrder = ByteOrder::Little;
    /// The byte order of this machine, used by the writer.
    #[cfg(target_endian = "big")]
    pub const NATIVE: ByteOrder = ByteOrder::Big;

    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    pub fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    /// Reads a `u16` from the first two bytes of `b`; panics if `b` is
    /// shorter (callers check lengths first).
    pub fn read_u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(a),
            ByteOrder::Big => u16::from_be_bytes(a),
        }
    }

    /// Reads a `u32` from the first four bytes of `b`.
    pub fn read_u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            ByteOrder::Little => u32::from_le_bytes(a),
            ByteOrder::Big => u32::from_be_bytes(a),
        }
    }

    /// Reads a `u64` from the first eight bytes of `b`.
    pub fn read_u64(self, b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        match self {
            ByteOrder::Little => u64::from_le_bytes(a),
            ByteOrder::Big => u64::from_be_bytes(a),
        }
    }
}

/// pcapng block types.
pub mod block_type {
    /// Section Header Block; the value reads the same in both byte orders.
    pub const SHB: u32 = 0x0A0D_0D0A;
    /// Interface Description Block.
    pub const IDB: u32 = 0x0000_0001;
    /// Packet Block (obsolete, still read).
    pub const PB: u32 = 0x0000_0002;
    /// Simple Packet Block.
    pub const SPB: u32 = 0x0000_0003;
    /// Name Resolution Block.
    pub const NRB: u32 = 0x0000_0004;
    /// Interface Statistics Block.
    pub const ISB: u32 = 0x0000_0005;
    /// Enhanced Packet Block.
    pub const EPB: u32 = 0x0000_0006;
}

/// pcapng option codes, named after the specification's option names.
/// Codes are per block type, so several names share a value.
pub mod opt {
    pub const ENDOFOPT: u16 = 0;
    pub const COMMENT: u16 = 1;

    pub const SHB_HARDWARE: u16 = 2;
    pub const SHB_OS: u16 = 3;
    pub const SHB_USERAPPL: u16 = 4;

    pub const IF_NAME: u16 = 2;
    pub const IF_DESCRIPTION: u16 = 3;
    pub const IF_TSRESOL: u16 = 9;
    pub const IF_FILTER: u16 = 11;
    pub const IF_TSOFFSET: u16 = 14;

    pub const EPB_FLAGS: u16 = 2;
    pub const EPB_QUEUE: u16 = 6;

    pub const ISB_STARTTIME: u16 = 2;
    pub const ISB_ENDTIME: u16 = 3;
    pub const ISB_IFRECV: u16 = 4;
    pub const ISB_IFDROP: u16 = 5;

    /// First byte of an `if_filter` value: a libpcap filter expression
    /// follows as text.
    pub const IF_FILTER_LIBPCAP: u8 = 0;
    /// `if_tsresol` for nanoseconds (10^-9 s).
    pub const IF_TSRESOL_NS: u8 = 9;
    /// `if_tsresol` high bit: the resolution is a power of two, not ten.
    pub const IF_TSRESOL_POW2: u8 = 0x80;
    /// Timestamp resolution when an interface has no `if_tsresol`: 10^-6 s.
    pub const IF_TSRESOL_DEFAULT: u8 = 6;
}

/// Byte ranges of every field the code touches. pcapng offsets count from
/// the first byte of the block (its type); classic pcap offsets from the
/// start of the file header or of the record header.
pub mod field {
    use core::ops::Range;

    type Field = Range<usize>;

    pub const BLOCK_TYPE: Field = 0..4;
    pub const BLOCK_TOTAL_LEN: Field = 4..8;
    /// Block type + total length, before the block body.
    pub const BLOCK_HEADER_LEN: usize = 8;
    /// The total length repeated after the body.
    pub const BLOCK_TRAILER_LEN: usize = 4;

    pub const SHB_BYTE_ORDER_MAGIC: Field = 8..12;
    pub const SHB_MAJOR: Field = 12..14;
    pub const SHB_MINOR: Field = 14..16;
    pub const SHB_SECTION_LEN: Field = 16..24;
    pub const SHB_OPTIONS: usize = 24;

    pub const IDB_LINKTYPE: Field = 8..10;
    pub const IDB_RESERVED: Field = 10..12;
    pub const IDB_SNAPLEN: Field = 12..16;
    pub const IDB_OPTIONS: usize = 16;

    pub const EPB_INTERFACE_ID: Field = 8..12;
    pub const EPB_TS_HIGH: Field = 12..16;
    pub const EPB_TS_LOW: Field = 16..20;
    pub const EPB_CAPLEN: Field = 20..24;
    pub const EPB_ORIG_LEN: Field = 24..28;
    pub const EPB_DATA: usize = 28;

    pub const SPB_ORIG_LEN: Field = 8..12;
    pub const SPB_DATA: usize = 12;

    pub const PB_INTERFACE_ID: Field = 8..10;
    pub const PB_DROPS_COUNT: Field = 10..12;
    pub const PB_TS_HIGH: Field = 12..16;
    pub const PB_TS_LOW: Field = 16..20;
    pub const PB_CAPLEN: Field = 20..24;
    pub const PB_ORIG_LEN: Field = 24..28;
    pub const PB_DATA: usize = 28;

    pub const ISB_INTERFACE_ID: Field = 8..12;
    pub const ISB_TS_HIGH: Field = 12..16;
    pub const ISB_TS_LOW: Field = 16..20;
    pub const ISB_OPTIONS: usize = 20;

    /// An option: code, value length, value padded to 32 bits.
    pub const OPT_CODE: Field = 0..2;
    pub const OPT_LEN: Field = 2..4;
    pub const OPT_VALUE: usize = 4;

    pub const PCAP_MAGIC: Field = 0..4;
    pub const PCAP_VERSION_MAJOR: Field = 4..6;
    pub const PCAP_VERSION_MINOR: Field = 6..8;
    pub const PCAP_THISZONE: Field = 8..12;
    pub const PCAP_SIGFIGS: Field = 12..16;
    pub const PCAP_SNAPLEN: Field = 16..20;
    pub const PCAP_LINKTYPE: Field = 20..24;
    pub const PCAP_HEADER_LEN: usize = 24;

    pub const REC_TS_SEC: Field = 0..4;
    pub const REC_TS_FRAC: Field = 4..8;
    pub const REC_CAPLEN: Field = 8..12;
    pub const REC_ORIG_LEN: Field = 12..16;
    pub const REC_HEADER_LEN: usize = 16;
}

/// pcapng Section Header Block byte-order magic.
pub const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Classic pcap magic, microsecond timestamps.
pub const PCAP_MAGIC_USEC: u32 = 0xA1B2_C3D4;
/// Classic pcap magic, nanosecond timestamps.
pub const PCAP_MAGIC_NSEC: u32 = 0xA1B2_3C4D;

/// Largest block or record the reader accepts. Real packets are far smaller;
/// the cap keeps a corrupt length from turning into a huge read.
pub const MAX_BLOCK_LEN: u32 = 256 << 20;

/// What went wrong reading a capture file. Offsets are byte offsets from the
/// start of the input.
#[derive(Debug)]
pub enum Error {
    /// The underlying reader failed.
    Io { offset: u64, source: io::Error },
    /// The input is empty.
    Empty,
    /// The input starts with neither a pcap magic nor a pcapng Section
    /// Header Block.
    NotPcap { start: [u8; 4] },
    /// The input ended inside something: `what` names it, `start` is where it
    /// began and `offset` where the data ran out.
    Truncated {
        offset: u64,
        start: u64,
        what: &'static str,
    },
    /// A pcapng block length that is too small, not a multiple of 4, or
    /// different in the trailer.
    BadBlockLength {
        offset: u64,
        block_type: u32,
        len: u32,
        why: &'static str,
    },
    /// A block or record larger than [`MAX_BLOCK_LEN`].
    TooLarge { offset: u64, len: u32 },
    /// A format version this reader does not know.
    UnsupportedVersion { offset: u64, major: u16, minor: u16 },
    /// A pcapng section header whose byte-order magic is wrong.
    BadByteOrderMagic { offset: u64 },
    /// A packet for an interface that no Interface Description Block of the
    /// section declared.
    UnknownInterface { offset: u64, iface: u32 },
    /// A field inside a block is inconsistent (e.g. a captured length
    /// running past the block end, an option overrunning its block).
    Corrupt { offset: u64, what: &'static str },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { offset, source } => write!(f, "read error at offset {offset}: {source}"),
            Error::Empty => write!(f, "empty input: not a pcap or pcapng file"),
            Error::NotPcap { start } => write!(
                f,
                "not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x})",
                start[0], start[1], start[2], start[3]
            ),
            Error::Truncated {
                offset,
                start,
                what,
            } => write!(
                f,
                "truncated at offset {offset}: {what} starting at offset {start} is incomplete"
            ),
            Error::BadBlockLength {
                offset,
                block_type,
                len,
                why,
            } => write!(
                f,
                "bad block length {len} for block type {block_type:#010x} at offset {offset}: {why}"
            ),
            Error::TooLarge { offset, len } => write!(
                f,
                "block or record at offset {offset} claims {len} bytes, more than the limit of {MAX_BLOCK_LEN}"
            ),
            Error::UnsupportedVersion {
                offset,
                major,
                minor,
            } => write!(
                f,
                "unsupported format version {major}.{minor} at offset {offset}"
            ),
            Error::BadByteOrderMagic { offset } => write!(
                f,
                "bad byte-order magic in the pcapng section header at offset {offset}"
            ),
            Error::UnknownInterface { offset, iface } => write!(
                f,
                "packet block at offset {offset} refers to interface {iface}, which its section does not declare"
            ),
            Error::Corrupt { offset, what } => {
                write!(f, "corrupt block at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Rounds `len` up to the next multiple of 4 (pcapng pads to 32 bits).
fn pad4(len: usize) -> usize {
    (len + 3) & !3
}
