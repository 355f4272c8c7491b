//! Test support: ask the real tcpdump (libpcap) for the classic BPF of an
//! expression. Tests using it fail loudly when tcpdump is missing.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A savefile with no packets, of link type `linktype`, at a path unique
/// to this process and call (tcpdump needs one to compile a filter).
pub(crate) fn empty_savefile(linktype: u32) -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "xdpcap-cbpf-{}-{}.pcap",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut hdr = Vec::new();
    hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&262_144u32.to_le_bytes());
    hdr.extend_from_slice(&linktype.to_le_bytes());
    std::fs::write(&path, hdr).expect("write test savefile");
    path
}

/// `tcpdump <flag> -r <empty savefile> <expr>`'s standard output. Panics
/// with a clear message when tcpdump is missing or rejects the expression.
pub(crate) fn tcpdump(flag: &str, linktype: u32, expr: &str) -> String {
    let file = empty_savefile(linktype);
    let out = Command::new("tcpdump")
        .arg(flag)
        .arg("-r")
        .arg(&file)
        .arg(expr)
        .output();
    let _ = std::fs::remove_file(&file);
    let out = out.unwrap_or_else(|e| {
        panic!("this test needs tcpdump (4.99 / libpcap 1.10) in PATH; running it failed: {e}")
    });
    assert!(
        out.status.success(),
        "tcpdump {flag} {expr:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tcpdump output is UTF-8")
}
