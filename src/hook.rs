//! The hook: a pinned `BPF_MAP_TYPE_PROG_ARRAY` with one slot per XDP
//! action, the ABI shared with instrumented XDP programs.
//!
//! An instrumented program ends with `bpf_tail_call(ctx, &hook, ACTION);
//! return ACTION;`. While a capture runs, slot `ACTION` holds a capture
//! program that records the packet and returns `ACTION` itself, so the
//! packet's fate never changes. An empty slot costs one failed tail call.

use std::fmt;

/// An XDP action, which is also the index of its hook slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Action {
    Aborted = 0,
    Drop = 1,
    Pass = 2,
    Tx = 3,
    Redirect = 4,
}

impl Action {
    /// Every action, in slot order.
    pub const ALL: [Action; 5] = [
        Action::Aborted,
        Action::Drop,
        Action::Pass,
        Action::Tx,
        Action::Redirect,
    ];

    /// The action for a slot index / XDP return value.
    pub fn from_index(i: u32) -> Option<Action> {
        Action::ALL.get(i as usize).copied()
    }

    /// Slot index and XDP return value (`XDP_DROP` = 1, ...).
    pub fn index(self) -> u32 {
        self as u32
    }

    /// Lower-case name: `aborted`, `drop`, `pass`, `tx`, `redirect`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Aborted => "aborted",
            Action::Drop => "drop",
            Action::Pass => "pass",
            Action::Tx => "tx",
            Action::Redirect => "redirect",
        }
    }

    /// A name in any case (`DROP`, `xdp_drop`) or a number 0-4.
    pub fn parse(s: &str) -> Option<Action> {
        let s = s.trim().to_ascii_lowercase();
        if let Ok(n) = s.parse::<u32>() {
            return Action::from_index(n);
        }
        let s = s.strip_prefix("xdp_").unwrap_or(&s);
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
            assert_eq!(Action::parse(&a.name().to_uppercase()), Some(a));
            assert_eq!(Action::parse(&a.index().to_string()), Some(a));
            assert_eq!(Action::from_index(a.index()), Some(a));
        }
        assert_eq!(Action::parse("XDP_TX"), Some(Action::Tx));
        assert_eq!(Action::parse("5"), None);
        assert_eq!(Action::parse("jump"), None);
    }
}
