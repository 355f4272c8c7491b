//! Writer ↔ reader round trips, hand-built files of both byte orders,
//! damaged input, and interoperability with the real tcpdump.

use std::path::PathBuf;
use std::process::Command;

use super::field::*;
use super::*;

const T0: u64 = 1_700_000_000_123_456_789;

fn ifaces() -> Vec<Interface> {
    ["xdpdrop", "xdppass"]
        .iter()
        .map(|n| Interface {
            name: n.to_string(),
            filter: Some("udp".into()),
            linktype: LINKTYPE_ETHERNET,
            snaplen: 262_144,
            description: None,
        })
        .collect()
}

/// An Ethernet + IPv4 + UDP frame with `payload` bytes of payload, from
/// 198.18.0.1 to 198.18.0.2, port 7 to 9.
fn frame(payload: usize, seed: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let ip_len = (20 + 8 + payload) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    let udp_len = (8 + payload) as u16;
    f.extend_from_slice(&[0, 7, 0, 9, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    f.extend((0..payload).map(|i| seed.wrapping_add(i as u8)));
    f
}

/// One packet to write: interface, metadata, captured bytes.
struct Input {
    iface: usize,
    meta: PacketMeta,
    data: Vec<u8>,
}

/// A corpus covering padding 0..3, truncated captures, capture length 0,
/// missing and present per-packet options.
fn corpus() -> Vec<Input> {
    (0..23u32)
        .map(|i| {
            let full = frame((i as usize * 7) % 53, i as u8);
            let caplen = match i {
                4 => 0,
                _ if i % 5 == 0 => 20,
                _ => full.len(),
            };
            Input {
                iface: (i % 2) as usize,
                meta: PacketMeta {
                    ts_ns: T0 + u64::from(i) * 1_000_123_457,
                    orig_len: full.len() as u32,
                    ifindex: (i % 3 != 0).then_some(i + 1),
                    queue: (i % 4 != 0).then_some(i % 4),
                    comment: (i == 7).then(|| "seven".to_string()),
                },
                data: full[..caplen].to_vec(),
            }
        })
        .collect()
}

/// Writes `inputs` (with a statistics block after every fifth packet) and
/// returns the bytes and the offset where each block or record ends.
fn write(format: Format, order: ByteOrder, inputs: &[Input]) -> (Vec<u8>, Vec<usize>) {
    let mut w = Writer::with_byte_order(Vec::new(), format, &ifaces(), order).unwrap();
    let mut ends = vec![w.get_ref().len()];
    for (n, p) in inputs.iter().enumerate() {
        w.write_packet(p.iface, &p.meta, &p.data).unwrap();
        ends.push(w.get_ref().len());
        if n % 5 == 4 {
            w.write_stats(p.iface, p.meta.ts_ns, n as u64, 1).unwrap();
            if format == Format::Pcapng {
                ends.push(w.get_ref().len());
            }
        }
    }
    (w.into_inner().unwrap(), ends)
}

fn read_all(bytes: &[u8]) -> Vec<Packet> {
    let mut r = Reader::new(bytes).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        out.push(p);
    }
    out
}

#[test]
fn round_trip_every_format_and_byte_order() {
    let inputs = corpus();
    for format in [Format::Pcapng, Format::Pcap] {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let (bytes, _) = write(format, order, &inputs);
            let mut r = Reader::new(&bytes[..]).unwrap();
            assert_eq!(r.format(), format);
            assert_eq!(r.byte_order(), order);
            assert_eq!(r.linktype(), Some(LINKTYPE_ETHERNET));
            assert_eq!(r.snaplen(), Some(262_144));
            for (n, want) in inputs.iter().enumerate() {
                let ctx = format!("{format:?} {order:?} packet {n}");
                let got = r.next_packet_ref().unwrap().expect(&ctx);
                assert_eq!(got.ts_ns, want.meta.ts_ns, "{ctx}");
                assert_eq!(got.orig_len, want.meta.orig_len, "{ctx}");
                assert_eq!(got.data, &want.data[..], "{ctx}");
                assert_eq!(got.linktype, LINKTYPE_ETHERNET, "{ctx}");
                if format == Format::Pcapng {
                    assert_eq!(got.iface as usize, want.iface, "{ctx}");
                    assert_eq!(got.queue(), want.meta.queue, "{ctx}");
                    let mut comments: Vec<String> = got.comments().collect();
                    if let Some(c) = &want.meta.comment {
                        assert_eq!(comments.pop().as_ref(), Some(c), "{ctx}");
                    }
                    let mut words = Vec::new();
                    if let Some(i) = want.meta.ifindex {
                        words.push(format!("ifindex {i}"));
                    }
                    if let Some(q) = want.meta.queue {
                        words.push(format!("queue {q}"));
                    }
                    let expect: Vec<String> = if words.is_empty() {
                        vec![]
                    } else {
                        vec![words.join(" ")]
                    };
                    assert_eq!(comments, expect, "{ctx}");
                } else {
                    assert_eq!(got.iface, 0, "{ctx}");
                    assert_eq!(got.options().count(), 0, "{ctx}");
                }
            }
            assert!(r.next_packet().unwrap().is_none());
            assert!(r.next_packet().unwrap().is_none(), "end of input is sticky");
            assert_eq!(r.offset(), bytes.len() as u64);
        }
    }
}

