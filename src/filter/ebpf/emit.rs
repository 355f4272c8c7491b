//! Emission: one eBPF sequence per classic instruction, in program order,
//! for the fast copy (packet loads straight from linear data) and, when
//! the program may see multi-buffer packets, the slow copy (packet loads
//! through `bpf_xdp_load_bytes`) that fast-copy guards fall back to.

use super::flow::{self, Dest, Guard, A as LIVE_A, X as LIVE_X};
use super::{LowerOpts, FRAGMENT_STACK};
use crate::asm::{self, Asm, Insn, Label, Reg, Reg::*};
use crate::filter::cbpf::{self, *};

/// The classic accumulator and index register.
const RA: Reg = R0;
const RX: Reg = R5;
/// Scratch: guard pointer (constant offsets), end pointer, X-relative
/// packet pointer.
const RG: Reg = R2;
const RE: Reg = R3;
const RP: Reg = R4;
/// The entry contract's registers.
const CTX: Reg = R6;
const DATA: Reg = R7;
const DATA_END: Reg = R8;
const PKT_LEN: Reg = R9;

/// Offsets inside the fragment's stack area.
const MEM: i16 = 0;
const BUF: i16 = 4 * BPF_MEMWORDS as i16;
const SPILL: i16 = BUF + 4;
const LOOPS: i16 = SPILL + 4;
const _: () = assert!(LOOPS + 8 <= FRAGMENT_STACK);

/// Iterations allowed through backward jumps (libpcap's `protochain`
/// loops) before the packet is rejected, so the verifier sees a bound.
pub const MAX_BACK_JUMPS: i32 = 16;

/// Loads the slow copy rejects outright: `X + k` with `k` beyond any
/// packet (and beyond the helper's 32-bit offset once X is added).
fn slow_always_fails(i: &cbpf::Insn) -> bool {
    flow::is_ind_load(i) && i.k > i32::MAX as u32
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Copy {
    Fast,
    Slow,
}

pub(super) struct Lowering<'a> {
    prog: &'a [cbpf::Insn],
    asm: &'a mut Asm,
    opts: LowerOpts,
    on_match: Label,
    on_nomatch: Label,
    fast: Vec<Label>,
    slow: Vec<Label>,
    /// Instructions where the fast copy hands over to the slow one.
    slow_entries: Vec<usize>,
    live_out: Vec<u8>,
    guard: Vec<Guard>,
    /// Loads kept in host byte order (see [`flow::swap_free`]) and the
    /// jumps whose constant is swapped to match.
    swap_free_load: Vec<Option<u8>>,
    swapped_use: Vec<Option<u8>>,
    /// What each `X + k` load of the fast copy does about RP.
    ind: Vec<flow::Ind>,
}

impl<'a> Lowering<'a> {
    pub(super) fn new(
        prog: &'a [cbpf::Insn],
        asm: &'a mut Asm,
        opts: LowerOpts,
        on_match: Label,
        on_nomatch: Label,
    ) -> Self {
        let n = prog.len();
        let fast = (0..n).map(|_| asm.label()).collect();
        let slow = (0..n).map(|_| asm.label()).collect();
        Lowering {
            prog,
            asm,
            opts,
            on_match,
            on_nomatch,
            fast,
            slow,
            slow_entries: Vec::new(),
            live_out: Vec::new(),
            guard: Vec::new(),
            swap_free_load: Vec::new(),
            swapped_use: Vec::new(),
            ind: Vec::new(),
        }
    }

    fn mem(&self, off: i16) -> i16 {
        self.opts.stack_base + off
    }

