//! Shared helpers of the integration tests. Each test crate includes this
//! module and uses only part of it.
#![allow(dead_code)]

pub mod capture;
pub mod corpus;
pub mod netns;
pub mod oracle;
pub mod xdp;

use std::path::PathBuf;

/// Panics unless the tests run as root: the live tests need it, and a test
/// that cannot run must fail, never pass silently.
pub fn require_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test needs root (CAP_BPF, CAP_NET_ADMIN): run it with `sudo make test`"
    );
}

/// The full path of `tool` on `$PATH`; panics naming the tool and the
/// package to install when it is missing.
pub fn require_tool(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain(["/usr/sbin".into(), "/sbin".into()]) {
        let candidate = dir.join(tool);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("this test needs `{tool}`, which is not installed: run `sudo make deps`");
}

/// A name no other test, process or person on this machine uses:
/// `prefix`, the pid and a per-process counter.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id())
}
