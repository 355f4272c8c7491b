//! Listings and `-ddd` parsing against the real tcpdump.

use super::testutil::tcpdump;
use super::*;
use crate::filter::DLT_EN10MB;

/// Expressions covering every instruction shape libpcap emits.
const EXPRS: &[&str] = &[
    "ip",
    "tcp port 80",
    "tcp[13] & 2 != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
    "ip[2:2] > 100 and len > 100",
    "ip[0] / 3 > 1 or ip[0] % 4 = 1",
    "vlan and ip6",
    "ether[0] - ip[1] * 2 >> 1 < 5 and ether[1] << 2 | 1 ^ 3 = 7",
    "ip[2] / ip[3] = 3",
    "ip[ip[0]:2] = 3",
    "ip[0] + 4294967295 = 3",
    "ip[0] & 0xf0000000 = 0",
    "ip6 protochain 6",
    "ether[0xfffff02c:2] = 1",
    "ether[4294967295] = 1",
    "ip[1] ^ ip[2] = ip[3] - ip[4]",
    "host 198.18.0.1 and not udp",
    "len <= 64",
];

#[test]
fn listings_match_tcpdump() {
    for expr in EXPRS {
        let ddd = tcpdump("-ddd", DLT_EN10MB, expr);
        let prog = parse_ddd(&ddd).unwrap_or_else(|e| panic!("{expr}: {e}\n{ddd}"));
        assert_eq!(format(&prog, DumpStyle::Decimal), ddd, "-ddd {expr}");
        assert_eq!(
            format(&prog, DumpStyle::C),
            tcpdump("-dd", DLT_EN10MB, expr),
            "-dd {expr}"
        );
        assert_eq!(
            format(&prog, DumpStyle::Image),
            tcpdump("-d", DLT_EN10MB, expr),
            "-d {expr}"
        );
        // Comma-separated, as on a command line.
        let commas = ddd.trim_end().replace('\n', ",");
        assert!(looks_like_ddd(&commas), "{commas}");
        assert_eq!(parse_ddd(&commas), Ok(prog), "{commas}");
    }
}

#[test]
fn image_of_forms_libpcap_never_emits() {
    let table: &[(Insn, usize, &str)] = &[
        (Insn::stmt(BPF_RET | BPF_A, 0), 0, "(000) ret      "),
        (
            Insn::stmt(BPF_LD | BPF_IMM, 0x1234),
            7,
            "(007) ld       #0x1234",
        ),
        (Insn::stmt(BPF_LDX | BPF_IMM, 0), 7, "(007) ldx      #0x0"),
        (Insn::stmt(BPF_LDX | BPF_MEM, 3), 1, "(001) ldx      M[3]"),
        (Insn::stmt(BPF_STX, 15), 1, "(001) stx      M[15]"),
        (Insn::stmt(BPF_JMP | BPF_JA, 2), 10, "(010) ja       13"),
        (Insn::stmt(BPF_MISC | BPF_TXA, 0), 2, "(002) txa      "),
        (Insn::stmt(BPF_ALU | BPF_NEG, 0), 2, "(002) neg      "),
        (
            Insn::stmt(BPF_ALU | BPF_XOR | BPF_K, 255),
            2,
            "(002) xor      #0xff",
        ),
        (
            Insn::stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
            2,
            "(002) unimp    0x81",
        ),
        (
            Insn::jump(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1),
            1000,
            "(1000) jge      x                jt 1001\tjf 1002",
        ),
        (
            Insn::jump(0x55, 0, 0, 0),
            0,
            "(000) unimp    0x55             jt 1\tjf 1",
        ),
    ];
    for (insn, n, want) in table {
        assert_eq!(image(insn, *n), *want);
    }
}

#[test]
fn ddd_errors_point_at_the_culprit() {
    let table: &[(&str, &str, &str)] = &[
        ("", "empty", ""),
        ("2,6 0 0 1", "count says 2", "2"),
        ("1,6 0 0", "has 3 fields", "6 0 0"),
        ("1,6 0 x 1", "\"x\" is not a number", "x"),
        ("1,6 0 256 1", "jf 256 is larger", "256"),
        ("1,6 0 0 4294967296", "k 4294967296 is larger", "4294967296"),
        ("1,65536 0 0 0", "opcode 65536", "65536"),
        ("1 2,6 0 0 1", "count alone", "1 2"),
        (
            "2,\n21 0 0 2048\n , 40 0 0 12\n",
            "does not end with ret",
            " 40 0 0 12",
        ),
        ("2,48 0 0 0,255 0 0 0", "unknown opcode 0xff", "255 0 0 0"),
        ("5000", "larger than 4096", "5000"),
    ];
    for (text, msg, culprit) in table {
        let e = parse_ddd(text).expect_err(text);
        assert!(e.msg.contains(msg), "{text:?}: {}", e.msg);
        let span = e.span.clone().map(|s| &text[s]).unwrap_or("");
        assert_eq!(span, *culprit, "{text:?}: {}", e.msg);
    }
    // Hex fields and blank lines are accepted.
    assert_eq!(
        parse_ddd("1\n\n0x6 0 0 0xffff\n"),
        Ok(vec![Insn::stmt(BPF_RET | BPF_K, 0xffff)])
    );
}

#[test]
fn looks_like_ddd_table() {
    for (text, want) in [
        ("1,6 0 0 65535", true),
        ("4\n40 0 0 12\n", true),
        ("  2 ,6 0 0 1, 6 0 0 0", true),
        ("tcp port 80", false),
        ("1", false),
        ("1,", false),
        ("80 and 443", false),
        ("", false),
    ] {
        assert_eq!(looks_like_ddd(text), want, "{text:?}");
    }
}

/// Whatever the text, parsing answers with a program or an error whose
/// span lies on character boundaries inside the text; it never panics.
#[test]
fn ddd_parser_never_panics() {
    let alphabet: Vec<char> = "0123456789 ,\n\tx-+é６\u{0}".chars().collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20000 {
        let mut text = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 24) as usize;
        let mut s = state;
        for _ in 0..len {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push(alphabet[(s >> 33) as usize % alphabet.len()]);
        }
        let _ = looks_like_ddd(&text);
        if let Err(e) = parse_ddd(&text) {
            if let Some(span) = e.span.clone() {
                assert!(text.get(span.clone()).is_some(), "{text:?}: span {span:?}");
            }
            let _ = e.render(&text);
        }
    }
    // A few structured ones.
    for text in [
        "1,6 0 0 1,",
        "1\r\n6 0 0 1\r\n",
        "0",
        "0,",
        "1,6 0 0 99999999999999999999",
    ] {
        let _ = parse_ddd(text);
    }
    assert_eq!(
        parse_ddd("1\r\n6 0 0 1\r\n"),
        Ok(vec![Insn::stmt(BPF_RET | BPF_K, 1)])
    );
}