    pub(super) fn run(mut self) {
        let prog = self.prog;
        let (live_out, live_entry) = flow::liveness(prog);
        self.live_out = live_out;
        let fail = flow::always_fail(prog);
        let reach = flow::reachable(prog, &[0], &fail);
        let ant = flow::anticipated(prog);
        self.guard = flow::guards(prog, &reach, &fail, &ant);
        self.ind = flow::ind_plan(prog, &reach, &fail);
        (self.swap_free_load, self.swapped_use) = flow::swap_free(prog);

        if live_entry & LIVE_A != 0 {
            self.asm.push(Insn::mov32_imm(RA, 0));
        }
        if live_entry & LIVE_X != 0 {
            self.asm.push(Insn::mov32_imm(RX, 0));
        }
        // Scratch words some path reads before writing start as zero, as
        // in the reference interpreter (the verifier demands it anyway).
        let unwritten = cbpf::unwritten_reads(prog);
        for k in (0..cbpf::BPF_MEMWORDS as i16).filter(|k| unwritten & (1 << k) != 0) {
            let off = self.mem(MEM + 4 * k);
            self.asm.push(Insn::st_mem(asm::BPF_W, R10, off, 0));
        }
        // Counted on every path, the slow copy's included.
        let any_path = flow::reachable(prog, &[0], &vec![false; prog.len()]);
        if (0..prog.len()).any(|pc| any_path[pc] && flow::is_back_jump(prog, pc)) {
            let off = self.mem(LOOPS);
            self.asm
                .push(Insn::st_mem(asm::BPF_DW, R10, off, MAX_BACK_JUMPS));
        }
        self.emit_copy(Copy::Fast, &reach);
        if !self.slow_entries.is_empty() {
            let stops: Vec<bool> = prog.iter().map(slow_always_fails).collect();
            let slow_reach = flow::reachable(prog, &self.slow_entries, &stops);
            self.emit_copy(Copy::Slow, &slow_reach);
        }
    }

    fn label(&self, copy: Copy, pc: usize) -> Label {
        match copy {
            Copy::Fast => self.fast[pc],
            Copy::Slow => self.slow[pc],
        }
    }

    fn dest(&self, copy: Copy, d: Dest) -> Label {
        match d {
            Dest::Insn(t) => self.label(copy, t),
            Dest::NoMatch => self.on_nomatch,
        }
    }

    /// Where a failed linear-data guard at `pc` goes.
    fn guard_fail(&mut self, pc: usize) -> Label {
        if self.opts.frags {
            if !self.slow_entries.contains(&pc) {
                self.slow_entries.push(pc);
            }
            self.slow[pc]
        } else {
            self.on_nomatch
        }
    }

    fn emit_copy(&mut self, copy: Copy, reach: &[bool]) {
        let prog = self.prog;
        for pc in 0..prog.len() {
            if !reach[pc] {
                continue;
            }
            let l = self.label(copy, pc);
            self.asm.bind(l);
            self.emit_insn(copy, pc, reach);
        }
    }

    /// Jump to `d` unless it is where control falls through anyway.
    fn goto(&mut self, copy: Copy, pc: usize, d: Dest, reach: &[bool]) {
        if d == Dest::Insn(pc + 1) && reach.get(pc + 1) == Some(&true) {
            return;
        }
        let l = self.dest(copy, d);
        self.asm.ja(l);
    }

