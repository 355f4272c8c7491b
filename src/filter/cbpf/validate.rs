//! The classic-BPF validator: the rules the kernel applies to a socket
//! filter before running it, so that every program the backend lowers is
//! one the kernel itself would have accepted.
//!
//! Rules: 1 to [`BPF_MAXINSNS`] instructions; only the opcodes the kernel
//! knows; no division or modulo by a constant zero and no constant shift by
//! 32 or more; scratch indices below [`BPF_MEMWORDS`]; jump targets inside
//! the program; the last instruction a `ret`; and no scratch word read on a
//! path where it was not written first.
//!
//! One deviation, taken from libpcap: an unconditional `ja` may jump
//! backwards (never to itself), because libpcap compiles `protochain` into
//! a loop. The backend bounds such loops.

use super::*;
use std::fmt;

/// Why a program is not valid, and at which instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub index: Option<usize>,
    pub msg: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "invalid classic BPF at instruction {i}: {}", self.msg),
            None => write!(f, "invalid classic BPF: {}", self.msg),
        }
    }
}

/// Whether `code` is an opcode the kernel's classic BPF accepts.
pub(crate) fn known_opcode(code: u16) -> bool {
    const ALU_OPS: [u16; 10] = [
        BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH,
    ];
    const JMP_OPS: [u16; 4] = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET];
    match class(code) {
        BPF_ALU => {
            code == BPF_ALU | BPF_NEG
                || (ALU_OPS.contains(&op(code)) && code & !(0xf0 | BPF_X) == BPF_ALU)
        }
        BPF_JMP => {
            code == BPF_JMP | BPF_JA
                || (JMP_OPS.contains(&op(code)) && code & !(0xf0 | BPF_X) == BPF_JMP)
        }
        _ => matches!(
            code,
            // BPF_LD
            0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50 | 0x80 | 0x00 | 0x60
            // BPF_LDX
            | 0x81 | 0xb1 | 0x01 | 0x61
            // BPF_ST, BPF_STX
            | 0x02 | 0x03
            // BPF_RET
            | 0x06 | 0x16
            // BPF_MISC
            | 0x07 | 0x87
        ),
    }
}

/// Where a `ja` at `pc` goes, if inside a program of `len` instructions.
pub(crate) fn ja_target(pc: usize, k: u32, len: usize) -> Option<usize> {
    let t = pc as i64 + 1 + k as i32 as i64;
    (0..len as i64).contains(&t).then_some(t as usize)
}

/// [`check`] as a filter error.
pub fn validate(prog: &[Insn]) -> Result<(), crate::filter::Error> {
    check(prog).map_err(|e| crate::filter::Error::new(e.to_string(), None))
}

/// Check `prog` against the kernel's classic-BPF rules (see the module doc).
pub fn check(prog: &[Insn]) -> Result<(), Invalid> {
    let bad = |index: usize, msg: String| Invalid {
        index: Some(index),
        msg,
    };
    if prog.is_empty() {
        return Err(Invalid {
            index: None,
            msg: "the program is empty".into(),
        });
    }
    if prog.len() > BPF_MAXINSNS {
        return Err(Invalid {
            index: None,
            msg: format!(
                "{} instructions, more than the limit of {BPF_MAXINSNS}",
                prog.len()
            ),
        });
    }
    let len = prog.len();
    for (pc, insn) in prog.iter().enumerate() {
        let code = insn.code;
        if !known_opcode(code) {
            return Err(bad(pc, format!("unknown opcode {code:#x}")));
        }
        match class(code) {
            BPF_ALU if src(code) == BPF_K => match op(code) {
                BPF_DIV | BPF_MOD if insn.k == 0 => {
                    return Err(bad(pc, "division by the constant zero".into()))
                }
                BPF_LSH | BPF_RSH if insn.k >= 32 => {
                    return Err(bad(pc, format!("shift by {} bits", insn.k)))
                }
                _ => {}
            },
            BPF_LD | BPF_LDX if mode(code) == BPF_MEM && insn.k >= BPF_MEMWORDS => {
                return Err(bad(
                    pc,
                    format!("scratch memory index {} out of range", insn.k),
                ))
            }
            BPF_ST | BPF_STX if insn.k >= BPF_MEMWORDS => {
                return Err(bad(
                    pc,
                    format!("scratch memory index {} out of range", insn.k),
                ))
            }
            BPF_JMP if op(code) == BPF_JA => match ja_target(pc, insn.k, len) {
                Some(t) if t != pc => {}
                _ => {
                    return Err(bad(
                        pc,
                        format!("jump offset {} leaves the program", insn.k as i32),
                    ))
                }
            },
            BPF_JMP if pc + 1 + insn.jt as usize >= len || pc + 1 + insn.jf as usize >= len => {
                return Err(bad(pc, "jump target beyond the last instruction".into()));
            }
            _ => {}
        }
    }
    if class(prog[len - 1].code) != BPF_RET {
        return Err(bad(len - 1, "the program does not end with ret".into()));
    }
    Ok(())
}

