//! Reading classic pcap and pcapng.
//!
//! The reader pulls one record or block at a time into a reusable buffer.
//! Every length is checked before it is used: block lengths against
//! [`MAX_BLOCK_LEN`], the block minimum for its type and the trailing copy;
//! captured lengths against the block that holds them; options against
//! their block. Data is only ever allocated as it arrives, so a corrupt
//! length costs at most the bytes actually present.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::field::*;
use super::{
    block_type, opt, pad4, ByteOrder, Error, Format, MAX_BLOCK_LEN, PCAPNG_BYTE_ORDER_MAGIC,
    PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC,
};

/// One packet, owning its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Nanoseconds since the epoch (0 for pcapng Simple Packet Blocks, which
    /// carry no timestamp).
    pub ts_ns: u64,
    /// `LINKTYPE_*` of the packet's interface.
    pub linktype: u16,
    /// Interface index within its pcapng section (0 for classic pcap).
    pub iface: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// One packet borrowed from the reader's buffer, valid until the next read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRef<'a> {
    pub ts_ns: u64,
    pub linktype: u16,
    pub iface: u32,
    pub orig_len: u32,
    pub data: &'a [u8],
    /// Raw pcapng options of the block (empty for classic pcap).
    options: &'a [u8],
    order: ByteOrder,
}

impl<'a> PacketRef<'a> {
    pub fn to_packet(&self) -> Packet {
        Packet {
            ts_ns: self.ts_ns,
            linktype: self.linktype,
            iface: self.iface,
            orig_len: self.orig_len,
            data: self.data.to_vec(),
        }
    }

    /// The block's options as `(code, value)`, stopping at `opt_endofopt`
    /// or at the first malformed option (the reader has already rejected
    /// blocks whose options overrun them).
    pub fn options(&self) -> Options<'a> {
        Options {
            rest: self.options,
            order: self.order,
        }
    }

    /// `epb_queue`, the queue the packet was received on.
    pub fn queue(&self) -> Option<u32> {
        self.options()
            .find(|(code, v)| *code == opt::EPB_QUEUE && v.len() >= 4)
            .map(|(_, v)| self.order.read_u32(v))
    }

    /// Every `opt_comment`, lossily decoded as UTF-8.
    pub fn comments(&self) -> impl Iterator<Item = String> + 'a {
        self.options()
            .filter(|(code, _)| *code == opt::COMMENT)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Iterator over the options of a pcapng block.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    rest: &'a [u8],
    order: ByteOrder,
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < OPT_VALUE {
            return None;
        }
        let code = self.order.read_u16(&self.rest[OPT_CODE]);
        let len = usize::from(self.order.read_u16(&self.rest[OPT_LEN]));
        if code == opt::ENDOFOPT || OPT_VALUE + len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let value = &self.rest[OPT_VALUE..OPT_VALUE + len];
        let next = (OPT_VALUE + pad4(len)).min(self.rest.len());
        self.rest = &self.rest[next..];
        Some((code, value))
    }
}

/// What the reader keeps of a pcapng interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Iface {
    linktype: u16,
    snaplen: u32,
    /// `if_tsresol` as stored: bit 7 selects 2^-n instead of 10^-n.
    tsresol: u8,
    /// `if_tsoffset`, seconds added to every timestamp.
    tsoffset: i64,
}

/// Reads packets from a pcap or pcapng stream. Wrap unbuffered inputs in a
/// `BufReader`: the reader issues a few small reads per packet.
pub struct Reader<R: Read> {
    r: R,
    format: Format,
    order: ByteOrder,
    /// Bytes consumed from the input so far.
    offset: u64,
    /// Offset of the block or record in `buf`.
    start: u64,
    buf: Vec<u8>,
    /// Classic pcap: nanosecond timestamps; link type and snaplen of the
    /// file header.
    nanos: bool,
    pcap_linktype: u16,
    pcap_snaplen: u32,
    /// pcapng: the interfaces of the current section.
    ifaces: Vec<Iface>,
    first_linktype: Option<u16>,
    /// A block read while looking for the first interface, not yet handed
    /// out.
    pending: Option<u32>,
    /// The iterator stops after an error.
    failed: bool,
}