#[test]
fn iterator_yields_every_packet() {
    let inputs = corpus();
    let (bytes, _) = write(Format::Pcapng, ByteOrder::NATIVE, &inputs);
    let got: Vec<Packet> = Reader::new(&bytes[..])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got.len(), inputs.len());
    for (g, w) in got.iter().zip(&inputs) {
        assert_eq!((g.ts_ns, &g.data), (w.meta.ts_ns, &w.data));
    }
}

/// Builds a pcapng block by hand, independently of the writer: `body` is
/// everything between the length and the trailing length.
fn raw_block(o: ByteOrder, btype: u32, body: &[u8]) -> Vec<u8> {
    assert_eq!(body.len() % 4, 0, "test blocks are pre-padded");
    let len = (body.len() + 12) as u32;
    let mut b = o.u32_bytes(btype).to_vec();
    b.extend_from_slice(&o.u32_bytes(len));
    b.extend_from_slice(body);
    b.extend_from_slice(&o.u32_bytes(len));
    b
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn shb_body(o: ByteOrder) -> Vec<u8> {
    cat(&[
        &o.u32_bytes(PCAPNG_BYTE_ORDER_MAGIC),
        &o.u16_bytes(1),
        &o.u16_bytes(0),
        &o.u64_bytes(u64::MAX),
    ])
}

fn idb_body(o: ByteOrder, linktype: u16, snaplen: u32, tsresol: Option<u8>) -> Vec<u8> {
    let mut b = cat(&[&o.u16_bytes(linktype), &[0, 0], &o.u32_bytes(snaplen)]);
    if let Some(r) = tsresol {
        b.extend_from_slice(&cat(&[&o.u16_bytes(9), &o.u16_bytes(1), &[r, 0, 0, 0]]));
        b.extend_from_slice(&[0, 0, 0, 0]);
    }
    b
}

fn epb_body(o: ByteOrder, iface: u32, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut b = cat(&[
        &o.u32_bytes(iface),
        &o.u32_bytes((ts >> 32) as u32),
        &o.u32_bytes(ts as u32),
        &o.u32_bytes(data.len() as u32),
        &o.u32_bytes(orig),
        data,
    ]);
    b.resize(pad4(b.len()), 0);
    b
}

fn two_sections() -> Vec<u8> {
    two_sections_blocks().concat()
}

/// Two sections of opposite byte order with interfaces of different link
/// types and resolutions, Simple and obsolete Packet Blocks, and blocks the
/// reader must skip.
fn two_sections_blocks() -> Vec<Vec<u8>> {
    let (le, be) = (ByteOrder::Little, ByteOrder::Big);
    let pb = |o: ByteOrder, iface: u16, ts: u64, data: &[u8]| {
        let mut b = cat(&[
            &o.u16_bytes(iface),
            &o.u16_bytes(0),
            &o.u32_bytes((ts >> 32) as u32),
            &o.u32_bytes(ts as u32),
            &o.u32_bytes(data.len() as u32),
            &o.u32_bytes(data.len() as u32 + 100),
            data,
        ]);
        b.resize(pad4(b.len()), 0);
        b
    };
    vec![
        raw_block(le, block_type::SHB, &shb_body(le)),
        // A Name Resolution Block before any interface: skipped.
        raw_block(le, block_type::NRB, &[0, 0, 0, 0]),
        raw_block(le, block_type::IDB, &idb_body(le, 1, 0, None)), // µs default
        raw_block(le, block_type::IDB, &idb_body(le, 101, 0, Some(9))),
        raw_block(le, block_type::EPB, &epb_body(le, 0, 1_500_000, b"abc", 3)),
        raw_block(le, block_type::EPB, &epb_body(le, 1, 42, b"", 60)),
        // A custom block (high bit set) and an ISB: skipped.
        raw_block(le, 0x4000_0BAD, b"anything"),
        raw_block(le, block_type::ISB, &[0; 12]),
        raw_block(be, block_type::SHB, &shb_body(be)),
        raw_block(be, block_type::IDB, &idb_body(be, 228, 4, Some(0x80 | 10))),
        // SPB: original length 6, snaplen 4 limits the capture.
        raw_block(
            be,
            block_type::SPB,
            &cat(&[&be.u32_bytes(6), b"wxyz", b"uv\0\0"]),
        ),
        raw_block(be, block_type::PB, &pb(be, 0, 3 << 10, b"hello")),
    ]
}

#[test]
fn two_sections_of_opposite_byte_order() {
    let bytes = two_sections();
    let mut r = Reader::new(&bytes[..]).unwrap();
    assert_eq!(r.format(), Format::Pcapng);
    assert_eq!(r.linktype(), Some(1), "first interface of the file");
    let got = read_all(&bytes);
    let want = [
        (1_500_000_000, 1, 0, 3, &b"abc"[..]),
        (42, 101, 1, 60, &b""[..]),
        (0, 228, 0, 6, &b"wxyz"[..]),
        (3_000_000_000, 228, 0, 105, &b"hello"[..]),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, &(ts, lt, iface, orig, data)) in got.iter().zip(&want) {
        assert_eq!(
            (g.ts_ns, g.linktype, g.iface, g.orig_len, &g.data[..]),
            (ts, lt, iface, orig, data)
        );
    }
    while r.next_packet().unwrap().is_some() {}
    assert_eq!(r.byte_order(), ByteOrder::Big);
    assert_eq!(
        r.snaplen(),
        Some(4),
        "first interface of the current section"
    );
}

#[test]
fn classic_pcap_all_four_magics() {
    // ts 1 s + 2 units, 3 bytes captured of 9.
    for (order, nanos) in [
        (ByteOrder::Little, false),
        (ByteOrder::Big, false),
        (ByteOrder::Little, true),
        (ByteOrder::Big, true),
    ] {
        let o = order;
        let magic = if nanos {
            PCAP_MAGIC_NSEC
        } else {
            PCAP_MAGIC_USEC
        };
        let bytes = cat(&[
            &o.u32_bytes(magic),
            &o.u16_bytes(2),
            &o.u16_bytes(4),
            &[0; 8],
            &o.u32_bytes(1000),
            &o.u32_bytes(101),
            &o.u32_bytes(1),
            &o.u32_bytes(2),
            &o.u32_bytes(3),
            &o.u32_bytes(9),
            b"xyz",
        ]);
        let got = read_all(&bytes);
        let ts = 1_000_000_000 + if nanos { 2 } else { 2_000 };
        assert_eq!(
            got,
            vec![Packet {
                ts_ns: ts,
                linktype: 101,
                iface: 0,
                orig_len: 9,
                data: b"xyz".to_vec()
            }],
            "{order:?} nanos={nanos}"
        );
        let r = Reader::new(&bytes[..]).unwrap();
        assert_eq!((r.linktype(), r.snaplen()), (Some(101), Some(1000)));
    }
}

fn read_err(bytes: &[u8]) -> Error {
    let mut r = match Reader::new(bytes) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        match r.next_packet() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error reading {bytes:02x?}"),
            Err(e) => return e,
        }
    }
}

