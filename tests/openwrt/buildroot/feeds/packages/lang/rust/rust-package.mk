# Stand-in for the packages feed's lang/rust/rust-package.mk with
# rust-values.mk (tests/feed.rs): the variables a recipe reads, and
# Build/Compile, which stands in for
#
#   cargo install -v --profile $(CARGO_PKG_PROFILE) [--features ...]
#       --root $(PKG_INSTALL_DIR) --path $(PKG_BUILD_DIR)/... --locked
#
# with the forced profile settings of rust-values.mk in the environment.
# It writes that command line to $(PKG_BUILD_DIR)/.cargo-install; checks,
# without building, that cargo accepts the prepared tree (`cargo tree
# --locked --offline`: manifest and lock file there and in agreement);
# and installs the binary $(STANDIN_CARGO_BIN) (the test's) as cargo
# install would, into $(PKG_INSTALL_DIR)/bin.

RUST_ARCH_DEPENDS:=@(aarch64||arm||i386||loongarch64||mips||mips64||mips64el||mipsel||powerpc||powerpc64||riscv64||x86_64)
RUST_PKG_LOCKED ?= 1
CARGO_PKG_PROFILE:=$(if $(CONFIG_DEBUG),dev,release)

CARGO_PKG_CONFIG_VARS= \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
	CARGO_PROFILE_RELEASE_DEBUG=false \
	CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false \
	CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
	CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
	CARGO_PROFILE_RELEASE_PANIC=unwind \
	CARGO_PROFILE_RELEASE_RPATH=false \
	RUSTFLAGS="-Ctarget-feature=-crt-static"

define Build/Compile/Cargo
	echo '$(CARGO_PKG_CONFIG_VARS) cargo install -v --profile $(CARGO_PKG_PROFILE) $(if $(strip $(RUST_PKG_FEATURES)),--features "$(strip $(RUST_PKG_FEATURES))") --root $(PKG_INSTALL_DIR) --path $(PKG_BUILD_DIR)/$(strip $(if $(1),$(1),$(MAKE_PATH))) $(if $(filter 1,$(RUST_PKG_LOCKED)),--locked) $(2)' \
		> $(PKG_BUILD_DIR)/.cargo-install
	cargo tree -q --offline $(if $(filter 1,$(RUST_PKG_LOCKED)),--locked) -e normal \
		--manifest-path $(PKG_BUILD_DIR)/$(strip $(if $(1),$(1),$(MAKE_PATH)))/Cargo.toml > /dev/null
	$(INSTALL_DIR) $(PKG_INSTALL_DIR)/bin
	$(INSTALL_BIN) $(STANDIN_CARGO_BIN) $(PKG_INSTALL_DIR)/bin/
endef

define RustBinPackage
  ifndef Package/$(1)/install
    define Package/$(1)/install
	$$(INSTALL_DIR) $$(1)/usr/bin/
	$$(INSTALL_BIN) $$(PKG_INSTALL_DIR)/bin/* $$(1)/usr/bin/
    endef
  endif
endef

Build/Compile=$(call Build/Compile/Cargo)
