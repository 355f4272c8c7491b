/* Multi-buffer program (SEC("xdp.frags"), loaded with BPF_F_XDP_HAS_FRAGS):
 * its hook only takes capture programs loaded with the same flag. Drops
 * UDP to port 9, passes the rest. */
#include <linux/bpf.h>
#include "hook.h"
#include "common_parse.h"

XDPCAP_HOOK_BTF(xdpcap_hook);

SEC("xdp.frags")
int frags_prog(struct xdp_md *ctx)
{
	if (is_udp_to(ctx, 9))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
