# vwrp — see README.md. Every target installs what it needs.

CARGO ?= cargo

.PHONY: all build test demo sim bench bench-profile ipk clean cross test-cross size test-vm fuzz

all: build

build:
	$(CARGO) build --release

# What `make test` installs beyond the test bed's packages (scripts/deps.sh):
# the rustup components it checks the tree with (rustfmt, clippy),
# the ping and arping trackers' tools, conntrackd and conntrack for NAT
# continuity (tests/natsync.rs), shellcheck for the OpenWrt scripts,
# make and gettext (xgettext) for the feed's recipes and the LuCI
# translation template (tests/feed.rs), tshark for the Wireshark
# dissector, g++ for libFuzzer (scripts/fuzz.sh), and for the LuCI
# browser test (tests/luci.rs) Debian's chromium driven from node.
# scripts/cross.sh installs zig, rust-src and llvm-tools for the router
# build itself, and qemu-user-static for the mips leg; scripts/msrv.sh the
# oldest Rust toolchain Cargo.toml allows.
TEST_DEPS = rustfmt clippy iputils-ping iputils-arping shellcheck make gettext tshark g++ chromium fonts-dejavu-core \
	nodejs npm conntrackd conntrack

# The vwrp binary the end-to-end suites, the demo and the bench run: by
# default the x86_64 router build, made by scripts/cross.sh with the same
# flags as the mips one (static musl, profile min, stripped): the binary
# users install. `VWRP_BIN=/path/to/vwrp` runs another, `VWRP_BIN=native`
# Cargo's own build. Each test binary prints which one it ran.
VWRP_BIN ?= router
# Prefix of a recipe line: sets and exports VWRP_BIN, or fails the line.
with_vwrp = VWRP_BIN=$(if $(filter router,$(VWRP_BIN)),$$(./scripts/cross.sh x86_64),$(filter-out native,$(VWRP_BIN))) \
	&& export VWRP_BIN &&

# Formatting, clippy with warnings as errors (every target; the demo and
# bench programs are named, --all-targets leaves out test = false), unit
# tests and spec vectors, the same unit tests built with
# the oldest Rust Cargo.toml allows (rust-version, what the OpenWrt feeds
# ship), codec property tests, no allocation on the hello path (a counting
# allocator), 40 s of all fuzz targets (docs/FUZZ.md), the seeded
# simulation (summary printed), all native; then, against VWRP_BIN (the
# router build): hostile input (the configuration corpus of
# tests/config-corpus/ through check-config and the daemon, files that
# are no configuration, over-long and refused requests), the namespace
# test bed and end-to-end failover scenarios against real dnsmasq, udhcpc,
# nftables and AF_PACKET, devices deleted and re-created under the daemon
# and nftables flushed beside it, dual stack through a failover and a
# handover (Kea's DHCPv6 with a delegated prefix, radvd, a SLAAC client),
# hostile frames from an attacker namespace (forged, replayed,
# re-addressed, truncated, spoofed ids, abused timer claims, a 10 s flood
# at 2,000 frames/s; figures printed), single faults of the active (its
# LAN link down, one-way loss on its LAN, CPU hogs with and without
# real-time scheduling), the event loop under pressure (a stuck child,
# control clients; its stall test runs Cargo's build with the test-only
# feature test-stall), the Wireshark dissector under tshark (spec
# vectors, malformed frames, a capture of the bed), the trackers (link,
# ping, arping, script) with their detection times, NAT continuity with
# conntrackd (40 TCP connections and UDP flows across a failover and a
# handover, with and without conntrack_sync), the OpenWrt package
# (scripts under busybox ash and shellcheck, procd and ubus stand-ins, the
# rpcd plugin, the netifd hand-off, the .ipk), the feed's recipes built
# against stand-ins of OpenWrt's make machinery, luci-app-vwrp in headless
# chromium against a real daemon, and the demo's scenario; then the unit
# tests, codec properties and simulation on big-endian mips under
# qemu-user, and the router build on two real kernels in qemu-system:
# Debian's mipsel Malta kernel and its big-endian s390x kernel, so byte
# order in netlink and nftables is proven on a big-endian kernel
# (docs/VM.md; about 7 min from a clean clone, under 2 min once built).
test:
	./scripts/deps.sh $(TEST_DEPS)
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --test demo --test bench -- -D warnings
	$(CARGO) test --lib
	$(CARGO) test --bin vwrp
	./scripts/msrv.sh
	$(CARGO) test --test codec_props
	$(CARGO) test --test hello_alloc
	$(CARGO) fmt --check --manifest-path fuzz/Cargo.toml
	./scripts/fuzz.sh smoke 40
	$(CARGO) test --test simulation -- --nocapture --test-threads=2
	$(CARGO) test --test testbed_smoke
	$(with_vwrp) $(CARGO) test --test hostile_input
	$(with_vwrp) $(CARGO) test --test failover -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --test devices -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --test dualstack -- --nocapture
	$(with_vwrp) $(CARGO) test --test hostile -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --features test-stall --test event_loop -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --test wireshark
	$(with_vwrp) $(CARGO) test --test trackers -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --test natsync -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --test faults -- --nocapture --test-threads=1
	$(with_vwrp) $(CARGO) test --test openwrt
	$(CARGO) test --test feed
	$(with_vwrp) $(CARGO) test --test luci -- --nocapture
	$(with_vwrp) $(CARGO) test --test demo
	$(MAKE) test-cross-mips_24kc
	$(MAKE) test-vm

# Per-scenario summary of the simulation: runs, worst time against its
# bound, violations. The full sweep (`make test` runs a quick share of
# it); VWRP_SIM_RUNS=N runs N seeds of every scenario instead.
sim:
	VWRP_SIM_SWEEP=full $(CARGO) test --release --test simulation -- --nocapture --test-threads=2

