//! A small eBPF interpreter for tests without a kernel: it runs an XDP
//! program on one packet, with the helpers the capture programs use, and
//! faults where the verifier or the kernel would object at run time
//! (packet access outside `data..data_end`, uninitialised register or
//! stack read, write to R10, jump out of the program). It proves a
//! program's *behaviour* on the packets it is given, not that the verifier
//! accepts it.
//!
//! Memory model: each region (context, linear packet data, stack, map
//! value) lives at its own 4 GiB-aligned fake address, so pointer
//! arithmetic and comparisons between `data` and `data_end` work as
//! plain integers and any stray access lands outside every region.

use super::insn::*;
use std::fmt;

/// Bytes of stack below R10.
pub const STACK_SIZE: usize = 512;
/// Most instructions one run may execute.
const MAX_STEPS: usize = 1 << 20;
/// Tag of the value `ld_map_fd` puts in a register: `MAP_TAG | fd`.
const MAP_TAG: u64 = 0xfeed_0000_0000_0000;

/// A map visible to the program through `ld_map_fd(fd)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Map {
    /// An array (per-CPU or not: one CPU here) of `values`, key `u32`.
    Array { values: Vec<Vec<u8>> },
    /// A perf event array: outputs are recorded in [`Env::outputs`].
    PerfEventArray,
    /// A program array: tail calls are recorded and fail (empty slot).
    ProgArray,
}

/// One `bpf_perf_event_output` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub map_fd: i32,
    pub flags: u64,
    /// The `data` argument's bytes followed by the packet bytes requested
    /// in the upper 32 bits of `flags`.
    pub sample: Vec<u8>,
}

/// What a program sees: the packet, the `xdp_md` fields, the maps, and
/// what it leaves behind.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The whole packet, fragments included.
    pub packet: Vec<u8>,
    /// Bytes of `packet` in the linear part (`data..data_end`); the rest is
    /// only reachable through `bpf_xdp_load_bytes`.
    pub linear: usize,
    pub ingress_ifindex: u32,
    pub rx_queue_index: u32,
    /// What `bpf_ktime_get_ns` returns.
    pub ktime_ns: u64,
    /// Maps by file descriptor.
    pub maps: Vec<(i32, Map)>,
    /// `bpf_perf_event_output` fails with `-ENOSPC` when set (ring full).
    pub perf_ring_full: bool,
    pub outputs: Vec<Output>,
    /// (map fd, index) of each tail call attempted.
    pub tail_calls: Vec<(i32, u32)>,
    /// Helper ids called, in order.
    pub calls: Vec<i32>,
    /// Instructions executed by the last run.
    pub steps: usize,
}

impl Env {
    /// An environment for a packet whose bytes are all linear.
    pub fn new(packet: &[u8]) -> Env {
        Env {
            packet: packet.to_vec(),
            linear: packet.len(),
            ..Env::default()
        }
    }
}

/// Why a run stopped without `exit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Access of `size` bytes at a bad address (outside its region, or a
    /// forbidden region such as a store into the context).
    BadAccess { pc: usize, addr: u64, size: usize },
    /// Read of a stack byte never written.
    UninitStack { pc: usize, off: i64 },
    /// Read of a register never written (or clobbered by a call).
    UninitReg { pc: usize, reg: u8 },
    /// Write to the frame pointer R10, or a register number above 10.
    BadReg { pc: usize, reg: u8 },
    /// An opcode this interpreter does not know.
    BadOpcode { pc: usize, code: u8 },
    /// A helper this interpreter does not model, or bad helper arguments.
    BadCall {
        pc: usize,
        id: i32,
        why: &'static str,
    },
    /// A jump or fall-through out of the program.
    OutOfProgram { pc: usize },
    /// More than the step limit.
    TooManySteps,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::BadAccess { pc, addr, size } => {
                write!(f, "insn {pc}: invalid access of {size} bytes at {addr:#x}")
            }
            Fault::UninitStack { pc, off } => {
                write!(f, "insn {pc}: read of uninitialised stack at fp{off:+}")
            }
            Fault::UninitReg { pc, reg } => write!(f, "insn {pc}: r{reg} read before written"),
            Fault::BadReg { pc, reg } => write!(f, "insn {pc}: write to r{reg}"),
            Fault::BadOpcode { pc, code } => write!(f, "insn {pc}: unknown opcode {code:#04x}"),
            Fault::BadCall { pc, id, why } => write!(f, "insn {pc}: helper #{id}: {why}"),
            Fault::OutOfProgram { pc } => write!(f, "insn {pc}: control leaves the program"),
            Fault::TooManySteps => write!(f, "more than {MAX_STEPS} instructions executed"),
        }
    }
}