#[test]
fn damaged_input_errors() {
    let le = ByteOrder::Little;
    let shb = raw_block(le, block_type::SHB, &shb_body(le));
    let idb = raw_block(le, block_type::IDB, &idb_body(le, 1, 0, Some(9)));
    let epb = raw_block(le, block_type::EPB, &epb_body(le, 0, 1, b"abcd", 4));
    let with = |tail: &[u8]| cat(&[&shb, &idb, tail]);

    let mut bad_trailer = epb.clone();
    let n = bad_trailer.len();
    bad_trailer[n - 4] ^= 4;
    let mut bad_caplen = epb.clone();
    bad_caplen[EPB_CAPLEN].copy_from_slice(&le.u32_bytes(5));
    let mut bad_iface = epb.clone();
    bad_iface[EPB_INTERFACE_ID].copy_from_slice(&le.u32_bytes(1));
    let mut huge = epb.clone();
    huge[BLOCK_TOTAL_LEN].copy_from_slice(&le.u32_bytes(0xFFFF_FFF0));
    let mut odd = epb.clone();
    odd[BLOCK_TOTAL_LEN].copy_from_slice(&le.u32_bytes(34));
    let mut short = epb.clone();
    short[BLOCK_TOTAL_LEN].copy_from_slice(&le.u32_bytes(28));
    // An option claiming 200 bytes in a block that has 8 left.
    let opt_overrun = raw_block(
        le,
        block_type::EPB,
        &cat(&[&epb_body(le, 0, 1, b"abcd", 4), &[1, 0, 200, 0], &[0; 4]]),
    );
    let mut bad_magic = shb.clone();
    bad_magic[SHB_BYTE_ORDER_MAGIC].copy_from_slice(&[1, 2, 3, 4]);
    let mut bad_version = shb.clone();
    bad_version[SHB_MAJOR].copy_from_slice(&le.u16_bytes(2));
    let pcap_hdr = |major: u16| {
        cat(&[
            &le.u32_bytes(PCAP_MAGIC_USEC),
            &le.u16_bytes(major),
            &le.u16_bytes(4),
            &[0; 8],
            &le.u32_bytes(65535),
            &le.u32_bytes(1),
        ])
    };
    let pcap_huge = cat(&[&pcap_hdr(2), &[0; 8], &le.u32_bytes(0x7FFF_FFFF), &[0; 4]]);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty input"),
        (
            "gif",
            b"GIF89a..".to_vec(),
            "not a pcap or pcapng file (starts with 47 49 46 38)",
        ),
        ("3 bytes", vec![0x0a, 0x0d, 0x0d], "truncated at offset 3"),
        (
            "trailer",
            with(&bad_trailer),
            "trailing copy of the length differs",
        ),
        (
            "caplen",
            with(&bad_caplen),
            "captured length runs past the end",
        ),
        ("iface", with(&bad_iface), "refers to interface 1"),
        ("huge", with(&huge), "claims 4294967280 bytes"),
        ("odd", with(&odd), "bad block length 34"),
        ("short", with(&short), "too short for its block type"),
        (
            "option",
            with(&opt_overrun),
            "an option runs past the end of its block",
        ),
        ("magic", bad_magic, "bad byte-order magic"),
        (
            "shb version",
            bad_version,
            "unsupported format version 2.0 at offset 0",
        ),
        (
            "pcap version",
            pcap_hdr(3),
            "unsupported format version 3.4",
        ),
        (
            "pcap huge",
            pcap_huge,
            "record at offset 24 claims 2147483647 bytes",
        ),
        (
            "packet before interface",
            cat(&[&shb, &epb]),
            "refers to interface 0",
        ),
    ];
    for (name, bytes, want) in cases {
        let msg = read_err(&bytes).to_string();
        assert!(msg.contains(want), "{name}: got {msg:?}, want {want:?}");
    }
    // The offset of a block error is that of the block.
    let offset = (shb.len() + idb.len()) as u64;
    match read_err(&with(&bad_caplen)) {
        Error::Corrupt { offset: o, .. } => assert_eq!(o, offset),
        e => panic!("unexpected {e:?}"),
    }
}

