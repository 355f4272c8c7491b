//! Writing pcapng and classic pcap.
//!
//! Every block (or pcap record) is built in one reusable `Vec` and written
//! with a single `write_all`, so a caller flushing after each packet pays
//! one write per packet. Buffering across packets is the caller's choice
//! (wrap the output in a `BufWriter`).

use std::io::{self, Write};

use super::field::*;
use super::{block_type, opt, pad4, ByteOrder, Format, PCAPNG_BYTE_ORDER_MAGIC, PCAP_MAGIC_NSEC};

/// A capture interface: in pcapng one Interface Description Block; in
/// classic pcap only its link type and snap length reach the file header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// `if_name`, e.g. `xdpdrop`.
    pub name: String,
    /// The filter expression, written as a libpcap-type `if_filter`.
    pub filter: Option<String>,
    /// `LINKTYPE_*` value.
    pub linktype: u16,
    /// Largest captured length; 0 means no limit.
    pub snaplen: u32,
    /// `if_description`.
    pub description: Option<String>,
}

/// What is known about one captured packet besides its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// Wall-clock time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Length of the packet on the wire (at least the captured length).
    pub orig_len: u32,
    /// Ingress interface index; pcapng only, as a comment.
    pub ifindex: Option<u32>,
    /// RX queue; pcapng only, as `epb_queue` and in the comment.
    pub queue: Option<u32>,
    /// Free text; pcapng only, as an `opt_comment`.
    pub comment: Option<String>,
}

/// Counters for a pcapng Interface Statistics Block; `None` fields are
/// left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `isb_starttime`, ns since the epoch.
    pub start_ns: Option<u64>,
    /// `isb_endtime`, ns since the epoch.
    pub end_ns: Option<u64>,
    /// `isb_ifrecv`: packets seen by the interface.
    pub received: Option<u64>,
    /// `isb_ifdrop`: packets lost (not delivered to the capture).
    pub dropped: Option<u64>,
}

