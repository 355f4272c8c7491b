//! `union bpf_attr` of `linux/bpf.h`, one `#[repr(C)]` struct per command,
//! and the `bpf_*_info` structs of `BPF_OBJ_GET_INFO_BY_FD`.
//!
//! Each struct lays its fields out exactly as the UAPI does, with every
//! padding made an explicit field, so that a zeroed value is a valid
//! `bpf_attr` prefix and its bytes can be handed to the kernel (which zeroes
//! the rest of the union itself). The tests pin every offset and size to the
//! values of the UAPI header.

/// A padding-free plain-old-data struct that the kernel reads and writes.
///
/// # Safety
/// Implementors are `#[repr(C)]`, contain only integers and integer arrays,
/// and have no implicit padding, so every byte is initialised and any byte
/// pattern is a valid value.
pub(crate) unsafe trait Pod: Sized + Default {
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `Pod` guarantees no padding and that any byte pattern is a
        // valid value, so the struct may be viewed as initialised bytes.
        unsafe {
            std::slice::from_raw_parts_mut(
                self as *mut Self as *mut u8,
                std::mem::size_of::<Self>(),
            )
        }
    }
}

/// `BPF_OBJ_NAME_LEN`: object names, NUL included.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// `BPF_TAG_SIZE`: the program tag (truncated SHA-1 of the instructions).
pub const BPF_TAG_SIZE: usize = 8;

/// `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}

/// `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`, `BPF_MAP_DELETE_ELEM`,
/// `BPF_MAP_GET_NEXT_KEY` (`value` is then `next_key`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct MapElemAttr {
    pub map_fd: u32,
    pub _pad0: u32,
    pub key: u64,
    pub value: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
}

/// `BPF_OBJ_PIN`, `BPF_OBJ_GET`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct ObjAttr {
    pub pathname: u64,
    pub bpf_fd: u32,
    pub file_flags: u32,
}

/// `BPF_PROG_TEST_RUN` (`attr.test`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    pub _pad0: u32,
}

