//! Recursive-descent parser for libpcap's filter grammar.
//!
//! It reproduces the decisions of libpcap's LALR grammar: `and` and `or`
//! share one precedence and group left to right; after `and`/`or` a bare
//! value (`host a or b`) inherits the qualifiers of the term before it; a
//! parenthesised expression passes on the qualifiers in force before the
//! parenthesis; in arithmetic `%` and `^` take everything to their right.
//! Where the grammar needs more than one token of look-ahead the parser
//! tries each reading and keeps the error that got furthest.

use super::ast::*;
use super::lexer::{tokenize, Tok, Token};
use super::Error;

struct PErr {
    at: usize,
    msg: String,
}

type PResult<T> = Result<T, PErr>;

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
}

/// Deepest nesting of parentheses, `not` and operators accepted.
const MAX_DEPTH: usize = 1000;
/// Longest expression accepted, in tokens (its program would exceed the
/// kernel's 4096 instructions long before).
const MAX_TOKENS: usize = 20000;

pub fn parse(src: &str) -> Result<Expr, Error> {
    let toks = tokenize(src);
    if toks.len() > MAX_TOKENS {
        return Err(Error::new(
            format!(
                "expression too long ({} tokens, at most {MAX_TOKENS})",
                toks.len()
            ),
            None,
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: src.len(),
        depth: 0,
    };
    let res = p.parse_prog();
    res.map_err(|e| {
        let span = match p.toks.get(e.at) {
            Some(t) => t.span.clone(),
            None => p.end..p.end,
        };
        Error::new(e.msg, Some(span))
    })
}

fn pname(kw: &str) -> Option<Proto> {
    use Proto::*;
    Some(match kw {
        "link" => Link,
        "ip" => Ip,
        "arp" => Arp,
        "rarp" => Rarp,
        "sctp" => Sctp,
        "tcp" => Tcp,
        "udp" => Udp,
        "icmp" => Icmp,
        "igmp" => Igmp,
        "igrp" => Igrp,
        "pim" => Pim,
        "vrrp" => Vrrp,
        "carp" => Carp,
        "atalk" => Atalk,
        "aarp" => Aarp,
        "decnet" => Decnet,
        "lat" => Lat,
        "sca" => Sca,
        "mopdl" => Mopdl,
        "moprc" => Moprc,
        "ip6" => Ip6,
        "icmp6" => Icmp6,
        "ah" => Ah,
        "esp" => Esp,
        "iso" => Iso,
        "esis" => Esis,
        "isis" => Isis,
        "l1" => IsisL1,
        "l2" => IsisL2,
        "iih" => IsisIih,
        "lsp" => IsisLsp,
        "snp" => IsisSnp,
        "psnp" => IsisPsnp,
        "csnp" => IsisCsnp,
        "clnp" => Clnp,
        "stp" => Stp,
        "ipx" => Ipx,
        "netbeui" => Netbeui,
        "radio" => Radio,
        _ => return None,
    })
}

fn is_dqual(kw: &str) -> bool {
    matches!(
        kw,
        "src" | "dst" | "addr1" | "addr2" | "addr3" | "addr4" | "ra" | "ta"
    )
}

fn is_aqual(kw: &str) -> bool {
    matches!(
        kw,
        "host" | "net" | "port" | "portrange" | "proto" | "protochain" | "gateway"
    )
}

fn binop(p: &str) -> Option<(ArithOp, u8)> {
    Some(match p {
        "|" => (ArithOp::Or, 1),
        "&" => (ArithOp::And, 2),
        "<<" => (ArithOp::Lsh, 3),
        ">>" => (ArithOp::Rsh, 3),
        "+" => (ArithOp::Add, 4),
        "-" => (ArithOp::Sub, 4),
        "*" => (ArithOp::Mul, 5),
        "/" => (ArithOp::Div, 5),
        // No precedence: always shifted, takes the rest to its right.
        "%" => (ArithOp::Mod, 0),
        "^" => (ArithOp::Xor, 0),
        _ => return None,
    })
}

fn relop(p: &str) -> Option<(RelOp, bool)> {
    Some(match p {
        ">" => (RelOp::Gt, false),
        ">=" => (RelOp::Ge, false),
        "=" => (RelOp::Eq, false),
        "<=" => (RelOp::Gt, true),
        "<" => (RelOp::Ge, true),
        "!=" => (RelOp::Eq, true),
        _ => return None,
    })
}

fn widen(e: Expr, from: usize) -> Expr {
    match e {
        Expr::Prim(p @ Prim::Id(..), span) if from < span.start => Expr::Prim(p, from..span.end),
        other => other,
    }
}

fn further(a: PErr, b: PErr) -> PErr {
    if b.at > a.at {
        b
    } else {
        a
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }
    fn peek_kw(&self) -> Option<&'static str> {
        match self.peek() {
            Some(Tok::Kw(k)) => Some(k),
            _ => None,
        }
    }
    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Kw(q)) if *q == k)
    }
    fn span_from(&self, start: usize) -> Span {
        let s = self
            .toks
            .get(start)
            .map(|t| t.span.start)
            .unwrap_or(self.end);
        let e = if self.pos > start {
            self.toks[self.pos - 1].span.end
        } else {
            s
        };
        s..e
    }
    /// An error at the current token; a token the scanner refused speaks
    /// for itself.
    fn err<T>(&self, expected: &str) -> PResult<T> {
        let msg = match self.peek() {
            Some(Tok::Bad(m)) => m.clone(),
            None => format!("syntax error: unexpected end of expression, expected {expected}"),
            Some(_) => format!("syntax error: expected {expected}"),
        };
        Err(PErr { at: self.pos, msg })
    }
    fn expect_punct(&mut self, p: &str, what: &str) -> PResult<()> {
        if self.is_punct(p) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(what)
        }
    }
    fn num(&mut self) -> PResult<u32> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                let n = *n;
                self.pos += 1;
                Ok(n)
            }
            _ => self.err("a number"),
        }
    }
    /// `pnum: NUM | '(' pnum ')'`
    fn pnum(&mut self) -> PResult<u32> {
        if self.is_punct("(") {
            self.pos += 1;
            let n = self.pnum()?;
            self.expect_punct(")", "')'")?;
            Ok(n)
        } else {
            self.num()
        }
    }
    fn starts_pnum(&self) -> bool {
        let mut i = 0;
        while matches!(self.peek_at(i), Some(Tok::Punct("("))) {
            i += 1;
        }
        matches!(self.peek_at(i), Some(Tok::Num(_)))
    }

    fn parse_prog(&mut self) -> PResult<Expr> {
        let (e, _) = self.parse_expr(Qual::ERR)?;
        if self.pos < self.toks.len() {
            return self.err("'and', 'or' or end of expression");
        }
        Ok(e)
    }

    fn parse_expr(&mut self, q0: Qual) -> PResult<(Expr, Qual)> {
        let (mut e, mut q) = self.parse_term(q0)?;
        loop {
            let is_and = match self.peek_kw() {
                Some("and") => true,
                Some("or") => false,
                _ => break,
            };
            self.pos += 1;
            let save = self.pos;
            let (rhs, nq) = match self.parse_term(q) {
                Ok(r) => r,
                Err(e1) => {
                    let after_term = self.pos;
                    self.pos = save;
                    match self.parse_id(q) {
                        Ok(r) => r,
                        Err(e2) => {
                            let _ = after_term;
                            return Err(further(e1, e2));
                        }
                    }
                }
            };
            q = nq;
            e = if is_and {
                Expr::And(Box::new(e), Box::new(rhs))
            } else {
                Expr::Or(Box::new(e), Box::new(rhs))
            };
        }
        Ok((e, q))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PErr {
                at: self.pos,
                msg: "expression nested too deeply".into(),
            });
        }
        Ok(())
    }

    fn parse_term(&mut self, qprev: Qual) -> PResult<(Expr, Qual)> {
        self.enter()?;
        let r = self.parse_term_inner(qprev);
        self.depth -= 1;
        r
    }

    fn parse_term_inner(&mut self, qprev: Qual) -> PResult<(Expr, Qual)> {
        if self.is_kw("not") {
            self.pos += 1;
            let (e, q) = self.parse_term(qprev)?;
            return Ok((Expr::Not(Box::new(e)), q));
        }
        self.parse_rterm(qprev)
    }

    fn prim(&self, p: Prim, start: usize) -> Expr {
        Expr::Prim(p, self.span_from(start))
    }

    fn parse_rterm(&mut self, qprev: Qual) -> PResult<(Expr, Qual)> {
        let start = self.pos;
        match self.peek().cloned() {
            None => self.err("a filter primitive"),
            Some(Tok::Bad(_)) => self.err(""),
            Some(Tok::Punct("(")) => {
                // Either a parenthesised expression or arithmetic.
                self.pos += 1;
                let first = self.parse_expr(qprev).and_then(|(e, _)| {
                    if self.is_punct(")") {
                        self.pos += 1;
                        Ok(e)
                    } else {
                        self.err("'and', 'or' or ')'")
                    }
                });
                match first {
                    Ok(e) => Ok((e, qprev)),
                    Err(e1) => {
                        self.pos = start;
                        match self.parse_relation(start) {
                            Ok(e) => Ok((e, Qual::ERR)),
                            Err(e2) => Err(further(e1, e2)),
                        }
                    }
                }
            }
            Some(Tok::Punct("-")) | Some(Tok::Num(_)) => {
                Ok((self.parse_relation(start)?, Qual::ERR))
            }
            Some(Tok::Kw(kw)) => self.parse_kw_term(kw, start, qprev),
            Some(_) => self.err("a filter primitive"),
        }
    }

    fn parse_kw_term(
        &mut self,
        kw: &'static str,
        start: usize,
        _qprev: Qual,
    ) -> PResult<(Expr, Qual)> {
        if let Some(proto) = pname(kw) {
            match self.peek_at(1) {
                Some(Tok::Punct("[")) => return Ok((self.parse_relation(start)?, Qual::ERR)),
                Some(Tok::Kw(k)) if is_dqual(k) || is_aqual(k) => {
                    self.pos += 1;
                    return self.parse_head_id(proto, start);
                }
                Some(Tok::Kw("broadcast")) => {
                    self.pos += 2;
                    return Ok((self.prim(Prim::Broadcast(proto), start), Qual::ERR));
                }
                Some(Tok::Kw("multicast")) => {
                    self.pos += 2;
                    return Ok((self.prim(Prim::Multicast(proto), start), Qual::ERR));
                }
                Some(Tok::Kw("type")) | Some(Tok::Kw("subtype")) | Some(Tok::Kw("dir")) => {
                    self.pos += 1;
                    return self.parse_kw_term(
                        self.peek_kw().unwrap_or("type"),
                        self.pos,
                        Qual::ERR,
                    );
                }
                _ => {
                    self.pos += 1;
                    return Ok((self.prim(Prim::ProtoAbbrev(proto), start), Qual::ERR));
                }
            }
        }
        if is_dqual(kw) || is_aqual(kw) {
            return self.parse_head_id(Proto::Default, start);
        }
        self.pos += 1;
        let p = match kw {
            "broadcast" => Prim::Broadcast(Proto::Default),
            "multicast" => Prim::Multicast(Proto::Default),
            "len" => {
                self.pos = start;
                return Ok((self.parse_relation(start)?, Qual::ERR));
            }
            "less" => Prim::Less(self.num()?),
            "greater" => Prim::Greater(self.num()?),
            "byte" => {
                let idx = self.num()?;
                let op = match self.peek() {
                    Some(Tok::Punct("&")) => b'&',
                    Some(Tok::Punct("|")) => b'|',
                    Some(Tok::Punct("<")) => b'<',
                    Some(Tok::Punct(">")) => b'>',
                    Some(Tok::Punct("=")) => b'=',
                    _ => return self.err("one of '&', '|', '<', '>', '='"),
                };
                self.pos += 1;
                let val = self.num()?;
                Prim::Byte(idx, op, val)
            }
            "inbound" | "outbound" => {
                Prim::Unsupported("inbound/outbound not supported when reading savefiles")
            }
            "ifindex" => {
                self.num()?;
                Prim::Unsupported("ifindex not supported when reading savefiles")
            }
            "vlan" => Prim::Vlan(self.opt_pnum()?),
            "mpls" => Prim::Mpls(self.opt_pnum()?),
            "pppoed" => Prim::Pppoed,
            "pppoes" => Prim::Pppoes(self.opt_pnum()?),
            "geneve" => Prim::Geneve(self.opt_pnum()?),
            "llc" => match self.peek() {
                Some(Tok::Id(s)) => {
                    let s = s.clone();
                    self.pos += 1;
                    Prim::Llc(Some(s))
                }
                // "rnr" is a keyword (PF) but also an LLC S-frame type.
                Some(Tok::Kw("rnr")) => {
                    self.pos += 1;
                    Prim::Llc(Some("rnr".into()))
                }
                _ => Prim::Llc(None),
            },
            "on" | "rset" | "action" => {
                self.ident()?;
                Prim::Unsupported(match kw {
                    "on" => "ifname supported only on PF linktype",
                    "rset" => "ruleset supported only on PF linktype",
                    _ => "action supported only on PF linktype",
                })
            }
            "rnr" | "srnr" => {
                self.num()?;
                Prim::Unsupported(if kw == "rnr" {
                    "rnr supported only on PF linktype"
                } else {
                    "srnr supported only on PF linktype"
                })
            }
            "reason" => {
                if matches!(self.peek(), Some(Tok::Num(_))) {
                    self.pos += 1;
                } else {
                    self.ident()?;
                }
                Prim::Unsupported("reason supported only on PF linktype")
            }
            "type" => {
                self.ident_or_num()?;
                if self.is_kw("subtype") {
                    self.pos += 1;
                    self.ident_or_num()?;
                }
                Prim::Unsupported("802.11 link-layer types supported only on 802.11")
            }
            "subtype" => {
                self.ident()?;
                Prim::Unsupported("802.11 link-layer types supported only on 802.11")
            }
            "dir" => {
                self.ident_or_num()?;
                Prim::Unsupported("frame direction supported only with 802.11 headers")
            }
            "lane" | "metac" | "bcc" | "oamf4ec" | "oamf4sc" | "sc" | "ilmic" | "oam" | "oamf4"
            | "connectmsg" | "metaconnect" => {
                Prim::Unsupported("ATM types supported only on raw ATM")
            }
            "vpi" | "vci" => {
                self.atm_value()?;
                Prim::Unsupported(if kw == "vpi" {
                    "'vpi' supported only on raw ATM"
                } else {
                    "'vci' supported only on raw ATM"
                })
            }
            "fisu" | "lssu" | "msu" | "hfisu" | "hlssu" | "hmsu" => {
                Prim::Unsupported("MTP2 types supported only on MTP2")
            }
            "sio" | "opc" | "dpc" | "sls" | "hsio" | "hopc" | "hdpc" | "hsls" => {
                self.atm_value()?;
                Prim::Unsupported("MTP3 fields supported only on SS7")
            }
            _ => {
                self.pos = start;
                return self.err("a filter primitive");
            }
        };
        Ok((self.prim(p, start), Qual::ERR))
    }

    /// `relop NUM | irelop NUM | NUM | '(' value or value ... ')'`
    fn atm_value(&mut self) -> PResult<()> {
        if let Some(Tok::Punct(p)) = self.peek() {
            if relop(p).is_some() {
                self.pos += 1;
                self.num()?;
                return Ok(());
            }
            if *p == "(" {
                self.pos += 1;
                loop {
                    self.atm_value()?;
                    if self.is_kw("or") {
                        self.pos += 1;
                        continue;
                    }
                    break;
                }
                return self.expect_punct(")", "')'");
            }
        }
        self.num().map(|_| ())
    }

    fn ident(&mut self) -> PResult<String> {
        match self.peek() {
            Some(Tok::Id(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.err("a name"),
        }
    }

    fn ident_or_num(&mut self) -> PResult<()> {
        match self.peek() {
            Some(Tok::Num(_)) | Some(Tok::Id(_)) => {
                self.pos += 1;
                Ok(())
            }
            _ => self.err("a name or number"),
        }
    }

    fn opt_pnum(&mut self) -> PResult<Option<u32>> {
        if self.starts_pnum() {
            Ok(Some(self.pnum()?))
        } else {
            Ok(None)
        }
    }

    /// `head id`, with `self.pos` at the first qualifier after the
    /// protocol.
    fn parse_head_id(&mut self, proto: Proto, start: usize) -> PResult<(Expr, Qual)> {
        let mut q = Qual {
            proto,
            dir: Dir::Default,
            addr: AddrQ::Default,
        };
        if let Some(kw) = self.peek_kw() {
            if is_dqual(kw) {
                self.pos += 1;
                q.dir = match kw {
                    "src" | "dst" => {
                        let first = if kw == "src" { Dir::Src } else { Dir::Dst };
                        let other = if kw == "src" { "dst" } else { "src" };
                        match self.peek_kw() {
                            Some(c @ ("and" | "or")) => {
                                self.pos += 1;
                                if self.is_kw(other) {
                                    self.pos += 1;
                                    if c == "and" {
                                        Dir::And
                                    } else {
                                        Dir::Or
                                    }
                                } else {
                                    return self.err(&format!("'{other}'"));
                                }
                            }
                            _ => first,
                        }
                    }
                    "addr1" => Dir::Addr1,
                    "addr2" => Dir::Addr2,
                    "addr3" => Dir::Addr3,
                    "addr4" => Dir::Addr4,
                    "ra" => Dir::Ra,
                    _ => Dir::Ta,
                };
                if let Some(k) = self.peek_kw() {
                    let a = match k {
                        "host" => Some(AddrQ::Host),
                        "net" => Some(AddrQ::Net),
                        "port" => Some(AddrQ::Port),
                        "portrange" => Some(AddrQ::PortRange),
                        _ => None,
                    };
                    if let Some(a) = a {
                        self.pos += 1;
                        q.addr = a;
                    }
                }
            } else if is_aqual(kw) {
                self.pos += 1;
                q.addr = match kw {
                    "host" => AddrQ::Host,
                    "net" => AddrQ::Net,
                    "port" => AddrQ::Port,
                    "portrange" => AddrQ::PortRange,
                    "proto" => AddrQ::Proto,
                    "protochain" => AddrQ::ProtoChain,
                    _ => AddrQ::Gateway,
                };
            }
        }
        // A value right after its qualifiers is reported with them.
        let from = self
            .toks
            .get(start)
            .map(|t| t.span.start)
            .unwrap_or(self.end);
        let (e, q) = self.parse_id(q)?;
        Ok((widen(e, from), q))
    }

    /// `id: nid | pnum | '(' pid ')' | not id` with inherited qualifiers.
    fn parse_id(&mut self, q: Qual) -> PResult<(Expr, Qual)> {
        self.enter()?;
        let r = self.parse_id_inner(q);
        self.depth -= 1;
        r
    }

    fn parse_id_inner(&mut self, q: Qual) -> PResult<(Expr, Qual)> {
        let start = self.pos;
        match self.peek() {
            Some(Tok::Kw("not")) => {
                self.pos += 1;
                let (e, q) = self.parse_id(q)?;
                Ok((Expr::Not(Box::new(e)), q))
            }
            Some(Tok::Punct("(")) => {
                if self.starts_pnum() {
                    // `( pnum )` or `( pnum and/or id ... )`
                    let save = self.pos;
                    if let Ok(n) = self.pnum() {
                        if !matches!(self.peek_kw(), Some("and" | "or")) || self.is_punct(")") {
                            return Ok((self.prim(Prim::Id(q, IdVal::Num(n)), start), q));
                        }
                    }
                    self.pos = save;
                }
                self.pos += 1;
                let e = self.parse_pid(q)?;
                self.expect_punct(")", "'and', 'or' or ')'")?;
                Ok((e, q))
            }
            _ => {
                let e = self.parse_nid(q)?;
                Ok((e, q))
            }
        }
    }

    /// `pid: (nid | pnum) ((and | or) id)*`
    fn parse_pid(&mut self, q: Qual) -> PResult<Expr> {
        let mut e = if self.starts_pnum() {
            let start = self.pos;
            let n = self.pnum()?;
            self.prim(Prim::Id(q, IdVal::Num(n)), start)
        } else {
            self.parse_nid(q)?
        };
        loop {
            let is_and = match self.peek_kw() {
                Some("and") => true,
                Some("or") => false,
                _ => break,
            };
            self.pos += 1;
            let (rhs, _) = self.parse_id(q)?;
            e = if is_and {
                Expr::And(Box::new(e), Box::new(rhs))
            } else {
                Expr::Or(Box::new(e), Box::new(rhs))
            };
        }
        Ok(e)
    }

    /// A single value: name, number, address, address with mask or prefix.
    fn parse_nid(&mut self, q: Qual) -> PResult<Expr> {
        let start = self.pos;
        let val = match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                IdVal::Num(n)
            }
            Some(Tok::Id(s)) => {
                self.pos += 1;
                IdVal::Name(s)
            }
            Some(Tok::Eid(s)) => {
                self.pos += 1;
                IdVal::Eid(s)
            }
            Some(Tok::Aid(s)) => {
                self.pos += 1;
                IdVal::Aid(s)
            }
            Some(Tok::Hid(s)) => {
                self.pos += 1;
                if self.is_punct("/") {
                    self.pos += 1;
                    IdVal::HidLen(s, self.num()?)
                } else if self.is_kw("mask") {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Tok::Hid(m)) => {
                            self.pos += 1;
                            IdVal::HidMask(s, m)
                        }
                        _ => return self.err("a dotted netmask"),
                    }
                } else {
                    let msg = match q.addr {
                        AddrQ::Port => Some("'port' modifier applied to ip host"),
                        AddrQ::PortRange => Some("'portrange' modifier applied to ip host"),
                        AddrQ::Proto => Some("'proto' modifier applied to ip host"),
                        AddrQ::ProtoChain => Some("'protochain' modifier applied to ip host"),
                        _ => None,
                    };
                    if let Some(m) = msg {
                        return Err(PErr {
                            at: start,
                            msg: m.into(),
                        });
                    }
                    IdVal::Hid(s)
                }
            }
            Some(Tok::Hid6(s)) => {
                self.pos += 1;
                if self.is_punct("/") {
                    self.pos += 1;
                    IdVal::Hid6Len(s, self.num()?)
                } else {
                    IdVal::Hid6(s)
                }
            }
            _ => return self.err("a host, network, port or protocol value"),
        };
        Ok(self.prim(Prim::Id(q, val), start))
    }

    // ---- arithmetic ----

    fn parse_relation(&mut self, start: usize) -> PResult<Expr> {
        let lhs = self.parse_arith(0)?;
        let (op, negate) = match self.peek() {
            Some(Tok::Punct(p)) => match relop(p) {
                Some(r) => r,
                None => return self.err("a relational operator (=, !=, <, <=, >, >=)"),
            },
            _ => return self.err("a relational operator (=, !=, <, <=, >, >=)"),
        };
        self.pos += 1;
        let rhs = self.parse_arith(0)?;
        Ok(self.prim(
            Prim::Rel {
                op,
                negate,
                lhs,
                rhs,
            },
            start,
        ))
    }

    fn parse_arith(&mut self, min: u8) -> PResult<Arith> {
        self.enter()?;
        let r = self.parse_arith_inner(min);
        self.depth -= 1;
        r
    }

    fn parse_arith_inner(&mut self, min: u8) -> PResult<Arith> {
        let start = self.pos;
        let mut lhs = self.parse_unary()?;
        while let Some((op, prec)) = match self.peek() {
            Some(Tok::Punct(p)) => binop(p),
            _ => None,
        } {
            if prec == 0 {
                self.pos += 1;
                let rhs = self.parse_arith(0)?;
                lhs = Arith::Bin(op, Box::new(lhs), Box::new(rhs), self.span_from(start));
                continue;
            }
            if prec < min.max(1) {
                break;
            }
            self.pos += 1;
            let rhs = self.parse_arith(prec + 1)?;
            lhs = Arith::Bin(op, Box::new(lhs), Box::new(rhs), self.span_from(start));
        }
        Ok(lhs)
    }

    fn parse_unary(&mut self) -> PResult<Arith> {
        self.enter()?;
        let r = self.parse_unary_inner();
        self.depth -= 1;
        r
    }

    fn parse_unary_inner(&mut self) -> PResult<Arith> {
        let start = self.pos;
        if self.is_punct("-") {
            self.pos += 1;
            let mut x = self.parse_unary()?;
            if let Some(Tok::Punct(p @ ("%" | "^"))) = self.peek() {
                let op = if *p == "%" {
                    ArithOp::Mod
                } else {
                    ArithOp::Xor
                };
                self.pos += 1;
                let rhs = self.parse_arith(0)?;
                x = Arith::Bin(op, Box::new(x), Box::new(rhs), self.span_from(start));
            }
            return Ok(Arith::Neg(Box::new(x)));
        }
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(Arith::Num(n))
            }
            Some(Tok::Kw("len")) => {
                self.pos += 1;
                Ok(Arith::Len)
            }
            Some(Tok::Punct("(")) => {
                self.pos += 1;
                let a = self.parse_arith(0)?;
                self.expect_punct(")", "')'")?;
                Ok(a)
            }
            Some(Tok::Kw(k)) if pname(k).is_some() => {
                let proto = pname(k).unwrap_or(Proto::Default);
                self.pos += 1;
                self.expect_punct("[", "'['")?;
                let index = self.parse_arith(0)?;
                let size = if self.is_punct(":") {
                    self.pos += 1;
                    self.num()?
                } else {
                    1
                };
                self.expect_punct("]", "']'")?;
                Ok(Arith::Load {
                    proto,
                    index: Box::new(index),
                    size,
                    span: self.span_from(start),
                })
            }
            _ => self.err("a number, 'len' or 'proto[offset]'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match e {
            Expr::And(a, b) => format!("({} and {})", show(a), show(b)),
            Expr::Or(a, b) => format!("({} or {})", show(a), show(b)),
            Expr::Not(a) => format!("not {}", show(a)),
            Expr::Prim(Prim::Id(q, v), _) => format!(
                "[{:?} {:?} {:?} {}]",
                q.proto,
                q.dir,
                q.addr,
                match v {
                    IdVal::Num(n) => n.to_string(),
                    IdVal::Name(s) | IdVal::Hid(s) | IdVal::Hid6(s) | IdVal::Eid(s) => s.clone(),
                    other => format!("{other:?}"),
                }
            ),
            Expr::Prim(Prim::ProtoAbbrev(p), _) => p.name().to_string(),
            Expr::Prim(
                Prim::Rel {
                    lhs,
                    rhs,
                    op,
                    negate,
                },
                _,
            ) => {
                format!(
                    "{{{} {:?}{} {}}}",
                    arith(lhs),
                    op,
                    if *negate { "!" } else { "" },
                    arith(rhs)
                )
            }
            Expr::Prim(p, _) => format!("{p:?}"),
        }
    }
    fn arith(a: &Arith) -> String {
        match a {
            Arith::Num(n) => n.to_string(),
            Arith::Len => "len".into(),
            Arith::Load {
                proto, index, size, ..
            } => format!("{}[{}:{}]", proto.name(), arith(index), size),
            Arith::Bin(op, l, r, _) => format!("({} {:?} {})", arith(l), op, arith(r)),
            Arith::Neg(x) => format!("-{}", arith(x)),
        }
    }

    #[test]
    fn accepted() {
        let cases: &[(&str, &str)] = &[
            ("tcp or udp and port 53", "((tcp or udp) and [Default Default Port 53])"),
            ("host 1.2.3.4 or 5.6.7.8", "([Default Default Host 1.2.3.4] or [Default Default Host 5.6.7.8])"),
            ("tcp port 80 or 443", "([Tcp Default Port 80] or [Tcp Default Port 443])"),
            ("not host a and b", "(not [Default Default Host a] and [Default Default Host b])"),
            ("src or dst port 7", "[Default Or Port 7]"),
            ("ip[8] % 5 * 2 = 1", "{(ip[8:1] Mod (5 Mul 2)) Eq 1}"),
            ("ip[8] * 5 % 2 = 1", "{(ip[8:1] Mul (5 Mod 2)) Eq 1}"),
            ("1 - 2 - 3 = 4", "{((1 Sub 2) Sub 3) Eq 4}"),
            ("1 + 2 * 3 != 4", "{(1 Add (2 Mul 3)) Eq! 4}"),
            ("-1 * 2 < 3", "{(-1 Mul 2) Ge! 3}"),
            ("(tcp[0] = 1)", "{tcp[0:1] Eq 1}"),
            ("(tcp[0]) = 1", "{tcp[0:1] Eq 1}"),
            ("port 80 and (443 or 53)", "([Default Default Port 80] and ([Default Default Port 443] or [Default Default Port 53]))"),
            ("tcp port 80 and (udp) and 53", "(([Tcp Default Port 80] and udp) and [Tcp Default Port 53])"),
            ("host (1.2.3.4 or 5.6.7.8)", "([Default Default Host 1.2.3.4] or [Default Default Host 5.6.7.8])"),
            ("ether src ab:cd:ef:00:00:01", "[Link Src Default ab:cd:ef:00:00:01]"),
        ];
        for (src, want) in cases {
            match parse(src) {
                Ok(e) => assert_eq!(show(&e), *want, "{src}"),
                Err(e) => panic!("{src}: {}", e.render(src)),
            }
        }
    }

    #[test]
    fn rejected() {
        let cases: &[(&str, &str, usize)] = &[
            (
                "tcp port 80 an udp",
                "syntax error: expected 'and', 'or' or end of expression",
                12,
            ),
            ("host", "syntax error: unexpected end of expression", 4),
            ("1.2.3.4", "syntax error", 0),
            ("port 1.2.3.4", "'port' modifier applied to ip host", 5),
            ("tcp[1:2", "syntax error", 7),
            ("host (a or tcp)", "syntax error", 11),
            ("port 080", "number 080 contains non-octal digit", 5),
        ];
        for (src, msg, at) in cases {
            match parse(src) {
                Ok(e) => panic!("{src}: accepted as {}", show(&e)),
                Err(e) => {
                    assert!(e.msg.starts_with(msg), "{src}: {}", e.msg);
                    assert_eq!(
                        e.span.as_ref().map(|s| s.start),
                        Some(*at),
                        "{src}: {}",
                        e.render(src)
                    );
                }
            }
        }
    }
}