/// Writes a pcapng or classic pcap stream.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    order: ByteOrder,
    interfaces: usize,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Writes the file header: a Section Header Block and one Interface
    /// Description Block per interface (pcapng), or the pcap global header.
    /// Classic pcap has a single link type: interfaces that disagree on it
    /// are an `InvalidInput` error, and the header carries the largest snap
    /// length.
    ///
    /// pcapng lets interfaces differ, but libpcap 1.10 (and so tcpdump)
    /// refuses a section whose interfaces differ in link type or snap
    /// length ("an interface has a type ... different from the type of the
    /// first interface"): give them all the same when tcpdump must read the
    /// file.
    pub fn new(out: W, format: Format, interfaces: &[Interface]) -> io::Result<Self> {
        Self::with_byte_order(out, format, interfaces, ByteOrder::NATIVE)
    }

    /// Like [`Writer::new`] in a chosen byte order (readers handle both;
    /// useful to produce test files of the other endianness).
    pub fn with_byte_order(
        out: W,
        format: Format,
        interfaces: &[Interface],
        order: ByteOrder,
    ) -> io::Result<Self> {
        let mut w = Writer {
            out,
            format,
            order,
            interfaces: interfaces.len(),
            buf: Vec::with_capacity(4096),
        };
        match format {
            Format::Pcapng => {
                let userappl = format!("xdpcap {}", env!("CARGO_PKG_VERSION"));
                let os = host_os();
                encode_shb(&mut w.buf, order, &userappl, os.as_deref())?;
                let mut idb = Vec::new();
                for iface in interfaces {
                    encode_idb(&mut idb, order, iface)?;
                    w.buf.extend_from_slice(&idb);
                }
            }
            Format::Pcap => {
                let first = interfaces.first().ok_or_else(|| {
                    invalid("a pcap file needs at least one interface for its link type")
                })?;
                if let Some(other) = interfaces.iter().find(|i| i.linktype != first.linktype) {
                    return Err(invalid(&format!(
                        "interfaces {} and {} have different link types ({} and {}): \
                         classic pcap holds one link type, use pcapng",
                        first.name, other.name, first.linktype, other.linktype
                    )));
                }
                let snaplen = interfaces.iter().map(|i| i.snaplen).max().unwrap_or(0);
                encode_pcap_header(&mut w.buf, order, snaplen, first.linktype);
            }
        }
        w.out.write_all(&w.buf)?;
        Ok(w)
    }

    /// Writes one packet captured on interface `iface` (an index into the
    /// interfaces given to [`Writer::new`]). `data` is what was captured;
    /// `meta.orig_len` is the length on the wire.
    pub fn write_packet(&mut self, iface: usize, meta: &PacketMeta, data: &[u8]) -> io::Result<()> {
        let id = self.check_iface(iface)?;
        match self.format {
            Format::Pcapng => encode_epb(&mut self.buf, self.order, id, meta, data)?,
            Format::Pcap => encode_pcap_record(&mut self.buf, self.order, meta, data)?,
        }
        self.out.write_all(&self.buf)
    }

    /// Writes a pcapng Interface Statistics Block with `isb_ifrecv` and
    /// `isb_ifdrop` at time `ts_ns`. Classic pcap has no place for it: no-op.
    pub fn write_stats(
        &mut self,
        iface: usize,
        ts_ns: u64,
        received: u64,
        dropped: u64,
    ) -> io::Result<()> {
        let stats = Stats {
            received: Some(received),
            dropped: Some(dropped),
            ..Stats::default()
        };
        self.write_statistics(iface, ts_ns, &stats)
    }

    /// Writes a pcapng Interface Statistics Block with the fields of
    /// `stats` that are set. No-op for classic pcap.
    pub fn write_statistics(&mut self, iface: usize, ts_ns: u64, stats: &Stats) -> io::Result<()> {
        let id = self.check_iface(iface)?;
        if self.format == Format::Pcap {
            return Ok(());
        }
        encode_isb(&mut self.buf, self.order, id, ts_ns, stats)?;
        self.out.write_all(&self.buf)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the output.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn check_iface(&self, iface: usize) -> io::Result<u32> {
        if iface >= self.interfaces {
            return Err(invalid(&format!(
                "interface {iface} does not exist (the file declares {})",
                self.interfaces
            )));
        }
        u32::try_from(iface).map_err(|_| invalid("interface index too large"))
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// "Linux 6.18.0" from uname(2), for `shb_os`.
fn host_os() -> Option<String> {
    let u = rustix::system::uname();
    let sys = u.sysname().to_string_lossy();
    let rel = u.release().to_string_lossy();
    if sys.is_empty() {
        None
    } else {
        Some(format!("{sys} {rel}"))
    }
}

/// Builds one pcapng block in a caller-owned buffer: header first, body
/// fields appended, then options, then the total length at both ends.
struct Block<'a> {
    buf: &'a mut Vec<u8>,
    order: ByteOrder,
    has_options: bool,
}

impl<'a> Block<'a> {
    fn begin(buf: &'a mut Vec<u8>, order: ByteOrder, block_type: u32) -> Self {
        buf.clear();
        let mut b = Block {
            buf,
            order,
            has_options: false,
        };
        b.u32(block_type);
        b.u32(0); // total length, patched by finish()
        b
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&self.order.u16_bytes(v));
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&self.order.u32_bytes(v));
    }

    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&self.order.u64_bytes(v));
    }

    /// A 64-bit timestamp as pcapng stores it: high word, then low word.
    fn ts(&mut self, ts: u64) {
        self.u32((ts >> 32) as u32);
        self.u32(ts as u32);
    }

    /// Bytes followed by zero padding to a multiple of 4.
    fn padded(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let pad = pad4(data.len()) - data.len();
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
    }

    fn option(&mut self, code: u16, value: &[u8]) -> io::Result<()> {
        self.option2(code, &[], value)
    }

    /// An option whose value is `prefix` then `text`, without building the
    /// concatenation.
    fn option2(&mut self, code: u16, prefix: &[u8], text: &[u8]) -> io::Result<()> {
        let at = self.begin_option(code);
        self.buf.extend_from_slice(prefix);
        self.buf.extend_from_slice(text);
        self.end_option(at)
    }

    /// Starts an option whose value the caller appends to `buf`; returns
    /// where the value starts, for [`Block::end_option`].
    fn begin_option(&mut self, code: u16) -> usize {
        self.has_options = true;
        self.u16(code);
        self.u16(0); // value length, patched by end_option()
        self.buf.len()
    }

    fn end_option(&mut self, value_at: usize) -> io::Result<()> {
        let len = self.buf.len() - value_at;
        let len16 =
            u16::try_from(len).map_err(|_| invalid("pcapng option longer than 65535 bytes"))?;
        let opt_at = value_at - OPT_VALUE;
        self.buf[opt_at + OPT_LEN.start..opt_at + OPT_LEN.end]
            .copy_from_slice(&self.order.u16_bytes(len16));
        self.buf.extend_from_slice(&[0u8; 3][..pad4(len) - len]);
        Ok(())
    }

    fn option_u32(&mut self, code: u16, v: u32) -> io::Result<()> {
        let b = self.order.u32_bytes(v);
        self.option(code, &b)
    }

    fn option_u64(&mut self, code: u16, v: u64) -> io::Result<()> {
        let b = self.order.u64_bytes(v);
        self.option(code, &b)
    }

    /// Timestamp option (`isb_starttime`...): high word, then low word.
    fn option_ts(&mut self, code: u16, ts: u64) -> io::Result<()> {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.order.u32_bytes((ts >> 32) as u32));
        b[4..].copy_from_slice(&self.order.u32_bytes(ts as u32));
        self.option(code, &b)
    }

    /// Ends the options (if any) and writes the total length at both ends.
    fn finish(mut self) -> io::Result<()> {
        if self.has_options {
            self.u16(opt::ENDOFOPT);
            self.u16(0);
        }
        let total = u32::try_from(self.buf.len() + BLOCK_TRAILER_LEN)
            .map_err(|_| invalid("pcapng block larger than 4 GiB"))?;
        self.u32(total);
        let len = self.order.u32_bytes(total);
        self.buf[BLOCK_TOTAL_LEN].copy_from_slice(&len);
        Ok(())
    }
}