impl std::error::Error for Fault {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    Ctx,
    Packet,
    Stack,
    /// Value `key` of the map at index `map` in `Env::maps`.
    MapValue {
        map: usize,
        key: usize,
    },
}

/// `struct xdp_md` offsets.
const CTX_DATA: u64 = 0;
const CTX_DATA_END: u64 = 4;
const CTX_DATA_META: u64 = 8;
const CTX_INGRESS_IFINDEX: u64 = 12;
const CTX_RX_QUEUE_INDEX: u64 = 16;
const CTX_EGRESS_IFINDEX: u64 = 20;
const CTX_SIZE: u64 = 24;

struct Vm<'e> {
    env: &'e mut Env,
    regs: [u64; 11],
    init: [bool; 11],
    stack: [u8; STACK_SIZE],
    stack_init: [bool; STACK_SIZE],
    /// Regions by slot; a pointer is `(slot + 1) << 32 | offset`.
    regions: Vec<Region>,
    pc: usize,
}

fn base(slot: usize) -> u64 {
    (slot as u64 + 1) << 32
}

impl Vm<'_> {
    fn slot_of(&mut self, r: Region) -> usize {
        match self.regions.iter().position(|&x| x == r) {
            Some(i) => i,
            None => {
                self.regions.push(r);
                self.regions.len() - 1
            }
        }
    }

    fn get(&self, reg: u8) -> Result<u64, Fault> {
        match self.init.get(reg as usize) {
            Some(true) => Ok(self.regs[reg as usize]),
            Some(false) => Err(Fault::UninitReg { pc: self.pc, reg }),
            None => Err(Fault::BadReg { pc: self.pc, reg }),
        }
    }

    fn set(&mut self, reg: u8, v: u64) -> Result<(), Fault> {
        if reg >= 10 {
            return Err(Fault::BadReg { pc: self.pc, reg });
        }
        self.regs[reg as usize] = v;
        self.init[reg as usize] = true;
        Ok(())
    }

    /// The region and offset `addr` points into, if `size` bytes fit.
    fn locate(&self, addr: u64, size: usize) -> Result<(Region, usize), Fault> {
        let bad = Fault::BadAccess {
            pc: self.pc,
            addr,
            size,
        };
        let slot = (addr >> 32).checked_sub(1).ok_or(bad.clone())? as usize;
        let region = *self.regions.get(slot).ok_or(bad.clone())?;
        let off = (addr & 0xffff_ffff) as usize;
        let len = match region {
            Region::Ctx => CTX_SIZE as usize,
            Region::Packet => self.env.linear.min(self.env.packet.len()),
            Region::Stack => STACK_SIZE,
            Region::MapValue { map, key } => match &self.env.maps[map].1 {
                Map::Array { values } => values[key].len(),
                _ => 0,
            },
        };
        if off.checked_add(size).map_or(true, |end| end > len) {
            return Err(bad);
        }
        Ok((region, off))
    }

    fn load(&mut self, addr: u64, size: usize) -> Result<u64, Fault> {
        let (region, off) = self.locate(addr, size)?;
        let bytes: &[u8] = match region {
            Region::Ctx => {
                let pkt = self.slot_of(Region::Packet);
                if size != 4 {
                    return Err(Fault::BadAccess {
                        pc: self.pc,
                        addr,
                        size,
                    });
                }
                return Ok(match off as u64 {
                    CTX_DATA | CTX_DATA_META => base(pkt),
                    CTX_DATA_END => base(pkt) + self.env.linear as u64,
                    CTX_INGRESS_IFINDEX => self.env.ingress_ifindex as u64,
                    CTX_RX_QUEUE_INDEX => self.env.rx_queue_index as u64,
                    CTX_EGRESS_IFINDEX => 0,
                    _ => {
                        return Err(Fault::BadAccess {
                            pc: self.pc,
                            addr,
                            size,
                        })
                    }
                });
            }
            Region::Packet => &self.env.packet[off..off + size],
            Region::Stack => {
                if let Some(i) = (off..off + size).find(|&i| !self.stack_init[i]) {
                    return Err(Fault::UninitStack {
                        pc: self.pc,
                        off: i as i64 - STACK_SIZE as i64,
                    });
                }
                &self.stack[off..off + size]
            }
            Region::MapValue { map, key } => match &self.env.maps[map].1 {
                Map::Array { values } => &values[key][off..off + size],
                _ => unreachable!("located above"),
            },
        };
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(b) & mask(size))
    }

    fn store_bytes(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let size = data.len();
        let (region, off) = self.locate(addr, size)?;
        match region {
            Region::Ctx => {
                return Err(Fault::BadAccess {
                    pc: self.pc,
                    addr,
                    size,
                })
            }
            Region::Packet => self.env.packet[off..off + size].copy_from_slice(data),
            Region::Stack => {
                self.stack[off..off + size].copy_from_slice(data);
                self.stack_init[off..off + size].fill(true);
            }
            Region::MapValue { map, key } => {
                if let Map::Array { values } = &mut self.env.maps[map].1 {
                    values[key][off..off + size].copy_from_slice(data);
                }
            }
        }
        Ok(())
    }

    fn store(&mut self, addr: u64, size: usize, v: u64) -> Result<(), Fault> {
        self.store_bytes(addr, &v.to_le_bytes()[..size])
    }

    fn read_bytes(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Fault> {
        (0..len as u64)
            .map(|i| self.load(addr + i, 1).map(|b| b as u8))
            .collect()
    }

    fn map_index(&self, v: u64, id: i32) -> Result<usize, Fault> {
        let bad = Fault::BadCall {
            pc: self.pc,
            id,
            why: "not a map",
        };
        if v & 0xffff_ffff_0000_0000 != MAP_TAG {
            return Err(bad);
        }
        let fd = v as u32 as i32;
        self.env.maps.iter().position(|(f, _)| *f == fd).ok_or(bad)
    }

    #[allow(non_upper_case_globals)] // the UAPI helper names, as patterns
    fn call(&mut self, id: i32) -> Result<u64, Fault> {
        self.env.calls.push(id);
        let arg = |vm: &Self, n: u8| vm.get(n);
        let pc = self.pc;
        let bad = |why| Fault::BadCall { pc, id, why };
        let ret = match id {
            BPF_FUNC_map_lookup_elem => {
                let m = self.map_index(arg(self, 1)?, id)?;
                let key = self.load(arg(self, 2)?, 4)? as usize;
                match &self.env.maps[m].1 {
                    Map::Array { values } if key < values.len() => {
                        base(self.slot_of(Region::MapValue { map: m, key }))
                    }
                    Map::Array { .. } => 0,
                    _ => return Err(bad("lookup in a map that is not an array")),
                }
            }
            BPF_FUNC_ktime_get_ns => self.env.ktime_ns,
            BPF_FUNC_tail_call => {
                let m = self.map_index(arg(self, 2)?, id)?;
                if self.env.maps[m].1 != Map::ProgArray {
                    return Err(bad("tail call through a map that is not a prog array"));
                }
                let fd = self.env.maps[m].0;
                self.env.tail_calls.push((fd, arg(self, 3)? as u32));
                (-2i64) as u64 // -ENOENT: the slot is empty
            }
            BPF_FUNC_perf_event_output => {
                let m = self.map_index(arg(self, 2)?, id)?;
                if self.env.maps[m].1 != Map::PerfEventArray {
                    return Err(bad("output to a map that is not a perf event array"));
                }
                let flags = arg(self, 3)?;
                let data = self.read_bytes(arg(self, 4)?, arg(self, 5)? as usize)?;
                let caplen = (flags >> 32) as usize;
                if flags as u32 != BPF_F_CURRENT_CPU as u32 {
                    return Err(bad("flags do not select the current CPU"));
                }
                if caplen > self.env.packet.len() {
                    (-14i64) as u64 // -EFAULT
                } else if self.env.perf_ring_full {
                    (-28i64) as u64 // -ENOSPC
                } else {
                    let mut sample = data;
                    sample.extend_from_slice(&self.env.packet[..caplen]);
                    let map_fd = self.env.maps[m].0;
                    self.env.outputs.push(Output {
                        map_fd,
                        flags,
                        sample,
                    });
                    0
                }
            }
            BPF_FUNC_xdp_get_buff_len => self.env.packet.len() as u64,
            BPF_FUNC_xdp_load_bytes => {
                let off = arg(self, 2)? as u32 as usize;
                let buf = arg(self, 3)?;
                let len = arg(self, 4)? as u32 as usize;
                if len == 0 {
                    return Err(bad("zero length"));
                }
                match off.checked_add(len) {
                    Some(end) if end <= self.env.packet.len() => {
                        let bytes = self.env.packet[off..end].to_vec();
                        self.store_bytes(buf, &bytes)?;
                        0
                    }
                    _ => (-22i64) as u64, // -EINVAL
                }
            }
            _ => return Err(bad("helper not modelled")),
        };
        for r in 1..=5 {
            self.init[r] = false;
        }
        Ok(ret)
    }
}

