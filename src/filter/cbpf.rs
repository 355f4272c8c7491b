//! Classic BPF.
