# Stand-in for OpenWrt's include/package.mk with package-defaults.mk and
# package-pack.mk, as far as a recipe can tell them apart (tests/feed.rs):
#
# - Package/Default as on 24.10 and later: MAINTAINER from PKG_MAINTAINER,
#   VERSION PKG_VERSION-rPKG_RELEASE, PKGARCH $(ARCH); libc is every
#   package's first dependency; '+pkg' depends on pkg, '@cond' only gates
#   the menu entry; a package without a description gets its TITLE.
# - The prepared stamp is named after find_md5 (rules.mk) of the recipe's
#   directory and PKG_FILE_DEPENDS, file paths and mtimes: when one of
#   those files changes, the build directory is prepared again.
# - Build/Prepare/Default, without a PKG_SOURCE, copies the recipe's src/.
# - compile: prepare, Build/Compile, then for each package its install
#   into bin/packages/NAME/data, and the control fields, conffiles and
#   postinst fragment ipkg-build would pack (bin/packages/NAME/).
# - DUMP=1 (all): each package's name, which scripts/feeds indexes.

PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install

find_md5=find $(wildcard $(1)) -type f -printf "%p%T@\n" | sort | md5sum | cut -c1-32
STAMP_PREPARED=$(PKG_BUILD_DIR)/.prepared_$(shell $(call find_md5,$(CURDIR) $(PKG_FILE_DEPENDS)))
STAMP_BUILT=$(PKG_BUILD_DIR)/.built

all: $(if $(DUMP),dumpinfo,compile)

define Build/Prepare/Default
	[ ! -d ./src/ ] || $(CP) ./src/. $(PKG_BUILD_DIR)
endef

define Build/Prepare
	$(call Build/Prepare/Default)
endef

define Build/Compile/Default
endef

Build/Compile=$(call Build/Compile/Default)

define Package/Default
  SECTION:=opt
  CATEGORY:=Extra packages
  TITLE:=
  DEPENDS:=
  URL:=
  MAINTAINER:=$(PKG_MAINTAINER)
  VERSION:=$(PKG_VERSION)$(if $(PKG_RELEASE),-r$(PKG_RELEASE))
  PKGARCH:=$(ARCH)
endef

# The build directory, once per recipe, on the first BuildPackage.
define Build/DefaultTargets
  $(STAMP_PREPARED):
	@rm -rf $(PKG_BUILD_DIR)
	@mkdir -p $(PKG_BUILD_DIR)
	$(Build/Prepare)
	touch $$@

  $(STAMP_BUILT): $(STAMP_PREPARED)
	$(Build/Compile)
	touch $$@

  prepare: $(STAMP_PREPARED)

  Build/DefaultTargets:=
endef

# What package-pack.mk writes from a package's fields (control) and
# definitions (conffiles, postinst-pkg, postrm), and its install.
define BuildIPKG
  compile: $(PACKAGE_DIR)/$(1)/control

  $(PACKAGE_DIR)/$(1)/data: $(STAMP_BUILT) FORCE
	rm -rf $(PACKAGE_DIR)/$(1)
	$(INSTALL_DIR) $(PACKAGE_DIR)/$(1)/data
	$(call Package/$(1)/install,$(PACKAGE_DIR)/$(1)/data)

  # (make expands a recipe's $$(file ...) before running it: the directory
  # must exist by then.)
  $(PACKAGE_DIR)/$(1)/control: $(PACKAGE_DIR)/$(1)/data FORCE
	$$(file >$(PACKAGE_DIR)/$(1)/conffiles,$$(strip $$(Package/$(1)/conffiles)))
	$$(file >$(PACKAGE_DIR)/$(1)/postinst-pkg,$$(Package/$(1)/postinst))
	$$(if $$(Package/$(1)/postrm),$$(file >$(PACKAGE_DIR)/$(1)/postrm,$$(Package/$(1)/postrm)))
	$$(file >$(PACKAGE_DIR)/$(1)/description,$$(Package/$(1)/description))
	{ \
		echo "Package: $(1)"; \
		echo "Version: $(VERSION)"; \
		echo "Depends: $(PKG_DEPENDS_$(1))"; \
		echo "License: $(PKG_LICENSE)"; \
		$(if $(PKG_LICENSE_FILES),echo "LicenseFiles: $(PKG_LICENSE_FILES)";) \
		echo "Section: $(SECTION)"; \
		$(if $(URL),echo "URL: $(URL)";) \
		$(if $(MAINTAINER),echo "Maintainer: $(MAINTAINER)";) \
		echo "Architecture: $(PKGARCH)"; \
		printf 'Description: '; sed -e 's/^[[:space:]]*/ /' $(PACKAGE_DIR)/$(1)/description; \
	} > $$@
endef

define BuildPackage
  $(eval $(Package/Default))
  $(eval $(Package/$(1)))
  $(foreach f,TITLE CATEGORY SECTION VERSION,$(if $($(f)),,$(error Package/$(1) is missing the $(f) field)))
  $(if $(Package/$(1)/description),,$(eval Package/$(1)/description=$(TITLE)))
  $(eval PKG_DEPENDS_$(1):=$(subst $(space),$(comma)$(space),$(strip libc $(patsubst +%,%,$(filter +%,$(DEPENDS))))))
  $(if $(DUMP),$(info Package: $(1)),$(eval $(Build/DefaultTargets)) $(eval $(call BuildIPKG,$(1))))
endef

empty:=
space:=$(empty) $(empty)
comma:=,

dumpinfo:
compile:
FORCE:
.PHONY: all dumpinfo compile prepare FORCE