/// Section Header Block: version 1.0, unknown section length,
/// `shb_userappl` and optionally `shb_os`.
pub(super) fn encode_shb(
    buf: &mut Vec<u8>,
    order: ByteOrder,
    userappl: &str,
    os: Option<&str>,
) -> io::Result<()> {
    let mut b = Block::begin(buf, order, block_type::SHB);
    b.u32(PCAPNG_BYTE_ORDER_MAGIC);
    b.u16(1);
    b.u16(0);
    b.u64(u64::MAX); // section length -1: not specified
    if let Some(os) = os {
        b.option(opt::SHB_OS, os.as_bytes())?;
    }
    b.option(opt::SHB_USERAPPL, userappl.as_bytes())?;
    b.finish()
}

/// Interface Description Block with `if_name`, `if_description`,
/// `if_filter` and `if_tsresol` = 9 (nanoseconds).
pub(super) fn encode_idb(buf: &mut Vec<u8>, order: ByteOrder, iface: &Interface) -> io::Result<()> {
    let mut b = Block::begin(buf, order, block_type::IDB);
    b.u16(iface.linktype);
    b.u16(0); // reserved
    b.u32(iface.snaplen);
    if !iface.name.is_empty() {
        b.option(opt::IF_NAME, iface.name.as_bytes())?;
    }
    if let Some(desc) = &iface.description {
        b.option(opt::IF_DESCRIPTION, desc.as_bytes())?;
    }
    if let Some(filter) = &iface.filter {
        b.option2(opt::IF_FILTER, &[opt::IF_FILTER_LIBPCAP], filter.as_bytes())?;
    }
    b.option(opt::IF_TSRESOL, &[opt::IF_TSRESOL_NS])?;
    b.finish()
}

