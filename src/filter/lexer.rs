//! Tokens of a pcap-filter expression.
//!
//! Like libpcap's scanner, a word is cut at the longest prefix that any
//! token pattern matches; on a tie the earlier pattern wins (keywords,
//! then MAC addresses, numbers, dotted IPv4, IPv6, named constants, and
//! last plain identifiers). So `10.1` is an address, `80x` a name, `25-53`
//! a name (which `portrange` understands) and `tcp` a keyword.

use super::ast::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A keyword, by its canonical spelling (`ether` and `link` are both
    /// `link`, `&&` is `and`, `!` is `not`, `==` is `=`).
    Kw(&'static str),
    /// An operator or bracket: `( ) [ ] : + - * / % & | ^ < > = >= <= != << >>`.
    Punct(&'static str),
    Num(u32),
    Id(String),
    Hid(String),
    Hid6(String),
    Eid(String),
    Aid(String),
    /// Something the scanner refuses, with libpcap's reason.
    Bad(String),
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

const KEYWORDS: &[(&str, &str)] = &[
    ("dst", "dst"),
    ("src", "src"),
    ("link", "link"),
    ("ether", "link"),
    ("ppp", "link"),
    ("slip", "link"),
    ("fddi", "link"),
    ("tr", "link"),
    ("wlan", "link"),
    ("arp", "arp"),
    ("rarp", "rarp"),
    ("ip", "ip"),
    ("sctp", "sctp"),
    ("tcp", "tcp"),
    ("udp", "udp"),
    ("icmp", "icmp"),
    ("igmp", "igmp"),
    ("igrp", "igrp"),
    ("pim", "pim"),
    ("vrrp", "vrrp"),
    ("carp", "carp"),
    ("radio", "radio"),
    ("ip6", "ip6"),
    ("icmp6", "icmp6"),
    ("ah", "ah"),
    ("esp", "esp"),
    ("atalk", "atalk"),
    ("aarp", "aarp"),
    ("decnet", "decnet"),
    ("lat", "lat"),
    ("sca", "sca"),
    ("moprc", "moprc"),
    ("mopdl", "mopdl"),
    ("iso", "iso"),
    ("esis", "esis"),
    ("es-is", "esis"),
    ("isis", "isis"),
    ("is-is", "isis"),
    ("l1", "l1"),
    ("l2", "l2"),
    ("iih", "iih"),
    ("lsp", "lsp"),
    ("snp", "snp"),
    ("csnp", "csnp"),
    ("psnp", "psnp"),
    ("clnp", "clnp"),
    ("stp", "stp"),
    ("ipx", "ipx"),
    ("netbeui", "netbeui"),
    ("host", "host"),
    ("net", "net"),
    ("mask", "mask"),
    ("port", "port"),
    ("portrange", "portrange"),
    ("proto", "proto"),
    ("protochain", "protochain"),
    ("gateway", "gateway"),
    ("type", "type"),
    ("subtype", "subtype"),
    ("direction", "dir"),
    ("dir", "dir"),
    ("address1", "addr1"),
    ("addr1", "addr1"),
    ("address2", "addr2"),
    ("addr2", "addr2"),
    ("address3", "addr3"),
    ("addr3", "addr3"),
    ("address4", "addr4"),
    ("addr4", "addr4"),
    ("ra", "ra"),
    ("ta", "ta"),
    ("less", "less"),
    ("greater", "greater"),
    ("byte", "byte"),
    ("broadcast", "broadcast"),
    ("multicast", "multicast"),
    ("and", "and"),
    ("or", "or"),
    ("not", "not"),
    ("len", "len"),
    ("length", "len"),
    ("inbound", "inbound"),
    ("outbound", "outbound"),
    ("ifindex", "ifindex"),
    ("vlan", "vlan"),
    ("mpls", "mpls"),
    ("pppoed", "pppoed"),
    ("pppoes", "pppoes"),
    ("geneve", "geneve"),
    ("lane", "lane"),
    ("llc", "llc"),
    ("metac", "metac"),
    ("bcc", "bcc"),
    ("oam", "oam"),
    ("oamf4", "oamf4"),
    ("oamf4ec", "oamf4ec"),
    ("oamf4sc", "oamf4sc"),
    ("sc", "sc"),
    ("ilmic", "ilmic"),
    ("vpi", "vpi"),
    ("vci", "vci"),
    ("connectmsg", "connectmsg"),
    ("metaconnect", "metaconnect"),
    ("on", "on"),
    ("ifname", "on"),
    ("rset", "rset"),
    ("ruleset", "rset"),
    ("rnr", "rnr"),
    ("rulenum", "rnr"),
    ("srnr", "srnr"),
    ("subrulenum", "srnr"),
    ("reason", "reason"),
    ("action", "action"),
    ("fisu", "fisu"),
    ("lssu", "lssu"),
    ("lsu", "lssu"),
    ("msu", "msu"),
    ("hfisu", "hfisu"),
    ("hlssu", "hlssu"),
    ("hmsu", "hmsu"),
    ("sio", "sio"),
    ("opc", "opc"),
    ("dpc", "dpc"),
    ("sls", "sls"),
    ("hsio", "hsio"),
    ("hopc", "hopc"),
    ("hdpc", "hdpc"),
    ("hsls", "hsls"),
];

/// Names the scanner turns into numbers (`tcp-syn`, `icmp-echo`, ...).
const CONSTANTS: &[(&str, u32)] = &[
    ("icmptype", 0),
    ("icmpcode", 1),
    ("icmp-echoreply", 0),
    ("icmp-unreach", 3),
    ("icmp-sourcequench", 4),
    ("icmp-redirect", 5),
    ("icmp-echo", 8),
    ("icmp-routeradvert", 9),
    ("icmp-routersolicit", 10),
    ("icmp-timxceed", 11),
    ("icmp-paramprob", 12),
    ("icmp-tstamp", 13),
    ("icmp-tstampreply", 14),
    ("icmp-ireq", 15),
    ("icmp-ireqreply", 16),
    ("icmp-maskreq", 17),
    ("icmp-maskreply", 18),
    ("icmp6type", 0),
    ("icmp6code", 1),
    ("icmp6-destinationunreach", 1),
    ("icmp6-packettoobig", 2),
    ("icmp6-timeexceeded", 3),
    ("icmp6-parameterproblem", 4),
    ("icmp6-echo", 128),
    ("icmp6-echoreply", 129),
    ("icmp6-multicastlistenerquery", 130),
    ("icmp6-multicastlistenerreportv1", 131),
    ("icmp6-multicastlistenerdone", 132),
    ("icmp6-routersolicit", 133),
    ("icmp6-routeradvert", 134),
    ("icmp6-neighborsolicit", 135),
    ("icmp6-neighboradvert", 136),
    ("icmp6-redirect", 137),
    ("icmp6-routerrenum", 138),
    ("icmp6-nodeinformationquery", 139),
    ("icmp6-nodeinformationresponse", 140),
    ("icmp6-ineighbordiscoverysolicit", 141),
    ("icmp6-ineighbordiscoveryadvert", 142),
    ("icmp6-multicastlistenerreportv2", 143),
    ("icmp6-homeagentdiscoveryrequest", 144),
    ("icmp6-homeagentdiscoveryreply", 145),
    ("icmp6-mobileprefixsolicit", 146),
    ("icmp6-mobileprefixadvert", 147),
    ("icmp6-certpathsolicit", 148),
    ("icmp6-certpathadvert", 149),
    ("icmp6-multicastrouteradvert", 151),
    ("icmp6-multicastroutersolicit", 152),
    ("icmp6-multicastrouterterm", 153),
    ("tcpflags", 13),
    ("tcp-fin", 0x01),
    ("tcp-syn", 0x02),
    ("tcp-rst", 0x04),
    ("tcp-push", 0x08),
    ("tcp-ack", 0x10),
    ("tcp-urg", 0x20),
    ("tcp-ece", 0x40),
    ("tcp-cwr", 0x80),
];

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// `[0-9]+ | 0[xX][0-9a-fA-F]+`
fn is_num(s: &[u8]) -> bool {
    if s.len() > 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        return s[2..].iter().all(|&c| is_hex(c));
    }
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// Groups of 1 to `max` hex digits.
fn hex_group(s: &[u8], min: usize, max: usize) -> bool {
    s.len() >= min && s.len() <= max && s.iter().all(|&c| is_hex(c))
}

fn is_mac(s: &[u8]) -> bool {
    for sep in [b':', b'-', b'.'] {
        let parts: Vec<&[u8]> = s.split(|&c| c == sep).collect();
        if parts.len() == 6 && parts.iter().all(|p| hex_group(p, 1, 2)) {
            return true;
        }
    }
    let parts: Vec<&[u8]> = s.split(|&c| c == b'.').collect();
    if parts.len() == 3 && parts.iter().all(|p| hex_group(p, 4, 4)) {
        return true;
    }
    s.len() == 12 && s.iter().all(|&c| is_hex(c))
}

/// `N.N | N.N.N | N.N.N.N`
fn is_hid(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|&c| c == b'.').collect();
    (2..=4).contains(&parts.len()) && parts.iter().all(|p| is_num(p))
}

fn is_v4_tail(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|&c| c == b'.').collect();
    parts.len() == 4 && parts.iter().all(|p| is_num(p))
}

/// The IPv6 shapes libpcap's scanner knows (full, `::`-compressed, and
/// with a dotted IPv4 tail).
fn is_v6(s: &[u8]) -> bool {
    let text = match std::str::from_utf8(s) {
        Ok(t) => t,
        Err(_) => return false,
    };
    let groups_ok = |part: &str| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        for g in part.split(':') {
            if !hex_group(g.as_bytes(), 1, 4) {
                return None;
            }
            n += 1;
        }
        Some(n)
    };
    // Split off a dotted IPv4 tail after the last ':'.
    let (head, v4) = match text.rfind(':') {
        Some(i) if text[i + 1..].contains('.') => {
            if !is_v4_tail(&text.as_bytes()[i + 1..]) {
                return false;
            }
            (&text[..=i], true)
        }
        _ => (text, false),
    };
    let max = if v4 { 6 } else { 8 };
    if let Some(i) = head.find("::") {
        let left = &head[..i];
        let mut right = &head[i + 2..];
        if v4 {
            // "a::b:" + v4: the right part ends with the ':' before the tail.
            if right.is_empty() {
                // "::v4" or "a::v4"
            } else if let Some(r) = right.strip_suffix(':') {
                right = r;
            } else {
                return false;
            }
        }
        if right.contains("::") {
            return false;
        }
        let (l, r) = match (groups_ok(left), groups_ok(right)) {
            (Some(l), Some(r)) => (l, r),
            _ => return false,
        };
        if v4 {
            // libpcap lists "::v4" forms with at most 5 groups and no
            // trailing-"::" form.
            l + r <= 5 && !(r == 0 && l > 0 && !right.is_empty())
        } else {
            l + r < max
        }
    } else {
        let body = if v4 {
            match head.strip_suffix(':') {
                Some(b) => b,
                None => return false,
            }
        } else {
            head
        };
        groups_ok(body) == Some(max) && !body.is_empty()
    }
}

