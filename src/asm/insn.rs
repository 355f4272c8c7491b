//! eBPF instruction encoding: registers, UAPI opcode constants and one
//! constructor per encoding shape, named after the kernel's `filter.h`
//! macros.
//!
//! An instruction is 8 bytes (`struct bpf_insn`):
//!
//! ```text
//!  byte 0      byte 1           bytes 2-3     bytes 4-7
//! +-----------+-------+-------+-------------+---------------------+
//! |  opcode   | src   | dst   |  off (i16)  |      imm (i32)      |
//! +-----------+-------+-------+-------------+---------------------+
//!              hi nib  lo nib
//!
//! opcode, ALU/JMP classes:      opcode, LD/LDX/ST/STX classes:
//!   7..4  3      2..0             7..5  4..3  2..0
//! +------+-----+-------+        +------+-----+-------+
//! |  op  | K/X | class |        | mode | size| class |
//! +------+-----+-------+        +------+-----+-------+
//! ```
//!
//! Multi-byte fields are in host byte order; the register nibbles follow
//! the little-endian bitfield layout of x86_64 and aarch64.

// Instruction classes.
pub const BPF_LD: u8 = 0x00;
pub const BPF_LDX: u8 = 0x01;
pub const BPF_ST: u8 = 0x02;
pub const BPF_STX: u8 = 0x03;
pub const BPF_ALU: u8 = 0x04;
pub const BPF_JMP: u8 = 0x05;
pub const BPF_JMP32: u8 = 0x06;
pub const BPF_ALU64: u8 = 0x07;

// Load/store sizes.
pub const BPF_W: u8 = 0x00;
pub const BPF_H: u8 = 0x08;
pub const BPF_B: u8 = 0x10;
pub const BPF_DW: u8 = 0x18;

// Load/store modes.
pub const BPF_IMM: u8 = 0x00;
pub const BPF_ABS: u8 = 0x20;
pub const BPF_IND: u8 = 0x40;
pub const BPF_MEM: u8 = 0x60;
pub const BPF_ATOMIC: u8 = 0xc0;
/// Legacy name of [`BPF_ATOMIC`] with `imm` = [`BPF_ADD`].
pub const BPF_XADD: u8 = 0xc0;

// Operand source.
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;

// ALU operations.
pub const BPF_ADD: u8 = 0x00;
pub const BPF_SUB: u8 = 0x10;
pub const BPF_MUL: u8 = 0x20;
pub const BPF_DIV: u8 = 0x30;
pub const BPF_OR: u8 = 0x40;
pub const BPF_AND: u8 = 0x50;
pub const BPF_LSH: u8 = 0x60;
pub const BPF_RSH: u8 = 0x70;
pub const BPF_NEG: u8 = 0x80;
pub const BPF_MOD: u8 = 0x90;
pub const BPF_XOR: u8 = 0xa0;
pub const BPF_MOV: u8 = 0xb0;
pub const BPF_ARSH: u8 = 0xc0;
pub const BPF_END: u8 = 0xd0;

// Byte-swap direction for BPF_END (in the source bit).
pub const BPF_TO_LE: u8 = 0x00;
pub const BPF_TO_BE: u8 = 0x08;

// Jump operations.
pub const BPF_JA: u8 = 0x00;
pub const BPF_JEQ: u8 = 0x10;
pub const BPF_JGT: u8 = 0x20;
pub const BPF_JGE: u8 = 0x30;
pub const BPF_JSET: u8 = 0x40;
pub const BPF_JNE: u8 = 0x50;
pub const BPF_JSGT: u8 = 0x60;
pub const BPF_JSGE: u8 = 0x70;
pub const BPF_CALL: u8 = 0x80;
pub const BPF_EXIT: u8 = 0x90;
pub const BPF_JLT: u8 = 0xa0;
pub const BPF_JLE: u8 = 0xb0;
pub const BPF_JSLT: u8 = 0xc0;
pub const BPF_JSLE: u8 = 0xd0;

// Atomic operation modifiers (in `imm` of BPF_ATOMIC).
pub const BPF_FETCH: i32 = 0x01;
pub const BPF_XCHG: i32 = 0xe0 | BPF_FETCH;
pub const BPF_CMPXCHG: i32 = 0xf0 | BPF_FETCH;

