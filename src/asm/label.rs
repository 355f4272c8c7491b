//! The label-based program builder: jumps name a [`Label`] and are
//! resolved once, in [`Asm::finish`], so code can be emitted in order
//! without counting instructions. An offset that does not fit the 16-bit
//! field, a label never bound or bound twice is an error, never a
//! truncated jump.

use super::insn::*;
use super::Error;

/// A jump target inside one [`Asm`]; bound to a position with [`Asm::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(u32);

/// A program under construction.
#[derive(Clone, Debug, Default)]
pub struct Asm {
    insns: Vec<Insn>,
    /// Position each label is bound to, by label number.
    labels: Vec<Option<usize>>,
    /// Jump instructions waiting for their label: (insn index, label).
    fixups: Vec<(usize, Label)>,
    /// First label bound a second time, reported by `finish`.
    rebound: Option<Label>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    /// A new label, not bound yet.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    /// Bind `label` to the next instruction pushed.
    pub fn bind(&mut self, label: Label) {
        match self.labels.get_mut(label.0 as usize) {
            Some(slot @ None) => *slot = Some(self.insns.len()),
            _ => {
                self.rebound.get_or_insert(label);
            }
        }
    }

    /// Whether `label` has been bound.
    pub fn is_bound(&self, label: Label) -> bool {
        matches!(self.labels.get(label.0 as usize), Some(Some(_)))
    }

    /// Whether some jump pushed so far targets `label`. The verifier
    /// rejects unreachable code, so code behind a label that nothing jumps
    /// to (and nothing falls into) must not be emitted.
    pub fn is_used(&self, label: Label) -> bool {
        self.fixups.iter().any(|&(_, l)| l == label)
    }

    pub fn push(&mut self, insn: Insn) {
        self.insns.push(insn);
    }

    pub fn push_all(&mut self, insns: &[Insn]) {
        self.insns.extend_from_slice(insns);
    }

