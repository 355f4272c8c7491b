use super::*;
use crate::filter::cbpf::testutil::tcpdump;
use crate::filter::cbpf::{format, parse_ddd, DumpStyle};

fn libpcap(expr: &str, optimised: bool) -> Vec<cbpf::Insn> {
    let out = tcpdump(if optimised { "-ddd" } else { "-Oddd" }, 1, expr);
    parse_ddd(&out).unwrap_or_else(|e| panic!("tcpdump -ddd {expr:?}: {e}"))
}

#[test]
fn show() {
    for e in [
        "tcp port 80",
        "ip and ip6",
        "tcp[13] & 2 != 0",
        "ether[5] == 0x12 and ether[5] == 0x13",
        "tcp port 80 and vlan",
    ] {
        let u = libpcap(e, false);
        let o = optimize(&u);
        println!(
            "== {e} ({} -> {})\n{}",
            u.len(),
            o.len(),
            format(&o, DumpStyle::Image)
        );
    }
}