/// The scratch words `M[i]` that some path may read before writing them,
/// as a bit mask. The kernel's socket-filter checker refuses such
/// programs, but libpcap emits them (`geneve or tcp`), and tcpdump `-ddd`
/// output must be accepted as it is: the lowering zeroes these words first,
/// the reference interpreter starts with them zero.
/// A forward data-flow over bit masks of written words (intersected where
/// paths join), iterated to a fixed point because of backward `ja`.
/// `prog` must have passed [`check`].
pub fn unwritten_reads(prog: &[Insn]) -> u16 {
    let len = prog.len();
    // Words certainly written on entry to each instruction; None: unreached.
    let mut written: Vec<Option<u16>> = vec![None; len];
    written[0] = Some(0);
    let mut changed = true;
    while changed {
        changed = false;
        for pc in 0..len {
            let Some(mut w) = written[pc] else { continue };
            let insn = prog[pc];
            match class(insn.code) {
                BPF_ST | BPF_STX => w |= 1 << insn.k,
                _ => {}
            }
            let mut flow = |t: usize| {
                let new = written[t].map_or(w, |old| old & w);
                if written[t] != Some(new) {
                    written[t] = Some(new);
                    changed = true;
                }
            };
            match class(insn.code) {
                BPF_RET => {}
                BPF_JMP if op(insn.code) == BPF_JA => {
                    if let Some(t) = ja_target(pc, insn.k, len) {
                        flow(t)
                    }
                }
                BPF_JMP => {
                    flow(pc + 1 + insn.jt as usize);
                    flow(pc + 1 + insn.jf as usize);
                }
                _ => flow(pc + 1),
            }
        }
    }
    let mut unwritten = 0u16;
    for (pc, insn) in prog.iter().enumerate() {
        let reads = matches!(class(insn.code), BPF_LD | BPF_LDX) && mode(insn.code) == BPF_MEM;
        if let (true, Some(w)) = (reads, written[pc]) {
            if w & (1 << insn.k) == 0 {
                unwritten |= 1 << insn.k;
            }
        }
    }
    unwritten
}

#[cfg(test)]
mod tests {
    use super::*;

    const RET: Insn = Insn::stmt(BPF_RET | BPF_K, 1);

