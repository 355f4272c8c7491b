//! The namespace pair the live tests run on: reachable over IPv4 and IPv6,
//! big frames with MTU 9000, and nothing left behind after drop.
mod common;

use common::netns::{NetPair, Side};

fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

#[test]
fn pair_is_reachable_and_removed_on_drop() {
    let pair = NetPair::new();
    let (a, b) = (pair.ns_a.clone(), pair.ns_b.clone());
    assert!(netns_exists(&a) && netns_exists(&b));
    assert!(pair.ping(Side::A, false, 2, 56), "IPv4 ping A -> B failed");
    assert!(pair.ping(Side::B, true, 2, 56), "IPv6 ping B -> A failed");
    pair.udp(Side::A, false, 5000, 3, 10);
    assert!(
        !pair.tcp_connect(Side::A, 5000),
        "nothing listens on B:5000"
    );
    drop(pair);
    assert!(
        !netns_exists(&a) && !netns_exists(&b),
        "namespaces left behind"
    );
}

#[test]
fn pair_is_removed_when_a_test_panics() {
    let mut names = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let pair = NetPair::new();
        names = Some((pair.ns_a.clone(), pair.ns_b.clone()));
        panic!("test failure inside the pair's scope");
    }));
    assert!(result.is_err());
    let (a, b) = names.expect("the pair was created");
    assert!(
        !netns_exists(&a) && !netns_exists(&b),
        "namespaces left behind"
    );
}

#[test]
fn jumbo_frames_cross_with_mtu_9000() {
    let pair = NetPair::with_mtu(9000);
    assert!(pair.ping(Side::A, false, 2, 8900), "8900-byte ping failed");
}
