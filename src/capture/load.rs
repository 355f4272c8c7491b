//! Maps and programs of a capture: the perf event array the programs emit
//! samples into, the per-CPU counters, and loading a capture program in one
//! of the four flavours a hook may demand.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::program::{self, counter, Spec};
use super::Error;
use crate::asm;
use crate::filter::cbpf;
use crate::hook::Action;
use crate::sys::{self, bpf};

/// How a capture program is loaded. A prog array only accepts programs
/// that match its owner in both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flavour {
    /// `BPF_XDP` (libbpf's `SEC("xdp")`) or 0 (older loaders).
    pub expected_attach_type: u32,
    /// `BPF_F_XDP_HAS_FRAGS` (`SEC("xdp.frags")`).
    pub frags: bool,
}

impl Flavour {
    /// The order flavours are tried in: libbpf's default first.
    pub const ALL: [Flavour; 4] = [
        Flavour {
            expected_attach_type: bpf::BPF_XDP,
            frags: false,
        },
        Flavour {
            expected_attach_type: bpf::BPF_XDP,
            frags: true,
        },
        Flavour {
            expected_attach_type: 0,
            frags: false,
        },
        Flavour {
            expected_attach_type: 0,
            frags: true,
        },
    ];

    fn prog_flags(self) -> u32 {
        if self.frags {
            bpf::BPF_F_XDP_HAS_FRAGS
        } else {
            0
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.expected_attach_type == bpf::BPF_XDP {
            "BPF_XDP"
        } else {
            "0"
        };
        let frags = if self.frags {
            "with BPF_F_XDP_HAS_FRAGS (xdp.frags)"
        } else {
            "without frags"
        };
        write!(f, "expected_attach_type {at}, {frags}")
    }
}

/// The maps every capture program of a session refers to.
#[derive(Debug)]
pub struct Maps {
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`, key = CPU, value = perf event fd.
    pub perf: OwnedFd,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`, key = action, value = counters.
    pub counters: OwnedFd,
}

impl Maps {
    /// Create both maps; the perf array has a slot per possible CPU.
    pub fn create() -> Result<Maps, Error> {
        let possible =
            sys::cpu::possible_cpus().map_err(|e| Error::sys("reading the possible CPUs", e))?;
        let perf = bpf::map_create(&bpf::MapCreate {
            map_type: bpf::BPF_MAP_TYPE_PERF_EVENT_ARRAY,
            key_size: 4,
            value_size: 4,
            max_entries: possible as u32,
            map_flags: 0,
            name: "xdpcap_perf",
        })
        .map_err(|e| Error::sys("creating the perf event array", e))?;
        let counters = bpf::map_create(&bpf::MapCreate {
            map_type: bpf::BPF_MAP_TYPE_PERCPU_ARRAY,
            key_size: 4,
            value_size: counter::VALUE_SIZE,
            max_entries: Action::ALL.len() as u32,
            map_flags: 0,
            name: "xdpcap_counters",
        })
        .map_err(|e| Error::sys("creating the counter map", e))?;
        Ok(Maps { perf, counters })
    }

    /// Put perf event `event` in the perf array at `cpu`.
    pub fn set_perf_event(&self, cpu: u32, event: BorrowedFd<'_>) -> Result<(), Error> {
        bpf::map_update_elem(
            self.perf.as_fd(),
            &cpu.to_ne_bytes(),
            &(event.as_raw_fd() as u32).to_ne_bytes(),
            bpf::BPF_ANY,
        )
        .map_err(|e| Error::sys(format!("registering the perf event of CPU {cpu}"), e))
    }

    /// The counters of `action`, summed over CPUs: `[received, matched, lost]`.
    pub fn counters(&self, action: Action) -> Result<[u64; counter::COUNTERS], Error> {
        let size = bpf::percpu_value_size(counter::VALUE_SIZE)
            .map_err(|e| Error::sys("reading the possible CPUs", e))?;
        let mut value = vec![0u8; size];
        bpf::map_lookup_elem(
            self.counters.as_fd(),
            &action.index().to_ne_bytes(),
            &mut value,
        )
        .map_err(|e| Error::sys("reading the capture counters", e))?;
        Ok(sum_percpu(&value))
    }
}

/// Sum per-CPU counter values (each CPU's `[u64; COUNTERS]`, 8-byte
/// aligned slots).
pub fn sum_percpu(value: &[u8]) -> [u64; counter::COUNTERS] {
    let mut out = [0u64; counter::COUNTERS];
    let stride = counter::VALUE_SIZE as usize;
    for cpu in value.chunks_exact(stride) {
        for (i, slot) in out.iter_mut().enumerate() {
            let b: [u8; 8] = cpu[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]);
            *slot += u64::from_ne_bytes(b);
        }
    }
    out
}