    fn emit_insn(&mut self, copy: Copy, pc: usize, reach: &[bool]) {
        let i = self.prog[pc];
        let code = i.code;
        let k = i.k as i32;
        match class(code) {
            BPF_LD | BPF_LDX if flow::load_end(&i).is_some() => self.emit_load(copy, pc),
            BPF_LD => {
                let v = match mode(code) {
                    BPF_LEN => Insn::mov32_reg(RA, PKT_LEN),
                    BPF_MEM => Insn::ldx_mem(asm::BPF_W, RA, R10, self.mem(MEM + 4 * k as i16)),
                    _ => Insn::mov32_imm(RA, k),
                };
                self.asm.push(v);
            }
            BPF_LDX => {
                let v = match mode(code) {
                    BPF_LEN => Insn::mov32_reg(RX, PKT_LEN),
                    BPF_MEM => Insn::ldx_mem(asm::BPF_W, RX, R10, self.mem(MEM + 4 * k as i16)),
                    _ => Insn::mov32_imm(RX, k),
                };
                self.asm.push(v);
            }
            BPF_ST | BPF_STX => {
                let r = if class(code) == BPF_ST { RA } else { RX };
                let off = self.mem(MEM + 4 * k as i16);
                self.asm.push(Insn::stx_mem(asm::BPF_W, R10, r, off));
            }
            BPF_ALU => self.emit_alu(i),
            BPF_JMP => self.emit_jump(copy, pc, reach),
            BPF_RET => {
                if rval(code) == BPF_A {
                    let nm = self.on_nomatch;
                    self.asm.jmp32_imm(asm::BPF_JEQ, RA, 0, nm);
                } else if i.k == 0 {
                    let nm = self.on_nomatch;
                    self.asm.ja(nm);
                    return;
                } else {
                    self.asm.push(Insn::mov32_imm(RA, k));
                }
                let m = self.on_match;
                self.asm.ja(m);
            }
            _ => {
                if miscop(code) == BPF_TAX {
                    self.asm.push(Insn::mov32_reg(RX, RA));
                } else {
                    self.asm.push(Insn::mov32_reg(RA, RX));
                }
            }
        }
        if !matches!(class(code), BPF_JMP | BPF_RET) {
            // Straight-line code continues at pc + 1; only an emitted
            // instruction may be fallen into.
            debug_assert!(
                reach.get(pc + 1) == Some(&true)
                    || self.guard_is_fail(copy, pc)
                    || (copy == Copy::Slow && slow_always_fails(&i))
            );
        }
    }

    fn guard_is_fail(&self, copy: Copy, pc: usize) -> bool {
        copy == Copy::Fast && self.guard[pc] == Guard::Fail
    }

    fn emit_alu(&mut self, i: cbpf::Insn) {
        let code = i.code;
        let o = op(code) as u8;
        if o == asm::BPF_NEG {
            self.asm.push(Insn::neg32(RA));
            return;
        }
        if src(code) == BPF_K {
            self.asm.push(Insn::alu32_imm(o, RA, i.k as i32));
            return;
        }
        let nm = self.on_nomatch;
        match o {
            asm::BPF_DIV | asm::BPF_MOD => {
                // A run-time division by zero rejects the packet.
                self.asm.jmp32_imm(asm::BPF_JEQ, RX, 0, nm);
                self.asm.push(Insn::alu32_reg(o, RA, RX));
            }
            asm::BPF_LSH | asm::BPF_RSH => {
                // Shifting by 32 or more gives 0 (libpcap); eBPF leaves the
                // count undefined there, but every implementation shifts a
                // zero to zero.
                let shift = self.asm.label();
                self.asm.jmp32_imm(asm::BPF_JLT, RX, 32, shift);
                self.asm.push(Insn::mov32_imm(RA, 0));
                self.asm.bind(shift);
                self.asm.push(Insn::alu32_reg(o, RA, RX));
            }
            _ => self.asm.push(Insn::alu32_reg(o, RA, RX)),
        }
    }