    /// Number of instruction slots so far.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The instructions so far; jumps to labels still carry offset 0.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    fn push_jump(&mut self, insn: Insn, target: Label) {
        self.fixups.push((self.insns.len(), target));
        self.insns.push(insn);
    }

    /// `if dst op imm goto label` (64-bit compare).
    pub fn jmp_imm(&mut self, op: u8, dst: Reg, imm: i32, label: Label) {
        self.push_jump(Insn::jmp_imm(op, dst, imm, 0), label);
    }
    /// `if dst op src goto label` (64-bit compare).
    pub fn jmp_reg(&mut self, op: u8, dst: Reg, src: Reg, label: Label) {
        self.push_jump(Insn::jmp_reg(op, dst, src, 0), label);
    }
    /// `if (u32)dst op imm goto label`.
    pub fn jmp32_imm(&mut self, op: u8, dst: Reg, imm: i32, label: Label) {
        self.push_jump(Insn::jmp32_imm(op, dst, imm, 0), label);
    }
    /// `if (u32)dst op (u32)src goto label`.
    pub fn jmp32_reg(&mut self, op: u8, dst: Reg, src: Reg, label: Label) {
        self.push_jump(Insn::jmp32_reg(op, dst, src, 0), label);
    }
    /// `goto label`.
    pub fn ja(&mut self, label: Label) {
        self.push_jump(Insn::ja(0), label);
    }

    /// Resolve every jump to its label and return the program. A `goto`
    /// to a label bound right after it is dropped (it would be
    /// `goto pc+0`), and the jumps around it are adjusted, raw ones too.
    pub fn finish(mut self) -> Result<Vec<Insn>, Error> {
        if let Some(l) = self.rebound {
            return Err(Error::LabelRebound { label: l.0 });
        }
        let n = self.insns.len();
        let mut targets = Vec::with_capacity(self.fixups.len());
        for &(at, label) in &self.fixups {
            let target =
                self.labels[label.0 as usize].ok_or(Error::UnboundLabel { label: label.0, at })?;
            if target >= n {
                return Err(Error::JumpPastEnd { at });
            }
            targets.push((at, target));
        }
        // Drop label gotos to the next instruction; `new[i]` is where old
        // instruction i (or, for a dropped one, its successor) ends up.
        let dropped: Vec<usize> = targets
            .iter()
            .filter(|&&(at, t)| t == at + 1 && self.insns[at] == Insn::ja(0))
            .map(|&(at, _)| at)
            .collect();
        let mut new = Vec::with_capacity(n + 1);
        let mut gone = 0;
        for i in 0..=n {
            new.push(i - gone);
            if dropped.binary_search(&i).is_ok() {
                gone += 1;
            }
        }
        let rel = |at: usize, t: usize| new[t] as i64 - new[at] as i64 - 1;
        // Raw jumps keep their targets.
        let is_fixup: Vec<bool> = {
            let mut v = vec![false; n];
            for &(at, _) in &targets {
                v[at] = true;
            }
            v
        };
        if !dropped.is_empty() {
            for (at, &fixup) in is_fixup.iter().enumerate() {
                let i = self.insns[at];
                let is_jump = matches!(i.class(), BPF_JMP | BPF_JMP32)
                    && !matches!(i.code & 0xf0, BPF_CALL | BPF_EXIT);
                if fixup || !is_jump || (at > 0 && self.insns[at - 1].is_ld_imm64()) {
                    continue;
                }
                let t = at as i64 + 1 + i.off as i64;
                if (0..=n as i64).contains(&t) {
                    let off = rel(at, t as usize);
                    self.insns[at].off =
                        i16::try_from(off).map_err(|_| Error::JumpOutOfRange { at, off })?;
                }
            }
        }
        for &(at, target) in &targets {
            let off = rel(at, target);
            self.insns[at].off =
                i16::try_from(off).map_err(|_| Error::JumpOutOfRange { at, off })?;
        }
        let mut out = Vec::with_capacity(n - dropped.len());
        for (i, insn) in self.insns.into_iter().enumerate() {
            if dropped.binary_search(&i).is_err() {
                out.push(insn);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Reg::*;
    use super::*;

    #[test]
    fn forward_and_backward_jumps() {
        let mut a = Asm::new();
        let top = a.label();
        let out = a.label();
        a.bind(top);
        a.push(Insn::mov64_imm(R0, 0)); // 0
        a.jmp_imm(BPF_JEQ, R1, 0, out); // 1 -> 4
        a.alu64_imm_helper();
        a.ja(top); // 3 -> 0
        a.bind(out);
        a.push(Insn::exit()); // 4
        assert!(a.is_used(out) && a.is_used(top));
        let unused = a.label();
        assert!(!a.is_used(unused));
        let p = a.finish().unwrap();
        assert_eq!(p[1].off, 2);
        assert_eq!(p[3].off, -4);
    }

    impl Asm {
        fn alu64_imm_helper(&mut self) {
            self.push(Insn::alu64_imm(BPF_ADD, R1, -1));
        }
    }

    #[test]
    fn errors() {
        // Unbound.
        let mut a = Asm::new();
        let l = a.label();
        a.ja(l);
        a.push(Insn::exit());
        assert_eq!(a.finish(), Err(Error::UnboundLabel { label: 0, at: 0 }));

        // Bound twice.
        let mut a = Asm::new();
        let l = a.label();
        a.bind(l);
        a.push(Insn::exit());
        a.bind(l);
        assert_eq!(a.finish(), Err(Error::LabelRebound { label: 0 }));

        // Past the end.
        let mut a = Asm::new();
        let l = a.label();
        a.ja(l);
        a.bind(l);
        assert_eq!(a.finish(), Err(Error::JumpPastEnd { at: 0 }));

        // Just in range, then one too far, both directions.
        for (gap, ok) in [(32767usize, true), (32768, false)] {
            let mut a = Asm::new();
            let l = a.label();
            a.ja(l);
            for _ in 0..gap {
                a.push(Insn::mov64_imm(R0, 0));
            }
            a.bind(l);
            a.push(Insn::exit());
            let r = a.finish();
            assert_eq!(r.is_ok(), ok, "forward gap {gap}");
            if !ok {
                assert_eq!(r, Err(Error::JumpOutOfRange { at: 0, off: 32768 }));
            }
        }
        for (gap, ok) in [(32767usize, true), (32768, false)] {
            let mut a = Asm::new();
            let l = a.label();
            a.bind(l);
            for _ in 0..gap {
                a.push(Insn::mov64_imm(R0, 0));
            }
            a.ja(l); // offset -(gap + 1)
            a.push(Insn::exit());
            let r = a.finish();
            assert_eq!(r.is_ok(), ok, "backward gap {gap}");
        }
    }

    #[test]
    fn gotos_to_the_next_instruction_are_dropped() {
        let mut a = Asm::new();
        let (next, end, top) = (a.label(), a.label(), a.label());
        a.bind(top);
        a.push(Insn::mov64_imm(R0, 0)); // 0
        a.push(Insn::jmp_imm(BPF_JEQ, R1, 0, 3)); // 1: raw, to 5
        a.ja(next); // 2: dropped
        a.bind(next);
        a.jmp_imm(BPF_JGT, R1, 7, end); // 3 -> 6
        a.ja(top); // 4 -> 0
        a.push(Insn::mov64_imm(R0, 1)); // 5
        a.bind(end);
        a.push(Insn::exit()); // 6
        let p = a.finish().unwrap();
        assert_eq!(
            p,
            vec![
                Insn::mov64_imm(R0, 0),
                Insn::jmp_imm(BPF_JEQ, R1, 0, 2),
                Insn::jmp_imm(BPF_JGT, R1, 7, 2),
                Insn::ja(-4),
                Insn::mov64_imm(R0, 1),
                Insn::exit(),
            ]
        );
    }

    #[test]
    fn error_messages() {
        let e = Error::JumpOutOfRange { at: 3, off: 40000 };
        assert!(e.to_string().contains("insn 3"), "{e}");
        assert!(e.to_string().contains("40000"), "{e}");
    }
}
