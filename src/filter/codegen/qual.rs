//! Qualified values: `[proto] [dir] [host|net|port|portrange|gateway|
//! proto|protochain] VALUE`, dispatched on the value's shape (name,
//! number, IPv4 with or without mask, IPv6, MAC) as libpcap does.

use super::transport::PROTO_UNDEF;
use super::*;
use crate::filter::ast::{AddrQ, IdVal, Qual};
use crate::filter::names;
use std::net::IpAddr;

/// libpcap's lenient dotted-quad reader: returns the number of bits
/// given (8 per part) or `None` for a part above 255.
fn atoin(s: &str) -> Option<(u32, u32)> {
    let mut addr: u32 = 0;
    let mut len = 0;
    for part in s.split('.') {
        let mut n: u32 = 0;
        for c in part.bytes() {
            if n > 25 {
                return None;
            }
            n = n
                .wrapping_mul(10)
                .wrapping_add((c as u32).wrapping_sub(b'0' as u32));
        }
        if n > 255 {
            return None;
        }
        addr = (addr << 8) | n;
        len += 8;
    }
    Some((addr, len))
}

/// `area.node` DECnet address.
fn atodn(s: &str) -> Option<u32> {
    let (a, n) = s.split_once('.')?;
    let num = |t: &str| -> Option<u32> {
        let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<u32>().ok()
    };
    let area = num(a)?;
    let node = num(n)?;
    Some(((area << 10) & 0o176000) | (node & 0o1777))
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex: Vec<u8> = s.bytes().filter(|c| c.is_ascii_hexdigit()).collect();
    let mut out = [0u8; 6];
    let groups: Vec<&str> = s.split([':', '-', '.']).collect();
    if groups.len() == 6 {
        for (i, g) in groups.iter().enumerate() {
            out[i] = u8::from_str_radix(g, 16).ok()?;
        }
        return Some(out);
    }
    if hex.len() == 12 {
        for i in 0..6 {
            let t = std::str::from_utf8(&hex[2 * i..2 * i + 2]).ok()?;
            out[i] = u8::from_str_radix(t, 16).ok()?;
        }
        return Some(out);
    }
    None
}

fn v6_words(a: &std::net::Ipv6Addr) -> [u32; 4] {
    let o = a.octets();
    let mut w = [0u32; 4];
    for (i, wi) in w.iter_mut().enumerate() {
        *wi = u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]]);
    }
    w
}

fn v6_mask(len: u32) -> [u32; 4] {
    let mut m = [0u32; 4];
    for (i, mi) in m.iter_mut().enumerate() {
        let bits = (len as i64 - 32 * i as i64).clamp(0, 32) as u32;
        *mi = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
    }
    m
}

fn check_proto(port_name: &str, want: Proto, real: u32, range: bool) -> Result<u32, String> {
    let what = if range { "port in range" } else { "port" };
    let name = |p: u32| match p {
        IPPROTO_TCP => "tcp",
        IPPROTO_UDP => "udp",
        _ => "sctp",
    };
    let w = match want {
        Proto::Udp => IPPROTO_UDP,
        Proto::Tcp => IPPROTO_TCP,
        Proto::Sctp => IPPROTO_SCTP,
        _ => return Ok(real),
    };
    if real != PROTO_UNDEF && real != w {
        return Err(format!("{what} '{port_name}' is {}", name(real)));
    }
    Ok(w)
}

impl Gen {
    pub fn id(&mut self, q: Qual, v: &IdVal) -> GResult {
        match v {
            IdVal::Name(s) => self.scode(s, q),
            IdVal::Num(n) => self.ncode(None, *n, q),
            IdVal::Hid(s) => self.ncode(Some(s), 0, q),
            IdVal::HidLen(s, len) => self.mcode(s, None, *len, q),
            IdVal::HidMask(s, m) => self.mcode(s, Some(m), 0, q),
            IdVal::Hid6(s) => self.mcode6(s, 128, q),
            IdVal::Hid6Len(s, len) => self.mcode6(s, *len, q),
            IdVal::Eid(s) => self.ecode(s, q),
            IdVal::Aid(_) => Err("aid supported only on ARCnet".into()),
        }
    }

    fn ecode(&mut self, s: &str, q: Qual) -> GResult {
        if matches!(q.addr, AddrQ::Host | AddrQ::Default) && q.proto == Proto::Link {
            let mac = parse_mac(s).ok_or_else(|| format!("bogus ethernet address {s}"))?;
            return self.link_host(&mac, q.dir);
        }
        Err("ethernet address used in non-ether expression".into())
    }