/// A capture program in the kernel.
#[derive(Debug)]
pub struct Program {
    pub action: Action,
    pub fd: OwnedFd,
    pub id: u32,
    pub flavour: Flavour,
    /// The verifier log, when asked for.
    pub log: String,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
}

/// Verifier log options.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOpts {
    /// Ask for the log of successful loads too.
    pub always: bool,
    /// Log buffer size (0: the default).
    pub size: u32,
}

/// The instructions of `action`'s capture program.
pub fn instructions(
    action: Action,
    filter: &[cbpf::Insn],
    snaplen: u32,
    frags: bool,
    maps: Option<&Maps>,
    orig_len_in_meta: bool,
) -> Result<Vec<asm::Insn>, Error> {
    let fd = |f: Option<&OwnedFd>| f.map_or(-1, |f| f.as_raw_fd());
    program::build(&Spec {
        action,
        filter,
        snaplen,
        frags,
        perf_map_fd: fd(maps.map(|m| &m.perf)),
        counters_fd: fd(maps.map(|m| &m.counters)),
        orig_len_in_meta,
    })
    .map_err(|e| Error::Build { action, err: e })
}

/// Build and load `action`'s capture program in `flavour`.
pub fn load(
    action: Action,
    filter: &[cbpf::Insn],
    snaplen: u32,
    flavour: Flavour,
    maps: &Maps,
    log: LogOpts,
) -> Result<Program, Error> {
    load_variant(action, filter, snaplen, flavour, maps, log, false)
}

/// [`load`], optionally the offline variant (see
/// [`program::Spec::orig_len_in_meta`]).
pub fn load_variant(
    action: Action,
    filter: &[cbpf::Insn],
    snaplen: u32,
    flavour: Flavour,
    maps: &Maps,
    log: LogOpts,
    orig_len_in_meta: bool,
) -> Result<Program, Error> {
    let insns = instructions(
        action,
        filter,
        snaplen,
        flavour.frags,
        Some(maps),
        orig_len_in_meta,
    )?;
    let bytes = asm::to_bytes(&insns);
    let name = program::program_name(action);
    let loaded = bpf::prog_load(&bpf::ProgLoad {
        prog_type: bpf::BPF_PROG_TYPE_XDP,
        expected_attach_type: flavour.expected_attach_type,
        prog_flags: flavour.prog_flags(),
        name: &name,
        license: "GPL",
        insns: &bytes,
        log_level: u32::from(log.always),
        log_size: log.size,
    })
    .map_err(|err| Error::Load { action, err })?;
    let info = bpf::prog_info(loaded.fd.as_fd())
        .map_err(|e| Error::sys(format!("inspecting the {action} capture program"), e))?;
    Ok(Program {
        action,
        fd: loaded.fd,
        id: info.id,
        flavour,
        log: loaded.log,
        verified_insns: info.verified_insns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percpu_sums() {
        let mut v = Vec::new();
        for cpu in 0..3u64 {
            for c in 0..counter::COUNTERS as u64 {
                v.extend_from_slice(&(cpu * 10 + c + 1).to_ne_bytes());
            }
        }
        // received: 1 + 11 + 21, matched: 2 + 12 + 22, lost: 3 + 13 + 23
        assert_eq!(sum_percpu(&v), [33, 36, 39]);
    }

    #[test]
    fn flavours_start_with_libbpf_default_and_cover_all() {
        assert_eq!(Flavour::ALL[0].expected_attach_type, bpf::BPF_XDP);
        assert!(!Flavour::ALL[0].frags);
        for at in [0, bpf::BPF_XDP] {
            for frags in [false, true] {
                assert!(Flavour::ALL.contains(&Flavour {
                    expected_attach_type: at,
                    frags
                }));
            }
        }
    }
}