# Three routers, an ISP and a LAN client in namespaces: a live hard
# failover and a graceful handover, with the client's outage for each and
# what the ISP saw. Leaves a capture of both switches in target/demo/.
demo:
	./scripts/deps.sh
	$(with_vwrp) $(CARGO) test --release --test demo

ARCH ?= x86_64

# Static musl binary for an OpenWrt arch (mips_24kc, mipsel_24kc,
# aarch64_cortex-a53, arm_cortex-a7_neon-vfpv4, x86_64); prints its path.
cross:
	./scripts/cross.sh $(ARCH)

# The unit tests, codec properties and the simulation, built for a router
# arch and run under qemu-user: big-endian mips catches byte-order bugs that
# x86_64 hides. Kernel-facing tests stay native: under qemu they would only
# test the host kernel through qemu's syscall translation (a child's signal
# dispositions there are what qemu's emulation leaves, not the guest's;
# qemu does not translate the IPv6 socket options the NDP and binding
# tests set). Tests that start children stay native too: they test the
# host kernel's process handling through qemu's emulation of fork in a
# threaded process (CI hung once in one, waiting for a child's output);
# the router build runs them on x86_64 and the VM leg on mips.
# Each leg has a bound, so a hang fails it, named, in minutes.
CROSS_TEST_ARCHS = mips_24kc aarch64_cortex-a53
CROSS_TESTS = --lib --test simulation $(if $(wildcard tests/codec_props.rs),--test codec_props)
CROSS_SKIP = --skip system::nft:: --skip system::packet:: --skip system::rtnl:: \
	--skip system::renewer::netns_tests:: --skip system::announce::tests::announcements_ \
	--skip system::process::tests:: --skip system::hooks::tests:: \
	--skip system::udhcpc::event_script_tests:: --skip daemon::trackers::script::tests:: \
	--skip system::ipv6::tests::applies_ --skip system::ndp::tests::advertisements_
CROSS_LIMIT = 1800
test-cross: $(addprefix test-cross-,$(CROSS_TEST_ARCHS))
test-cross-%:
	timeout -k 30 $(CROSS_LIMIT) ./scripts/cross.sh $* test $(CROSS_TESTS) -- $(CROSS_SKIP) || \
		{ s=$$?; [ $$s != 124 ] || echo "test-cross-$*: not done after $(CROSS_LIMIT) s" >&2; exit $$s; }

# The router build on a real kernel of another architecture, in
# qemu-system: Debian's mipsel Malta kernel (ARCH=mipsel_24kc) or its
# big-endian s390x kernel (ARCH=s390x); two routers, an ISP (busybox udhcpd)
# and a LAN client in namespaces inside the VM: cold start, hard failover,
# graceful handovers. Without ARCH, both legs. See docs/VM.md.
VM_ARCHS = mipsel_24kc s390x
test-vm:
	for a in $(if $(filter file,$(origin ARCH)),$(VM_ARCHS),$(ARCH)); do \
		./scripts/vm/test-vm.sh $$a || exit 1; \
	done

# Coverage-guided fuzzing of every parser (libFuzzer on stable Rust,
# scripts/fuzz.sh): the frame with its authentication and the engine
# behind it, TLVs, UCI, control requests, DHCPv4, the DHCP clients'
# environments, netlink, the trackers' replies. FUZZ_RUNS executions per
# target; prints executions, coverage and corpus per target
# (docs/FUZZ.md has a documented run).
FUZZ_RUNS ?= 1500000
fuzz:
	./scripts/deps.sh g++
	./scripts/fuzz.sh run $(FUZZ_RUNS)

# Stripped size of each arch's binary, static (budget: 450 KiB on
# mips_24kc) and as OpenWrt's packages feed builds it (budget: 1 MiB), and
# the daemon's peak RSS, one group idle for 10 s (static musl x86_64).
size:
	./scripts/size.sh

# An OpenWrt package: `make ipk ARCH=<openwrt arch> [BIN=<vwrp built for
# it>]`, e.g. ARCH=x86_64 or mips_24kc. Without BIN, the static musl
# binary `make cross` builds for ARCH is packed.
# luci-app-vwrp is packed beside it, as luci-app-vwrp_<version>_all.ipk.
# The feed's recipes are openwrt/vwrp/Makefile and luci-app-vwrp/Makefile
# (docs/OPENWRT.md).
IPK_DIR ?= $(or $(CARGO_TARGET_DIR),target)/ipk

ipk:
ifeq ($(origin BIN),undefined)
	./scripts/ipk.sh $(ARCH) "$$(./scripts/cross.sh $(ARCH) | tail -n 1)" $(IPK_DIR)
else
	./scripts/ipk.sh $(ARCH) $(BIN) $(IPK_DIR)
endif
	./scripts/ipk-luci.sh $(IPK_DIR)

# vwrp against keepalived 2.x (VRRPv3) on the same test bed, in one run:
# failover outage, CPU, memory and size, and NAT connections kept after a
# hard failover (both with conntrackd). Prints a markdown table and
# writes bench/results.json; see docs/BENCH.md. Not part of `make test`.
bench:
	./scripts/deps.sh keepalived conntrackd conntrack
	$(with_vwrp) $(CARGO) test --release --test bench

# Where a hello's cost goes: perf stat and strace -c on an active and a
# standby of each implementation (VWRP_BENCH_PROFILE_HELLO ms, default
# 10; VWRP_BENCH_PROFILE_SECS per window, default 60). See docs/BENCH.md.
bench-profile:
	./scripts/deps.sh keepalived linux-perf strace
	$(with_vwrp) $(CARGO) test --release --test bench -- --profile

clean:
	$(CARGO) clean
