/* Legacy-style hook: a struct bpf_map_def in the "maps" section, as loaders
 * before libbpf 1.0 (and iproute2) read it. Drops UDP to port 9 (discard),
 * passes the rest, both through the hook. */
#include <linux/bpf.h>
#include "hook.h"
#include "common_parse.h"

struct bpf_map_def SEC("maps") xdpcap_hook = XDPCAP_HOOK();

SEC("xdp")
int legacy_prog(struct xdp_md *ctx)
{
	if (is_udp_to(ctx, 9))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