/// Enhanced Packet Block with the timestamp in nanoseconds, `epb_queue`
/// and a comment naming the ingress ifindex and queue.
pub(super) fn encode_epb(
    buf: &mut Vec<u8>,
    order: ByteOrder,
    iface: u32,
    meta: &PacketMeta,
    data: &[u8],
) -> io::Result<()> {
    let caplen = u32::try_from(data.len()).map_err(|_| invalid("packet longer than 4 GiB"))?;
    let mut b = Block::begin(buf, order, block_type::EPB);
    b.u32(iface);
    b.ts(meta.ts_ns);
    b.u32(caplen);
    b.u32(meta.orig_len);
    b.padded(data);
    if let Some(q) = meta.queue {
        b.option_u32(opt::EPB_QUEUE, q)?;
    }
    if meta.ifindex.is_some() || meta.queue.is_some() {
        // Formatted straight into the block: no allocation per packet.
        let at = b.begin_option(opt::COMMENT);
        if let Some(i) = meta.ifindex {
            b.buf.extend_from_slice(b"ifindex ");
            push_decimal(b.buf, i);
        }
        if let Some(q) = meta.queue {
            if meta.ifindex.is_some() {
                b.buf.push(b' ');
            }
            b.buf.extend_from_slice(b"queue ");
            push_decimal(b.buf, q);
        }
        b.end_option(at)?;
    }
    if let Some(c) = &meta.comment {
        b.option(opt::COMMENT, c.as_bytes())?;
    }
    b.finish()
}

/// Appends `v` in decimal; `write!` costs several times more per packet.
fn push_decimal(buf: &mut Vec<u8>, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut n = digits.len();
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[n..]);
}

/// Interface Statistics Block.
pub(super) fn encode_isb(
    buf: &mut Vec<u8>,
    order: ByteOrder,
    iface: u32,
    ts_ns: u64,
    stats: &Stats,
) -> io::Result<()> {
    let mut b = Block::begin(buf, order, block_type::ISB);
    b.u32(iface);
    b.ts(ts_ns);
    if let Some(t) = stats.start_ns {
        b.option_ts(opt::ISB_STARTTIME, t)?;
    }
    if let Some(t) = stats.end_ns {
        b.option_ts(opt::ISB_ENDTIME, t)?;
    }
    if let Some(n) = stats.received {
        b.option_u64(opt::ISB_IFRECV, n)?;
    }
    if let Some(n) = stats.dropped {
        b.option_u64(opt::ISB_IFDROP, n)?;
    }
    b.finish()
}

/// Classic pcap global header, nanosecond magic, version 2.4.
pub(super) fn encode_pcap_header(buf: &mut Vec<u8>, order: ByteOrder, snaplen: u32, linktype: u16) {
    buf.clear();
    buf.extend_from_slice(&order.u32_bytes(PCAP_MAGIC_NSEC));
    buf.extend_from_slice(&order.u16_bytes(2));
    buf.extend_from_slice(&order.u16_bytes(4));
    buf.extend_from_slice(&order.u32_bytes(0)); // thiszone
    buf.extend_from_slice(&order.u32_bytes(0)); // sigfigs
    buf.extend_from_slice(&order.u32_bytes(snaplen));
    buf.extend_from_slice(&order.u32_bytes(u32::from(linktype)));
    debug_assert_eq!(buf.len(), PCAP_HEADER_LEN);
}

