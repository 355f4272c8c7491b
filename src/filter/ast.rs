//! The syntax tree of a pcap-filter expression, as the parser leaves it:
//! every primitive already carries the qualifiers it inherited, so code
//! generation never looks back at neighbours.

use std::ops::Range;

pub type Span = Range<usize>;

/// Protocol qualifier (`ip`, `tcp`, `ether`, ...). `Default` means none
/// was written; `Undef` means the position cannot take an inherited
/// qualifier at all (libpcap reports a bare syntax error then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Undef,
    Default,
    Link,
    Ip,
    Arp,
    Rarp,
    Sctp,
    Tcp,
    Udp,
    Icmp,
    Igmp,
    Igrp,
    Pim,
    Vrrp,
    Carp,
    Atalk,
    Aarp,
    Decnet,
    Lat,
    Sca,
    Moprc,
    Mopdl,
    Ip6,
    Icmp6,
    Ah,
    Esp,
    Iso,
    Esis,
    Isis,
    IsisL1,
    IsisL2,
    IsisIih,
    IsisLsp,
    IsisSnp,
    IsisCsnp,
    IsisPsnp,
    Clnp,
    Stp,
    Ipx,
    Netbeui,
    Radio,
}

impl Proto {
    /// The keyword as libpcap spells it in its messages.
    pub fn name(self) -> &'static str {
        use Proto::*;
        match self {
            Undef | Default => "",
            Link => "link",
            Ip => "ip",
            Arp => "arp",
            Rarp => "rarp",
            Sctp => "sctp",
            Tcp => "tcp",
            Udp => "udp",
            Icmp => "icmp",
            Igmp => "igmp",
            Igrp => "igrp",
            Pim => "pim",
            Vrrp => "vrrp",
            Carp => "carp",
            Atalk => "atalk",
            Aarp => "aarp",
            Decnet => "decnet",
            Lat => "lat",
            Sca => "sca",
            Moprc => "moprc",
            Mopdl => "mopdl",
            Ip6 => "ip6",
            Icmp6 => "icmp6",
            Ah => "ah",
            Esp => "esp",
            Iso => "iso",
            Esis => "esis",
            Isis => "isis",
            IsisL1 => "l1",
            IsisL2 => "l2",
            IsisIih => "iih",
            IsisLsp => "lsp",
            IsisSnp => "snp",
            IsisCsnp => "csnp",
            IsisPsnp => "psnp",
            Clnp => "clnp",
            Stp => "stp",
            Ipx => "ipx",
            Netbeui => "netbeui",
            Radio => "radio",
        }
    }
}

/// Direction qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Undef,
    Default,
    Src,
    Dst,
    Or,
    And,
    Addr1,
    Addr2,
    Addr3,
    Addr4,
    Ra,
    Ta,
}

/// Address-type qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrQ {
    Undef,
    Default,
    Host,
    Net,
    Port,
    PortRange,
    Gateway,
    Proto,
    ProtoChain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qual {
    pub proto: Proto,
    pub dir: Dir,
    pub addr: AddrQ,
}

impl Qual {
    /// The qualifier of a position that inherits nothing usable.
    pub const ERR: Qual = Qual {
        proto: Proto::Undef,
        dir: Dir::Undef,
        addr: AddrQ::Undef,
    };
}

/// The value part of a qualified primitive (`host X`, `port X`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdVal {
    /// A name (`localhost`, `http`, `25-53`, `\tcp`).
    Name(String),
    /// A plain number.
    Num(u32),
    /// A dotted IPv4 address or prefix (`10.1`, `1.2.3.4`).
    Hid(String),
    /// `a.b.c.d/len`.
    HidLen(String, u32),
    /// `a.b.c.d mask m.m.m.m`.
    HidMask(String, String),
    /// An IPv6 address.
    Hid6(String),
    /// `v6addr/len`.
    Hid6Len(String, u32),
    /// A MAC address.
    Eid(String),
    /// An ARCnet address (`$xx`).
    Aid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Lsh,
    Rsh,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arith {
    Num(u32),
    Len,
    /// `proto[index : size]`.
    Load {
        proto: Proto,
        index: Box<Arith>,
        size: u32,
        span: Span,
    },
    Bin(ArithOp, Box<Arith>, Box<Arith>, Span),
    Neg(Box<Arith>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelOp {
    Gt,
    Ge,
    Eq,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prim {
    /// A qualified value (`host 1.2.3.4`, `tcp port 80`, `proto \tcp`).
    Id(Qual, IdVal),
    /// A bare protocol (`tcp`, `ip6`, `l1`).
    ProtoAbbrev(Proto),
    Broadcast(Proto),
    Multicast(Proto),
    Less(u32),
    Greater(u32),
    /// `byte IDX OP VAL`, OP one of `& | < > =`.
    Byte(u32, u8, u32),
    /// `proto[...] OP proto[...]`; `negate` for `<`, `<=`, `!=`.
    Rel {
        op: RelOp,
        negate: bool,
        lhs: Arith,
        rhs: Arith,
    },
    Vlan(Option<u32>),
    Mpls(Option<u32>),
    Pppoed,
    Pppoes(Option<u32>),
    Geneve(Option<u32>),
    /// `llc`, `llc i`, `llc rr`, ...
    Llc(Option<String>),
    /// Things libpcap knows but that cannot apply to Ethernet or raw IP
    /// captures read from a file; codegen turns each into its error.
    Unsupported(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Prim(Prim, Span),
}