    fn mcode(&mut self, s1: &str, s2: Option<&str>, masklen: u32, q: Qual) -> GResult {
        let (n, nlen) = atoin(s1).ok_or_else(|| format!("invalid IPv4 address '{s1}'"))?;
        let n = if nlen >= 32 { n } else { n << (32 - nlen) };
        let m = match s2 {
            Some(s2) => {
                let (m, mlen) = atoin(s2).ok_or_else(|| format!("invalid IPv4 address '{s2}'"))?;
                let m = if mlen >= 32 { m } else { m << (32 - mlen) };
                if n & !m != 0 {
                    return Err(format!("non-network bits set in \"{s1} mask {s2}\""));
                }
                m
            }
            None => {
                if masklen > 32 {
                    return Err("mask length must be <= 32".into());
                }
                let m = if masklen == 0 {
                    0
                } else {
                    u32::MAX << (32 - masklen)
                };
                if n & !m != 0 {
                    return Err(format!("non-network bits set in \"{s1}/{masklen}\""));
                }
                m
            }
        };
        match q.addr {
            AddrQ::Net => self.host(n, m, q.proto, q.dir, q.addr),
            _ => Err("Mask syntax for networks only".into()),
        }
    }

    fn mcode6(&mut self, s: &str, masklen: u32, q: Qual) -> GResult {
        let addr: std::net::Ipv6Addr = s.parse().map_err(|_| format!("invalid ip6 address {s}"))?;
        if masklen > 128 {
            return Err("mask length must be <= 128".into());
        }
        let a = v6_words(&addr);
        let m = v6_mask(masklen);
        if (0..4).any(|i| a[i] & !m[i] != 0) {
            return Err(format!("non-network bits set in \"{s}/{masklen}\""));
        }
        match q.addr {
            AddrQ::Default | AddrQ::Host if masklen != 128 => {
                Err("Mask syntax for networks only".into())
            }
            AddrQ::Default | AddrQ::Host | AddrQ::Net => self.host6(&a, &m, q.proto, q.dir, q.addr),
            _ => Err("invalid qualifier against IPv6 address".into()),
        }
    }

    /// A number or dotted address (`s`), without mask.
    fn ncode(&mut self, s: Option<&str>, v: u32, q: Qual) -> GResult {
        let (mut v, vlen) = match s {
            None => (v, 32),
            Some(s) if q.proto == Proto::Decnet => (
                atodn(s).ok_or_else(|| format!("malformed decnet address '{s}'"))?,
                32,
            ),
            Some(s) => atoin(s).ok_or_else(|| format!("invalid IPv4 address '{s}'"))?,
        };
        let proto = q.proto;
        match q.addr {
            AddrQ::Default | AddrQ::Host | AddrQ::Net => {
                if proto == Proto::Decnet {
                    return self.host(v, 0, proto, q.dir, q.addr);
                }
                if proto == Proto::Link {
                    return Err("illegal link layer address".into());
                }
                let mut mask = u32::MAX;
                if s.is_none() && q.addr == AddrQ::Net {
                    while v != 0 && v & 0xff00_0000 == 0 {
                        v <<= 8;
                        mask <<= 8;
                    }
                } else if vlen < 32 {
                    v <<= 32 - vlen;
                    mask <<= 32 - vlen;
                }
                self.host(v, mask, proto, q.dir, q.addr)
            }
            AddrQ::Port | AddrQ::PortRange => {
                let range = q.addr == AddrQ::PortRange;
                let p = match proto {
                    Proto::Udp => IPPROTO_UDP,
                    Proto::Tcp => IPPROTO_TCP,
                    Proto::Sctp => IPPROTO_SCTP,
                    Proto::Default => PROTO_UNDEF,
                    Proto::Undef => return Err("syntax error in filter expression".into()),
                    _ => {
                        return Err(if range {
                            "illegal qualifier of 'portrange'".into()
                        } else {
                            "illegal qualifier of 'port'".into()
                        })
                    }
                };
                if v > 65535 {
                    return Err(format!("illegal port number {v} > 65535"));
                }
                self.port_both(v, v, p, q.dir, range)
            }
            AddrQ::Gateway => Err("'gateway' requires a name".into()),
            AddrQ::Proto => self.proto(v, proto, q.dir),
            AddrQ::ProtoChain => self.protochain(v, proto),
            AddrQ::Undef => Err("syntax error in filter expression".into()),
        }
    }

    fn lookup_proto(&self, name: &str, proto: Proto) -> Result<Option<u32>, String> {
        Ok(match proto {
            Proto::Default | Proto::Ip | Proto::Ip6 => {
                Some(names::protocol(name).ok_or_else(|| format!("unknown ip proto '{name}'"))?)
            }
            Proto::Link => Some(
                names::ether_proto(name).ok_or_else(|| format!("unknown ether proto '{name}'"))?,
            ),
            Proto::Iso => Some(match name {
                "esis" => ISO9542_ESIS,
                "isis" => ISO10589_ISIS,
                "clnp" => ISO8473_CLNP,
                _ => return Err(format!("unknown osi proto '{name}'")),
            }),
            _ => None,
        })
    }

