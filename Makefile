# xdpcap: build, test, demo. `sudo make demo` and `sudo make test` are the
# two commands a newcomer needs; both install what they miss (`make deps`).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
GNU := x86_64-unknown-linux-gnu
DIST := dist/xdpcap
AARCH64 := aarch64-unknown-linux-musl

# Debian packages the tests, the demo and the C examples use.
APT_PACKAGES := tcpdump clang llvm bpftool iproute2 iputils-ping libbpf-dev \
	linux-libc-dev libcap2-bin util-linux coreutils binutils file procps python3 \
	qemu-user

# C examples of the hook ABI (include/hook.h), built for the BPF target.
# linux/bpf.h needs <asm/types.h>, which Debian keeps in the multiarch dir.
BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -Iinclude \
	-I/usr/include/$(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
EXAMPLES_C := $(wildcard tests/data/*.c)
EXAMPLES_O := $(patsubst tests/data/%.c,target/bpf/%.o,$(EXAMPLES_C))

.PHONY: build static static-aarch64 deps bpffs test demo bench lint examples clean

build:
	$(CARGO) build --release

# One fully static binary, dist/xdpcap: musl when the target is installed,
# else glibc with +crt-static. Either way it must have no interpreter and no
# NEEDED entry.
static:
	@mkdir -p dist
	@if rustup target list --installed 2>/dev/null | grep -qx $(MUSL); then \
		$(CARGO) build --release --target $(MUSL); \
		cp target/$(MUSL)/release/xdpcap $(DIST).new && mv -f $(DIST).new $(DIST); \
	else \
		echo "static: the Rust target $(MUSL) is not installed (rustup target add $(MUSL));"; \
		echo "static: falling back to glibc with -C target-feature=+crt-static"; \
		RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --target $(GNU); \
		cp target/$(GNU)/release/xdpcap $(DIST).new && mv -f $(DIST).new $(DIST); \
	fi
	@if readelf -lW $(DIST) | grep -q 'INTERP'; then \
		echo "static: $(DIST) asks for a program interpreter"; exit 1; fi
	@if readelf -dW $(DIST) | grep -q '(NEEDED)'; then \
		echo "static: $(DIST) needs shared libraries:"; readelf -dW $(DIST) | grep NEEDED; exit 1; fi
	@file $(DIST)
	@echo "static: $(DIST) is self-contained, $$(stat -c %s $(DIST)) bytes"

# The same for 64-bit ARM appliances, dist/xdpcap-aarch64, linked with the
# toolchain's own rust-lld and musl (no cross gcc needed); tests run it
# under qemu-aarch64.
static-aarch64:
	@mkdir -p dist
	@rustup target list --installed 2>/dev/null | grep -qx $(AARCH64) || rustup target add $(AARCH64)
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C link-self-contained=yes" \
		$(CARGO) build --release --target $(AARCH64)
	cp target/$(AARCH64)/release/xdpcap $(DIST)-aarch64.new && mv -f $(DIST)-aarch64.new $(DIST)-aarch64
	@if readelf -lW $(DIST)-aarch64 | grep -q 'INTERP'; then \
		echo "static-aarch64: $(DIST)-aarch64 asks for a program interpreter"; exit 1; fi
	@if readelf -dW $(DIST)-aarch64 | grep -q '(NEEDED)'; then \
		echo "static-aarch64: $(DIST)-aarch64 needs shared libraries"; exit 1; fi
	@file $(DIST)-aarch64

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@rustup target list --installed 2>/dev/null | grep -qx $(MUSL) || rustup target add $(MUSL) \
		|| echo "deps: cannot add the Rust target $(MUSL); 'make static' will build with glibc +crt-static"

# The tests, the demo and the tool itself need a bpffs at /sys/fs/bpf.
bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# Everything, root tests included, every test binary even after a failure.
# A test that cannot run fails; a SKIPPED line anywhere is an error too.
test: deps bpffs static static-aarch64 examples
	@mkdir -p target
	$(CARGO) test --release --no-fail-fast 2>&1 | tee target/test.log
	@if grep -n 'SKIPPED' target/test.log; then echo "test: a test was skipped"; exit 1; fi

demo: bpffs build
	$(CARGO) build --release --example demo
	scripts/demo.sh target/release/xdpcap target/release/examples/demo

bench: static bpffs
	python3 ../shared/bench/xdpcap-bench.py --tool $(DIST)
	@echo "binary size: $$(stat -c %s $(DIST)) bytes ($(DIST))"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

examples: $(EXAMPLES_O)

target/bpf/%.o: tests/data/%.c include/hook.h
	@mkdir -p target/bpf
	clang $(BPF_CFLAGS) -c $< -o $@

clean:
	$(CARGO) clean
	rm -rf dist
