//! Every expression libpcap 1.10.3 rejects on Ethernet must be rejected by
//! our compiler too, with an error and without a panic.

use std::path::Path;

use xdpcap::filter;

#[test]
fn libpcap_rejected_expressions_are_rejected() {
    check_rejected(
        "../shared/filter-corpus/libpcap-en10mb-rejected.txt",
        filter::DLT_EN10MB,
    );
}

#[test]
fn own_rejected_expressions_are_rejected() {
    check_rejected("tests/data/filters-en10mb-rejected.txt", filter::DLT_EN10MB);
}

#[test]
fn own_raw_rejected_expressions_are_rejected() {
    check_rejected("tests/data/filters-raw-rejected.txt", filter::LINKTYPE_RAW);
}

/// Every expression of the list at `rel` (relative to the crate) must be
/// rejected for `linktype`; the `# libpcap:` line before each says why
/// libpcap does.
fn check_rejected(rel: &str, linktype: u32) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "filter list {} missing ({e}): this test needs it",
            path.display()
        )
    });
    let mut libpcap_says = "";
    let (mut total, mut accepted, mut panicked) = (0, Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(why) = line.strip_prefix("# libpcap: ") {
            libpcap_says = why;
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        total += 1;
        match std::panic::catch_unwind(|| filter::build(line, linktype)) {
            Ok(Err(_)) => {}
            Ok(Ok(prog)) => accepted.push(format!(
                "{line}\n  accepted ({} instructions); libpcap: {libpcap_says}",
                prog.len()
            )),
            Err(_) => panicked.push(format!("{line}\n  PANICKED; libpcap: {libpcap_says}")),
        }
    }
    assert!(total > 0, "{} holds no expression", path.display());
    for line in accepted.iter().chain(&panicked) {
        println!("{line}");
    }
    let rejected = total - accepted.len() - panicked.len();
    let summary = format!(
        "filter-reject: {rejected}/{total} expressions rejected ({:.1}%), {} wrongly accepted, {} panicked",
        100.0 * rejected as f64 / total as f64,
        accepted.len(),
        panicked.len()
    );
    println!("{summary}");
    assert!(accepted.is_empty() && panicked.is_empty(), "{summary}");
}
