//! The instrumented XDP program and hook the live tests are built on:
//! traffic selects each of the five actions, every branch tail-calls into
//! its hook slot, the four load flavours are told apart by the kernel, and
//! the program works attached to a veth inside a namespace.
mod common;

use std::os::fd::AsFd;

use common::netns::{NetPair, Side};
use common::xdp::{self, Flavour, Hook};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

#[test]
fn traffic_selects_each_action_in_every_flavour() {
    for flavour in Flavour::ALL {
        // A hook takes the flavour of the first program using it: one each.
        let hook = Hook::new();
        let prog = xdp::instrumented(&hook, flavour);
        for action in 0..5 {
            let frame = xdp::udp_frame(xdp::action_port(action), 16);
            assert_eq!(xdp::test_run(prog.as_fd(), &frame), action, "{flavour:?}");
        }
        for port in [53, 4999, 5005] {
            let frame = xdp::udp_frame(port, 16);
            assert_eq!(xdp::test_run(prog.as_fd(), &frame), XDP_PASS, "port {port}");
        }
        // Too short for the UDP header: passed.
        let frame = xdp::udp_frame(5001, 0);
        assert_eq!(xdp::test_run(prog.as_fd(), &frame[..40]), XDP_PASS);
    }
}

#[test]
fn each_branch_tail_calls_into_its_slot() {
    for flavour in Flavour::ALL {
        let hook = Hook::new();
        let prog = xdp::instrumented(&hook, flavour);
        assert_eq!(hook.slots(), vec![None; 5], "a new hook is empty");
        // A slot program that returns TX instead of the branch's action
        // shows that the branch went through the hook.
        let tx = xdp::returning(XDP_TX, flavour);
        hook.set(XDP_DROP, tx.as_fd())
            .unwrap_or_else(|e| panic!("{flavour:?}: {e}"));
        assert!(hook.slot(XDP_DROP).is_some());
        let drop_frame = xdp::udp_frame(xdp::action_port(XDP_DROP), 16);
        let pass_frame = xdp::udp_frame(80, 16);
        assert_eq!(
            xdp::test_run(prog.as_fd(), &drop_frame),
            XDP_TX,
            "{flavour:?}"
        );
        assert_eq!(
            xdp::test_run(prog.as_fd(), &pass_frame),
            XDP_PASS,
            "{flavour:?}"
        );
    }
}

#[test]
fn the_hook_only_accepts_its_owners_flavour() {
    for owner in Flavour::ALL {
        let hook = Hook::new();
        let _prog = xdp::instrumented(&hook, owner);
        for other in Flavour::ALL {
            let slot_prog = xdp::returning(XDP_PASS, other);
            let result = hook.set(XDP_PASS, slot_prog.as_fd());
            if other == owner {
                result.unwrap_or_else(|e| panic!("{owner:?} refused its own flavour: {e}"));
            } else {
                let err = result.expect_err("a foreign flavour was accepted");
                assert_eq!(
                    err.raw_errno(),
                    libc::EINVAL,
                    "{owner:?} <- {other:?}: {err}"
                );
            }
        }
    }
}

#[test]
fn attached_in_a_namespace_the_hook_decides_live() {
    let mut pair = NetPair::new();
    let hook = Hook::new();
    let prog = xdp::instrumented(&hook, Flavour::LIBBPF);
    xdp::attach(&mut pair, Side::B, prog.as_fd());
    assert!(
        pair.ping(Side::A, false, 2, 56),
        "ping through an empty hook"
    );
    // Pings are passed through slot PASS; a program there that drops
    // changes their fate.
    let drop = xdp::returning(XDP_DROP, Flavour::LIBBPF);
    hook.set(XDP_PASS, drop.as_fd()).expect("filling slot PASS");
    assert!(
        !pair.ping(Side::A, false, 2, 56),
        "ping survived a dropping hook"
    );
    xdpcap::sys::bpf::map_delete_elem(hook.fd.as_fd(), &XDP_PASS.to_ne_bytes())
        .expect("emptying slot PASS");
    assert!(
        pair.ping(Side::A, false, 2, 56),
        "ping after emptying the hook"
    );
}

#[test]
fn the_hook_pin_is_removed_on_drop() {
    let hook = Hook::new();
    let (dir, path) = (hook.dir.clone(), hook.path.clone());
    assert!(path.exists());
    drop(hook);
    assert!(
        !path.exists() && !dir.exists(),
        "{} left behind",
        dir.display()
    );
}
