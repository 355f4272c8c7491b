//! The reference classic-BPF interpreter, with the semantics libpcap
//! applies when it filters a savefile (and so `tcpdump -r`): A, X and M[]
//! start at zero, a packet load that does not fit the captured bytes
//! rejects the packet, so does a run-time division or modulo by zero, a
//! shift by 32 or more gives zero, `len` is the wire length. The eBPF
//! backend is tested against this function.

use super::validate::ja_target;
use super::*;

/// Upper bound on executed instructions, so that a looping program (only
/// possible through a backward `ja`) cannot hang the caller.
const MAX_STEPS: usize = 1 << 20;

/// Run `prog` on a packet of which `pkt` was captured and `wirelen` bytes
/// were on the wire. Returns the filter's result: 0 rejects, anything else
/// accepts (libpcap's snapshot length). An invalid instruction, a jump out
/// of the program or too many steps also give 0.
pub fn interpret(prog: &[Insn], pkt: &[u8], wirelen: u32) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; BPF_MEMWORDS as usize];
    let buflen = pkt.len() as u64;
    // Bytes [off, off + size) of the packet, big-endian, if captured.
    let load = |off: u64, size: u64| -> Option<u32> {
        if off + size > buflen {
            return None;
        }
        let b = &pkt[off as usize..(off + size) as usize];
        Some(b.iter().fold(0u32, |v, &byte| (v << 8) | byte as u32))
    };
    let size_of = |code: u16| match size(code) {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    };
    let mut pc = 0usize;
    for _ in 0..MAX_STEPS {
        let Some(&insn) = prog.get(pc) else { return 0 };
        let Insn { code, jt, jf, k } = insn;
        pc += 1;
        match class(code) {
            BPF_RET => {
                return match rval(code) {
                    BPF_K => k,
                    BPF_A => a,
                    _ => 0,
                }
            }
            BPF_LD => {
                a = match mode(code) {
                    BPF_ABS => match load(k as u64, size_of(code)) {
                        Some(v) => v,
                        None => return 0,
                    },
                    BPF_IND => match load(x as u64 + k as u64, size_of(code)) {
                        Some(v) => v,
                        None => return 0,
                    },
                    BPF_LEN => wirelen,
                    BPF_IMM => k,
                    BPF_MEM if k < BPF_MEMWORDS => mem[k as usize],
                    _ => return 0,
                }
            }
            BPF_LDX => {
                x = match mode(code) {
                    BPF_MSH => match load(k as u64, 1) {
                        Some(v) => (v & 0xf) << 2,
                        None => return 0,
                    },
                    BPF_LEN => wirelen,
                    BPF_IMM => k,
                    BPF_MEM if k < BPF_MEMWORDS => mem[k as usize],
                    _ => return 0,
                }
            }
            BPF_ST | BPF_STX if k < BPF_MEMWORDS => {
                mem[k as usize] = if class(code) == BPF_ST { a } else { x };
            }
            BPF_ALU => {
                let v = if src(code) == BPF_X { x } else { k };
                a = match op(code) {
                    BPF_ADD => a.wrapping_add(v),
                    BPF_SUB => a.wrapping_sub(v),
                    BPF_MUL => a.wrapping_mul(v),
                    BPF_DIV | BPF_MOD if v == 0 => return 0,
                    BPF_DIV => a / v,
                    BPF_MOD => a % v,
                    BPF_AND => a & v,
                    BPF_OR => a | v,
                    BPF_XOR => a ^ v,
                    BPF_LSH => a.checked_shl(v).unwrap_or(0),
                    BPF_RSH => a.checked_shr(v).unwrap_or(0),
                    BPF_NEG => a.wrapping_neg(),
                    _ => return 0,
                }
            }
            BPF_JMP if op(code) == BPF_JA => match ja_target(pc - 1, k, prog.len()) {
                Some(t) => pc = t,
                None => return 0,
            },
            BPF_JMP => {
                let v = if src(code) == BPF_X { x } else { k };
                let taken = match op(code) {
                    BPF_JEQ => a == v,
                    BPF_JGT => a > v,
                    BPF_JGE => a >= v,
                    BPF_JSET => a & v != 0,
                    _ => return 0,
                };
                pc += if taken { jt } else { jf } as usize;
            }
            BPF_MISC => match miscop(code) {
                BPF_TAX => x = a,
                BPF_TXA => a = x,
                _ => return 0,
            },
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(prog: &[Insn], pkt: &[u8]) -> u32 {
        interpret(prog, pkt, pkt.len() as u32 + 100)
    }
    const RET_A: Insn = Insn::stmt(BPF_RET | BPF_A, 0);
    fn ld(code: u16, k: u32) -> Insn {
        Insn::stmt(code, k)
    }

    /// Each case: program (ending in `ret a` unless it returns itself),
    /// packet, expected result.
    #[test]
    fn semantics_table() {
        let pkt: Vec<u8> = (0x10..0x30).collect(); // 32 bytes
        let table: &[(&str, Vec<Insn>, u32)] = &[
            (
                "ld w abs",
                vec![ld(BPF_LD | BPF_W | BPF_ABS, 1)],
                0x1112_1314,
            ),
            ("ld h abs", vec![ld(BPF_LD | BPF_H | BPF_ABS, 30)], 0x2e2f),
            ("ld b abs", vec![ld(BPF_LD | BPF_B | BPF_ABS, 31)], 0x2f),
            (
                "ld h abs oob by one",
                vec![ld(BPF_LD | BPF_H | BPF_ABS, 31)],
                0,
            ),
            (
                "ld w abs huge k",
                vec![ld(BPF_LD | BPF_W | BPF_ABS, u32::MAX - 1)],
                0,
            ),
            (
                "ld len is wirelen",
                vec![ld(BPF_LD | BPF_W | BPF_LEN, 0)],
                132,
            ),
            (
                "ldx len",
                vec![ld(BPF_LDX | BPF_W | BPF_LEN, 0), ld(BPF_MISC | BPF_TXA, 0)],
                132,
            ),
            (
                "msh",
                vec![ld(BPF_LDX | BPF_B | BPF_MSH, 5), ld(BPF_MISC | BPF_TXA, 0)],
                (0x15 & 0xf) << 2,
            ),
            (
                "msh oob",
                vec![ld(BPF_LDX | BPF_B | BPF_MSH, 32), ld(BPF_LD | BPF_IMM, 7)],
                0,
            ),
            (
                "ind",
                vec![ld(BPF_LDX | BPF_IMM, 4), ld(BPF_LD | BPF_H | BPF_IND, 2)],
                0x1617,
            ),
            (
                "ind without wrap",
                vec![
                    ld(BPF_LDX | BPF_IMM, u32::MAX),
                    ld(BPF_LD | BPF_B | BPF_IND, 2),
                ],
                0,
            ),
            (
                "div x by zero rejects",
                vec![ld(BPF_LD | BPF_IMM, 9), ld(BPF_ALU | BPF_DIV | BPF_X, 0)],
                0,
            ),
            (
                "mod x",
                vec![
                    ld(BPF_LDX | BPF_IMM, 4),
                    ld(BPF_LD | BPF_IMM, 11),
                    ld(BPF_ALU | BPF_MOD | BPF_X, 0),
                ],
                3,
            ),
            (
                "lsh x 32 gives 0",
                vec![
                    ld(BPF_LDX | BPF_IMM, 32),
                    ld(BPF_LD | BPF_IMM, 1),
                    ld(BPF_ALU | BPF_LSH | BPF_X, 0),
                    ld(BPF_ALU | BPF_ADD | BPF_K, 5),
                ],
                5,
            ),
            (
                "neg and sub wrap",
                vec![
                    ld(BPF_LD | BPF_IMM, 1),
                    ld(BPF_ALU | BPF_NEG, 0),
                    ld(BPF_ALU | BPF_SUB | BPF_K, 1),
                ],
                0xffff_fffe,
            ),
            (
                "mul wraps",
                vec![
                    ld(BPF_LD | BPF_IMM, 0x8000_0001),
                    ld(BPF_ALU | BPF_MUL | BPF_K, 2),
                ],
                2,
            ),
            (
                "scratch",
                vec![
                    ld(BPF_LD | BPF_IMM, 77),
                    ld(BPF_ST, 15),
                    ld(BPF_LD | BPF_IMM, 0),
                    ld(BPF_LDX | BPF_MEM, 15),
                    ld(BPF_MISC | BPF_TXA, 0),
                ],
                77,
            ),
            (
                "jset and jgt",
                vec![
                    ld(BPF_LD | BPF_IMM, 6),
                    Insn::jump(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
                    ld(BPF_RET | BPF_K, 100),
                    Insn::jump(BPF_JMP | BPF_JGT | BPF_K, 5, 0, 1),
                    ld(BPF_RET | BPF_K, 200),
                    ld(BPF_RET | BPF_K, 300),
                ],
                200,
            ),
            (
                "backward ja loop counts to 3",
                vec![
                    ld(BPF_ALU | BPF_ADD | BPF_K, 1),
                    Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 3, 1, 0),
                    ld(BPF_JMP | BPF_JA, (-3i32) as u32),
                ],
                3,
            ),
            ("falls off the end", vec![ld(BPF_LD | BPF_IMM, 1)], 0),
        ];
        for (name, prog, want) in table {
            let mut p = prog.clone();
            if *name != "falls off the end" {
                p.push(RET_A);
            }
            assert_eq!(run(&p, &pkt), *want, "{name}");
        }
    }

    #[test]
    fn endless_loop_terminates() {
        let p = [
            ld(BPF_LD | BPF_IMM, 1),
            ld(BPF_JMP | BPF_JA, (-2i32) as u32),
        ];
        assert_eq!(interpret(&p, &[], 0), 0);
    }
}