impl Reader<BufReader<File>> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let f = File::open(path).map_err(|source| Error::Io { offset: 0, source })?;
        Reader::new(BufReader::with_capacity(1 << 16, f))
    }
}

impl<R: Read> Reader<R> {
    /// Reads the file header (pcap) or the Section Header Block and the
    /// blocks up to the first Interface Description Block (pcapng).
    pub fn new(r: R) -> Result<Self, Error> {
        let mut rd = Reader {
            r,
            format: Format::Pcap,
            order: ByteOrder::NATIVE,
            offset: 0,
            start: 0,
            buf: Vec::with_capacity(4096),
            nanos: false,
            pcap_linktype: 0,
            pcap_snaplen: 0,
            ifaces: Vec::new(),
            first_linktype: None,
            pending: None,
            failed: false,
        };
        let got = rd.fill(4)?;
        if got == 0 {
            return Err(Error::Empty);
        }
        if got < 4 {
            return Err(rd.truncated("file header"));
        }
        let magic = [rd.buf[0], rd.buf[1], rd.buf[2], rd.buf[3]];
        if u32::from_be_bytes(magic) == block_type::SHB {
            rd.format = Format::Pcapng;
            let t = rd.read_block_after(4)?;
            debug_assert_eq!(t, Some(block_type::SHB));
            rd.section_header()?;
            while rd.first_linktype.is_none() {
                match rd.read_block()? {
                    None => break,
                    Some(block_type::SHB) => rd.section_header()?,
                    Some(block_type::IDB) => rd.interface()?,
                    Some(t @ (block_type::EPB | block_type::SPB | block_type::PB)) => {
                        rd.pending = Some(t);
                        break;
                    }
                    Some(_) => {}
                }
            }
            return Ok(rd);
        }
        let (order, nanos) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (PCAP_MAGIC_USEC, _) => (ByteOrder::Little, false),
            (PCAP_MAGIC_NSEC, _) => (ByteOrder::Little, true),
            (_, PCAP_MAGIC_USEC) => (ByteOrder::Big, false),
            (_, PCAP_MAGIC_NSEC) => (ByteOrder::Big, true),
            _ => return Err(Error::NotPcap { start: magic }),
        };
        rd.order = order;
        rd.nanos = nanos;
        if rd.fill(PCAP_HEADER_LEN - 4)? < PCAP_HEADER_LEN - 4 {
            return Err(rd.truncated("pcap file header"));
        }
        let b = &rd.buf;
        let major = order.read_u16(&b[PCAP_VERSION_MAJOR]);
        let minor = order.read_u16(&b[PCAP_VERSION_MINOR]);
        if major != 2 {
            return Err(Error::UnsupportedVersion {
                offset: 0,
                major,
                minor,
            });
        }
        rd.pcap_snaplen = order.read_u32(&b[PCAP_SNAPLEN]);
        // The upper bits of the link-type field carry FCS information.
        rd.pcap_linktype = order.read_u32(&b[PCAP_LINKTYPE]) as u16;
        rd.first_linktype = Some(rd.pcap_linktype);
        Ok(rd)
    }

    /// The format of the input.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The byte order of the file header or of the current section.
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }

    /// The link type of the first interface: the pcap header's, or that of
    /// the first Interface Description Block. `None` for a pcapng file
    /// without interfaces (it holds no packets either).
    pub fn linktype(&self) -> Option<u16> {
        self.first_linktype
    }

    /// Snap length of the pcap header or of the first interface of the
    /// current pcapng section.
    pub fn snaplen(&self) -> Option<u32> {
        match self.format {
            Format::Pcap => Some(self.pcap_snaplen),
            Format::Pcapng => self.ifaces.first().map(|i| i.snaplen),
        }
    }

    /// Bytes consumed from the input so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next packet, owned. `Ok(None)` at a clean end of input.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, Error> {
        Ok(self.next_packet_ref()?.map(|p| p.to_packet()))
    }

    /// The next packet, borrowed from the reader's buffer.
    pub fn next_packet_ref(&mut self) -> Result<Option<PacketRef<'_>>, Error> {
        if self.format == Format::Pcap {
            return self.pcap_record();
        }
        loop {
            let t = match self.pending.take() {
                Some(t) => t,
                None => match self.read_block()? {
                    Some(t) => t,
                    None => return Ok(None),
                },
            };
            match t {
                block_type::SHB => self.section_header()?,
                block_type::IDB => self.interface()?,
                block_type::EPB | block_type::PB | block_type::SPB => {
                    return self.packet_block(t).map(Some)
                }
                _ => {}
            }
        }
    }

    /// Appends up to `n` bytes of input to `buf`; returns how many came.
    fn fill(&mut self, n: usize) -> Result<usize, Error> {
        let got = (&mut self.r)
            .take(n as u64)
            .read_to_end(&mut self.buf)
            .map_err(|source| Error::Io {
                offset: self.offset,
                source,
            })?;
        self.offset += got as u64;
        Ok(got)
    }

    fn truncated(&self, what: &'static str) -> Error {
        Error::Truncated {
            offset: self.offset,
            start: self.start,
            what,
        }
    }

    fn corrupt(&self, what: &'static str) -> Error {
        Error::Corrupt {
            offset: self.start,
            what,
        }
    }

    fn pcap_record(&mut self) -> Result<Option<PacketRef<'_>>, Error> {
        self.buf.clear();
        self.start = self.offset;
        match self.fill(REC_HEADER_LEN)? {
            0 => return Ok(None),
            REC_HEADER_LEN => {}
            _ => return Err(self.truncated("pcap record header")),
        }
        let o = self.order;
        let caplen = o.read_u32(&self.buf[REC_CAPLEN]);
        if caplen > MAX_BLOCK_LEN {
            return Err(Error::TooLarge {
                offset: self.start,
                len: caplen,
            });
        }
        if self.fill(caplen as usize)? < caplen as usize {
            return Err(self.truncated("pcap packet data"));
        }
        let b = &self.buf;
        let sec = u64::from(o.read_u32(&b[REC_TS_SEC]));
        let frac = u64::from(o.read_u32(&b[REC_TS_FRAC]));
        let frac_ns = if self.nanos { frac } else { frac * 1000 };
        Ok(Some(PacketRef {
            ts_ns: sec * 1_000_000_000 + frac_ns,
            linktype: self.pcap_linktype,
            iface: 0,
            orig_len: o.read_u32(&b[REC_ORIG_LEN]),
            data: &b[REC_HEADER_LEN..],
            options: &[],
            order: o,
        }))
    }

    /// Reads one whole pcapng block into `buf`; `Ok(None)` at a clean end
    /// of input.
    fn read_block(&mut self) -> Result<Option<u32>, Error> {
        self.buf.clear();
        self.start = self.offset;
        match self.fill(4)? {
            0 => return Ok(None),
            4 => {}
            _ => return Err(self.truncated("block header")),
        }
        self.read_block_after(4)
    }

    /// Finishes reading a block whose first `have` bytes are in `buf`.
    fn read_block_after(&mut self, have: usize) -> Result<Option<u32>, Error> {
        let head = if self.buf[BLOCK_TYPE] == block_type::SHB.to_be_bytes() {
            // A section header announces its byte order after the length.
            BLOCK_HEADER_LEN + 4
        } else {
            BLOCK_HEADER_LEN
        };
        if self.fill(head - have)? < head - have {
            return Err(self.truncated("block header"));
        }
        let mut order = self.order;
        if head > BLOCK_HEADER_LEN {
            let magic = &self.buf[SHB_BYTE_ORDER_MAGIC];
            order = if ByteOrder::Little.read_u32(magic) == PCAPNG_BYTE_ORDER_MAGIC {
                ByteOrder::Little
            } else if ByteOrder::Big.read_u32(magic) == PCAPNG_BYTE_ORDER_MAGIC {
                ByteOrder::Big
            } else {
                return Err(Error::BadByteOrderMagic { offset: self.start });
            };
            self.order = order;
        }
        let btype = order.read_u32(&self.buf[BLOCK_TYPE]);
        let len = order.read_u32(&self.buf[BLOCK_TOTAL_LEN]);
        let start = self.start;
        let bad = |why| Error::BadBlockLength {
            offset: start,
            block_type: btype,
            len,
            why,
        };
        if len > MAX_BLOCK_LEN {
            return Err(Error::TooLarge { offset: start, len });
        }
        if len % 4 != 0 {
            return Err(bad("not a multiple of 4"));
        }
        if (len as usize) < min_block_len(btype) {
            return Err(bad("too short for its block type"));
        }
        let rest = len as usize - head;
        if self.fill(rest)? < rest {
            return Err(self.truncated(block_name(btype)));
        }
        let trailer = order.read_u32(&self.buf[len as usize - BLOCK_TRAILER_LEN..]);
        if trailer != len {
            return Err(bad("the trailing copy of the length differs"));
        }
        Ok(Some(btype))
    }

    fn section_header(&mut self) -> Result<(), Error> {
        let major = self.order.read_u16(&self.buf[SHB_MAJOR]);
        let minor = self.order.read_u16(&self.buf[SHB_MINOR]);
        if major != 1 {
            return Err(Error::UnsupportedVersion {
                offset: self.start,
                major,
                minor,
            });
        }
        self.ifaces.clear();
        Ok(())
    }

    fn interface(&mut self) -> Result<(), Error> {
        let o = self.order;
        let b = &self.buf;
        let mut iface = Iface {
            linktype: o.read_u16(&b[IDB_LINKTYPE]),
            snaplen: o.read_u32(&b[IDB_SNAPLEN]),
            tsresol: opt::IF_TSRESOL_DEFAULT,
            tsoffset: 0,
        };
        let options = self.options_at(IDB_OPTIONS)?;
        for (code, v) in (Options {
            rest: options,
            order: o,
        }) {
            match code {
                opt::IF_TSRESOL if !v.is_empty() => iface.tsresol = v[0],
                opt::IF_TSOFFSET if v.len() >= 8 => iface.tsoffset = o.read_u64(v) as i64,
                _ => {}
            }
        }
        self.first_linktype.get_or_insert(iface.linktype);
        self.ifaces.push(iface);
        Ok(())
    }

    /// The options area of the block in `buf`, starting at `at`, after
    /// checking that every option fits in it.
    fn options_at(&self, at: usize) -> Result<&[u8], Error> {
        let end = self.buf.len() - BLOCK_TRAILER_LEN;
        let area = &self.buf[at.min(end)..end];
        let mut rest = area;
        while rest.len() >= OPT_VALUE {
            let code = self.order.read_u16(&rest[OPT_CODE]);
            let len = usize::from(self.order.read_u16(&rest[OPT_LEN]));
            if code == opt::ENDOFOPT {
                break;
            }
            if OPT_VALUE + len > rest.len() {
                return Err(self.corrupt("an option runs past the end of its block"));
            }
            rest = &rest[(OPT_VALUE + pad4(len)).min(rest.len())..];
        }
        Ok(area)
    }

    fn packet_block(&mut self, btype: u32) -> Result<PacketRef<'_>, Error> {
        let o = self.order;
        let b = &self.buf;
        let body_end = b.len() - BLOCK_TRAILER_LEN;
        let (iface_id, ts, caplen, orig_len, data_at) = match btype {
            block_type::SPB => {
                let iface = *self.iface(0)?;
                let orig_len = o.read_u32(&b[SPB_ORIG_LEN]);
                let mut caplen = orig_len.min((body_end - SPB_DATA) as u32);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen);
                }
                (0, None, caplen, orig_len, SPB_DATA)
            }
            block_type::PB => (
                u32::from(o.read_u16(&b[PB_INTERFACE_ID])),
                Some(ts_words(o, &b[PB_TS_HIGH], &b[PB_TS_LOW])),
                o.read_u32(&b[PB_CAPLEN]),
                o.read_u32(&b[PB_ORIG_LEN]),
                PB_DATA,
            ),
            _ => (
                o.read_u32(&b[EPB_INTERFACE_ID]),
                Some(ts_words(o, &b[EPB_TS_HIGH], &b[EPB_TS_LOW])),
                o.read_u32(&b[EPB_CAPLEN]),
                o.read_u32(&b[EPB_ORIG_LEN]),
                EPB_DATA,
            ),
        };
        let iface = *self.iface(iface_id)?;
        if caplen as usize > body_end - data_at {
            return Err(self.corrupt("the captured length runs past the end of the block"));
        }
        let data_end = data_at + caplen as usize;
        let options = if btype == block_type::SPB {
            &[][..]
        } else {
            self.options_at(data_at + pad4(caplen as usize))?
        };
        Ok(PacketRef {
            ts_ns: ts.map_or(0, |t| ts_to_ns(t, iface.tsresol, iface.tsoffset)),
            linktype: iface.linktype,
            iface: iface_id,
            orig_len,
            data: &self.buf[data_at..data_end],
            options,
            order: o,
        })
    }

    fn iface(&self, id: u32) -> Result<&Iface, Error> {
        self.ifaces.get(id as usize).ok_or(Error::UnknownInterface {
            offset: self.start,
            iface: id,
        })
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Packet, Error>;

    /// Packets until the end of input or the first error, which is the last
    /// item.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_packet() {
            Ok(p) => p.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn ts_words(o: ByteOrder, high: &[u8], low: &[u8]) -> u64 {
    (u64::from(o.read_u32(high)) << 32) | u64::from(o.read_u32(low))
}

/// Converts a timestamp in units of `if_tsresol` to nanoseconds, adding
/// `if_tsoffset` seconds; saturates instead of wrapping.
pub(super) fn ts_to_ns(ticks: u64, tsresol: u8, tsoffset: i64) -> u64 {
    let ticks = u128::from(ticks);
    let exp = u32::from(tsresol & !opt::IF_TSRESOL_POW2);
    let ns: u128 = if tsresol & opt::IF_TSRESOL_POW2 != 0 {
        (ticks * 1_000_000_000) >> exp
    } else if exp <= 9 {
        ticks * 10u128.pow(9 - exp)
    } else if exp - 9 <= 38 {
        ticks / 10u128.pow(exp - 9)
    } else {
        0
    };
    let total = ns as i128 + i128::from(tsoffset) * 1_000_000_000;
    total.clamp(0, i128::from(u64::MAX)) as u64
}

fn min_block_len(btype: u32) -> usize {
    let fixed = match btype {
        block_type::SHB => SHB_OPTIONS,
        block_type::IDB => IDB_OPTIONS,
        block_type::EPB => EPB_DATA,
        block_type::PB => PB_DATA,
        block_type::SPB => SPB_DATA,
        block_type::ISB => ISB_OPTIONS,
        _ => BLOCK_HEADER_LEN,
    };
    fixed + BLOCK_TRAILER_LEN
}

fn block_name(btype: u32) -> &'static str {
    match btype {
        block_type::SHB => "section header block",
        block_type::IDB => "interface description block",
        block_type::EPB => "enhanced packet block",
        block_type::PB => "packet block",
        block_type::SPB => "simple packet block",
        block_type::ISB => "interface statistics block",
        block_type::NRB => "name resolution block",
        _ => "block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        let cases: &[(u64, u8, i64, u64)] = &[
            (1_500_000, 6, 0, 1_500_000_000),          // µs, the default
            (1_500_000_123, 9, 0, 1_500_000_123),      // ns
            (15, 1, 0, 1_500_000_000),                 // 10^-1 s
            (3, 0, 0, 3_000_000_000),                  // seconds
            (1_234_567_890_123, 12, 0, 1_234_567_890), // ps, truncated
            (u64::MAX, 100, 0, 0),                     // absurd 10^-100
            (3, 0x80, 0, 3_000_000_000),               // 2^0: seconds
            (1 << 20, 0x80 | 20, 0, 1_000_000_000),    // 2^-20
            (3 << 29, 0x80 | 30, 0, 1_500_000_000),    // 2^-30
            (u64::MAX, 0x80 | 127, 0, 0),              // 2^-127
            (5, 0, 10, 15_000_000_000),                // if_tsoffset +10 s
            (5, 0, -10, 0),                            // before the epoch: clamped
            (u64::MAX, 0, 0, u64::MAX),                // overflow: saturated
        ];
        for &(ticks, res, off, want) in cases {
            assert_eq!(
                ts_to_ns(ticks, res, off),
                want,
                "ticks {ticks} tsresol {res:#x} offset {off}"
            );
        }
    }
}