/// Cutting a valid file anywhere yields its packets up to the cut, then
/// `None` exactly at a block boundary and a truncation error elsewhere.
#[test]
fn truncated_at_every_offset() {
    let inputs = corpus();
    let mut files = Vec::new();
    for format in [Format::Pcapng, Format::Pcap] {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let (bytes, mut ends) = write(format, order, &inputs[..8]);
            if format == Format::Pcapng {
                // The header is a SHB and one IDB per interface.
                let mut at = 0;
                while at < ends[0] {
                    at += order.read_u32(&bytes[at + 4..]) as usize;
                    ends.push(at);
                }
            }
            files.push((format!("{format:?} {order:?}"), bytes, ends));
        }
    }
    let mut ends = Vec::new();
    for block in two_sections_blocks() {
        ends.push(ends.last().copied().unwrap_or(0) + block.len());
    }
    let sections = two_sections();
    files.push(("two sections".into(), sections, ends));

    for (name, bytes, ends) in &files {
        let all = read_all(bytes);
        for cut in 0..=bytes.len() {
            let part = &bytes[..cut];
            let mut got = Vec::new();
            let end = match Reader::new(part) {
                Err(e) => Err(e),
                Ok(mut r) => loop {
                    match r.next_packet() {
                        Ok(Some(p)) => got.push(p),
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                },
            };
            assert!(
                got.len() <= all.len() && got[..] == all[..got.len()],
                "{name} cut {cut}"
            );
            let boundary = ends.contains(&cut);
            match end {
                Ok(()) => assert!(boundary, "{name} cut {cut}: clean end inside a block"),
                Err(Error::Truncated { offset, .. }) => {
                    assert!(!boundary, "{name} cut {cut}: error at a boundary");
                    assert_eq!(offset, cut as u64, "{name}: truncation offset");
                }
                Err(Error::Empty) => assert_eq!(cut, 0),
                Err(e) => panic!("{name} cut {cut}: unexpected error {e}"),
            }
        }
    }
}

