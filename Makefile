# vwrp — see README.md. Every target installs what it needs.

CARGO ?= cargo

.PHONY: all build test demo sim clean cross test-cross size

all: build

build:
	$(CARGO) build --release

# Unit tests and spec vectors, codec property tests, the seeded simulation
# (summary printed), then the namespace test bed and end-to-end failover
# scenarios against real dnsmasq, udhcpc, nftables and AF_PACKET.
test:
	./scripts/deps.sh
	$(CARGO) test --lib --bins
	$(CARGO) test --test codec_props
	$(CARGO) test --test simulation -- --nocapture --test-threads=2
	$(CARGO) test --test testbed_smoke
	$(CARGO) test --test failover -- --nocapture --test-threads=1
	$(MAKE) test-cross-mips_24kc

# Per-scenario summary of the simulation: runs, worst time against its
# bound, violations. VWRP_SIM_RUNS=N for a longer sweep.
sim:
	$(CARGO) test --release --test simulation -- --nocapture --test-threads=2

# Three routers, an ISP and a LAN client in namespaces: a live hard
# failover and a graceful handover, with the client's outage for each.
demo:
	./scripts/deps.sh
	$(CARGO) test --release --test demo

# Static musl binary for an OpenWrt arch (mips_24kc, mipsel_24kc,
# aarch64_cortex-a53, arm_cortex-a7_neon-vfpv4, x86_64); prints its path.
ARCH ?= mips_24kc
cross:
	./scripts/cross.sh $(ARCH)

# The unit tests, codec properties and the simulation, built for a router
# arch and run under qemu-user: big-endian mips catches byte-order bugs that
# x86_64 hides. Kernel-facing tests stay native: under qemu they would only
# test the host kernel through qemu's syscall translation.
CROSS_TEST_ARCHS = mips_24kc aarch64_cortex-a53
CROSS_TESTS = --lib --test simulation $(if $(wildcard tests/codec_props.rs),--test codec_props)
CROSS_SKIP = --skip system::nft:: --skip system::packet:: --skip system::rtnl:: \
	--skip system::dhcp::netns_tests:: --skip system::announce::tests::announcements_
test-cross: $(addprefix test-cross-,$(CROSS_TEST_ARCHS))
test-cross-%:
	./scripts/cross.sh $* test $(CROSS_TESTS) -- $(CROSS_SKIP)

# Stripped size of each arch's binary (budget: 450 KiB on mips_24kc) and
# the daemon's peak RSS, one group idle for 10 s (static musl x86_64).
size:
	./scripts/size.sh

clean:
	$(CARGO) clean
