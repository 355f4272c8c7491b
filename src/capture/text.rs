//! `-print`: one line of text per packet, for machines without tcpdump.
//!
//! `2026-11-27 05:10:11.123456789 drop ifindex 3 queue 0: IP 198.18.0.1.40000 > 198.18.0.2.80: tcp [S], length 74`
//!
//! The decode is short on purpose: link, network and transport header
//! addresses, protocol and ports. It never panics on a short or malformed
//! packet; whatever cannot be decoded is shown as its remaining length.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::filter;

/// Ethernet header fields.
mod eth {
    use std::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const TYPE: Range<usize> = 12..14;
    pub const HLEN: usize = 14;
    pub const VLAN_HLEN: usize = 4;
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_IPV6: u16 = 0x86dd;

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC) of nanoseconds since the epoch.
pub fn format_ts(ts_ns: u64) -> String {
    let secs = ts_ns / 1_000_000_000;
    let nanos = ts_ns % 1_000_000_000;
    let days = (secs / 86400) as i64;
    let tod = secs % 86400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{nanos:09}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The decoded part of a line: `IP a.b > c.d: tcp [S]` and the like.
pub fn decode(linktype: u32, data: &[u8]) -> String {
    if linktype == filter::DLT_EN10MB {
        decode_ether(data)
    } else {
        decode_ip(data)
    }
}

fn decode_ether(data: &[u8]) -> String {
    if data.len() < eth::HLEN {
        return format!("truncated ethernet header ({} bytes)", data.len());
    }
    let mut off = eth::TYPE.start;
    let mut ty = be16(data, off).unwrap_or(0);
    let mut vlans = String::new();
    while ty == ETHERTYPE_VLAN || ty == ETHERTYPE_QINQ {
        let Some(tci) = be16(data, off + 2) else {
            return format!("{vlans}truncated vlan tag");
        };
        let _ = write!(vlans, "vlan {}, ", tci & 0x0fff);
        off += eth::VLAN_HLEN;
        ty = be16(data, off).unwrap_or(0);
    }
    let payload = data.get(off + 2..).unwrap_or(&[]);
    let inner = match ty {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => decode_ip(payload),
        ETHERTYPE_ARP => decode_arp(payload),
        other => format!(
            "{} > {}, ethertype 0x{other:04x}",
            mac(&data[eth::SRC]),
            mac(&data[eth::DST])
        ),
    };
    format!("{vlans}{inner}")
}

fn decode_arp(p: &[u8]) -> String {
    // Ethernet/IPv4 ARP: op at 6, sender IP at 14, target IP at 24.
    let (Some(op), Some(spa), Some(tpa)) = (be16(p, 6), p.get(14..18), p.get(24..28)) else {
        return "ARP, truncated".into();
    };
    let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    match op {
        1 => format!("ARP, Request who-has {} tell {}", ip(tpa), ip(spa)),
        2 => format!(
            "ARP, Reply {} is-at {}",
            ip(spa),
            mac(p.get(8..14).unwrap_or(&[]))
        ),
        n => format!("ARP, op {n}"),
    }
}

fn decode_ip(p: &[u8]) -> String {
    match p.first().map(|b| b >> 4) {
        Some(4) => decode_ipv4(p),
        Some(6) => decode_ipv6(p),
        Some(v) => format!("IP version {v}?"),
        None => "empty packet".into(),
    }
}

fn decode_ipv4(p: &[u8]) -> String {
    if p.len() < 20 {
        return format!("IP, truncated ({} bytes)", p.len());
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let proto = p[9];
    let frag = be16(p, 6).unwrap_or(0) & 0x1fff;
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let l4 = if frag == 0 {
        p.get(ihl..).unwrap_or(&[])
    } else {
        &[]
    };
    transport(
        "IP",
        &src.to_string(),
        &dst.to_string(),
        proto,
        l4,
        frag != 0,
    )
}

fn decode_ipv6(p: &[u8]) -> String {
    let (Some(src), Some(dst)) = (p.get(8..24), p.get(24..40)) else {
        return format!("IP6, truncated ({} bytes)", p.len());
    };
    let a = |b: &[u8]| Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or([0; 16]));
    let proto = p[6];
    transport(
        "IP6",
        &a(src).to_string(),
        &a(dst).to_string(),
        proto,
        &p[40..],
        false,
    )
}

fn transport(ip: &str, src: &str, dst: &str, proto: u8, l4: &[u8], fragment: bool) -> String {
    let ports = || Some((be16(l4, 0)?, be16(l4, 2)?));
    match proto {
        IPPROTO_TCP | IPPROTO_UDP if !fragment => {
            let name = if proto == IPPROTO_TCP { "tcp" } else { "udp" };
            match ports() {
                Some((sp, dp)) => {
                    let mut s = format!("{ip} {src}.{sp} > {dst}.{dp}: {name}");
                    if proto == IPPROTO_TCP {
                        if let Some(&flags) = l4.get(13) {
                            let _ = write!(s, " [{}]", tcp_flags(flags));
                        }
                    }
                    s
                }
                None => format!("{ip} {src} > {dst}: {name}, truncated"),
            }
        }
        IPPROTO_ICMP | IPPROTO_ICMPV6 => {
            let name = if proto == IPPROTO_ICMP {
                "ICMP"
            } else {
                "ICMP6"
            };
            match (l4.first(), l4.get(1)) {
                (Some(t), Some(c)) => format!("{ip} {src} > {dst}: {name} type {t} code {c}"),
                _ => format!("{ip} {src} > {dst}: {name}"),
            }
        }
        other => {
            let name = match other {
                IPPROTO_TCP => "tcp".to_string(),
                IPPROTO_UDP => "udp".to_string(),
                n => format!("proto {n}"),
            };
            let frag = if fragment { " (fragment)" } else { "" };
            format!("{ip} {src} > {dst}: {name}{frag}")
        }
    }
}

fn tcp_flags(f: u8) -> String {
    let names = [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'W'),
    ];
    let mut s: String = names
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|(_, c)| *c)
        .collect();
    if f & 0x10 != 0 {
        s.push('.');
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// A whole `-print` line (without the newline).
pub fn line(
    ts_ns: u64,
    what: &str,
    ifindex: Option<u32>,
    queue: Option<u32>,
    linktype: u32,
    data: &[u8],
    orig_len: u32,
) -> String {
    let mut s = format!("{} {what}", format_ts(ts_ns));
    if let Some(i) = ifindex {
        let _ = write!(s, " ifindex {i}");
    }
    if let Some(q) = queue {
        let _ = write!(s, " queue {q}");
    }
    let _ = write!(s, ": {}, length {orig_len}", decode(linktype, data));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_ts(0), "1970-01-01 00:00:00.000000000");
        assert_eq!(
            format_ts(1_700_000_000_123_456_789),
            "2023-11-14 22:13:20.123456789"
        );
        assert_eq!(
            format_ts(951_782_400_000_000_000),
            "2000-02-29 00:00:00.000000000"
        );
    }

    fn tcp_syn() -> Vec<u8> {
        let mut p = vec![0u8; 14 + 20 + 20];
        p[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        p[14] = 0x45;
        p[14 + 9] = IPPROTO_TCP;
        p[14 + 12..14 + 16].copy_from_slice(&[198, 18, 0, 1]);
        p[14 + 16..14 + 20].copy_from_slice(&[198, 18, 0, 2]);
        p[34..36].copy_from_slice(&40000u16.to_be_bytes());
        p[36..38].copy_from_slice(&80u16.to_be_bytes());
        p[34 + 13] = 0x02;
        p
    }

    #[test]
    fn decodes_tcp_over_ethernet() {
        assert_eq!(
            decode(filter::DLT_EN10MB, &tcp_syn()),
            "IP 198.18.0.1.40000 > 198.18.0.2.80: tcp [S]"
        );
        assert_eq!(
            line(0, "drop", Some(3), Some(0), filter::DLT_EN10MB, &tcp_syn(), 54),
            "1970-01-01 00:00:00.000000000 drop ifindex 3 queue 0: IP 198.18.0.1.40000 > 198.18.0.2.80: tcp [S], length 54"
        );
    }

    #[test]
    fn raw_ipv6_udp() {
        let mut p = vec![0u8; 40 + 8];
        p[0] = 0x60;
        p[6] = IPPROTO_UDP;
        p[8] = 0xfd;
        p[23] = 1;
        p[24] = 0xfd;
        p[39] = 2;
        p[40..42].copy_from_slice(&53u16.to_be_bytes());
        p[42..44].copy_from_slice(&5353u16.to_be_bytes());
        assert_eq!(
            decode(filter::LINKTYPE_RAW, &p),
            "IP6 fd00::1.53 > fd00::2.5353: udp"
        );
    }

    #[test]
    fn never_panics_on_short_input() {
        let full = tcp_syn();
        for n in 0..full.len() {
            let _ = decode(filter::DLT_EN10MB, &full[..n]);
            let _ = decode(filter::LINKTYPE_RAW, &full[14..14 + n.min(full.len() - 14)]);
        }
        let mut vlan = vec![0u8; 16];
        vlan[12..14].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        vlan[14..16].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        let _ = decode(filter::DLT_EN10MB, &vlan);
    }
}