/// Random byte corruption never panics and never reads past the input.
#[test]
fn corrupted_bytes_never_panic() {
    let inputs = corpus();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut bases = vec![two_sections()];
    for format in [Format::Pcapng, Format::Pcap] {
        bases.push(write(format, ByteOrder::Little, &inputs[..6]).0);
    }
    for base in &bases {
        for _ in 0..1500 {
            let mut b = base.clone();
            for _ in 0..1 + rand() % 4 {
                let i = (rand() as usize) % b.len();
                b[i] = match rand() % 3 {
                    0 => rand() as u8,
                    1 => 0xff,
                    _ => 0,
                };
            }
            if let Ok(mut r) = Reader::new(&b[..]) {
                let mut total = 0;
                while let Ok(Some(p)) = r.next_packet_ref() {
                    total += p.data.len();
                    let _ = (p.queue(), p.comments().count());
                }
                assert!(total <= b.len());
            }
        }
    }
}

// ---- the real tcpdump ----

/// A file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(format!("xdpcap-pcap-{}-{tag}", std::process::id())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs tcpdump (as root it would switch to an unprivileged user before
/// writing; `-Z root` keeps the files ours). Returns stdout; panics with
/// stderr on failure.
fn tcpdump(args: &[&str]) -> String {
    let out = Command::new("tcpdump")
        .args(["-Z", "root"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tcpdump (these tests need tcpdump 4.99): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tcpdump {args:?} failed: {stderr}");
    assert!(
        !stderr.contains("truncated dump file"),
        "tcpdump {args:?}: {stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The timestamp tcpdump prints with `--nano -tt` for `ts_ns`.
fn nano(ts_ns: u64) -> String {
    format!("{}.{:09}", ts_ns / 1_000_000_000, ts_ns % 1_000_000_000)
}

fn first_words(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with(|c: char| c.is_whitespace()))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn tcpdump_reads_what_we_write() {
    let inputs = corpus();
    for format in [Format::Pcapng, Format::Pcap] {
        let (bytes, _) = write(format, ByteOrder::NATIVE, &inputs);
        let f = TempFile::new(&format!("w-{format:?}"));
        std::fs::write(&f.0, &bytes).unwrap();
        let path = f.0.to_str().unwrap();

        let out = tcpdump(&["-r", path, "-nn", "--nano", "-tt"]);
        // tcpdump 4.99 prints no timestamp for a packet of capture length 0.
        let stamp = |p: &Input, text: String| {
            if p.data.is_empty() {
                "[Invalid".to_string()
            } else {
                text
            }
        };
        let want: Vec<String> = inputs
            .iter()
            .map(|p| stamp(p, nano(p.meta.ts_ns)))
            .collect();
        assert_eq!(first_words(&out), want, "{format:?}: tcpdump said\n{out}");

        let verbose = tcpdump(&["-r", path, "-nn", "-tt", "-v"]);
        let want_us: Vec<String> = inputs
            .iter()
            .map(|p| {
                let us = format!(
                    "{}.{:06}",
                    p.meta.ts_ns / 1_000_000_000,
                    p.meta.ts_ns % 1_000_000_000 / 1000
                );
                stamp(p, us)
            })
            .collect();
        assert_eq!(
            first_words(&verbose),
            want_us,
            "{format:?} -v: tcpdump said\n{verbose}"
        );
        assert!(verbose.contains("198.18.0.1.7 > 198.18.0.2.9"), "{verbose}");
    }
}

#[test]
fn we_read_what_tcpdump_writes() {
    let inputs = corpus();
    for source in [Format::Pcap, Format::Pcapng] {
        let (bytes, _) = write(source, ByteOrder::NATIVE, &inputs);
        let input = TempFile::new(&format!("in-{source:?}"));
        std::fs::write(&input.0, &bytes).unwrap();
        for nanos in [false, true] {
            let out = TempFile::new(&format!("out-{source:?}-{nanos}"));
            let mut args = vec![
                "-r",
                input.0.to_str().unwrap(),
                "-w",
                out.0.to_str().unwrap(),
            ];
            if nanos {
                args.push("--nano");
            }
            tcpdump(&args);
            let rewritten = std::fs::read(&out.0).unwrap();
            let mut r = Reader::new(&rewritten[..]).unwrap();
            assert_eq!(r.format(), Format::Pcap, "tcpdump -w writes classic pcap");
            assert_eq!(r.linktype(), Some(LINKTYPE_ETHERNET));
            for (n, want) in inputs.iter().enumerate() {
                let ctx = format!("from {source:?}, nanos={nanos}, packet {n}");
                let got = r.next_packet().unwrap().expect(&ctx);
                let ts = if nanos {
                    want.meta.ts_ns
                } else {
                    want.meta.ts_ns / 1000 * 1000
                };
                assert_eq!(got.ts_ns, ts, "{ctx}");
                assert_eq!(got.data, want.data, "{ctx}");
                assert_eq!(got.orig_len, want.meta.orig_len, "{ctx}");
            }
            assert!(r.next_packet().unwrap().is_none());
        }
    }
}