/// `{B}:+({B}:+)+` — a malformed MAC address libpcap reports as such.
fn is_bogus_mac(s: &[u8]) -> bool {
    // At least two groups, each 1-2 hex digits followed by one or more ':'.
    let mut i = 0;
    let mut groups = 0;
    while i < s.len() {
        let start = i;
        while i < s.len() && is_hex(s[i]) && i - start < 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
        let colons = i;
        while i < s.len() && s[i] == b':' {
            i += 1;
        }
        if i == colons {
            return false;
        }
        groups += 1;
    }
    groups >= 2
}

/// `[A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])?` — longest match length.
fn id_len(s: &[u8]) -> usize {
    if s.is_empty() || !s[0].is_ascii_alphanumeric() {
        return 0;
    }
    let mut end = 1;
    let mut i = 1;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || matches!(s[i], b'-' | b'_' | b'.')) {
        if s[i] != b'-' && s[i] != b'_' {
            end = i + 1;
        }
        i += 1;
    }
    end
}

fn word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':')
}

/// Parse a number token as libpcap does (leading 0 = octal, 0x = hex).
fn parse_num(text: &str) -> Result<u32, String> {
    let b = text.as_bytes();
    let (digits, radix) = if b.len() > 1 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        (&text[2..], 16)
    } else if b.len() > 1 && b[0] == b'0' {
        if !text[1..].bytes().all(|c| (b'0'..=b'7').contains(&c)) {
            return Err(format!("number {text} contains non-octal digit"));
        }
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    u32::from_str_radix(digits, radix).map_err(|_| format!("number {text} overflows 32 bits"))
}