fn mask(size: usize) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn size_bytes(code: u8) -> usize {
    match code & 0x18 {
        BPF_W => 4,
        BPF_H => 2,
        BPF_B => 1,
        _ => 8,
    }
}

fn alu64(op: u8, d: u64, s: u64) -> Option<u64> {
    Some(match op {
        BPF_ADD => d.wrapping_add(s),
        BPF_SUB => d.wrapping_sub(s),
        BPF_MUL => d.wrapping_mul(s),
        BPF_DIV => d.checked_div(s).unwrap_or(0),
        BPF_MOD => d.checked_rem(s).unwrap_or(d),
        BPF_OR => d | s,
        BPF_AND => d & s,
        BPF_XOR => d ^ s,
        BPF_LSH => d.wrapping_shl(s as u32 & 63),
        BPF_RSH => d.wrapping_shr(s as u32 & 63),
        BPF_ARSH => ((d as i64) >> (s & 63)) as u64,
        BPF_MOV => s,
        BPF_NEG => d.wrapping_neg(),
        _ => return None,
    })
}

fn alu32(op: u8, d: u32, s: u32) -> Option<u32> {
    Some(match op {
        BPF_ADD => d.wrapping_add(s),
        BPF_SUB => d.wrapping_sub(s),
        BPF_MUL => d.wrapping_mul(s),
        BPF_DIV => d.checked_div(s).unwrap_or(0),
        BPF_MOD => d.checked_rem(s).unwrap_or(d),
        BPF_OR => d | s,
        BPF_AND => d & s,
        BPF_XOR => d ^ s,
        BPF_LSH => d.wrapping_shl(s & 31),
        BPF_RSH => d.wrapping_shr(s & 31),
        BPF_ARSH => ((d as i32) >> (s & 31)) as u32,
        BPF_MOV => s,
        BPF_NEG => d.wrapping_neg(),
        _ => return None,
    })
}

