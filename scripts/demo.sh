#!/usr/bin/env bash
# sudo make demo: runs the demo example (examples/demo.rs) and removes what
# it created whatever happens, Ctrl-C included.
# Usage: scripts/demo.sh <xdpcap binary> <demo example binary>
set -euo pipefail
xdpcap=$1
demo=$2
name="xdpcapdemo$$"

cleanup() {
	trap - EXIT INT TERM
	ip netns del "${name}a" 2>/dev/null || true
	ip netns del "${name}b" 2>/dev/null || true
	rm -rf "/sys/fs/bpf/${name}" "${TMPDIR:-/tmp}/${name}.pcapng"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (CAP_BPF, CAP_NET_ADMIN): sudo make demo" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
"$demo" "$xdpcap" "$name"