pub fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let two = if i + 1 < b.len() {
            &b[i..i + 2]
        } else {
            &b[i..i + 1]
        };
        let two_tok = match two {
            b">=" => Some(Tok::Punct(">=")),
            b"<=" => Some(Tok::Punct("<=")),
            b"!=" => Some(Tok::Punct("!=")),
            b"==" => Some(Tok::Punct("=")),
            b"<<" => Some(Tok::Punct("<<")),
            b">>" => Some(Tok::Punct(">>")),
            b"&&" => Some(Tok::Kw("and")),
            b"||" => Some(Tok::Kw("or")),
            _ => None,
        };
        // A word pattern may also begin with ':' (IPv6 "::1"), so try words
        // before single characters when the text looks like one.
        if let Some(t) = two_tok {
            out.push(Token {
                tok: t,
                span: start..start + 2,
            });
            i += 2;
            continue;
        }
        if c == b'\\' {
            let mut j = i + 1;
            while j < b.len() && !matches!(b[j], b' ' | b'!' | b'(' | b')' | b'\n' | b'\t') {
                j += 1;
            }
            if j == i + 1 {
                out.push(Token {
                    tok: Tok::Bad("syntax error: '\\' must be followed by a name".into()),
                    span: start..start + 1,
                });
                i += 1;
                continue;
            }
            // Cut at a character boundary (the text after '\' may be UTF-8).
            let name = String::from_utf8_lossy(&b[i + 1..j]).into_owned();
            out.push(Token {
                tok: Tok::Id(name),
                span: start..j,
            });
            i = j;
            continue;
        }
        if c == b'$' {
            let mut j = i + 1;
            while j < b.len() && j < i + 3 && is_hex(b[j]) {
                j += 1;
            }
            if j > i + 1 {
                out.push(Token {
                    tok: Tok::Aid(src[i..j].to_string()),
                    span: start..j,
                });
            } else {
                out.push(Token {
                    tok: Tok::Bad("syntax error: unexpected '$'".into()),
                    span: start..start + 1,
                });
                j = i + 1;
            }
            i = j;
            continue;
        }
        if word_char(c)
            && !(c == b':' && b.get(i + 1) != Some(&b':'))
            && c != b'-'
            && c != b'.'
            && c != b'_'
        {
            let mut run = i;
            while run < b.len() && word_char(b[run]) {
                run += 1;
            }
            let word = &b[i..run];
            let (len, tok) = scan_word(word);
            let text = &src[i..i + len];
            let tok = match tok {
                WordKind::Kw(k) => Tok::Kw(k),
                WordKind::Mac => Tok::Eid(text.to_string()),
                WordKind::Num => match parse_num(text) {
                    Ok(n) => Tok::Num(n),
                    Err(e) => Tok::Bad(e),
                },
                WordKind::Hid => Tok::Hid(text.to_string()),
                WordKind::V6 => {
                    if text.parse::<std::net::Ipv6Addr>().is_ok() {
                        Tok::Hid6(text.to_string())
                    } else {
                        Tok::Bad(format!("bogus IPv6 address {text}"))
                    }
                }
                WordKind::BogusMac => Tok::Bad(format!("bogus ethernet address {text}")),
                WordKind::Const(v) => Tok::Num(v),
                WordKind::Id => Tok::Id(text.to_string()),
            };
            out.push(Token {
                tok,
                span: start..start + len,
            });
            i += len;
            continue;
        }
        let one = match c {
            b'+' => Some("+"),
            b'-' => Some("-"),
            b'*' => Some("*"),
            b'/' => Some("/"),
            b'%' => Some("%"),
            b':' => Some(":"),
            b'[' => Some("["),
            b']' => Some("]"),
            b'<' => Some("<"),
            b'>' => Some(">"),
            b'(' => Some("("),
            b')' => Some(")"),
            b'&' => Some("&"),
            b'|' => Some("|"),
            b'^' => Some("^"),
            b'=' => Some("="),
            b'!' => None,
            _ => None,
        };
        if c == b'!' {
            out.push(Token {
                tok: Tok::Kw("not"),
                span: start..start + 1,
            });
            i += 1;
            continue;
        }
        match one {
            Some(p) => {
                out.push(Token {
                    tok: Tok::Punct(p),
                    span: start..start + 1,
                });
                i += 1;
            }
            None => {
                // One whole (possibly multi-byte) character.
                let ch_len = src[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                let ch = &src[i..i + ch_len];
                out.push(Token {
                    tok: Tok::Bad(format!(
                        "syntax error: unexpected character '{}'",
                        ch.escape_default()
                    )),
                    span: start..start + ch_len,
                });
                i += ch_len;
            }
        }
    }
    out
}

