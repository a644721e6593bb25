# vwrp — see README.md. Every target installs what it needs.

CARGO ?= cargo

.PHONY: all build test demo sim clean cross

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

clean:
	$(CARGO) clean
