//! Disassembler: one line per instruction, in the notation of the kernel
//! verifier log and `bpftool prog dump xlated`
//! (`   3: (61) r1 = *(u32 *)(r6 +0)`).

use super::insn::*;
use std::fmt::Write;

/// The whole program, one numbered line per instruction. The second slot
/// of a `BPF_LD_IMM64` gets no line of its own, as in bpftool.
pub fn disasm(insns: &[Insn]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < insns.len() {
        let next = insns.get(i + 1).copied();
        let _ = writeln!(out, "{i:4}: {}", disasm_insn(&insns[i], next));
        i += if insns[i].is_ld_imm64() { 2 } else { 1 };
    }
    out
}

fn alu_op(op: u8) -> Option<&'static str> {
    Some(match op {
        BPF_ADD => "+=",
        BPF_SUB => "-=",
        BPF_MUL => "*=",
        BPF_DIV => "/=",
        BPF_OR => "|=",
        BPF_AND => "&=",
        BPF_LSH => "<<=",
        BPF_RSH => ">>=",
        BPF_MOD => "%=",
        BPF_XOR => "^=",
        BPF_MOV => "=",
        BPF_ARSH => "s>>=",
        _ => return None,
    })
}

fn jmp_op(op: u8) -> Option<&'static str> {
    Some(match op {
        BPF_JEQ => "==",
        BPF_JGT => ">",
        BPF_JGE => ">=",
        BPF_JSET => "&",
        BPF_JNE => "!=",
        BPF_JSGT => "s>",
        BPF_JSGE => "s>=",
        BPF_JLT => "<",
        BPF_JLE => "<=",
        BPF_JSLT => "s<",
        BPF_JSLE => "s<=",
        _ => return None,
    })
}

fn size_name(code: u8) -> &'static str {
    match code & 0x18 {
        BPF_W => "u32",
        BPF_H => "u16",
        BPF_B => "u8",
        _ => "u64",
    }
}

/// One instruction, without its index. `next` is the following slot, read
/// for the upper half of a `BPF_LD_IMM64`.
pub fn disasm_insn(insn: &Insn, next: Option<Insn>) -> String {
    let code = insn.code;
    let (dst, src, off, imm) = (insn.dst(), insn.src(), insn.off, insn.imm);
    let op = code & 0xf0;
    let is_x = code & BPF_X != 0;
    let body = match insn.class() {
        class @ (BPF_ALU | BPF_ALU64) => {
            let r = if class == BPF_ALU64 { 'r' } else { 'w' };
            match op {
                BPF_NEG => format!("{r}{dst} = -{r}{dst}"),
                BPF_END => {
                    let kind = match (class, is_x) {
                        (BPF_ALU64, _) => "bswap",
                        (_, true) => "be",
                        _ => "le",
                    };
                    format!("r{dst} = {kind}{imm} r{dst}")
                }
                _ => match alu_op(op) {
                    Some(s) if is_x => format!("{r}{dst} {s} {r}{src}"),
                    Some(s) => format!("{r}{dst} {s} {imm}"),
                    None => "unknown opcode".into(),
                },
            }
        }
        BPF_LDX if code & 0xe0 == BPF_MEM => {
            format!("r{dst} = *({} *)(r{src} {off:+})", size_name(code))
        }
        BPF_STX if code & 0xe0 == BPF_MEM => {
            format!("*({} *)(r{dst} {off:+}) = r{src}", size_name(code))
        }
        BPF_STX if code & 0xe0 == BPF_ATOMIC => {
            let sz = size_name(code);
            match imm {
                x if x & !BPF_FETCH == BPF_ADD as i32
                    || x & !BPF_FETCH == BPF_AND as i32
                    || x & !BPF_FETCH == BPF_OR as i32
                    || x & !BPF_FETCH == BPF_XOR as i32 =>
                {
                    let s = alu_op((x & !BPF_FETCH) as u8).unwrap_or("?");
                    if x & BPF_FETCH != 0 {
                        let name = match (x & !BPF_FETCH) as u8 {
                            BPF_ADD => "add",
                            BPF_AND => "and",
                            BPF_OR => "or",
                            _ => "xor",
                        };
                        format!("r{src} = atomic_fetch_{name}(({sz} *)(r{dst} {off:+}), r{src})")
                    } else {
                        format!("lock *({sz} *)(r{dst} {off:+}) {s} r{src}")
                    }
                }
                BPF_XCHG => format!("r{src} = xchg_{sz}((r{dst} {off:+}), r{src})"),
                BPF_CMPXCHG => {
                    format!("r0 = cmpxchg_{sz}((r{dst} {off:+}), r0, r{src})")
                }
                _ => "unknown atomic opcode".into(),
            }
        }
        BPF_ST if code & 0xe0 == BPF_MEM => {
            format!("*({} *)(r{dst} {off:+}) = {imm}", size_name(code))
        }
        BPF_LD if code & 0xe0 == BPF_ABS => {
            format!("r0 = *({} *)skb[{imm}]", size_name(code))
        }
        BPF_LD if code & 0xe0 == BPF_IND => {
            format!("r0 = *({} *)skb[r{src} + {imm}]", size_name(code))
        }
        BPF_LD if insn.is_ld_imm64() => {
            let hi = next.map_or(0, |n| n.imm as u32 as u64);
            let v = (hi << 32) | imm as u32 as u64;
            match src {
                BPF_PSEUDO_MAP_FD => format!("r{dst} = map[fd:{imm}]"),
                BPF_PSEUDO_MAP_VALUE => {
                    format!("r{dst} = map[fd:{imm}][0]+{}", next.map_or(0, |n| n.imm))
                }
                _ => format!("r{dst} = {v:#x}"),
            }
        }
        class @ (BPF_JMP | BPF_JMP32) => {
            let r = if class == BPF_JMP { 'r' } else { 'w' };
            match op {
                BPF_JA if class == BPF_JMP => format!("goto pc{off:+}"),
                BPF_JA => format!("gotol pc{imm:+}"),
                BPF_CALL if src == BPF_PSEUDO_CALL => format!("call pc{imm:+}"),
                BPF_CALL => match helper_name(imm) {
                    Some(name) => format!("call {name}#{imm}"),
                    None => format!("call unknown#{imm}"),
                },
                BPF_EXIT => "exit".into(),
                _ => match jmp_op(op) {
                    Some(s) if is_x => format!("if {r}{dst} {s} {r}{src} goto pc{off:+}"),
                    Some(s) => format!("if {r}{dst} {s} {:#x} goto pc{off:+}", imm),
                    None => "unknown opcode".into(),
                },
            }
        }
        _ => "unknown opcode".into(),
    };
    format!("({code:02x}) {body}")
}

