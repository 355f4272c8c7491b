//! The command-line contract, checked without root: usage errors exit 1
//! with one line naming the problem, -h/-V exit 0, dumps need no hook.

use std::process::{Command, Output};

fn xdpcap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xdpcap"))
        .args(args)
        .output()
        .expect("running the xdpcap binary")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit status 1 and a single stderr line containing `want`.
fn assert_usage_error(args: &[&str], want: &str) {
    let o = xdpcap(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: stderr {err:?}");
    assert!(
        err.contains(want),
        "{args:?}: stderr {err:?}, want {want:?}"
    );
    assert_eq!(err.lines().count(), 1, "{args:?}: stderr {err:?}");
    assert!(err.starts_with("xdpcap: "), "{args:?}: stderr {err:?}");
    assert!(o.stdout.is_empty(), "{args:?}: stdout {:?}", stdout(&o));
}

#[test]
fn usage_errors_exit_1_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["-bogus", "/h", "o"], "unknown flag -bogus"),
        (&["--bogus", "/h", "o"], "unknown flag --bogus"),
        (&[], "missing <hook> and <output>"),
        (&["/h"], "missing <output>"),
        (&["-r", "in.pcap"], "missing <output>"),
        (&["-print"], "missing <hook>"),
        (
            &["-buffer", "8192", "-watermark", "8192", "/h", "o"],
            "-watermark 8192 must be smaller than -buffer 8192",
        ),
        (
            &["-buffer=4096", "-watermark=10000", "/h", "o"],
            "must be smaller than -buffer",
        ),
        (
            &["-actions", "drop,bounce", "/h", "o"],
            "unknown action \"bounce\"",
        ),
        (&["-actions=9", "/h", "o"], "unknown action \"9\""),
        (
            &["-format", "csv", "/h", "o"],
            "-format csv: unknown format",
        ),
        (&["-linktype", "tokenring", "/h", "o"], "unknown link type"),
        (&["-c", "many", "/h", "o"], "-c many"),
        (&["-s", "-5", "/h", "o"], "-s -5: expected a non-negative"),
        (&["-c", "-1", "/h", "o"], "-c -1: expected a non-negative"),
        (
            &["--buffer", "-5", "/h", "o"],
            "-buffer -5: expected a number",
        ),
        (&["/h", "o", "ip[0]", "=", "-1"], "must follow '--'"),
        (&["-v=maybe", "/h", "o"], "-v=maybe: expected true or false"),
        (&["-buffer"], "missing argument"),
    ];
    for (args, want) in cases {
        assert_usage_error(args, want);
    }
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["-h", "--help", "-help"] {
        let o = xdpcap(&[flag]);
        assert_eq!(o.status.code(), Some(0), "{flag}");
        let out = stdout(&o);
        assert!(out.contains("usage:"), "{flag}: {out}");
        assert!(out.contains("-watermark"), "{flag}: {out}");
    }
    for flag in ["-V", "--version", "-version"] {
        let o = xdpcap(&[flag]);
        assert_eq!(o.status.code(), Some(0), "{flag}");
        assert_eq!(
            stdout(&o),
            format!("xdpcap {}\n", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
}

#[test]
fn help_wins_over_missing_arguments() {
    let o = xdpcap(&["-buffer", "4096", "-h"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `tcpdump -ddd ip` as raw classic BPF input.
const RAW_IP: &str = "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0";

#[test]
fn dump_raw_cbpf_like_tcpdump() {
    let o = xdpcap(&["-d", RAW_IP]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n"
    );
    let o = xdpcap(&["-ddd", RAW_IP]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n"
    );
    let o = xdpcap(&["-dd", RAW_IP]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("{ 0x28, 0, 0, 0x0000000c },\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn dump_ebpf_shows_one_program_per_action() {
    let o = xdpcap(&["-d-ebpf", "-actions", "drop,tx"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("; xdpcap_drop ("), "{out}");
    assert!(out.contains("; xdpcap_tx ("), "{out}");
    assert!(!out.contains("xdpcap_pass"), "{out}");
    assert!(out.contains("perf_event_output"), "{out}");
    let o = xdpcap(&["--dump-ebpf"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).matches("; xdpcap_").count(), 5);
}

#[test]
fn malformed_raw_cbpf_is_a_usage_error() {
    let o = xdpcap(&["-d", "2,6 0 0 0"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("xdpcap: filter: "), "{}", stderr(&o));
}

#[test]
fn offline_input_missing_is_a_runtime_error() {
    let o = xdpcap(&["-r", "/nonexistent/in.pcap", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/in.pcap"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn filter_syntax_error_exits_1_with_a_caret() {
    for args in [
        &["-d", "tcp port"][..],
        &["-r", "/nonexistent.pcap", "out.pcap", "udp", "and"][..],
        &[
            "/sys/fs/bpf/no-such-hook-for-cli-test",
            "out.pcap",
            "tcp",
            "port",
        ][..],
    ] {
        let o = xdpcap(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!(lines[0].starts_with("xdpcap: filter: "), "{args:?}: {err}");
        assert!(lines[0].contains("(at offset "), "{args:?}: {err}");
        assert!(
            lines.iter().any(|l| l.trim_start().starts_with('^')),
            "{args:?}: no caret line in {err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert!(
        !std::path::Path::new("out.pcap").exists(),
        "a filter error created the output"
    );
}

#[test]
fn hook_management_errors_exit_2_naming_the_path() {
    let o = xdpcap(&["-create-hook", "/tmp/xdpcap-cli-test-not-bpffs"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mount -t bpf bpf /sys/fs/bpf"),
        "{}",
        stderr(&o)
    );
    assert!(!std::path::Path::new("/tmp/xdpcap-cli-test-not-bpffs").exists());

    let o = xdpcap(&["-list-hook", "/tmp/xdpcap-cli-test-missing-hook"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/tmp/xdpcap-cli-test-missing-hook"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}