enum WordKind {
    Kw(&'static str),
    Mac,
    Num,
    Hid,
    V6,
    BogusMac,
    Const(u32),
    Id,
}

/// The longest token at the start of `word` (a run of word characters)
/// and its kind; earlier patterns win ties.
fn scan_word(word: &[u8]) -> (usize, WordKind) {
    let mut best: Option<(usize, u8, WordKind)> = None;
    fn offer(best: &mut Option<(usize, u8, WordKind)>, len: usize, prio: u8, kind: WordKind) {
        if len == 0 {
            return;
        }
        match best {
            Some((l, p, _)) if *l > len || (*l == len && *p <= prio) => {}
            _ => *best = Some((len, prio, kind)),
        }
    }
    // Numbers can be long; scan them directly.
    let num_len = {
        if word.len() > 2
            && word[0] == b'0'
            && (word[1] == b'x' || word[1] == b'X')
            && is_hex(word[2])
        {
            2 + word[2..].iter().take_while(|&&c| is_hex(c)).count()
        } else {
            word.iter().take_while(|c| c.is_ascii_digit()).count()
        }
    };
    offer(&mut best, num_len, 2, WordKind::Num);
    let idl = id_len(word);
    if idl > 0 {
        offer(&mut best, idl, 7, WordKind::Id);
        let text = &word[..idl];
        if let Some((_, k)) = KEYWORDS.iter().find(|(w, _)| w.as_bytes() == text) {
            offer(&mut best, idl, 0, WordKind::Kw(k));
        }
        if let Some((_, v)) = CONSTANTS.iter().find(|(w, _)| w.as_bytes() == text) {
            offer(&mut best, idl, 6, WordKind::Const(*v));
        }
        // A keyword can also be a shorter prefix than the identifier
        // only when the identifier is longer, which already wins.
    }
    // Address shapes are short; try every prefix up to 64 bytes.
    let lim = word.len().min(64);
    for len in (1..=lim).rev() {
        if best.as_ref().is_some_and(|(l, _, _)| *l > len) {
            break;
        }
        let p = &word[..len];
        if is_mac(p) {
            offer(&mut best, len, 1, WordKind::Mac);
        }
        if is_hid(p) {
            offer(&mut best, len, 3, WordKind::Hid);
        }
        if is_v6(p) {
            offer(&mut best, len, 4, WordKind::V6);
        }
        if is_bogus_mac(p) {
            offer(&mut best, len, 5, WordKind::BogusMac);
        }
    }
    match best {
        Some((l, _, k)) => (l, k),
        None => (1, WordKind::Id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words() {
        let cases: &[(&str, Tok)] = &[
            ("tcp", Tok::Kw("tcp")),
            ("ether", Tok::Kw("link")),
            ("10.1", Tok::Hid("10.1".into())),
            ("1.2.3.4", Tok::Hid("1.2.3.4".into())),
            ("1.2.3.4.5", Tok::Id("1.2.3.4.5".into())),
            ("80", Tok::Num(80)),
            ("0x50", Tok::Num(80)),
            ("0100", Tok::Num(64)),
            ("80x", Tok::Id("80x".into())),
            ("25-53", Tok::Id("25-53".into())),
            ("ab:cd:ef:0:0:1", Tok::Eid("ab:cd:ef:0:0:1".into())),
            ("abcd.ef00.0003", Tok::Eid("abcd.ef00.0003".into())),
            ("abcdef000003", Tok::Eid("abcdef000003".into())),
            ("ab-cd-ef-00-00-02", Tok::Eid("ab-cd-ef-00-00-02".into())),
            ("fe80::1", Tok::Hid6("fe80::1".into())),
            ("::", Tok::Hid6("::".into())),
            ("::ffff:1.2.3.4", Tok::Hid6("::ffff:1.2.3.4".into())),
            ("tcp-syn", Tok::Num(2)),
            ("icmp-echo", Tok::Num(8)),
            ("es-is", Tok::Kw("esis")),
            ("\\tcp", Tok::Id("tcp".into())),
            ("&&", Tok::Kw("and")),
            ("!", Tok::Kw("not")),
            ("==", Tok::Punct("=")),
            (
                "ab:cd:ef:",
                Tok::Bad("bogus ethernet address ab:cd:ef:".into()),
            ),
            (
                "080",
                Tok::Bad("number 080 contains non-octal digit".into()),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(toks(s), vec![want.clone()], "{s}");
        }
    }

    #[test]
    fn brackets() {
        assert_eq!(
            toks("tcp[13:1]&0x2!=0"),
            vec![
                Tok::Kw("tcp"),
                Tok::Punct("["),
                Tok::Num(13),
                Tok::Punct(":"),
                Tok::Num(1),
                Tok::Punct("]"),
                Tok::Punct("&"),
                Tok::Num(2),
                Tok::Punct("!="),
                Tok::Num(0),
            ]
        );
    }
}