// Source register values of BPF_LD | BPF_IMM | BPF_DW.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
// Source register value of BPF_CALL for a bpf-to-bpf call.
pub const BPF_PSEUDO_CALL: u8 = 1;

// Helper function ids (`enum bpf_func_id`), spelled as in the UAPI header.
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_map_lookup_elem: i32 = 1;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_map_update_elem: i32 = 2;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_ktime_get_ns: i32 = 5;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_trace_printk: i32 = 6;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_get_smp_processor_id: i32 = 8;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_tail_call: i32 = 12;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_perf_event_output: i32 = 25;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_xdp_get_buff_len: i32 = 188;
#[allow(non_upper_case_globals)]
pub const BPF_FUNC_xdp_load_bytes: i32 = 189;

/// `flags` of `bpf_perf_event_output`: write to the current CPU's ring.
pub const BPF_F_CURRENT_CPU: u64 = 0xffff_ffff;

/// Name of a helper as the kernel prints it, for the disassembler.
#[allow(non_upper_case_globals)]
pub fn helper_name(id: i32) -> Option<&'static str> {
    Some(match id {
        BPF_FUNC_map_lookup_elem => "bpf_map_lookup_elem",
        BPF_FUNC_map_update_elem => "bpf_map_update_elem",
        BPF_FUNC_ktime_get_ns => "bpf_ktime_get_ns",
        BPF_FUNC_trace_printk => "bpf_trace_printk",
        BPF_FUNC_get_smp_processor_id => "bpf_get_smp_processor_id",
        BPF_FUNC_tail_call => "bpf_tail_call",
        BPF_FUNC_perf_event_output => "bpf_perf_event_output",
        BPF_FUNC_xdp_get_buff_len => "bpf_xdp_get_buff_len",
        BPF_FUNC_xdp_load_bytes => "bpf_xdp_load_bytes",
        _ => return None,
    })
}

/// An eBPF register. R10 is the read-only frame pointer.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reg {
    R0 = 0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
}

impl Reg {
    /// The register numbered `n`, if there is one.
    pub const fn from_u8(n: u8) -> Option<Reg> {
        use Reg::*;
        Some(match n {
            0 => R0,
            1 => R1,
            2 => R2,
            3 => R3,
            4 => R4,
            5 => R5,
            6 => R6,
            7 => R7,
            8 => R8,
            9 => R9,
            10 => R10,
            _ => return None,
        })
    }
}

/// One eBPF instruction slot (`struct bpf_insn`). `regs` holds dst in the
/// low nibble and src in the high nibble.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const fn regs(dst: Reg, src: Reg) -> u8 {
    ((src as u8) << 4) | (dst as u8)
}