#[cfg(test)]
mod tests {
    use super::super::Reg::*;
    use super::*;

    #[test]
    fn lines_read_like_the_verifier_log() {
        let table: &[(Insn, &str)] = &[
            (Insn::mov64_reg(R6, R1), "(bf) r6 = r1"),
            (Insn::mov32_imm(R0, 2), "(b4) w0 = 2"),
            (Insn::ldx_mem(BPF_W, R1, R6, 0), "(61) r1 = *(u32 *)(r6 +0)"),
            (
                Insn::ldx_mem(BPF_H, R0, R7, 12),
                "(69) r0 = *(u16 *)(r7 +12)",
            ),
            (
                Insn::stx_mem(BPF_DW, R10, R1, -8),
                "(7b) *(u64 *)(r10 -8) = r1",
            ),
            (Insn::st_mem(BPF_B, R10, -1, 0), "(72) *(u8 *)(r10 -1) = 0"),
            (Insn::alu64_imm(BPF_ADD, R2, -8), "(07) r2 += -8"),
            (Insn::alu32_reg(BPF_MUL, R0, R1), "(2c) w0 *= w1"),
            (Insn::alu64_imm(BPF_ARSH, R3, 1), "(c7) r3 s>>= 1"),
            (Insn::neg32(R0), "(84) w0 = -w0"),
            (Insn::endian(true, R0, 16), "(dc) r0 = be16 r0"),
            (Insn::endian(false, R0, 64), "(d4) r0 = le64 r0"),
            (
                Insn::jmp_reg(BPF_JGT, R2, R3, 4),
                "(2d) if r2 > r3 goto pc+4",
            ),
            (
                Insn::jmp_imm(BPF_JEQ, R0, 0x800, -2),
                "(15) if r0 == 0x800 goto pc-2",
            ),
            (
                Insn::jmp32_imm(BPF_JSET, R0, 2, 0),
                "(46) if w0 & 0x2 goto pc+0",
            ),
            (
                Insn::jmp32_reg(BPF_JSLE, R0, R1, 1),
                "(de) if w0 s<= w1 goto pc+1",
            ),
            (Insn::ja(7), "(05) goto pc+7"),
            (
                Insn::call(BPF_FUNC_perf_event_output),
                "(85) call bpf_perf_event_output#25",
            ),
            (Insn::call(9999), "(85) call unknown#9999"),
            (Insn::exit(), "(95) exit"),
            (
                Insn::atomic(BPF_DW, BPF_ADD as i32, R0, R1, 8),
                "(db) lock *(u64 *)(r0 +8) += r1",
            ),
            (
                Insn {
                    code: 0xff,
                    regs: 0,
                    off: 0,
                    imm: 0,
                },
                "(ff) unknown opcode",
            ),
        ];
        for (insn, want) in table {
            assert_eq!(disasm_insn(insn, None), *want);
        }
    }

    #[test]
    fn whole_program_numbers_slots() {
        let mut p = vec![Insn::mov64_reg(R6, R1)];
        p.extend(Insn::ld_map_fd(R2, 5));
        p.extend(Insn::ld_imm64(R3, 0x1_0000_0002));
        p.push(Insn::exit());
        assert_eq!(
            disasm(&p),
            "   0: (bf) r6 = r1\n   1: (18) r2 = map[fd:5]\n   3: (18) r3 = 0x100000002\n   5: (95) exit\n"
        );
    }
}
