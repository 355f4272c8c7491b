//! The pcap-filter expression compiler: text → tokens ([`super::lexer`]) →
//! syntax tree ([`super::parser`]) → predicate over cBPF blocks
//! ([`super::codegen`]) → optimised classic BPF ([`super::graph`], then
//! [`super::optimize`]).

use super::{cbpf, codegen, graph, parser, Error};

/// Compile a pcap-filter expression to classic BPF for `linktype`.
pub fn compile(expr: &str, linktype: u32) -> Result<Vec<cbpf::Insn>, Error> {
    compile_with(expr, linktype, true)
}

/// As [`compile`]; `optimize = false` gives the program before jump
/// threading (as `tcpdump -O` does), still with the rejects-all check off.
pub fn compile_with(expr: &str, linktype: u32, optimize: bool) -> Result<Vec<cbpf::Insn>, Error> {
    // The passes recurse over the expression; give them a roomy stack
    // of their own so that a long expression is an error, not a crash.
    let text = expr.to_string();
    std::thread::Builder::new()
        .name("filter-compile".into())
        .stack_size(COMPILER_STACK)
        .spawn(move || compile_here(&text, linktype, optimize))
        .map_err(|e| Error::new(format!("cannot start the filter compiler: {e}"), None))?
        .join()
        .unwrap_or_else(|_| Err(Error::new("internal error in the filter compiler", None)))
}

const COMPILER_STACK: usize = 256 << 20;

fn compile_here(expr: &str, linktype: u32, optimize: bool) -> Result<Vec<cbpf::Insn>, Error> {
    let tree = parser::parse(expr)?;
    let mut gen = codegen::Gen::new(linktype).map_err(|m| Error::new(m, None))?;
    let pred = gen.filter(&tree)?;
    let out = graph::compile(&pred, optimize).map_err(|m| Error::new(m, None))?;
    if optimize && !gen.no_optimize && out.rejects_all {
        return Err(Error::new(
            "expression rejects all packets",
            Some(0..expr.len()),
        ));
    }
    // The graph pass decides what libpcap's optimiser decides (which
    // expressions reject everything, which loads go); the cBPF pass then
    // tidies the linear program without changing any verdict.
    let prog = if optimize {
        super::optimize::optimize(&out.prog)
    } else {
        out.prog
    };
    if prog.len() > cbpf::BPF_MAXINSNS {
        return Err(Error::new(
            format!(
                "filter too long: {} instructions (the kernel takes at most {})",
                prog.len(),
                cbpf::BPF_MAXINSNS
            ),
            Some(0..expr.len()),
        ));
    }
    Ok(prog)
}