fn cond(op: u8, d: u64, s: u64, wide: bool) -> Option<bool> {
    let (sd, ss) = if wide {
        (d as i64, s as i64)
    } else {
        (d as u32 as i32 as i64, s as u32 as i32 as i64)
    };
    Some(match op {
        BPF_JEQ => d == s,
        BPF_JNE => d != s,
        BPF_JGT => d > s,
        BPF_JGE => d >= s,
        BPF_JLT => d < s,
        BPF_JLE => d <= s,
        BPF_JSET => d & s != 0,
        BPF_JSGT => sd > ss,
        BPF_JSGE => sd >= ss,
        BPF_JSLT => sd < ss,
        BPF_JSLE => sd <= ss,
        _ => return None,
    })
}

/// Run an XDP program (R1 = ctx) on `env` until `exit`; returns R0.
pub fn run(prog: &[Insn], env: &mut Env) -> Result<u64, Fault> {
    env.steps = 0;
    let mut vm = Vm {
        env,
        regs: [0; 11],
        init: [false; 11],
        stack: [0; STACK_SIZE],
        stack_init: [false; STACK_SIZE],
        regions: vec![Region::Ctx, Region::Packet, Region::Stack],
        pc: 0,
    };
    vm.regs[1] = base(0);
    vm.init[1] = true;
    vm.regs[10] = base(2) + STACK_SIZE as u64;
    vm.init[10] = true;
    loop {
        if vm.env.steps >= MAX_STEPS {
            return Err(Fault::TooManySteps);
        }
        vm.env.steps += 1;
        let pc = vm.pc;
        let insn = *prog.get(pc).ok_or(Fault::OutOfProgram { pc })?;
        let (code, dst, src) = (insn.code, insn.dst(), insn.src());
        let op = code & 0xf0;
        let bad_op = Fault::BadOpcode { pc, code };
        let mut next = pc as i64 + 1;
        match insn.class() {
            class @ (BPF_ALU | BPF_ALU64) => {
                let s = if code & BPF_X != 0 && op != BPF_END {
                    vm.get(src)?
                } else {
                    insn.imm as i64 as u64
                };
                let d = if op == BPF_MOV { 0 } else { vm.get(dst)? };
                let v = if op == BPF_END {
                    // BPF_ALU: convert from host order to the named order,
                    // i.e. swap when they differ; BPF_ALU64: always swap.
                    let to_be = code & BPF_TO_BE != 0;
                    let swap = class == BPF_ALU64 || to_be == cfg!(target_endian = "little");
                    match (insn.imm, swap) {
                        (16, true) => (d as u16).swap_bytes() as u64,
                        (32, true) => (d as u32).swap_bytes() as u64,
                        (64, true) => d.swap_bytes(),
                        (16, false) => d as u16 as u64,
                        (32, false) => d as u32 as u64,
                        (64, false) => d,
                        _ => return Err(bad_op),
                    }
                } else if class == BPF_ALU64 {
                    alu64(op, d, s).ok_or(bad_op)?
                } else {
                    alu32(op, d as u32, s as u32).ok_or(bad_op)? as u64
                };
                vm.set(dst, v)?;
            }
            BPF_LDX if code & 0xe0 == BPF_MEM => {
                let addr = vm.get(src)?.wrapping_add(insn.off as i64 as u64);
                let v = vm.load(addr, size_bytes(code))?;
                vm.set(dst, v)?;
            }
            BPF_STX if code & 0xe0 == BPF_MEM => {
                let addr = vm.get(dst)?.wrapping_add(insn.off as i64 as u64);
                let v = vm.get(src)?;
                vm.store(addr, size_bytes(code), v)?;
            }
            BPF_ST if code & 0xe0 == BPF_MEM => {
                let addr = vm.get(dst)?.wrapping_add(insn.off as i64 as u64);
                vm.store(addr, size_bytes(code), insn.imm as i64 as u64)?;
            }
            BPF_STX if code & 0xe0 == BPF_ATOMIC && insn.imm == BPF_ADD as i32 => {
                let size = size_bytes(code);
                if size != 4 && size != 8 {
                    return Err(bad_op);
                }
                let addr = vm.get(dst)?.wrapping_add(insn.off as i64 as u64);
                let v = vm.load(addr, size)?.wrapping_add(vm.get(src)?);
                vm.store(addr, size, v)?;
            }
            BPF_LD if insn.is_ld_imm64() => {
                let hi = prog.get(pc + 1).ok_or(Fault::OutOfProgram { pc })?;
                let lo = insn.imm as u32 as u64;
                let v = match src {
                    0 => ((hi.imm as u32 as u64) << 32) | lo,
                    BPF_PSEUDO_MAP_FD => MAP_TAG | lo,
                    _ => return Err(bad_op),
                };
                vm.set(dst, v)?;
                next += 1;
            }
            class @ (BPF_JMP | BPF_JMP32) => match op {
                BPF_JA if class == BPF_JMP => next += insn.off as i64,
                BPF_CALL if class == BPF_JMP && src == 0 => {
                    let r = vm.call(insn.imm)?;
                    vm.set(0, r)?;
                }
                BPF_EXIT if class == BPF_JMP => return vm.get(0),
                _ => {
                    let d = vm.get(dst)?;
                    let s = if code & BPF_X != 0 {
                        vm.get(src)?
                    } else {
                        insn.imm as i64 as u64
                    };
                    let (d, s) = if class == BPF_JMP {
                        (d, s)
                    } else {
                        (d as u32 as u64, s as u32 as u64)
                    };
                    if cond(op, d, s, class == BPF_JMP).ok_or(bad_op)? {
                        next += insn.off as i64;
                    }
                }
            },
            _ => return Err(bad_op),
        }
        if next < 0 || next as usize >= prog.len() {
            return Err(Fault::OutOfProgram { pc });
        }
        vm.pc = next as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::super::Reg::*;
    use super::*;

    fn run_on(prog: &[Insn], pkt: &[u8]) -> Result<u64, Fault> {
        run(prog, &mut Env::new(pkt))
    }

    /// `r0 = a; r1 = b; <insn>; exit` for each ALU / jump case.
    #[test]
    fn alu_semantics_table() {
        let table: &[(&str, u64, u64, Insn, u64)] = &[
            ("add64", u64::MAX, 2, Insn::alu64_reg(BPF_ADD, R0, R1), 1),
            (
                "add32 zero-extends",
                u64::MAX,
                2,
                Insn::alu32_reg(BPF_ADD, R0, R1),
                1,
            ),
            (
                "div64 by zero is 0",
                7,
                0,
                Insn::alu64_reg(BPF_DIV, R0, R1),
                0,
            ),
            (
                "mod64 by zero keeps dst",
                7,
                0,
                Insn::alu64_reg(BPF_MOD, R0, R1),
                7,
            ),
            (
                "mod32 by zero truncates",
                1 << 32 | 7,
                0,
                Insn::alu32_reg(BPF_MOD, R0, R1),
                7,
            ),
            ("div32", 100, 7, Insn::alu32_reg(BPF_DIV, R0, R1), 14),
            ("lsh64", 1, 40, Insn::alu64_reg(BPF_LSH, R0, R1), 1 << 40),
            (
                "rsh32",
                0x8000_0000,
                31,
                Insn::alu32_reg(BPF_RSH, R0, R1),
                1,
            ),
            (
                "arsh64",
                (-16i64) as u64,
                2,
                Insn::alu64_reg(BPF_ARSH, R0, R1),
                (-4i64) as u64,
            ),
            (
                "arsh32",
                0xffff_fff0,
                2,
                Insn::alu32_reg(BPF_ARSH, R0, R1),
                0xffff_fffc,
            ),
            ("neg64", 1, 0, Insn::neg64(R0), u64::MAX),
            (
                "mov32 truncates",
                0,
                u64::MAX,
                Insn::mov32_reg(R0, R1),
                0xffff_ffff,
            ),
            (
                "mov64 imm sign-extends",
                0,
                0,
                Insn::mov64_imm(R0, -1),
                u64::MAX,
            ),
            ("mov32 imm", 0, 0, Insn::mov32_imm(R0, -1), 0xffff_ffff),
            ("be16", 0xaabb_1234, 0, Insn::endian(true, R0, 16), 0x3412),
            (
                "be32",
                0x1122_3344,
                0,
                Insn::endian(true, R0, 32),
                0x4433_2211,
            ),
            (
                "le16 truncates",
                0xaabb_1234,
                0,
                Insn::endian(false, R0, 16),
                0x1234,
            ),
            (
                "and32 imm",
                u64::MAX,
                0,
                Insn::alu32_imm(BPF_AND, R0, 0xff),
                0xff,
            ),
            (
                "xor64 imm sign-extends",
                0,
                0,
                Insn::alu64_imm(BPF_XOR, R0, -1),
                u64::MAX,
            ),
        ];
        for (name, a, b, insn, want) in table {
            let mut p = Vec::new();
            p.extend(Insn::ld_imm64(R0, *a));
            p.extend(Insn::ld_imm64(R1, *b));
            p.push(*insn);
            p.push(Insn::exit());
            assert_eq!(run_on(&p, &[]), Ok(*want), "{name}");
        }
    }

    #[test]
    fn jump_semantics_table() {
        let table: &[(&str, u64, Insn, bool)] = &[
            ("jeq", 5, Insn::jmp_imm(BPF_JEQ, R0, 5, 2), true),
            ("jne", 5, Insn::jmp_imm(BPF_JNE, R0, 5, 2), false),
            (
                "jgt unsigned",
                u64::MAX,
                Insn::jmp_imm(BPF_JGT, R0, 1, 2),
                true,
            ),
            (
                "jsgt signed",
                u64::MAX,
                Insn::jmp_imm(BPF_JSGT, R0, 1, 2),
                false,
            ),
            ("jlt", 0, Insn::jmp_imm(BPF_JLT, R0, 1, 2), true),
            ("jle", 2, Insn::jmp_imm(BPF_JLE, R0, 1, 2), false),
            ("jset", 6, Insn::jmp_imm(BPF_JSET, R0, 1, 2), false),
            ("jsge", 0, Insn::jmp_imm(BPF_JSGE, R0, 0, 2), true),
            ("jslt", u64::MAX, Insn::jmp_imm(BPF_JSLT, R0, 0, 2), true),
            (
                "jmp32 ignores upper half",
                1 << 32,
                Insn::jmp32_imm(BPF_JEQ, R0, 0, 2),
                true,
            ),
            (
                "jmp32 signed",
                0xffff_ffff,
                Insn::jmp32_imm(BPF_JSLT, R0, 0, 2),
                true,
            ),
            (
                "jmp64 imm sign-extends",
                u64::MAX,
                Insn::jmp_imm(BPF_JEQ, R0, -1, 2),
                true,
            ),
        ];
        for (name, a, insn, taken) in table {
            let mut p = Vec::new();
            p.extend(Insn::ld_imm64(R0, *a));
            p.push(*insn);
            p.push(Insn::mov64_imm(R0, 0));
            p.push(Insn::ja(1));
            p.push(Insn::mov64_imm(R0, 1));
            p.push(Insn::exit());
            assert_eq!(run_on(&p, &[]), Ok(*taken as u64), "{name}");
        }
    }

    /// The usual XDP prologue: data/data_end from ctx, a guarded load.
    fn guarded_load(off: i16, guard: bool) -> Vec<Insn> {
        let mut p = vec![
            Insn::ldx_mem(BPF_W, R2, R1, 0),
            Insn::ldx_mem(BPF_W, R3, R1, 4),
            Insn::mov64_reg(R4, R2),
            Insn::alu64_imm(BPF_ADD, R4, off as i32 + 2),
        ];
        if guard {
            p.push(Insn::jmp_reg(BPF_JGT, R4, R3, 3));
        }
        p.push(Insn::ldx_mem(BPF_H, R0, R2, off));
        p.push(Insn::endian(true, R0, 16));
        p.push(Insn::exit());
        p.push(Insn::mov64_imm(R0, 99));
        p.push(Insn::exit());
        p
    }

    #[test]
    fn packet_access() {
        let pkt = [0u8, 1, 2, 3, 0x08, 0x00];
        assert_eq!(run_on(&guarded_load(4, true), &pkt), Ok(0x0800));
        assert_eq!(run_on(&guarded_load(5, true), &pkt), Ok(99));
        assert!(matches!(
            run_on(&guarded_load(5, false), &pkt),
            Err(Fault::BadAccess { pc: 4, size: 2, .. })
        ));
        // Bytes beyond the linear part are out of reach of direct loads.
        let mut env = Env::new(&pkt);
        env.linear = 4;
        assert_eq!(run(&guarded_load(4, true), &mut env), Ok(99));
    }

    #[test]
    fn faults() {
        let table: &[(&str, Vec<Insn>, Fault)] = &[
            (
                "uninit stack",
                vec![Insn::ldx_mem(BPF_W, R0, R10, -4), Insn::exit()],
                Fault::UninitStack { pc: 0, off: -4 },
            ),
            (
                "uninit reg",
                vec![Insn::mov64_reg(R0, R2), Insn::exit()],
                Fault::UninitReg { pc: 0, reg: 2 },
            ),
            (
                "r10 write",
                vec![Insn::mov64_imm(R10, 0), Insn::exit()],
                Fault::BadReg { pc: 0, reg: 10 },
            ),
            (
                "clobbered by call",
                vec![
                    Insn::mov64_imm(R2, 1),
                    Insn::call(BPF_FUNC_ktime_get_ns),
                    Insn::mov64_reg(R0, R2),
                    Insn::exit(),
                ],
                Fault::UninitReg { pc: 2, reg: 2 },
            ),
            (
                "store to ctx",
                vec![Insn::st_mem(BPF_W, R1, 12, 0), Insn::exit()],
                Fault::BadAccess {
                    pc: 0,
                    addr: 1 << 32 | 12,
                    size: 4,
                },
            ),
            (
                "falls off",
                vec![Insn::mov64_imm(R0, 0)],
                Fault::OutOfProgram { pc: 0 },
            ),
            (
                "below the stack",
                vec![Insn::st_mem(BPF_DW, R10, -520, 0), Insn::exit()],
                Fault::BadAccess {
                    pc: 0,
                    addr: (3 << 32) - 8,
                    size: 8,
                },
            ),
            ("loops", vec![Insn::ja(-1)], Fault::TooManySteps),
        ];
        for (name, p, want) in table {
            assert_eq!(run_on(p, &[1, 2, 3]).as_ref(), Err(want), "{name}");
        }
    }

    #[test]
    fn helpers() {
        let mut p = vec![Insn::mov64_reg(R6, R1)];
        // counters[0] += 1 through map_lookup_elem.
        p.push(Insn::st_mem(BPF_W, R10, -4, 0));
        p.extend(Insn::ld_map_fd(R1, 8));
        p.push(Insn::mov64_reg(R2, R10));
        p.push(Insn::alu64_imm(BPF_ADD, R2, -4));
        p.push(Insn::call(BPF_FUNC_map_lookup_elem));
        p.push(Insn::jmp_imm(BPF_JEQ, R0, 0, 100));
        p.push(Insn::mov64_imm(R1, 1));
        p.push(Insn::atomic(BPF_DW, BPF_ADD as i32, R0, R1, 8));
        // Bytes 6..8 (beyond the linear part) with xdp_load_bytes.
        p.push(Insn::mov64_reg(R1, R6));
        p.push(Insn::mov64_imm(R2, 6));
        p.push(Insn::mov64_reg(R3, R10));
        p.push(Insn::alu64_imm(BPF_ADD, R3, -16));
        p.push(Insn::mov64_imm(R4, 2));
        p.push(Insn::call(BPF_FUNC_xdp_load_bytes));
        p.push(Insn::ldx_mem(BPF_H, R7, R10, -16));
        // Output the 2 bytes at fp-16 plus 3 packet bytes.
        p.push(Insn::mov64_reg(R1, R6));
        p.extend(Insn::ld_map_fd(R2, 9));
        p.extend(Insn::ld_imm64(R3, 3 << 32 | BPF_F_CURRENT_CPU));
        p.push(Insn::mov64_reg(R4, R10));
        p.push(Insn::alu64_imm(BPF_ADD, R4, -16));
        p.push(Insn::mov64_imm(R5, 2));
        p.push(Insn::call(BPF_FUNC_perf_event_output));
        p.push(Insn::mov64_reg(R1, R6));
        p.push(Insn::call(BPF_FUNC_xdp_get_buff_len));
        p.push(Insn::alu64_reg(BPF_ADD, R0, R7));
        p.push(Insn::exit());
        let mut env = Env::new(&[10, 11, 12, 13, 14, 15, 0xaa, 0xbb]);
        env.linear = 4;
        env.maps = vec![
            (
                8,
                Map::Array {
                    values: vec![vec![0; 16]],
                },
            ),
            (9, Map::PerfEventArray),
        ];
        let r = run(&p, &mut env);
        assert_eq!(r, Ok(8 + 0xbbaa));
        assert_eq!(
            env.maps[0].1,
            Map::Array {
                values: vec![vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]]
            }
        );
        assert_eq!(
            env.outputs,
            vec![Output {
                map_fd: 9,
                flags: 3 << 32 | BPF_F_CURRENT_CPU,
                sample: vec![0xaa, 0xbb, 10, 11, 12],
            }]
        );
        // Loading past the end fails with -EINVAL.
        let p = [
            Insn::mov64_imm(R2, 7),
            Insn::mov64_reg(R3, R10),
            Insn::alu64_imm(BPF_ADD, R3, -8),
            Insn::mov64_imm(R4, 2),
            Insn::call(BPF_FUNC_xdp_load_bytes),
            Insn::exit(),
        ];
        assert_eq!(run_on(&p, &[0; 8]), Ok((-22i64) as u64));
    }
}
