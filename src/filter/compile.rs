//! The pcap-filter expression compiler: text → tokens ([`super::lexer`]) →
//! syntax tree ([`super::parser`]) → predicate over cBPF blocks
//! ([`super::codegen`]) → optimised classic BPF ([`super::graph`]).

use super::{cbpf, codegen, graph, parser, Error};

/// Compile a pcap-filter expression to classic BPF for `linktype`.
pub fn compile(expr: &str, linktype: u32) -> Result<Vec<cbpf::Insn>, Error> {
    compile_with(expr, linktype, true)
}

/// As [`compile`]; `optimize = false` gives the program before jump
/// threading (as `tcpdump -O` does), still with the rejects-all check off.
pub fn compile_with(expr: &str, linktype: u32, optimize: bool) -> Result<Vec<cbpf::Insn>, Error> {
    let tree = parser::parse(expr)?;
    let mut gen = codegen::Gen::new(linktype).map_err(|m| Error::new(m, None))?;
    let pred = gen.expr(&tree)?;
    let out = graph::compile(&pred, optimize).map_err(|m| Error::new(m, None))?;
    if optimize && !gen.no_optimize && out.rejects_all {
        return Err(Error::new(
            "expression rejects all packets",
            Some(0..expr.len()),
        ));
    }
    if out.prog.len() > cbpf::BPF_MAXINSNS {
        return Err(Error::new(
            format!(
                "filter too long: {} instructions (the kernel takes at most {})",
                out.prog.len(),
                cbpf::BPF_MAXINSNS
            ),
            Some(0..expr.len()),
        ));
    }
    Ok(out.prog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::difftest;

    const CORPUS: &str = "/work/shared/filter-corpus";

    fn corpus(name: &str) -> Vec<String> {
        let path = std::env::var("XDPCAP_FILTER_CORPUS").unwrap_or_else(|_| CORPUS.into());
        let text = std::fs::read_to_string(format!("{path}/{name}"))
            .unwrap_or_else(|e| panic!("filter corpus {path}/{name} is needed: {e}"));
        text.lines()
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