/// Classic pcap record: seconds, nanoseconds, captured and original length.
pub(super) fn encode_pcap_record(
    buf: &mut Vec<u8>,
    order: ByteOrder,
    meta: &PacketMeta,
    data: &[u8],
) -> io::Result<()> {
    let caplen = u32::try_from(data.len()).map_err(|_| invalid("packet longer than 4 GiB"))?;
    let sec = u32::try_from(meta.ts_ns / 1_000_000_000)
        .map_err(|_| invalid("timestamp past 2106 does not fit classic pcap"))?;
    let nsec = (meta.ts_ns % 1_000_000_000) as u32;
    buf.clear();
    buf.extend_from_slice(&order.u32_bytes(sec));
    buf.extend_from_slice(&order.u32_bytes(nsec));
    buf.extend_from_slice(&order.u32_bytes(caplen));
    buf.extend_from_slice(&order.u32_bytes(meta.orig_len));
    debug_assert_eq!(buf.len(), REC_HEADER_LEN);
    buf.extend_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::ByteOrder::{Big, Little};

    /// 1_700_000_000.123456789 s: high word 0x17979cfe, low 0x3d85cd15;
    /// as seconds 0x6553f100 and nanoseconds 0x075bcd15.
    const TS: u64 = 1_700_000_000_123_456_789;

    fn iface() -> Interface {
        Interface {
            name: "xdpdrop".into(),
            filter: Some("icmp".into()),
            linktype: 1,
            snaplen: 262_144,
            description: Some("drop".into()),
        }
    }

    fn check(what: &str, got: &[u8], want: &[u8]) {
        assert_eq!(got, want, "{what}: got {got:02x?}\nwant {want:02x?}");
    }

    #[test]
    fn shb_golden_both_orders() {
        let mut buf = Vec::new();
        encode_shb(&mut buf, Little, "xdpcap 1.2", Some("Linux")).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            0x0a, 0x0d, 0x0d, 0x0a, 0x3c, 0, 0, 0,         // type, total length 60
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,            // magic, version 1.0
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // section length -1
            3, 0, 5, 0, b'L', b'i', b'n', b'u', b'x', 0, 0, 0, // shb_os
            4, 0, 10, 0, b'x', b'd', b'p', b'c', b'a', b'p', b' ', b'1', b'.', b'2', 0, 0, // shb_userappl
            0, 0, 0, 0,                                     // opt_endofopt
            0x3c, 0, 0, 0,
        ];
        check("SHB LE", &buf, le);

        encode_shb(&mut buf, Big, "xdpcap 1.2", Some("Linux")).unwrap();
        #[rustfmt::skip]
        let be: &[u8] = &[
            0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0x3c,
            0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0, 3, 0, 5, b'L', b'i', b'n', b'u', b'x', 0, 0, 0,
            0, 4, 0, 10, b'x', b'd', b'p', b'c', b'a', b'p', b' ', b'1', b'.', b'2', 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0x3c,
        ];
        check("SHB BE", &buf, be);
    }

    #[test]
    fn idb_golden_with_options() {
        let mut buf = Vec::new();
        encode_idb(&mut buf, Little, &iface()).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            1, 0, 0, 0, 0x40, 0, 0, 0,                  // IDB, total length 64
            1, 0, 0, 0, 0, 0, 4, 0,                     // EN10MB, reserved, snaplen 0x40000
            2, 0, 7, 0, b'x', b'd', b'p', b'd', b'r', b'o', b'p', 0, // if_name
            3, 0, 4, 0, b'd', b'r', b'o', b'p',         // if_description
            11, 0, 5, 0, 0, b'i', b'c', b'm', b'p', 0, 0, 0, // if_filter: libpcap "icmp"
            9, 0, 1, 0, 9, 0, 0, 0,                     // if_tsresol 9
            0, 0, 0, 0,
            0x40, 0, 0, 0,
        ];
        check("IDB LE", &buf, le);

        encode_idb(&mut buf, Big, &iface()).unwrap();
        #[rustfmt::skip]
        let be: &[u8] = &[
            0, 0, 0, 1, 0, 0, 0, 0x40,
            0, 1, 0, 0, 0, 4, 0, 0,
            0, 2, 0, 7, b'x', b'd', b'p', b'd', b'r', b'o', b'p', 0,
            0, 3, 0, 4, b'd', b'r', b'o', b'p',
            0, 11, 0, 5, 0, b'i', b'c', b'm', b'p', 0, 0, 0,
            0, 9, 0, 1, 9, 0, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0x40,
        ];
        check("IDB BE", &buf, be);
    }

    #[test]
    fn idb_golden_minimal() {
        let mut buf = Vec::new();
        let i = Interface {
            name: String::new(),
            filter: None,
            linktype: 101,
            snaplen: 0,
            description: None,
        };
        encode_idb(&mut buf, Little, &i).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            1, 0, 0, 0, 0x20, 0, 0, 0,
            101, 0, 0, 0, 0, 0, 0, 0,
            9, 0, 1, 0, 9, 0, 0, 0,
            0, 0, 0, 0,
            0x20, 0, 0, 0,
        ];
        check("IDB minimal", &buf, le);
    }

    #[test]
    fn epb_golden_padding_and_options() {
        let meta = PacketMeta {
            ts_ns: TS,
            orig_len: 60,
            ifindex: Some(3),
            queue: Some(1),
            comment: Some("hi".into()),
        };
        let mut buf = Vec::new();
        encode_epb(&mut buf, Little, 2, &meta, &[0xde, 0xad, 0xbe, 0xef, 0x01]).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            6, 0, 0, 0, 0x54, 0, 0, 0,                  // EPB, total length 84
            2, 0, 0, 0,                                 // interface 2
            0xfe, 0x9c, 0x97, 0x17, 0x15, 0xcd, 0x85, 0x3d, // ts high, low
            5, 0, 0, 0, 60, 0, 0, 0,                    // caplen, orig len
            0xde, 0xad, 0xbe, 0xef, 0x01, 0, 0, 0,      // data + 3 bytes padding
            6, 0, 4, 0, 1, 0, 0, 0,                     // epb_queue 1
            1, 0, 17, 0, b'i', b'f', b'i', b'n', b'd', b'e', b'x', b' ', b'3', b' ',
            b'q', b'u', b'e', b'u', b'e', b' ', b'1', 0, 0, 0, // opt_comment
            1, 0, 2, 0, b'h', b'i', 0, 0,               // opt_comment
            0, 0, 0, 0,
            0x54, 0, 0, 0,
        ];
        check("EPB LE", &buf, le);

        encode_epb(&mut buf, Big, 2, &meta, &[0xde, 0xad, 0xbe, 0xef, 0x01]).unwrap();
        #[rustfmt::skip]
        let be: &[u8] = &[
            0, 0, 0, 6, 0, 0, 0, 0x54,
            0, 0, 0, 2,
            0x17, 0x97, 0x9c, 0xfe, 0x3d, 0x85, 0xcd, 0x15,
            0, 0, 0, 5, 0, 0, 0, 60,
            0xde, 0xad, 0xbe, 0xef, 0x01, 0, 0, 0,
            0, 6, 0, 4, 0, 0, 0, 1,
            0, 1, 0, 17, b'i', b'f', b'i', b'n', b'd', b'e', b'x', b' ', b'3', b' ',
            b'q', b'u', b'e', b'u', b'e', b' ', b'1', 0, 0, 0,
            0, 1, 0, 2, b'h', b'i', 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0x54,
        ];
        check("EPB BE", &buf, be);
    }

    #[test]
    fn epb_golden_no_options_empty_data() {
        let meta = PacketMeta {
            ts_ns: 5,
            orig_len: 0,
            ..PacketMeta::default()
        };
        let mut buf = Vec::new();
        encode_epb(&mut buf, Little, 0, &meta, &[]).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            6, 0, 0, 0, 0x20, 0, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0, 5, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
            0x20, 0, 0, 0,
        ];
        check("EPB empty", &buf, le);
    }

    #[test]
    fn isb_golden() {
        let mut buf = Vec::new();
        let stats = Stats {
            start_ns: Some(0x0000_0001_0000_0002),
            end_ns: None,
            received: Some(1000),
            dropped: Some(7),
        };
        encode_isb(&mut buf, Little, 1, TS, &stats).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            5, 0, 0, 0, 0x40, 0, 0, 0,                  // ISB, total length 64
            1, 0, 0, 0,
            0xfe, 0x9c, 0x97, 0x17, 0x15, 0xcd, 0x85, 0x3d,
            2, 0, 8, 0, 1, 0, 0, 0, 2, 0, 0, 0,         // isb_starttime: high, low
            4, 0, 8, 0, 0xe8, 0x03, 0, 0, 0, 0, 0, 0,   // isb_ifrecv 1000
            5, 0, 8, 0, 7, 0, 0, 0, 0, 0, 0, 0,         // isb_ifdrop 7
            0, 0, 0, 0,
            0x40, 0, 0, 0,
        ];
        check("ISB LE", &buf, le);

        encode_isb(&mut buf, Big, 1, TS, &stats).unwrap();
        #[rustfmt::skip]
        let be: &[u8] = &[
            0, 0, 0, 5, 0, 0, 0, 0x40,
            0, 0, 0, 1,
            0x17, 0x97, 0x9c, 0xfe, 0x3d, 0x85, 0xcd, 0x15,
            0, 2, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2,
            0, 4, 0, 8, 0, 0, 0, 0, 0, 0, 0x03, 0xe8,
            0, 5, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7,
            0, 0, 0, 0,
            0, 0, 0, 0x40,
        ];
        check("ISB BE", &buf, be);
    }

    #[test]
    fn pcap_header_and_record_golden() {
        let mut buf = Vec::new();
        encode_pcap_header(&mut buf, Little, 65535, 1);
        #[rustfmt::skip]
        let le: &[u8] = &[
            0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, // ns magic, version 2.4
            0, 0, 0, 0, 0, 0, 0, 0,             // thiszone, sigfigs
            0xff, 0xff, 0, 0, 1, 0, 0, 0,       // snaplen, linktype
        ];
        check("pcap header LE", &buf, le);
        encode_pcap_header(&mut buf, Big, 65535, 1);
        #[rustfmt::skip]
        let be: &[u8] = &[
            0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4,
            0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0xff, 0xff, 0, 0, 0, 1,
        ];
        check("pcap header BE", &buf, be);

        let meta = PacketMeta {
            ts_ns: TS,
            orig_len: 60,
            ifindex: Some(3),
            ..PacketMeta::default()
        };
        encode_pcap_record(&mut buf, Little, &meta, &[1, 2, 3]).unwrap();
        #[rustfmt::skip]
        let le: &[u8] = &[
            0x00, 0xf1, 0x53, 0x65, 0x15, 0xcd, 0x5b, 0x07, // sec, nsec
            3, 0, 0, 0, 60, 0, 0, 0,                         // caplen, orig len
            1, 2, 3,                                         // no padding in pcap
        ];
        check("pcap record LE", &buf, le);
        encode_pcap_record(&mut buf, Big, &meta, &[1, 2, 3]).unwrap();
        #[rustfmt::skip]
        let be: &[u8] = &[
            0x65, 0x53, 0xf1, 0x00, 0x07, 0x5b, 0xcd, 0x15,
            0, 0, 0, 3, 0, 0, 0, 60,
            1, 2, 3,
        ];
        check("pcap record BE", &buf, be);
    }

    /// Counts `write` calls to prove each block goes out in one piece.
    struct CountingWriter {
        bytes: Vec<u8>,
        writes: usize,
    }

    impl Write for CountingWriter {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn decimal() {
        for v in [0, 7, 10, 99, 100, 4_000_000_000, u32::MAX] {
            let mut b = b"x".to_vec();
            push_decimal(&mut b, v);
            assert_eq!(b, format!("x{v}").into_bytes());
        }
    }

    #[test]
    fn one_write_per_block() {
        for format in [Format::Pcapng, Format::Pcap] {
            let out = CountingWriter {
                bytes: Vec::new(),
                writes: 0,
            };
            let mut w = Writer::new(out, format, &[iface(), iface()]).unwrap();
            assert_eq!(w.get_ref().writes, 1, "{format:?}: header");
            let meta = PacketMeta {
                ts_ns: TS,
                orig_len: 1500,
                ifindex: Some(7),
                queue: Some(0),
                comment: None,
            };
            w.write_packet(1, &meta, &[0x55; 1500]).unwrap();
            assert_eq!(w.get_ref().writes, 2, "{format:?}: packet");
            w.write_stats(0, TS, 10, 1).unwrap();
            let want = if format == Format::Pcap { 2 } else { 3 };
            assert_eq!(w.get_ref().writes, want, "{format:?}: stats");
            if format == Format::Pcap {
                let len = w.get_ref().bytes.len();
                assert_eq!(len, PCAP_HEADER_LEN + REC_HEADER_LEN + 1500);
            }
        }
    }

    #[test]
    fn pcapng_header_layout() {
        let w = Writer::new(Vec::new(), Format::Pcapng, &[iface()]).unwrap();
        let out = w.into_inner().unwrap();
        let o = ByteOrder::NATIVE;
        assert_eq!(o.read_u32(&out[BLOCK_TYPE]), block_type::SHB);
        assert_eq!(
            o.read_u32(&out[SHB_BYTE_ORDER_MAGIC]),
            PCAPNG_BYTE_ORDER_MAGIC
        );
        let shb_len = o.read_u32(&out[BLOCK_TOTAL_LEN]) as usize;
        let app = format!("xdpcap {}", env!("CARGO_PKG_VERSION"));
        let shb = &out[..shb_len];
        assert!(
            shb.windows(app.len()).any(|w| w == app.as_bytes()),
            "shb_userappl missing"
        );
        let mut idb = Vec::new();
        encode_idb(&mut idb, o, &iface()).unwrap();
        assert_eq!(&out[shb_len..], &idb[..], "IDB follows the SHB");
    }

    #[test]
    fn pcap_rejects_mixed_linktypes_and_bad_iface() {
        let mut raw = iface();
        raw.linktype = 101;
        let err = Writer::new(Vec::new(), Format::Pcap, &[iface(), raw.clone()])
            .err()
            .expect("mixed link types must fail in pcap");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("link types"), "{err}");
        assert!(Writer::new(Vec::new(), Format::Pcap, &[]).is_err());
        // pcapng holds both.
        let mut w = Writer::new(Vec::new(), Format::Pcapng, &[iface(), raw]).unwrap();
        let meta = PacketMeta::default();
        w.write_packet(1, &meta, &[1]).unwrap();
        let err = w.write_packet(2, &meta, &[1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(w.write_stats(2, 0, 0, 0).is_err());
    }

    #[test]
    fn pcap_snaplen_is_the_largest() {
        let mut small = iface();
        small.snaplen = 100;
        let w = Writer::new(Vec::new(), Format::Pcap, &[small, iface()]).unwrap();
        let out = w.into_inner().unwrap();
        assert_eq!(out.len(), PCAP_HEADER_LEN);
        let o = ByteOrder::NATIVE;
        assert_eq!(o.read_u32(&out[PCAP_MAGIC]), PCAP_MAGIC_NSEC);
        assert_eq!(o.read_u32(&out[PCAP_SNAPLEN]), 262_144);
        assert_eq!(o.read_u32(&out[PCAP_LINKTYPE]), 1);
    }

    #[test]
    fn oversized_option_is_an_error() {
        let mut i = iface();
        i.filter = Some("x".repeat(70_000));
        let err = Writer::new(Vec::new(), Format::Pcapng, &[i]).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