    #[test]
    fn rejects_each_malformed_form() {
        let table: &[(&str, Vec<Insn>, Option<usize>, &str)] = &[
            ("empty", vec![], None, "empty"),
            (
                "too long",
                vec![RET; BPF_MAXINSNS + 1],
                None,
                "more than the limit",
            ),
            (
                "unknown opcode",
                vec![Insn::stmt(0xff, 0), RET],
                Some(0),
                "unknown opcode 0xff",
            ),
            (
                "ld h imm",
                vec![Insn::stmt(BPF_LD | BPF_H | BPF_IMM, 0), RET],
                Some(0),
                "unknown opcode",
            ),
            (
                "ret x",
                vec![Insn::stmt(BPF_RET | BPF_X, 0)],
                Some(0),
                "unknown opcode",
            ),
            (
                "div 0",
                vec![Insn::stmt(BPF_ALU | BPF_DIV | BPF_K, 0), RET],
                Some(0),
                "division",
            ),
            (
                "mod 0",
                vec![Insn::stmt(BPF_ALU | BPF_MOD | BPF_K, 0), RET],
                Some(0),
                "division",
            ),
            (
                "lsh 32",
                vec![Insn::stmt(BPF_ALU | BPF_LSH | BPF_K, 32), RET],
                Some(0),
                "shift by 32",
            ),
            (
                "st 16",
                vec![Insn::stmt(BPF_ST, 16), RET],
                Some(0),
                "index 16",
            ),
            (
                "ldx mem 99",
                vec![Insn::stmt(BPF_LDX | BPF_MEM, 99), RET],
                Some(0),
                "index 99",
            ),
            (
                "jt past end",
                vec![Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), RET],
                Some(0),
                "beyond",
            ),
            (
                "jf past end",
                vec![Insn::jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 5), RET, RET],
                Some(0),
                "beyond",
            ),
            (
                "ja past end",
                vec![Insn::stmt(BPF_JMP | BPF_JA, 1), RET],
                Some(0),
                "leaves",
            ),
            (
                "ja to itself",
                vec![RET, Insn::stmt(BPF_JMP | BPF_JA, u32::MAX), RET],
                Some(1),
                "leaves",
            ),
            (
                "ja before start",
                vec![Insn::stmt(BPF_JMP | BPF_JA, (-2i32) as u32), RET],
                Some(0),
                "leaves",
            ),
            (
                "no ret at end",
                vec![RET, Insn::stmt(BPF_LD | BPF_IMM, 0)],
                Some(1),
                "does not end with ret",
            ),
        ];
        for (name, prog, index, text) in table {
            let e = check(prog).expect_err(name);
            assert_eq!(e.index, *index, "{name}: {e}");
            assert!(e.to_string().contains(text), "{name}: {e}");
        }
    }

    #[test]
    fn accepts_valid_forms() {
        let table: &[(&str, Vec<Insn>)] = &[
            ("ret", vec![RET]),
            (
                "written on both paths",
                vec![
                    Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
                    Insn::stmt(BPF_ST, 2),
                    Insn::stmt(BPF_JMP | BPF_JA, 1),
                    Insn::stmt(BPF_STX, 2),
                    Insn::stmt(BPF_LD | BPF_MEM, 2),
                    Insn::stmt(BPF_RET | BPF_A, 0),
                ],
            ),
            (
                "unreachable read after ret",
                vec![RET, Insn::stmt(BPF_LD | BPF_MEM, 5), RET],
            ),
            (
                "backward ja (protochain loop)",
                vec![
                    Insn::stmt(BPF_ST, 0),
                    Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
                    Insn::stmt(BPF_LD | BPF_MEM, 0),
                    Insn::stmt(BPF_JMP | BPF_JA, (-3i32) as u32),
                    RET,
                ],
            ),
            (
                "div 1, lsh 31",
                vec![
                    Insn::stmt(BPF_ALU | BPF_DIV | BPF_K, 1),
                    Insn::stmt(BPF_ALU | BPF_LSH | BPF_K, 31),
                    RET,
                ],
            ),
            ("every opcode of the kernel list", {
                let mut p: Vec<Insn> = (0..=0xffu16)
                    .filter(|&c| known_opcode(c))
                    .map(|c| Insn::stmt(c, 1))
                    .filter(|i| {
                        class(i.code) != BPF_RET
                            && class(i.code) != BPF_JMP
                            && mode(i.code) != BPF_MEM
                    })
                    .collect();
                p.push(RET);
                p
            }),
        ];
        for (name, prog) in table {
            assert_eq!(check(prog), Ok(()), "{name}");
        }
        // The kernel accepts 49 classic opcodes: 21 ALU, 9 LD, 4 LDX, ST, STX, 2 RET, 2 MISC, 9 JMP.
        assert_eq!((0..=0xffffu16).filter(|&c| known_opcode(c)).count(), 49);
    }

    #[test]
    fn scratch_words_read_before_written() {
        let once = vec![Insn::stmt(BPF_LD | BPF_MEM, 3), RET];
        check(&once).unwrap();
        assert_eq!(unwritten_reads(&once), 1 << 3);
        let one_path = vec![
            Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
            Insn::stmt(BPF_ST, 2),
            Insn::stmt(BPF_LDX | BPF_MEM, 2),
            RET,
        ];
        assert_eq!(unwritten_reads(&one_path), 1 << 2);
        let always = vec![Insn::stmt(BPF_ST, 5), Insn::stmt(BPF_LDX | BPF_MEM, 5), RET];
        assert_eq!(unwritten_reads(&always), 0);
    }
}
