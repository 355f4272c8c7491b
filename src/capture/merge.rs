//! Putting samples from several CPUs in order, and kernel time into
//! wall-clock time.
//!
//! Each CPU's ring is in time order on its own; a drain cycle reads every
//! ring and merges what it got by kernel timestamp, so a capture file is in
//! order within each cycle. (Across cycles a sample still in flight on one
//! CPU can be older than one already written from another; the cycle is
//! short and such reordering is bounded by it.)

use crate::sys;

/// Converts `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) timestamps to
/// nanoseconds since the epoch, with the offset between the two clocks
/// sampled once at the start of the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// realtime − monotonic, in nanoseconds.
    offset_ns: i128,
}

impl Clock {
    /// Sample the offset now. Reads monotonic time on both sides of the
    /// realtime read and takes the middle, halving the error.
    pub fn now() -> Clock {
        let m1 = sys::cpu::monotonic_ns();
        let rt = super::realtime_ns();
        let m2 = sys::cpu::monotonic_ns();
        let mono = m1 / 2 + m2 / 2 + (m1 % 2 + m2 % 2) / 2;
        Clock::from_pair(rt, mono)
    }

    /// The clock for a known pair of simultaneous readings.
    pub fn from_pair(realtime_ns: u64, monotonic_ns: u64) -> Clock {
        Clock {
            offset_ns: realtime_ns as i128 - monotonic_ns as i128,
        }
    }

    /// Wall-clock nanoseconds of a monotonic timestamp (0 if it would be
    /// before the epoch).
    pub fn to_realtime(&self, monotonic_ns: u64) -> u64 {
        (monotonic_ns as i128 + self.offset_ns).clamp(0, u64::MAX as i128) as u64
    }
}

/// Merge per-CPU runs, each already in timestamp order, into one sequence
/// ordered by `key`; equal keys keep CPU order. Simple k-way merge: the
/// number of CPUs is small.
pub fn merge_sorted<T>(runs: Vec<Vec<T>>, key: impl Fn(&T) -> u64) -> Vec<T> {
    let total = runs.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    let mut iters: Vec<std::iter::Peekable<std::vec::IntoIter<T>>> =
        runs.into_iter().map(|r| r.into_iter().peekable()).collect();
    loop {
        let mut best: Option<(usize, u64)> = None;
        for (i, it) in iters.iter_mut().enumerate() {
            if let Some(x) = it.peek() {
                let k = key(x);
                if best.map_or(true, |(_, bk)| k < bk) {
                    best = Some((i, k));
                }
            }
        }
        match best {
            Some((i, _)) => out.extend(iters[i].next()),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_conversion() {
        let c = Clock::from_pair(1_700_000_000_000_000_000, 5_000_000_000);
        assert_eq!(c.to_realtime(5_000_000_000), 1_700_000_000_000_000_000);
        assert_eq!(c.to_realtime(6_000_000_001), 1_700_000_001_000_000_001);
        // Before the epoch clamps to 0 rather than wrapping.
        let c = Clock::from_pair(10, 1_000);
        assert_eq!(c.to_realtime(5), 0);
    }

    #[test]
    fn clock_now_is_close_to_system_time() {
        let c = Clock::now();
        let rt = c.to_realtime(sys::cpu::monotonic_ns());
        let now = crate::capture::realtime_ns();
        let diff = rt.abs_diff(now);
        assert!(diff < 50_000_000, "converted now differs by {diff} ns");
    }

    #[test]
    fn merge_orders_across_cpus() {
        let runs = vec![vec![1, 4, 9], vec![], vec![2, 3, 10, 11], vec![5]];
        assert_eq!(
            merge_sorted(runs, |x| *x as u64),
            vec![1, 2, 3, 4, 5, 9, 10, 11]
        );
    }

    #[test]
    fn merge_keeps_cpu_order_on_ties() {
        let runs = vec![vec![(7, 'a'), (8, 'c')], vec![(7, 'b')]];
        let merged = merge_sorted(runs, |x| x.0);
        assert_eq!(merged, vec![(7, 'a'), (7, 'b'), (8, 'c')]);
    }
}