impl Insn {
    /// An instruction from its raw fields.
    pub const fn raw(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: regs(dst, src),
            off,
            imm,
        }
    }

    /// The destination register number (low nibble).
    pub const fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    /// The source register number (high nibble).
    pub const fn src(&self) -> u8 {
        self.regs >> 4
    }
    /// The instruction class (`BPF_CLASS`).
    pub const fn class(&self) -> u8 {
        self.code & 0x07
    }

    /// `dst op= src`, 64 bits (`BPF_ALU64_REG`).
    pub const fn alu64_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::raw(BPF_ALU64 | op | BPF_X, dst, src, 0, 0)
    }
    /// `dst op= imm`, 64 bits, imm sign-extended (`BPF_ALU64_IMM`).
    pub const fn alu64_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::raw(BPF_ALU64 | op | BPF_K, dst, Reg::R0, 0, imm)
    }
    /// `dst op= src`, 32 bits, upper half zeroed (`BPF_ALU32_REG`).
    pub const fn alu32_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::raw(BPF_ALU | op | BPF_X, dst, src, 0, 0)
    }
    /// `dst op= imm`, 32 bits, upper half zeroed (`BPF_ALU32_IMM`).
    pub const fn alu32_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::raw(BPF_ALU | op | BPF_K, dst, Reg::R0, 0, imm)
    }
    /// `dst = src` (`BPF_MOV64_REG`).
    pub const fn mov64_reg(dst: Reg, src: Reg) -> Insn {
        Insn::alu64_reg(BPF_MOV, dst, src)
    }
    /// `dst = imm` sign-extended to 64 bits (`BPF_MOV64_IMM`).
    pub const fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu64_imm(BPF_MOV, dst, imm)
    }
    /// `dst = (u32)src` (`BPF_MOV32_REG`).
    pub const fn mov32_reg(dst: Reg, src: Reg) -> Insn {
        Insn::alu32_reg(BPF_MOV, dst, src)
    }
    /// `dst = (u32)imm` (`BPF_MOV32_IMM`).
    pub const fn mov32_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu32_imm(BPF_MOV, dst, imm)
    }
    /// `dst = -dst`, 64 bits.
    pub const fn neg64(dst: Reg) -> Insn {
        Insn::raw(BPF_ALU64 | BPF_NEG, dst, Reg::R0, 0, 0)
    }
    /// `dst = -dst`, 32 bits.
    pub const fn neg32(dst: Reg) -> Insn {
        Insn::raw(BPF_ALU | BPF_NEG, dst, Reg::R0, 0, 0)
    }
    /// Byte-swap the low `bits` (16, 32, 64) of `dst` to big-endian
    /// (`to_be`) or little-endian, zeroing the rest (`BPF_ENDIAN`).
    pub const fn endian(to_be: bool, dst: Reg, bits: i32) -> Insn {
        let dir = if to_be { BPF_TO_BE } else { BPF_TO_LE };
        Insn::raw(BPF_ALU | BPF_END | dir, dst, Reg::R0, 0, bits)
    }
    /// `dst = *(size *)(src + off)` (`BPF_LDX_MEM`).
    pub const fn ldx_mem(size: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::raw(BPF_LDX | size | BPF_MEM, dst, src, off, 0)
    }
    /// `*(size *)(dst + off) = src` (`BPF_STX_MEM`).
    pub const fn stx_mem(size: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::raw(BPF_STX | size | BPF_MEM, dst, src, off, 0)
    }
    /// `*(size *)(dst + off) = imm` (`BPF_ST_MEM`).
    pub const fn st_mem(size: u8, dst: Reg, off: i16, imm: i32) -> Insn {
        Insn::raw(BPF_ST | size | BPF_MEM, dst, Reg::R0, off, imm)
    }
    /// `lock *(size *)(dst + off) op= src`, `size` W or DW (`BPF_ATOMIC_OP`).
    pub const fn atomic(size: u8, op: i32, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::raw(BPF_STX | size | BPF_ATOMIC, dst, src, off, op)
    }
    /// `if dst op imm goto pc+off`, 64-bit compare (`BPF_JMP_IMM`).
    pub const fn jmp_imm(op: u8, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn::raw(BPF_JMP | op | BPF_K, dst, Reg::R0, off, imm)
    }
    /// `if dst op src goto pc+off`, 64-bit compare (`BPF_JMP_REG`).
    pub const fn jmp_reg(op: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::raw(BPF_JMP | op | BPF_X, dst, src, off, 0)
    }
    /// `if (u32)dst op imm goto pc+off` (`BPF_JMP32_IMM`).
    pub const fn jmp32_imm(op: u8, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn::raw(BPF_JMP32 | op | BPF_K, dst, Reg::R0, off, imm)
    }
    /// `if (u32)dst op (u32)src goto pc+off` (`BPF_JMP32_REG`).
    pub const fn jmp32_reg(op: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::raw(BPF_JMP32 | op | BPF_X, dst, src, off, 0)
    }
    /// `goto pc+off` (`BPF_JMP_A`).
    pub const fn ja(off: i16) -> Insn {
        Insn::raw(BPF_JMP | BPF_JA, Reg::R0, Reg::R0, off, 0)
    }
    /// Call helper `helper_id` (`BPF_EMIT_CALL`): R1-R5 are arguments and
    /// are clobbered, the result is in R0.
    pub const fn call(helper_id: i32) -> Insn {
        Insn::raw(BPF_JMP | BPF_CALL, Reg::R0, Reg::R0, 0, helper_id)
    }
    /// Return R0 (`BPF_EXIT_INSN`).
    pub const fn exit() -> Insn {
        Insn::raw(BPF_JMP | BPF_EXIT, Reg::R0, Reg::R0, 0, 0)
    }
    /// `dst = imm64` in two slots (`BPF_LD_IMM64`).
    pub const fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
        Insn::ld_imm64_raw(dst, Reg::R0, imm)
    }
    /// `dst = map` for the map behind file descriptor `fd`, in two slots
    /// (`BPF_LD_MAP_FD`); the kernel replaces it with the map's address.
    pub const fn ld_map_fd(dst: Reg, fd: i32) -> [Insn; 2] {
        let src = match Reg::from_u8(BPF_PSEUDO_MAP_FD) {
            Some(r) => r,
            None => Reg::R0,
        };
        Insn::ld_imm64_raw(dst, src, fd as u32 as u64)
    }
    const fn ld_imm64_raw(dst: Reg, src: Reg, imm: u64) -> [Insn; 2] {
        [
            Insn::raw(BPF_LD | BPF_DW | BPF_IMM, dst, src, 0, imm as u32 as i32),
            Insn {
                code: 0,
                regs: 0,
                off: 0,
                imm: (imm >> 32) as u32 as i32,
            },
        ]
    }

    /// Whether this is the first slot of a two-slot `BPF_LD_IMM64`.
    pub const fn is_ld_imm64(&self) -> bool {
        self.code == BPF_LD | BPF_DW | BPF_IMM
    }

    /// The 8 bytes of this instruction in host byte order.
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = self.regs;
        b[2..4].copy_from_slice(&self.off.to_ne_bytes());
        b[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        b
    }

    /// The instruction encoded by 8 bytes in host byte order.
    pub fn from_bytes(b: [u8; 8]) -> Insn {
        Insn {
            code: b[0],
            regs: b[1],
            off: i16::from_ne_bytes([b[2], b[3]]),
            imm: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// A program as the bytes `BPF_PROG_LOAD` takes: 8 bytes per slot, host
/// byte order.
pub fn to_bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

/// The program encoded by `bytes` (whose length must be a multiple of 8).
pub fn from_bytes(bytes: &[u8]) -> Option<Vec<Insn>> {
    if bytes.len() % 8 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| Insn::from_bytes(c.try_into().expect("chunk of 8")))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::Reg::*;
    use super::*;

    /// Each encoding shape against bytes checked with
    /// `llvm-mc -triple bpfel -show-encoding` (little-endian host).
    #[test]
    fn encodings_match_known_bytes() {
        let table: &[(Insn, [u8; 8])] = &[
            (Insn::mov64_reg(R6, R1), [0xbf, 0x16, 0, 0, 0, 0, 0, 0]),
            (Insn::mov64_imm(R0, 2), [0xb7, 0x00, 0, 0, 2, 0, 0, 0]),
            (
                Insn::mov32_imm(R0, -1),
                [0xb4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
            ),
            (Insn::mov32_reg(R3, R9), [0xbc, 0x93, 0, 0, 0, 0, 0, 0]),
            (
                Insn::ldx_mem(BPF_W, R2, R1, 0),
                [0x61, 0x12, 0, 0, 0, 0, 0, 0],
            ),
            (
                Insn::ldx_mem(BPF_B, R0, R7, 13),
                [0x71, 0x70, 13, 0, 0, 0, 0, 0],
            ),
            (
                Insn::ldx_mem(BPF_H, R0, R7, 12),
                [0x69, 0x70, 12, 0, 0, 0, 0, 0],
            ),
            (
                Insn::ldx_mem(BPF_DW, R1, R10, -16),
                [0x79, 0xa1, 0xf0, 0xff, 0, 0, 0, 0],
            ),
            (
                Insn::stx_mem(BPF_DW, R10, R1, -8),
                [0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0],
            ),
            (
                Insn::st_mem(BPF_W, R10, -4, 7),
                [0x62, 0x0a, 0xfc, 0xff, 7, 0, 0, 0],
            ),
            (
                Insn::alu64_imm(BPF_ADD, R2, 14),
                [0x07, 0x02, 0, 0, 14, 0, 0, 0],
            ),
            (
                Insn::alu32_imm(BPF_AND, R0, 0xffff),
                [0x54, 0, 0, 0, 0xff, 0xff, 0, 0],
            ),
            (
                Insn::alu32_reg(BPF_ADD, R1, R2),
                [0x0c, 0x21, 0, 0, 0, 0, 0, 0],
            ),
            (
                Insn::alu64_reg(BPF_SUB, R1, R2),
                [0x1f, 0x21, 0, 0, 0, 0, 0, 0],
            ),
            (
                Insn::alu32_imm(BPF_DIV, R1, 3),
                [0x34, 0x01, 0, 0, 3, 0, 0, 0],
            ),
            (
                Insn::alu32_reg(BPF_MOD, R1, R2),
                [0x9c, 0x21, 0, 0, 0, 0, 0, 0],
            ),
            (
                Insn::alu64_imm(BPF_ARSH, R1, 3),
                [0xc7, 0x01, 0, 0, 3, 0, 0, 0],
            ),
            (Insn::neg64(R3), [0x87, 0x03, 0, 0, 0, 0, 0, 0]),
            (Insn::endian(true, R1, 16), [0xdc, 0x01, 0, 0, 16, 0, 0, 0]),
            (Insn::endian(false, R1, 32), [0xd4, 0x01, 0, 0, 32, 0, 0, 0]),
            (
                Insn::jmp_reg(BPF_JGT, R2, R3, 4),
                [0x2d, 0x32, 4, 0, 0, 0, 0, 0],
            ),
            (
                Insn::jmp_imm(BPF_JEQ, R1, 0x800, 2),
                [0x15, 0x01, 2, 0, 0, 8, 0, 0],
            ),
            (
                Insn::jmp32_imm(BPF_JNE, R0, 0, -3),
                [0x56, 0, 0xfd, 0xff, 0, 0, 0, 0],
            ),
            (
                Insn::jmp32_reg(BPF_JLT, R1, R2, 1),
                [0xae, 0x21, 1, 0, 0, 0, 0, 0],
            ),
            (Insn::ja(5), [0x05, 0, 5, 0, 0, 0, 0, 0]),
            (
                Insn::call(BPF_FUNC_perf_event_output),
                [0x85, 0, 0, 0, 25, 0, 0, 0],
            ),
            (Insn::exit(), [0x95, 0, 0, 0, 0, 0, 0, 0]),
            (
                Insn::atomic(BPF_DW, BPF_ADD as i32, R1, R2, 0),
                [0xdb, 0x21, 0, 0, 0, 0, 0, 0],
            ),
        ];
        for (insn, want) in table {
            let got = insn.to_bytes();
            let want = if cfg!(target_endian = "little") {
                *want
            } else {
                // Big-endian hosts swap the off and imm fields.
                let mut w = *want;
                w[2..4].reverse();
                w[4..8].reverse();
                w
            };
            assert_eq!(got, want, "{insn:?}");
            assert_eq!(Insn::from_bytes(got), *insn);
        }
    }

    #[test]
    fn ld_imm64_takes_two_slots() {
        let bytes = to_bytes(&Insn::ld_imm64(R1, 0x1122_3344_5566_7788));
        assert_eq!(
            bytes,
            [0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]
        );
        let bytes = to_bytes(&Insn::ld_map_fd(R2, 5));
        assert_eq!(
            bytes,
            [0x18, 0x12, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(from_bytes(&bytes).unwrap(), Insn::ld_map_fd(R2, 5));
        assert!(from_bytes(&bytes[..12]).is_none());
    }

    #[test]
    fn register_nibbles() {
        let i = Insn::stx_mem(BPF_W, R10, R9, -4);
        assert_eq!((i.dst(), i.src()), (10, 9));
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        for n in 0..=10u8 {
            assert_eq!(Reg::from_u8(n).map(|r| r as u8), Some(n));
        }
        assert_eq!(Reg::from_u8(11), None);
    }
}