/// A file of the shared filter corpus (`../shared/filter-corpus` beside
/// the crate, as in CI).
#[cfg(test)]
fn corpus_text(name: &str) -> String {
    let beside = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/filter-corpus")
        .join(name);
    let fixed = std::path::Path::new("/work/shared/filter-corpus").join(name);
    std::fs::read_to_string(&beside)
        .or_else(|_| std::fs::read_to_string(&fixed))
        .unwrap_or_else(|e| {
            panic!(
                "the shared filter corpus is needed ({}): {e}",
                beside.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::difftest;

    fn corpus(name: &str) -> Vec<String> {
        corpus_text(name)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(String::from)
            .collect()
    }

    /// Every accepted corpus expression compiles and selects the same
    /// packets as libpcap's program; every rejected one is rejected.
    #[test]
    fn corpus_against_libpcap() {
        let file = difftest::savefile(1);
        let pkts = difftest::packets(3000);
        let mut failures = Vec::new();
        let accepted = corpus("libpcap-en10mb.txt");
        let (mut ok, mut same) = (0, 0);
        for e in &accepted {
            let theirs = difftest::libpcap(&file, e);
            match (compile(e, 1), theirs) {
                (Ok(ours), Ok(theirs)) => {
                    ok += 1;
                    if let Err(v) = cbpf::validate(&ours) {
                        failures.push(format!("{e}: invalid program: {}", v.msg));
                    }
                    match difftest::disagree(&ours, &theirs, &pkts) {
                        None => same += 1,
                        Some((p, a, b)) => failures.push(format!(
                            "{e}: differs on {} (ours {a}, libpcap {b})",
                            p.iter().map(|b| format!("{b:02x}")).collect::<String>()
                        )),
                    }
                }
                (Err(m), Ok(_)) => failures.push(format!("{e}: rejected: {}", m.msg)),
                (_, Err(m)) => failures.push(format!("{e}: libpcap here rejects it: {m}")),
            }
        }
        let rejected = corpus("libpcap-en10mb-rejected.txt");
        let mut rej = 0;
        for e in &rejected {
            match compile(e, 1) {
                Err(_) => rej += 1,
                Ok(_) => failures.push(format!("{e}: accepted, libpcap rejects it")),
            }
        }
        std::fs::remove_file(&file).ok();
        eprintln!(
            "accepted {ok}/{} (same selection {same}), rejected {rej}/{}",
            accepted.len(),
            rejected.len()
        );
        for f in failures.iter().take(60) {
            eprintln!("{f}");
        }
        assert!(failures.is_empty(), "{} corpus failures", failures.len());
    }
}

#[cfg(test)]
mod probe {
    use super::*;
    use crate::filter::difftest;

    /// `XDPCAP_PROBE='expr'`: print both programs and match counts.
    #[test]
    fn probe() {
        let Ok(e) = std::env::var("XDPCAP_PROBE") else {
            return;
        };
        let file = difftest::savefile(1);
        let pkts = difftest::packets(3000);
        let theirs = difftest::libpcap(&file, &e);
        let ours = compile(&e, 1);
        std::fs::remove_file(&file).ok();
        let count = |p: &[cbpf::Insn]| {
            pkts.iter()
                .filter(|x| cbpf::interpret(p, x, x.len() as u32) != 0)
                .count()
        };
        match &ours {
            Ok(p) => eprintln!(
                "ours ({} insns, {} match):\n{}",
                p.len(),
                count(p),
                cbpf::format(p, cbpf::DumpStyle::Image)
            ),
            Err(m) => eprintln!("ours: {}", m.render(&e)),
        }
        match &theirs {
            Ok(p) => eprintln!(
                "libpcap ({} insns, {} match):\n{}",
                p.len(),
                count(p),
                cbpf::format(p, cbpf::DumpStyle::Image)
            ),
            Err(m) => eprintln!("libpcap: {m}"),
        }
    }
}

#[cfg(test)]
mod size {
    use super::*;
    use crate::filter::difftest;

    /// Common filters: our program selects what libpcap's selects and is
    /// no longer than it.
    const COMMON: &[&str] = &[
        "tcp port 80",
        "host 198.18.0.1 and udp",
        "vlan and tcp[tcpflags] & tcp-syn != 0",
        "icmp",
        "arp",
        "ip6",
        "port 53",
        "udp port 53",
        "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
        "src host 10.1.1.10",
        "dst net 192.168.0.0/16",
        "net 10.0.0.0/8 and not port 22",
        "tcp dst portrange 1-1023",
        "ether host ab:cd:ef:00:00:01",
        "ether broadcast or ether multicast",
        "ip6 and icmp6",
        "icmp[icmptype] = icmp-echo",
        "less 100",
        "greater 1000 and tcp",
        "vlan 100 and host 1.2.3.4",
        "ip proto 47",
        "not arp and not ip6",
        "host 1.2.3.4 or host 5.6.7.8",
        "tcp and (port 80 or port 443)",
        "ip[8] < 5",
        "mpls and ip",
        "pppoes and ip",
        "ip6 net fe80::/10",
    ];

    /// More expressions, checked for the same selection as libpcap's.
    const EXTRA: &[&str] = &[
        "vlan and ip",
        "vlan 100 and ip6",
        "vlan and vlan and ip",
        "vlan and tcp port 80",
        "mpls 100 and host 1.2.3.4",
        "mpls and mpls and ip",
        "mpls and ip6 and udp",
        "pppoes 0x3b and tcp",
        "pppoes and ip6",
        "pppoed",
        "geneve and ip",
        "geneve 12345 and ether host ab:cd:ef:00:00:01",
        "geneve and tcp port 22",
        "ip protochain 6",
        "ip6 protochain 17",
        "protochain 51",
        "ip6 protochain 44",
        "tcp[13] & 2 != 0",
        "tcp[tcpflags] = tcp-syn|tcp-ack",
        "udp[0:2] = 53",
        "ip[2:2] > 100",
        "ip[0] & 0xf > 5",
        "len > 100 and len < 200",
        "len - 14 = ip[2:2]",
        "ip[6:2] & 0x1fff != 0",
        "ip[8] % 5 * 2 = 4",
        "ip[8] * 5 % 3 = 1",
        "ip[8] ^ 1 = 65",
        "-ip[8] = 0xffffffc0",
        "ip[8] / (ip[9] - 6) = 1",
        "ip[8] << 2 = 256",
        "ip[8] >> 1 = 32",
        "tcp[ip[0] & 3] = 0",
        "ether[12:2] = 0x800 and ip[9] = 6",
        "link[0] & 1 = 1",
        "icmp6[icmp6type] = icmp6-echo",
        "icmp[icmpcode] = 0",
        "arp[6:2] = 1",
        "rarp[7] = 1",
        "ip6[6] = 44 and ip6[40] = 6",
        "ip6 proto 6",
        "ip6 proto 17 or ip proto 1",
        "host 192.168.1.4",
        "src host 1.2.3.4 and dst host 5.6.7.8",
        "net 10.1",
        "net 192.168/16",
        "dst net 224.0.0.0/4",
        "src net 10.0.0.0 mask 255.0.0.0",
        "host 10.1",
        "net 10",
        "ip6 host fe80::d6ca:6dff:fe66:cf60",
        "ip6 src net fe80::/64",
        "dst host ff02::12",
        "src or dst host 1.2.3.4",
        "src and dst host 1.2.3.4",
        "not src host 1.2.3.4",
        "ether src ab:cd:ef:00:00:01 and ether dst ab:cd:ef:00:00:02",
        "ether dst host ff:ff:ff:ff:ff:ff",
        "ip broadcast",
        "ip multicast",
        "ip6 multicast",
        "broadcast",
        "multicast",
        "tcp port http",
        "udp port domain",
        "port 53 and not udp",
        "portrange 1-1023 and tcp",
        "sctp port 5672",
        "tcp src port 80 or tcp dst port 443",
        "tcp port 80 or 443 or 53",
        "host 1.2.3.4 and (port 80 or 443)",
        "not host 1.2.3.4 and 5.6.7.8",
        "stp",
        "ipx",
        "netbeui",
        "iso",
        "clnp",
        "esis",
        "isis",
        "l1",
        "l2",
        "iih",
        "lsp",
        "snp",
        "csnp",
        "psnp",
        "atalk",
        "aarp",
        "decnet",
        "lat",
        "sca",
        "mopdl",
        "moprc",
        "llc",
        "llc i",
        "llc s",
        "llc u",
        "llc rr",
        "llc ui",
        "llc xid",
        "ether proto 0x88cc",
        "ether proto \\ip",
        "link proto 0x806",
        "proto 17",
        "ip proto \\udp",
        "tcp or udp and port 53",
        "not tcp or not udp",
        "!tcp && !udp || icmp",
        "igmp",
        "igrp",
        "pim",
        "vrrp",
        "carp",
        "ah",
        "esp",
        "icmp6",
        "sctp",
        "ip[100] = 0 or arp",
        "tcp[100] = 0 or arp",
        "not tcp[0] = 1",
        "less 60",
        "greater 100",
        "len >= 64",
        "len <= 64",
        "len != 60",
        "decnet host 1.2",
        "decnet src 50.764",
        "host localhost",
        "ip host localhost",
        "ip6 host localhost",
        "ether proto \\ip6 and ip6[6] = 58",
        "1 = 1",
        "0 != 1 and tcp",
        "vlan 10 or vlan 20",
        "vlan and vlan 20",
        "ip and vlan and ip",
        "pppoes and vlan",
        "(tcp)",
        "((tcp) and (port 80))",
        "tcp and not (port 80 or port 22)",
    ];

    #[test]
    fn extra_against_libpcap() {
        let file = difftest::savefile(1);
        let pkts = difftest::packets(4000);
        let mut bad = Vec::new();
        for e in EXTRA {
            match (compile(e, 1), difftest::libpcap(&file, e)) {
                (Ok(ours), Ok(theirs)) => {
                    if let Err(v) = cbpf::validate(&ours) {
                        bad.push(format!("{e}: invalid program: {}", v.msg));
                    }
                    if let Some((p, a, b)) = difftest::disagree(&ours, &theirs, &pkts) {
                        bad.push(format!("{e}: differs on {} ({a} vs {b})", hex(p)));
                    }
                }
                (Err(m), Err(_)) => {
                    let _ = m;
                }
                (Err(m), Ok(_)) => bad.push(format!("{e}: we reject ({}), libpcap accepts", m.msg)),
                (Ok(_), Err(m)) => bad.push(format!("{e}: we accept, libpcap rejects: {m}")),
            }
        }
        std::fs::remove_file(&file).ok();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    fn hex(p: &[u8]) -> String {
        p.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn no_larger_than_libpcap() {
        let file = difftest::savefile(1);
        let pkts = difftest::packets(2000);
        let mut bad = Vec::new();
        for e in COMMON {
            let theirs =
                difftest::libpcap(&file, e).unwrap_or_else(|m| panic!("{e}: libpcap: {m}"));
            let ours = compile(e, 1).unwrap_or_else(|m| panic!("{e}: {}", m.render(e)));
            if ours.len() > theirs.len() {
                bad.push(format!(
                    "{e}: {} instructions, libpcap {}",
                    ours.len(),
                    theirs.len()
                ));
            }
            if let Some((p, a, b)) = difftest::disagree(&ours, &theirs, &pkts) {
                bad.push(format!("{e}: differs on {p:02x?} ({a} vs {b})"));
            }
        }
        std::fs::remove_file(&file).ok();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use crate::filter::difftest::Rng;

    fn check_program(expr: &str, prog: &[cbpf::Insn]) {
        if let Err(e) = cbpf::check(prog) {
            panic!("{expr:?}: invalid program: {e:?}");
        }
    }

    /// Random byte strings, random token soups and every prefix of the
    /// corpus expressions: compile or fail, never panic, and every
    /// program passes the kernel's rules.
    #[test]
    fn never_panics() {
        let t0 = std::time::Instant::now();
        let mut r = Rng::new(42);
        const ALPHABET: &[u8] = b"tcpudhosrnaegl0123456789.:/[]()!=<>&|^%*+-x \\$";
        for _ in 0..3000 {
            let len = r.below(40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if r.below(4) == 0 {
                        r.next() as u8
                    } else {
                        r.pick(ALPHABET)
                    }
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes).into_owned();
            if let Ok(p) = compile(&s, 1) {
                check_program(&s, &p);
            }
        }
        const WORDS: &[&str] = &[
            "tcp",
            "udp",
            "ip",
            "ip6",
            "host",
            "net",
            "port",
            "portrange",
            "src",
            "dst",
            "and",
            "or",
            "not",
            "(",
            ")",
            "[",
            "]",
            ":",
            "=",
            "!=",
            "<",
            ">",
            "+",
            "-",
            "*",
            "/",
            "%",
            "&",
            "|",
            "^",
            "0",
            "1",
            "80",
            "1.2.3.4",
            "10.1",
            "fe80::1",
            "ab:cd:ef:0:0:1",
            "vlan",
            "mpls",
            "pppoes",
            "geneve",
            "proto",
            "protochain",
            "len",
            "ether",
            "broadcast",
            "multicast",
            "icmp",
            "arp",
            "llc",
            "\\tcp",
            "gateway",
            "less",
            "greater",
            "mask",
            "255.255.0.0",
            "/",
            "16",
            "0x12",
            "tcpflags",
            "tcp-syn",
            "icmp6",
            "iso",
            "isis",
            "l1",
            "decnet",
            "1.2",
        ];
        for _ in 0..4000 {
            let n = 1 + r.below(12) as usize;
            let s: Vec<&str> = (0..n).map(|_| r.pick(WORDS)).collect();
            let s = s.join(" ");
            for linktype in [1, 101] {
                if let Ok(p) = compile(&s, linktype) {
                    check_program(&s, &p);
                }
            }
        }
        eprintln!("random: {:?}", t0.elapsed());
        let text = super::corpus_text("libpcap-en10mb.txt");
        for line in text.lines() {
            for (i, _) in line.char_indices().step_by(2) {
                let _ = compile(&line[..i], 1);
                let _ = compile(&line[i..], 101);
            }
        }
        eprintln!("prefixes: {:?}", t0.elapsed());
        // Deep nesting and long chains are errors or programs, not crashes.
        let deep = format!("{}tcp{}", "(".repeat(5000), ")".repeat(5000));
        let _ = compile(&deep, 1);
        let nots = format!("{}tcp", "not ".repeat(5000));
        let _ = compile(&nots, 1);
        let t = std::time::Instant::now();
        let long = vec!["port 1"; 1000].join(" or ");
        let _ = compile(&long, 1);
        eprintln!("long chain: {:?}", t.elapsed());
        let arith = format!("{}1 = 1", "1 + ".repeat(5000));
        let _ = compile(&arith, 1);
    }
}

#[cfg(test)]
mod errors {
    use super::*;

    /// Rejected expressions: message prefix and where the caret goes.
    const REJECTED: &[(&str, &str, usize)] = &[
        (
            "tcp port 80 an udp",
            "syntax error: expected 'and', 'or' or end of expression",
            12,
        ),
        ("tcp and", "syntax error: unexpected end of expression", 7),
        ("(tcp", "syntax error", 4),
        ("80x", "syntax error", 0),
        ("src proto 1", "syntax error", 4),
        ("1 = 2", "expression rejects all packets", 0),
        ("ip and ip6", "expression rejects all packets", 0),
        ("tcp port 80 and vlan", "expression rejects all packets", 0),
        (
            "host nosuchhost.invalid",
            "unknown host 'nosuchhost.invalid'",
            0,
        ),
        ("port nosuchport", "unknown port 'nosuchport'", 0),
        (
            "ip proto nosuchprotocol",
            "unknown ip proto 'nosuchprotocol'",
            0,
        ),
        (
            "ether proto nosuchprotocol",
            "unknown ether proto 'nosuchprotocol'",
            0,
        ),
        ("tcp host 1.2.3.4", "'tcp' modifier applied to host", 0),
        ("ip6 host 1.2.3.4", "'ip6' modifier applied to ip host", 0),
        ("port 70000", "illegal port number 70000 > 65535", 0),
        ("port 1.2.3.4", "'port' modifier applied to ip host", 5),
        ("vlan 4096", "VLAN tag 4096 greater than maximum 4095", 0),
        (
            "mpls 1048576",
            "MPLS label 1048576 greater than maximum 1048575",
            0,
        ),
        (
            "net 10.0.0.1/8",
            "non-network bits set in \"10.0.0.1/8\"",
            0,
        ),
        ("host 1.2.3.0/24", "Mask syntax for networks only", 0),
        ("net 12.500", "invalid IPv4 address '12.500'", 0),
        ("tcp[0:3] = 1", "data size must be 1, 2, or 4", 0),
        ("ip[0] / 0 = 1", "division by zero", 0),
        ("ip[0] % (1 - 1) = 1", "modulus by zero", 0),
        ("ip[0] << 32 = 1", "shift by more than 31 bits", 0),
        ("ether host 1.2.3.4", "illegal link layer address", 0),
        ("gateway 1.2.3.4", "'gateway' requires a name", 0),
        (
            "arp proto 6",
            "arp does not encapsulate another protocol",
            0,
        ),
        (
            "ip host ab:cd:ef:00:00:01",
            "ethernet address used in non-ether expression",
            0,
        ),
        ("ip6 net fe80::/300", "mask length must be <= 128", 0),
        (
            "tcp portrange 1.2.3.4",
            "'portrange' modifier applied to ip host",
            14,
        ),
        ("icmp port 80", "illegal qualifier of 'port'", 0),
        (
            "addr1 host 1.2.3.4",
            "'addr1' and 'address1' are not valid qualifiers",
            0,
        ),
        ("iso[0] = 1", "unsupported index operation", 0),
        ("port 080", "number 080 contains non-octal digit", 5),
        (
            "ether host ab:cd:ef:",
            "bogus ethernet address ab:cd:ef:",
            11,
        ),
        ("pppoes and vlan", "no VLAN support for PPP", 11),
        (
            "(host 1.2.3.4) and 5.6.7.8",
            "syntax error in filter expression",
            19,
        ),
    ];

    #[test]
    fn rejected_with_message_at_token() {
        let mut bad = Vec::new();
        for (e, msg, at) in REJECTED {
            match compile(e, 1) {
                Ok(p) => bad.push(format!("{e}: accepted ({} instructions)", p.len())),
                Err(err) => {
                    if !err.msg.starts_with(msg) || err.span.as_ref().map(|s| s.start) != Some(*at)
                    {
                        bad.push(format!(
                            "{e}: got {:?} at {:?}\n{}",
                            err.msg,
                            err.span,
                            err.render(e)
                        ));
                    }
                }
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn raw_link_type() {
        let ok = [
            "ip",
            "ip6 and tcp port 80",
            "host 1.2.3.4",
            "ip[0] & 0xf0 = 0x60",
            "geneve",
        ];
        for e in ok {
            compile(e, crate::filter::LINKTYPE_RAW)
                .unwrap_or_else(|m| panic!("{e}: {}", m.render(e)));
        }
        let rejected = [
            ("arp", "expression rejects all packets"),
            ("vlan", "no VLAN support for Raw IP"),
            ("mpls", "no MPLS support for Raw IP"),
            ("broadcast", "not a broadcast link"),
            (
                "ether host 1:2:3:4:5:6",
                "ethernet addresses supported only on",
            ),
            ("llc", "'llc' not supported for Raw IP"),
        ];
        for (e, msg) in rejected {
            match compile(e, crate::filter::DLT_RAW) {
                Ok(_) => panic!("{e}: accepted on raw IP"),
                Err(m) => assert!(m.msg.starts_with(msg), "{e}: {}", m.msg),
            }
        }
    }
}

#[cfg(test)]
mod sizes {
    use super::*;
    use crate::filter::difftest;

    /// `XDPCAP_SIZES=1`: compare program sizes with libpcap's over the
    /// corpus and print the expressions where ours is longer.
    #[test]
    fn corpus_sizes() {
        if std::env::var("XDPCAP_SIZES").is_err() {
            return;
        }
        let file = difftest::savefile(1);
        let text = super::corpus_text("libpcap-en10mb.txt");
        let (mut n, mut larger, mut ours_total, mut theirs_total) = (0, 0, 0, 0);
        for e in text.lines().filter(|l| !l.starts_with('#')) {
            if let (Ok(o), Ok(t)) = (compile(e, 1), difftest::libpcap(&file, e)) {
                n += 1;
                ours_total += o.len();
                theirs_total += t.len();
                if o.len() > t.len() {
                    larger += 1;
                    eprintln!("{e}: {} vs {}", o.len(), t.len());
                }
            }
        }
        std::fs::remove_file(&file).ok();
        eprintln!(
            "{n} expressions, {larger} longer than libpcap's; total {ours_total} vs {theirs_total}"
        );
    }
}

#[cfg(test)]
mod listings {
    use super::*;

    /// Accepted expressions with the listing `tcpdump -d` prints for them
    /// (libpcap 1.10.3 on Ethernet), which ours reproduces exactly.
    const GOLDEN: &[(&str, &str)] = &[
        (
            "ip",
            "(000) ldh      [12]
(001) jeq      #0x800           jt 2\tjf 3
(002) ret      #262144
(003) ret      #0
",
        ),
        (
            "vlan and tcp[tcpflags] & tcp-syn != 0",
            "(000) ldh      [12]
(001) jeq      #0x8100          jt 4\tjf 2
(002) jeq      #0x88a8          jt 4\tjf 3
(003) jeq      #0x9100          jt 4\tjf 14
(004) ldh      [16]
(005) jeq      #0x800           jt 6\tjf 14
(006) ldb      [27]
(007) jeq      #0x6             jt 8\tjf 14
(008) ldh      [24]
(009) jset     #0x1fff          jt 14\tjf 10
(010) ldxb     4*([18]&0xf)
(011) ldb      [x + 31]
(012) jset     #0x2             jt 13\tjf 14
(013) ret      #262144
(014) ret      #0
",
        ),
        (
            "host 198.18.0.1 and udp",
            "(000) ldh      [12]
(001) jeq      #0x800           jt 2\tjf 9
(002) ld       [26]
(003) jeq      #0xc6120001      jt 6\tjf 4
(004) ld       [30]
(005) jeq      #0xc6120001      jt 6\tjf 9
(006) ldb      [23]
(007) jeq      #0x11            jt 8\tjf 9
(008) ret      #262144
(009) ret      #0
",
        ),
        (
            "ether src ab:cd:ef:00:00:01",
            "(000) ld       [8]
(001) jeq      #0xef000001      jt 2\tjf 5
(002) ldh      [6]
(003) jeq      #0xabcd          jt 4\tjf 5
(004) ret      #262144
(005) ret      #0
",
        ),
    ];

    #[test]
    fn golden_listings() {
        for (e, want) in GOLDEN {
            let p = compile(e, 1).unwrap_or_else(|m| panic!("{e}: {}", m.render(e)));
            let got = cbpf::format(&p, cbpf::DumpStyle::Image);
            assert_eq!(got.trim_end(), want.trim_end(), "{e}");
        }
    }
}