    fn emit_jump(&mut self, copy: Copy, pc: usize, reach: &[bool]) {
        let i = self.prog[pc];
        let ds = flow::dests(self.prog, pc);
        if op(i.code) == BPF_JA {
            if flow::is_back_jump(self.prog, pc) {
                let off = self.mem(LOOPS);
                let nm = self.on_nomatch;
                self.asm.push(Insn::ldx_mem(asm::BPF_DW, RG, R10, off));
                self.asm.jmp_imm(asm::BPF_JEQ, RG, 0, nm);
                self.asm.push(Insn::alu64_imm(asm::BPF_SUB, RG, 1));
                self.asm.push(Insn::stx_mem(asm::BPF_DW, R10, RG, off));
            }
            self.goto(copy, pc, ds[0], reach);
            return;
        }
        let (t, f) = (ds[0], ds[1]);
        if t == f {
            self.goto(copy, pc, t, reach);
            return;
        }
        let o = op(i.code) as u8;
        let next = Dest::Insn(pc + 1);
        let falls = |d: Dest| d == next && reach.get(pc + 1) == Some(&true);
        let x = src(i.code) == BPF_X;
        // Against a load left in host order, compare with the constant as
        // the packet's bytes read in host order.
        let k = match self.swapped_use[pc] {
            Some(2) if i.k <= 0xffff => u16::from_ne_bytes((i.k as u16).to_be_bytes()) as u32,
            Some(2) if op(i.code) == BPF_JSET => {
                u16::from_ne_bytes((i.k as u16).to_be_bytes()) as u32
            }
            Some(4) => u32::from_ne_bytes(i.k.to_be_bytes()),
            _ => i.k,
        };
        let cond = |asm: &mut Asm, o: u8, l: Label| {
            if x {
                asm.jmp32_reg(o, RA, RX, l)
            } else {
                asm.jmp32_imm(o, RA, k as i32, l)
            }
        };
        let inverse = match o {
            asm::BPF_JEQ => Some(asm::BPF_JNE),
            asm::BPF_JGT => Some(asm::BPF_JLE),
            asm::BPF_JGE => Some(asm::BPF_JLT),
            _ => None,
        };
        if falls(f) {
            let l = self.dest(copy, t);
            cond(self.asm, o, l);
        } else if let (true, Some(inv)) = (falls(t), inverse) {
            let l = self.dest(copy, f);
            cond(self.asm, inv, l);
        } else {
            let l = self.dest(copy, t);
            cond(self.asm, o, l);
            self.goto(copy, pc, f, reach);
        }
    }

    fn emit_load(&mut self, copy: Copy, pc: usize) {
        match copy {
            Copy::Fast => self.emit_fast_load(pc),
            Copy::Slow => self.emit_slow_load(pc),
        }
    }

    /// Destination register of a load and its size in bytes.
    fn load_shape(i: &cbpf::Insn) -> (Reg, u8, i32) {
        if class(i.code) == BPF_LDX {
            return (RX, asm::BPF_B, 1);
        }
        match size(i.code) {
            BPF_W => (RA, asm::BPF_W, 4),
            BPF_H => (RA, asm::BPF_H, 2),
            _ => (RA, asm::BPF_B, 1),
        }
    }

    /// Byte order and MSH arithmetic after the raw load into `dst`.
    fn finish_load(&mut self, pc: usize, dst: Reg, bytes: i32) {
        let i = &self.prog[pc];
        if bytes > 1 && self.swap_free_load[pc].is_none() {
            self.asm.push(Insn::endian(true, dst, bytes * 8));
        }
        if class(i.code) == BPF_LDX {
            self.asm.push(Insn::alu32_imm(asm::BPF_AND, dst, 0xf));
            self.asm.push(Insn::alu32_imm(asm::BPF_LSH, dst, 2));
        }
    }

    /// `dst = *(size *)(base + off)` for a packet offset up to 0xffff.
    fn load_at(&mut self, dst: Reg, sz: u8, base: Reg, off: u64) {
        match i16::try_from(off) {
            Ok(o) => self.asm.push(Insn::ldx_mem(sz, dst, base, o)),
            Err(_) => {
                self.asm.push(Insn::mov64_reg(RE, base));
                self.asm.push(Insn::alu64_imm(asm::BPF_ADD, RE, off as i32));
                self.asm.push(Insn::ldx_mem(sz, dst, RE, 0));
            }
        }
    }

