/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * xdpcap hook: the C side of the hook ABI.
 *
 * An XDP program returns through a hook, a BPF_MAP_TYPE_PROG_ARRAY with one
 * slot per XDP action (key 4 bytes, value 4 bytes, 5 entries), pinned in a
 * bpffs. While xdpcap runs, slot ACTION holds a capture program that
 * records the packet and returns ACTION, so the packet's fate never
 * changes; an empty slot costs one failed tail call.
 *
 *   #include <linux/bpf.h>
 *   #include "hook.h"
 *
 *   XDPCAP_HOOK_BTF(xdpcap_hook);                  // libbpf >= 1.0 style
 *   // or: struct bpf_map_def SEC("maps") xdpcap_hook = XDPCAP_HOOK();
 *
 *   SEC("xdp")
 *   int prog(struct xdp_md *ctx)
 *   {
 *           return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
 *   }
 *
 * Needs only <linux/bpf.h>. libbpf's <bpf/bpf_helpers.h> may be used as
 * well; include it before this file (its SEC() then wins). Nothing here
 * declares a name libbpf declares, except SEC() and struct bpf_map_def
 * when they are missing: define XDPCAP_HAVE_BPF_MAP_DEF if your headers
 * (libbpf before 1.0, iproute2) already have struct bpf_map_def.
 */
#ifndef XDPCAP_HOOK_H
#define XDPCAP_HOOK_H

#include <linux/bpf.h>

/* Slots of the hook: one per XDP action, indexed by the action. */
#define XDPCAP_HOOK_ENTRIES 5

#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

#ifndef XDPCAP_HAVE_BPF_MAP_DEF
#define XDPCAP_HAVE_BPF_MAP_DEF
/* The legacy map definition read from the "maps" section by old loaders. */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};
#endif

/*
 * Legacy hook: an initializer for a struct bpf_map_def in SEC("maps"),
 *   struct bpf_map_def SEC("maps") xdpcap_hook = XDPCAP_HOOK();
 */
#define XDPCAP_HOOK()                                  \
	{                                              \
		.type = BPF_MAP_TYPE_PROG_ARRAY,       \
		.key_size = sizeof(__u32),             \
		.value_size = sizeof(__u32),           \
		.max_entries = XDPCAP_HOOK_ENTRIES,    \
		.map_flags = 0,                        \
	}

/*
 * BTF-defined hook in SEC(".maps"), at file scope:
 *   XDPCAP_HOOK_BTF(xdpcap_hook);
 * Spelled out without libbpf's __uint(): a member `int (*field)[N]` tells
 * the loader field = N through BTF. A prog array's key and value are sizes,
 * not BTF types, because the kernel accepts no BTF value type for it.
 */
#define XDPCAP_HOOK_BTF(name)                                        \
	struct {                                                     \
		int (*type)[BPF_MAP_TYPE_PROG_ARRAY];                \
		int (*key_size)[sizeof(__u32)];                      \
		int (*value_size)[sizeof(__u32)];                    \
		int (*max_entries)[XDPCAP_HOOK_ENTRIES];             \
	} name __attribute__((section(".maps"), used))

/*
 * Return `action` through `hook`: tail-call into the slot of `action` (a
 * no-op when the slot is empty), then return `action`. Pass a constant
 * action so the tail call is a direct jump. The helper is called by its
 * number so that no declaration clashes with libbpf's bpf_tail_call.
 */
static inline __attribute__((always_inline)) int
xdpcap_exit(struct xdp_md *ctx, void *hook, enum xdp_action action)
{
	long (*tail_call)(void *ctx, void *map, __u32 index) =
		(long (*)(void *, void *, __u32))BPF_FUNC_tail_call;

	tail_call(ctx, hook, action);
	return action;
}

#endif /* XDPCAP_HOOK_H */