    fn scode(&mut self, name: &str, q: Qual) -> GResult {
        let proto = q.proto;
        match q.addr {
            AddrQ::Net => {
                let mut addr =
                    names::network(name).ok_or_else(|| format!("unknown network '{name}'"))?;
                let mut mask = u32::MAX;
                while addr != 0 && addr & 0xff00_0000 == 0 {
                    addr <<= 8;
                    mask <<= 8;
                }
                self.host(addr, mask, proto, q.dir, q.addr)
            }
            AddrQ::Default | AddrQ::Host => {
                if proto == Proto::Link {
                    if self.link != Link::Ether {
                        return Err("only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel supports link-level host name".into());
                    }
                    let mac = names::ether_host(name)
                        .ok_or_else(|| format!("unknown ether host '{name}'"))?;
                    return self.ehostop(&mac, q.dir);
                }
                if proto == Proto::Decnet {
                    return Err(format!(
                        "decnet name support not included, '{name}' cannot be translated\n"
                    ));
                }
                let addrs = names::host(name);
                if addrs.is_empty() {
                    return Err(format!("unknown host '{name}'"));
                }
                let mut b: Option<Pred> = None;
                for a in addrs {
                    let t = match a {
                        IpAddr::V4(v4) => {
                            if proto == Proto::Ip6 {
                                continue;
                            }
                            self.host(u32::from(v4), u32::MAX, proto, q.dir, q.addr)?
                        }
                        IpAddr::V6(v6) => {
                            if proto == Proto::Ip {
                                continue;
                            }
                            self.host6(&v6_words(&v6), &[u32::MAX; 4], proto, q.dir, q.addr)?
                        }
                    };
                    b = Some(match b {
                        None => t,
                        Some(prev) => Pred::or(prev, t),
                    });
                }
                b.ok_or_else(|| {
                    format!(
                        "unknown host '{name}'{}",
                        if proto == Proto::Default {
                            ""
                        } else {
                            " for specified address family"
                        }
                    )
                })
            }
            AddrQ::Port => {
                if !matches!(
                    proto,
                    Proto::Default | Proto::Udp | Proto::Tcp | Proto::Sctp
                ) {
                    return Err(if proto == Proto::Undef {
                        "syntax error in filter expression".into()
                    } else {
                        "illegal qualifier of 'port'".into()
                    });
                }
                let (port, real) =
                    names::port(name).ok_or_else(|| format!("unknown port '{name}'"))?;
                let real = check_proto(name, proto, real, false)?;
                if port > 65535 {
                    return Err(format!("illegal port number {port} > 65535"));
                }
                self.port_both(port, port, real, q.dir, false)
            }
            AddrQ::PortRange => {
                if !matches!(
                    proto,
                    Proto::Default | Proto::Udp | Proto::Tcp | Proto::Sctp
                ) {
                    return Err(if proto == Proto::Undef {
                        "syntax error in filter expression".into()
                    } else {
                        "illegal qualifier of 'portrange'".into()
                    });
                }
                let (p1, p2, real) = names::port_range(name)
                    .ok_or_else(|| format!("unknown port in range '{name}'"))?;
                let real = check_proto(name, proto, real, true)?;
                for p in [p1, p2] {
                    if p < 0 {
                        return Err(format!("illegal port number {p} < 0"));
                    }
                    if p > 65535 {
                        return Err(format!("illegal port number {p} > 65535"));
                    }
                }
                self.port_both(p1 as u32, p2 as u32, real, q.dir, true)
            }
            AddrQ::Gateway => Err("'gateway' not supported in this configuration".into()),
            AddrQ::Proto => match self.lookup_proto(name, proto)? {
                Some(v) => self.proto(v, proto, q.dir),
                None => Err(format!("unknown protocol: {name}")),
            },
            AddrQ::ProtoChain => match self.lookup_proto(name, proto)? {
                Some(v) => self.protochain(v, proto),
                None => Err(format!("unknown protocol: {name}")),
            },
            AddrQ::Undef => Err("syntax error in filter expression".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted() {
        assert_eq!(atoin("10.1"), Some((0x0a01, 16)));
        assert_eq!(atoin("1.2.3.4"), Some((0x01020304, 32)));
        assert_eq!(atoin("12.500"), None);
        assert_eq!(atodn("50.764"), Some((50 << 10) | 764));
        assert_eq!(
            parse_mac("abcd.ef00.0003"),
            Some([0xab, 0xcd, 0xef, 0, 0, 3])
        );
        assert_eq!(
            parse_mac("ab-cd-ef-0-0-2"),
            Some([0xab, 0xcd, 0xef, 0, 0, 2])
        );
        assert_eq!(v6_mask(64), [u32::MAX, u32::MAX, 0, 0]);
        assert_eq!(v6_mask(68), [u32::MAX, u32::MAX, 0xf000_0000, 0]);
    }
}