    fn emit_fast_load(&mut self, pc: usize) {
        let i = self.prog[pc];
        let (dst, sz, bytes) = Self::load_shape(&i);
        if self.guard[pc] == Guard::Fail {
            let l = self.guard_fail(pc);
            self.asm.ja(l);
            return;
        }
        if flow::is_abs_load(&i) {
            if let Guard::Check(len) = self.guard[pc] {
                let l = self.guard_fail(pc);
                self.asm.push(Insn::mov64_reg(RG, DATA));
                self.asm.push(Insn::alu64_imm(asm::BPF_ADD, RG, len as i32));
                self.asm.jmp_reg(asm::BPF_JGT, RG, DATA_END, l);
            }
            self.load_at(dst, sz, DATA, i.k as u64);
        } else {
            let l = self.guard_fail(pc);
            let check = match self.ind[pc] {
                flow::Ind::Setup {
                    margin,
                    check,
                    bounded,
                } => {
                    // Bound X so that data + X + margin stays in the range
                    // the verifier tracks.
                    if !bounded {
                        let bound = (flow::MAX_PACKET_OFF - margin) as i32;
                        self.asm.jmp_imm(asm::BPF_JGT, RX, bound, l);
                    }
                    self.asm.push(Insn::mov64_reg(RP, DATA));
                    self.asm.push(Insn::alu64_reg(asm::BPF_ADD, RP, RX));
                    Some(check)
                }
                flow::Ind::Check(check) => Some(check),
                flow::Ind::Covered => None,
            };
            if let Some(check) = check {
                self.asm.push(Insn::mov64_reg(RE, RP));
                self.asm
                    .push(Insn::alu64_imm(asm::BPF_ADD, RE, check as i32));
                self.asm.jmp_reg(asm::BPF_JGT, RE, DATA_END, l);
            }
            self.load_at(dst, sz, RP, i.k as u64);
        }
        self.finish_load(pc, dst, bytes);
    }

    /// A packet load through `bpf_xdp_load_bytes(ctx, off, buf, size)`:
    /// works on every byte of a multi-buffer packet; a failure (offset
    /// beyond the packet) rejects it.
    fn emit_slow_load(&mut self, pc: usize) {
        let i = self.prog[pc];
        let (dst, sz, bytes) = Self::load_shape(&i);
        let nm = self.on_nomatch;
        let other = if dst == RA { RX } else { RA };
        let other_bit = if dst == RA { LIVE_X } else { LIVE_A };
        let keep = self.live_out[pc] & other_bit != 0;
        let (spill, buf) = (self.mem(SPILL), self.mem(BUF));
        if slow_always_fails(&i) {
            self.asm.ja(nm);
            return;
        }
        if flow::is_ind_load(&i) {
            self.asm.push(Insn::mov64_reg(R2, RX));
            self.asm.push(Insn::alu64_imm(asm::BPF_ADD, R2, i.k as i32));
            // The helper takes a 32-bit offset: keep X + k from wrapping.
            self.asm.jmp_reg(asm::BPF_JGT, R2, PKT_LEN, nm);
        } else {
            self.asm.push(Insn::mov32_imm(R2, i.k as i32));
        }
        if keep {
            self.asm.push(Insn::stx_mem(asm::BPF_W, R10, other, spill));
        }
        self.asm.push(Insn::mov64_reg(R1, CTX));
        self.asm.push(Insn::mov64_reg(R3, R10));
        self.asm.push(Insn::alu64_imm(asm::BPF_ADD, R3, buf as i32));
        self.asm.push(Insn::mov64_imm(R4, bytes));
        self.asm.push(Insn::call(asm::BPF_FUNC_xdp_load_bytes));
        self.asm.jmp_imm(asm::BPF_JNE, R0, 0, nm);
        if keep {
            self.asm.push(Insn::ldx_mem(asm::BPF_W, other, R10, spill));
        }
        self.asm.push(Insn::ldx_mem(sz, dst, R10, buf));
        self.finish_load(pc, dst, bytes);
    }
}
