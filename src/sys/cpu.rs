//! CPUs: which are online (one perf ring each), how many are possible (the
//! stride of per-CPU map values), and pinning the calling thread to one.

use std::path::Path;

use super::error::{Errno, Error, Result};

/// The kernel's list of online CPUs.
pub const ONLINE_CPUS: &str = "/sys/devices/system/cpu/online";
/// The kernel's list of possible CPUs.
pub const POSSIBLE_CPUS: &str = "/sys/devices/system/cpu/possible";

/// Parses a kernel CPU list such as `0-3,5,7-8` (trailing newline allowed)
/// into ascending CPU numbers.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Some(cpus);
    }
    for part in text.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
            None => {
                let n: u32 = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if hi < lo {
            return None;
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

fn read_cpu_list(path: &str) -> Result<Vec<u32>> {
    let text = std::fs::read_to_string(Path::new(path))
        .map_err(|e| Error::from_io("read", &e).with_object(path))?;
    parse_cpu_list(&text).ok_or_else(|| {
        Error::new("read", Errno::INVAL)
            .with_object(path)
            .with_hint(format!("cannot parse CPU list {:?}", text.trim()))
    })
}

/// The online CPUs, from `/sys/devices/system/cpu/online`.
pub fn online_cpus() -> Result<Vec<u32>> {
    read_cpu_list(ONLINE_CPUS)
}

/// The number of possible CPUs, from `/sys/devices/system/cpu/possible`:
/// per-CPU map values hold one slot per possible CPU.
pub fn possible_cpus() -> Result<usize> {
    let cpus = read_cpu_list(POSSIBLE_CPUS)?;
    if cpus.is_empty() {
        return Err(Error::new("read", Errno::INVAL)
            .with_object(POSSIBLE_CPUS)
            .with_hint("empty CPU list"));
    }
    Ok(cpus.len())
}

/// `sched_setaffinity(2)`: runs the calling thread on `cpu` only.
pub fn pin_current_thread(cpu: u32) -> Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu as usize);
    rustix::thread::sched_setaffinity(None, &set)
        .map_err(|e| Error::new("sched_setaffinity", e).with_object(format!("cpu {cpu}")))
}

/// `sched_getcpu(3)`: the CPU the calling thread runs on right now.
pub fn current_cpu() -> u32 {
    rustix::thread::sched_getcpu() as u32
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds: the clock of
/// `bpf_ktime_get_ns()`, for converting kernel timestamps to wall-clock time.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call; CLOCK_MONOTONIC always exists on Linux.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(r, 0);
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        let cases: &[(&str, Option<&[u32]>)] = &[
            ("0\n", Some(&[0])),
            ("0-3", Some(&[0, 1, 2, 3])),
            ("0-3,5,7-8\n", Some(&[0, 1, 2, 3, 5, 7, 8])),
            ("2,0-1", Some(&[0, 1, 2])),
            ("", Some(&[])),
            ("3-1", None),
            ("a", None),
            ("0-", None),
            ("0,,1", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_cpu_list(text).as_deref(), *want, "input {text:?}");
        }
    }

    #[test]
    fn monotonic_clock_advances_with_real_time() {
        let a = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = monotonic_ns();
        assert!(b - a >= 20_000_000, "{a} -> {b}");
        assert!(b - a < 5_000_000_000, "{a} -> {b}");
    }

    #[test]
    fn this_machine_has_cpus() {
        let online = online_cpus().unwrap();
        assert!(!online.is_empty());
        assert!(possible_cpus().unwrap() >= online.len());
    }

    #[test]
    fn pinning_moves_the_thread() {
        let cpu = *online_cpus().unwrap().last().unwrap();
        std::thread::spawn(move || {
            pin_current_thread(cpu).unwrap();
            assert_eq!(current_cpu(), cpu);
        })
        .join()
        .unwrap();
    }
}
