/* Two programs sharing one hook, and a second hook: prog_a and prog_b both
 * return through xdpcap_hook; prog_b's drops (UDP to port 9) go through
 * drop_hook instead, so a capture there sees only them. */
#include <linux/bpf.h>
#include "hook.h"
#include "common_parse.h"

XDPCAP_HOOK_BTF(xdpcap_hook);
XDPCAP_HOOK_BTF(drop_hook);

SEC("xdp")
int prog_a(struct xdp_md *ctx)
{
	if (is_udp_to(ctx, 9))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

SEC("xdp")
int prog_b(struct xdp_md *ctx)
{
	if (is_udp_to(ctx, 9))
		return xdpcap_exit(ctx, &drop_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
