/* BTF-defined hook with nothing but linux/bpf.h and hook.h. Drops UDP to
 * port 9, passes the rest, both through the hook. */
#include <linux/bpf.h>
#include "hook.h"
#include "common_parse.h"

XDPCAP_HOOK_BTF(xdpcap_hook);

SEC("xdp")
int btf_prog(struct xdp_md *ctx)
{
	if (is_udp_to(ctx, 9))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
