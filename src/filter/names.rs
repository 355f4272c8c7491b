//! Names in filter expressions: hosts, services, protocols, networks and
//! Ethernet hosts, read from the usual `/etc` files when they exist, with
//! built-in tables for the common service, protocol and Ethertype names
//! so that `port http` or `ip proto tcp` work on a machine with an empty
//! `/etc`. There is no DNS: a name not found here is an error.

use std::net::IpAddr;

const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
/// "Both TCP and UDP" (libpcap's `PROTO_UNDEF`).
pub const ANY: u32 = u32::MAX;

/// Services: name, port, on TCP, on UDP.
const SERVICES: &[(&str, u32, bool, bool)] = &[
    ("tcpmux", 1, true, false),
    ("echo", 7, true, true),
    ("discard", 9, true, true),
    ("systat", 11, true, false),
    ("daytime", 13, true, true),
    ("netstat", 15, true, false),
    ("qotd", 17, true, false),
    ("chargen", 19, true, true),
    ("ftp-data", 20, true, false),
    ("ftp", 21, true, false),
    ("ssh", 22, true, false),
    ("telnet", 23, true, false),
    ("smtp", 25, true, false),
    ("time", 37, true, true),
    ("whois", 43, true, false),
    ("tacacs", 49, true, true),
    ("domain", 53, true, true),
    ("gopher", 70, true, false),
    ("finger", 79, true, false),
    ("http", 80, true, false),
    ("www", 80, true, false),
    ("kerberos", 88, true, true),
    ("iso-tsap", 102, true, false),
    ("pop3", 110, true, false),
    ("sunrpc", 111, true, true),
    ("auth", 113, true, false),
    ("nntp", 119, true, false),
    ("ntp", 123, false, true),
    ("epmap", 135, true, false),
    ("netbios-ns", 137, false, true),
    ("netbios-dgm", 138, false, true),
    ("netbios-ssn", 139, true, false),
    ("imap2", 143, true, false),
    ("imap", 143, true, false),
    ("snmp", 161, true, true),
    ("snmp-trap", 162, true, true),
    ("xdmcp", 177, false, true),
    ("bgp", 179, true, false),
    ("irc", 194, true, false),
    ("ldap", 389, true, false),
    ("https", 443, true, true),
    ("microsoft-ds", 445, true, false),
    ("kpasswd", 464, true, true),
    ("submissions", 465, true, false),
    ("isakmp", 500, false, true),
    ("exec", 512, true, false),
    ("biff", 512, false, true),
    ("login", 513, true, false),
    ("who", 513, false, true),
    ("shell", 514, true, false),
    ("syslog", 514, false, true),
    ("printer", 515, true, false),
    ("talk", 517, false, true),
    ("ntalk", 518, false, true),
    ("route", 520, false, true),
    ("submission", 587, true, false),
    ("ldaps", 636, true, false),
    ("rsync", 873, true, false),
    ("ftps", 990, true, false),
    ("imaps", 993, true, false),
    ("pop3s", 995, true, false),
    ("socks", 1080, true, false),
    ("openvpn", 1194, true, true),
    ("ms-sql-s", 1433, true, false),
    ("l2tp", 1701, false, true),
    ("radius", 1812, true, true),
    ("nfs", 2049, true, true),
    ("mysql", 3306, true, false),
    ("sip", 5060, true, true),
    ("postgresql", 5432, true, false),
    ("x11", 6000, true, false),
    ("bootps", 67, false, true),
    ("bootpc", 68, false, true),
    ("tftp", 69, false, true),
    ("mdns", 5353, false, true),
];

const PROTOCOLS: &[(&str, u32)] = &[
    ("ip", 0),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
];

const ETHER_PROTOS: &[(&str, u32)] = &[
    ("aarp", 0x80f3),
    ("arp", 0x0806),
    ("atalk", 0x809b),
    ("decnet", 0x6003),
    ("ip", 0x0800),
    ("ip6", 0x86dd),
    ("lat", 0x6004),
    ("loopback", 0x9000),
    ("mopdl", 0x6001),
    ("moprc", 0x6002),
    ("rarp", 0x8035),
    ("sca", 0x6007),
    // LLC SAPs.
    ("iso", 0xfe),
    ("stp", 0x42),
    ("ipx", 0xe0),
    ("netbeui", 0xf0),
];

fn read(path: &str) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Lines of an `/etc` table, comments removed, split into fields.
fn table(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter_map(|l| {
        let l = l.split('#').next().unwrap_or("");
        let f: Vec<&str> = l.split_whitespace().collect();
        (!f.is_empty()).then_some(f)
    })
}