/// `BPF_PROG_GET_NEXT_ID`, `BPF_MAP_GET_NEXT_ID`, `BPF_*_GET_FD_BY_ID`
/// (`start_id` is then the id).
#[repr(C)]
#[derive(Default)]
pub(crate) struct IdAttr {
    pub start_id: u32,
    pub next_id: u32,
    pub open_flags: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` (`attr.info`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct InfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// `BPF_LINK_CREATE` (`attr.link_create`), the fields common to all link
/// types; the per-type union after them stays zero.
#[repr(C)]
#[derive(Default)]
pub(crate) struct LinkCreateAttr {
    pub prog_fd: u32,
    /// `target_fd` or `target_ifindex`.
    pub target: u32,
    pub attach_type: u32,
    pub flags: u32,
}

/// `struct bpf_prog_info`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct BpfProgInfo {
    pub type_: u32,
    pub id: u32,
    pub tag: [u8; BPF_TAG_SIZE],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; BPF_OBJ_NAME_LEN],
    pub ifindex: u32,
    /// Bit 0: `gpl_compatible`.
    pub gpl_compatible: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub nr_jited_ksyms: u32,
    pub nr_jited_func_lens: u32,
    pub jited_ksyms: u64,
    pub jited_func_lens: u64,
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub nr_func_info: u32,
    pub nr_line_info: u32,
    pub line_info: u64,
    pub jited_line_info: u64,
    pub nr_jited_line_info: u32,
    pub line_info_rec_size: u32,
    pub jited_line_info_rec_size: u32,
    pub nr_prog_tags: u32,
    pub prog_tags: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
    pub _pad0: u32,
}

/// `struct bpf_map_info`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct BpfMapInfo {
    pub type_: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; BPF_OBJ_NAME_LEN],
    pub ifindex: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub _pad0: u32,
    pub map_extra: u64,
}

/// `struct bpf_link_info`; `union0[0]` is `xdp.ifindex` for XDP links.
#[repr(C)]
#[derive(Default)]
pub(crate) struct BpfLinkInfo {
    pub type_: u32,
    pub id: u32,
    pub prog_id: u32,
    pub _pad0: u32,
    pub union0: [u32; 8],
}

// SAFETY: each struct above is `#[repr(C)]`, made of integers and integer
// arrays only, with every gap spelled as a `_pad` field; the layout tests
// below check that the sizes equal the sums of the fields.
unsafe impl Pod for MapCreateAttr {}
// SAFETY: as above.
unsafe impl Pod for MapElemAttr {}
// SAFETY: as above.
unsafe impl Pod for ProgLoadAttr {}
// SAFETY: as above.
unsafe impl Pod for ObjAttr {}
// SAFETY: as above.
unsafe impl Pod for TestRunAttr {}
// SAFETY: as above (12 bytes of u32, alignment 4).
unsafe impl Pod for IdAttr {}
// SAFETY: as above.
unsafe impl Pod for InfoAttr {}
// SAFETY: as above.
unsafe impl Pod for LinkCreateAttr {}
// SAFETY: as above.
unsafe impl Pod for BpfProgInfo {}
// SAFETY: as above.
unsafe impl Pod for BpfMapInfo {}
// SAFETY: as above.
unsafe impl Pod for BpfLinkInfo {}

/// Copies `name` into a NUL-terminated object name, truncated to the 15
/// bytes the kernel keeps.
pub(crate) fn obj_name(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    let n = name.len().min(BPF_OBJ_NAME_LEN - 1);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

/// The string of a NUL-padded object name.
pub(crate) fn name_str(name: &[u8]) -> String {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    // Offsets and sizes below are those of `union bpf_attr` and the info
    // structs in linux/bpf.h (x86_64 and every other 64-bit ABI alike).

    #[test]
    fn map_create_layout() {
        assert_eq!(offset_of!(MapCreateAttr, map_type), 0);
        assert_eq!(offset_of!(MapCreateAttr, key_size), 4);
        assert_eq!(offset_of!(MapCreateAttr, value_size), 8);
        assert_eq!(offset_of!(MapCreateAttr, max_entries), 12);
        assert_eq!(offset_of!(MapCreateAttr, map_flags), 16);
        assert_eq!(offset_of!(MapCreateAttr, inner_map_fd), 20);
        assert_eq!(offset_of!(MapCreateAttr, numa_node), 24);
        assert_eq!(offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(offset_of!(MapCreateAttr, map_ifindex), 44);
        assert_eq!(offset_of!(MapCreateAttr, btf_fd), 48);
        assert_eq!(offset_of!(MapCreateAttr, map_extra), 64);
        assert_eq!(size_of::<MapCreateAttr>(), 72);
    }

    #[test]
    fn map_elem_layout() {
        assert_eq!(offset_of!(MapElemAttr, map_fd), 0);
        assert_eq!(offset_of!(MapElemAttr, key), 8);
        assert_eq!(offset_of!(MapElemAttr, value), 16);
        assert_eq!(offset_of!(MapElemAttr, flags), 24);
        assert_eq!(size_of::<MapElemAttr>(), 32);
    }

    #[test]
    fn prog_load_layout() {
        assert_eq!(offset_of!(ProgLoadAttr, prog_type), 0);
        assert_eq!(offset_of!(ProgLoadAttr, insn_cnt), 4);
        assert_eq!(offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(offset_of!(ProgLoadAttr, license), 16);
        assert_eq!(offset_of!(ProgLoadAttr, log_level), 24);
        assert_eq!(offset_of!(ProgLoadAttr, log_size), 28);
        assert_eq!(offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(offset_of!(ProgLoadAttr, kern_version), 40);
        assert_eq!(offset_of!(ProgLoadAttr, prog_flags), 44);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, prog_ifindex), 64);
        assert_eq!(offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(size_of::<ProgLoadAttr>(), 72);
    }

    #[test]
    fn obj_and_id_and_info_layout() {
        assert_eq!(offset_of!(ObjAttr, pathname), 0);
        assert_eq!(offset_of!(ObjAttr, bpf_fd), 8);
        assert_eq!(offset_of!(ObjAttr, file_flags), 12);
        assert_eq!(size_of::<ObjAttr>(), 16);
        assert_eq!(offset_of!(IdAttr, start_id), 0);
        assert_eq!(offset_of!(IdAttr, next_id), 4);
        assert_eq!(offset_of!(IdAttr, open_flags), 8);
        assert_eq!(size_of::<IdAttr>(), 12);
        assert_eq!(offset_of!(InfoAttr, bpf_fd), 0);
        assert_eq!(offset_of!(InfoAttr, info_len), 4);
        assert_eq!(offset_of!(InfoAttr, info), 8);
        assert_eq!(size_of::<InfoAttr>(), 16);
        assert_eq!(offset_of!(LinkCreateAttr, prog_fd), 0);
        assert_eq!(offset_of!(LinkCreateAttr, target), 4);
        assert_eq!(offset_of!(LinkCreateAttr, attach_type), 8);
        assert_eq!(offset_of!(LinkCreateAttr, flags), 12);
        assert_eq!(size_of::<LinkCreateAttr>(), 16);
    }

    #[test]
    fn test_run_layout() {
        assert_eq!(offset_of!(TestRunAttr, prog_fd), 0);
        assert_eq!(offset_of!(TestRunAttr, retval), 4);
        assert_eq!(offset_of!(TestRunAttr, data_size_in), 8);
        assert_eq!(offset_of!(TestRunAttr, data_size_out), 12);
        assert_eq!(offset_of!(TestRunAttr, data_in), 16);
        assert_eq!(offset_of!(TestRunAttr, data_out), 24);
        assert_eq!(offset_of!(TestRunAttr, repeat), 32);
        assert_eq!(offset_of!(TestRunAttr, duration), 36);
        assert_eq!(offset_of!(TestRunAttr, ctx_size_in), 40);
        assert_eq!(offset_of!(TestRunAttr, ctx_size_out), 44);
        assert_eq!(offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(offset_of!(TestRunAttr, ctx_out), 56);
        assert_eq!(offset_of!(TestRunAttr, flags), 64);
        assert_eq!(offset_of!(TestRunAttr, cpu), 68);
        assert_eq!(offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(size_of::<TestRunAttr>(), 80);
    }

    #[test]
    fn prog_info_layout() {
        assert_eq!(offset_of!(BpfProgInfo, type_), 0);
        assert_eq!(offset_of!(BpfProgInfo, id), 4);
        assert_eq!(offset_of!(BpfProgInfo, tag), 8);
        assert_eq!(offset_of!(BpfProgInfo, jited_prog_len), 16);
        assert_eq!(offset_of!(BpfProgInfo, xlated_prog_len), 20);
        assert_eq!(offset_of!(BpfProgInfo, load_time), 40);
        assert_eq!(offset_of!(BpfProgInfo, created_by_uid), 48);
        assert_eq!(offset_of!(BpfProgInfo, nr_map_ids), 52);
        assert_eq!(offset_of!(BpfProgInfo, map_ids), 56);
        assert_eq!(offset_of!(BpfProgInfo, name), 64);
        assert_eq!(offset_of!(BpfProgInfo, ifindex), 80);
        assert_eq!(offset_of!(BpfProgInfo, netns_dev), 88);
        assert_eq!(offset_of!(BpfProgInfo, run_time_ns), 192);
        assert_eq!(offset_of!(BpfProgInfo, run_cnt), 200);
        assert_eq!(offset_of!(BpfProgInfo, recursion_misses), 208);
        assert_eq!(offset_of!(BpfProgInfo, verified_insns), 216);
        assert_eq!(offset_of!(BpfProgInfo, attach_btf_id), 224);
        assert_eq!(size_of::<BpfProgInfo>(), 232);
    }

    #[test]
    fn map_and_link_info_layout() {
        assert_eq!(offset_of!(BpfMapInfo, type_), 0);
        assert_eq!(offset_of!(BpfMapInfo, id), 4);
        assert_eq!(offset_of!(BpfMapInfo, key_size), 8);
        assert_eq!(offset_of!(BpfMapInfo, value_size), 12);
        assert_eq!(offset_of!(BpfMapInfo, max_entries), 16);
        assert_eq!(offset_of!(BpfMapInfo, map_flags), 20);
        assert_eq!(offset_of!(BpfMapInfo, name), 24);
        assert_eq!(offset_of!(BpfMapInfo, ifindex), 40);
        assert_eq!(offset_of!(BpfMapInfo, netns_dev), 48);
        assert_eq!(offset_of!(BpfMapInfo, btf_id), 64);
        assert_eq!(offset_of!(BpfMapInfo, map_extra), 80);
        assert_eq!(size_of::<BpfMapInfo>(), 88);
        assert_eq!(offset_of!(BpfLinkInfo, prog_id), 8);
        assert_eq!(offset_of!(BpfLinkInfo, union0), 16);
        assert_eq!(size_of::<BpfLinkInfo>(), 48);
    }

    #[test]
    fn names_are_truncated_and_nul_terminated() {
        let n = obj_name("xdpcap_drop");
        assert_eq!(&n[..12], b"xdpcap_drop\0");
        let n = obj_name("a_name_longer_than_fifteen");
        assert_eq!(&n[..15], b"a_name_longer_t");
        assert_eq!(n[15], 0);
        assert_eq!(name_str(&n), "a_name_longer_t");
        assert_eq!(name_str(&obj_name("")), "");
    }
}
