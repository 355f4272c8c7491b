/* Packet parsing shared by the hook examples: is this an IPv4 UDP datagram
 * to `port`? Plain C over linux/bpf.h, no libbpf. */
#ifndef EXAMPLES_PARSE_H
#define EXAMPLES_PARSE_H

#include <linux/bpf.h>

#define ETH_HLEN_ 14
#define ETHERTYPE_IPV4_BE 0x0008 /* 0x0800 read as little-endian */
#define IPPROTO_UDP_ 17

static inline __attribute__((always_inline)) __u16 be16(__u16 v)
{
	return (__u16)((v >> 8) | (v << 8));
}

/* 1 when the frame is Ethernet + IPv4 (no options) + UDP to `port`. */
static inline __attribute__((always_inline)) int
is_udp_to(struct xdp_md *ctx, __u16 port)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;
	unsigned char *end = (unsigned char *)(long)ctx->data_end;

	if (data + ETH_HLEN_ + 20 + 8 > end)
		return 0;
	if (*(__u16 *)(data + 12) != ETHERTYPE_IPV4_BE)
		return 0;
	if (data[ETH_HLEN_] != 0x45 || data[ETH_HLEN_ + 9] != IPPROTO_UDP_)
		return 0;
	return be16(*(__u16 *)(data + ETH_HLEN_ + 20 + 2)) == port;
}

#endif
