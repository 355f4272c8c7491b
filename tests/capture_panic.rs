//! A panic empties the hook slots even when no destructor runs (the
//! release build aborts on panic). Alone in its test binary: the panic
//! hook empties the slots of every capture of the process.
mod common;

use common::xdp::{self, Flavour};
use xdpcap::capture::{Capture, CaptureConfig, HookSource, Sink};

#[test]
fn a_panic_empties_the_slots_without_destructors() {
    common::require_root();
    let hook = xdp::Hook::new();
    let _prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    let path = hook.path.clone();
    let worker = std::thread::spawn(move || {
        let cfg = CaptureConfig::new(HookSource::Path(path));
        let cap = Capture::start(cfg, Sink::Text(Box::new(std::io::sink()))).expect("start");
        let ids = cap.program_ids();
        // As with panic=abort: the capture's destructor never runs.
        std::mem::forget(cap);
        (ids, std::panic::catch_unwind(|| panic!("deliberate panic")))
    });
    let (ids, caught) = worker.join().expect("the worker thread");
    assert!(caught.is_err());
    assert_eq!(ids.len(), 5);
    assert_eq!(
        hook.slots(),
        vec![None; 5],
        "the panic hook left slots occupied"
    );
}