/// Addresses for a host name (`/etc/hosts`), IPv4 first.
pub fn host(name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    match read("/etc/hosts") {
        Some(text) => {
            for f in table(&text) {
                if f[1..].iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    if let Ok(a) = f[0].parse::<IpAddr>() {
                        if !out.contains(&a) {
                            out.push(a);
                        }
                    }
                }
            }
        }
        None => {
            if name == "localhost" {
                out.push(IpAddr::from([127, 0, 0, 1]));
                out.push(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]));
            }
        }
    }
    out.sort_by_key(|a| a.is_ipv6());
    out
}

fn service(name: &str, proto: &str) -> Option<u32> {
    if !name.is_empty() && name.bytes().all(|c| c.is_ascii_digit()) {
        return name.parse::<u32>().ok().filter(|p| *p <= 65535);
    }
    if let Some(text) = read("/etc/services") {
        for f in table(&text) {
            if f.len() < 2 {
                continue;
            }
            let Some((port, p)) = f[1].split_once('/') else {
                continue;
            };
            if p == proto && (f[0] == name || f[2..].contains(&name)) {
                return port.parse().ok();
            }
        }
        return None;
    }
    let tcp = proto == "tcp";
    SERVICES
        .iter()
        .find(|(n, _, t, u)| *n == name && if tcp { *t } else { *u })
        .map(|s| s.1)
}

/// A service name or number: its port and whether it is TCP, UDP or
/// both ([`ANY`]).
pub fn port(name: &str) -> Option<(u32, u32)> {
    let t = service(name, "tcp");
    let u = service(name, "udp");
    match (t, u) {
        (Some(t), Some(u)) if t == u => Some((t, ANY)),
        (Some(t), _) => Some((t, IPPROTO_TCP)),
        (None, Some(u)) => Some((u, IPPROTO_UDP)),
        (None, None) => None,
    }
}

/// `A-B` with numbers or service names.
pub fn port_range(name: &str) -> Option<(i64, i64, u32)> {
    let (a, b) = name.split_once('-')?;
    let num = |s: &str| -> Option<i64> {
        let s = s.trim_start();
        let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
        let end = digits.bytes().take_while(u8::is_ascii_digit).count();
        if end == 0 {
            return None;
        }
        let v: i64 = digits[..end].parse().ok()?;
        Some(if s.starts_with('-') { -v } else { v })
    };
    // "%d-%d" succeeds when both sides start with a number.
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        if b.trim_start()
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == b'-' || c == b'+')
        {
            return Some((x, y, ANY));
        }
    }
    let (p1, proto1) = port(a)?;
    let (p2, proto2) = port(b)?;
    let proto = if proto1 != proto2 { ANY } else { proto1 };
    Some((p1 as i64, p2 as i64, proto))
}

pub fn protocol(name: &str) -> Option<u32> {
    if let Some(text) = read("/etc/protocols") {
        for f in table(&text) {
            if f.len() >= 2 && (f[0] == name || f[2..].contains(&name)) {
                return f[1].parse().ok();
            }
        }
        return None;
    }
    PROTOCOLS.iter().find(|(n, _)| *n == name).map(|p| p.1)
}

/// `ether proto NAME`: an Ethertype or LLC SAP name.
pub fn ether_proto(name: &str) -> Option<u32> {
    ETHER_PROTOS.iter().find(|(n, _)| *n == name).map(|p| p.1)
}

/// A network number from `/etc/networks`, as `getnetbyname` gives it.
pub fn network(name: &str) -> Option<u32> {
    let text = read("/etc/networks")?;
    for f in table(&text) {
        if f.len() >= 2 && (f[0] == name || f[2..].contains(&name)) {
            let parts: Vec<&str> = f[1].split('.').collect();
            if parts.len() > 4 {
                return None;
            }
            let mut v: u32 = 0;
            for p in &parts {
                v = (v << 8) | p.parse::<u8>().ok()? as u32;
            }
            return Some(v);
        }
    }
    None
}

pub fn ether_host(name: &str) -> Option<[u8; 6]> {
    let text = read("/etc/ethers")?;
    for f in table(&text) {
        if f.len() >= 2 && f[1] == name {
            let g: Vec<&str> = f[0].split(':').collect();
            if g.len() != 6 {
                continue;
            }
            let mut mac = [0u8; 6];
            for (i, x) in g.iter().enumerate() {
                mac[i] = u8::from_str_radix(x, 16).ok()?;
            }
            return Some(mac);
        }
    }
    None
}
