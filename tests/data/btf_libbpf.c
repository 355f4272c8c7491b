/* BTF-defined hook alongside libbpf's own headers (included first), which
 * declare bpf_tail_call, SEC() and __uint() too. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "hook.h"

XDPCAP_HOOK_BTF(xdpcap_hook);

/* libbpf's own style of map next to ours. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} seen SEC(".maps");

SEC("xdp")
int libbpf_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&seen, &key);

	if (count)
		__sync_fetch_and_add(count, 1);
	if (data + 14 > end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED);
	if (*(__u16 *)(data + 12) == bpf_htons(0x0806)) /* ARP */
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
