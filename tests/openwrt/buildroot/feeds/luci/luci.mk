# Stand-in for the LuCI feed's luci.mk (tests/feed.rs), which a LuCI app's
# Makefile includes last. What it does with an app like luci-app-vwrp:
# the package is named after the app's directory; PKG_RELEASE defaults to
# 1; PKG_VERSION, when the app sets it, is the package's version as it is
# (luci.mk's Package sets VERSION without the release; unset, a git
# revision); LUCI_URL and LUCI_MAINTAINER default to the LuCI project's;
# LUCI_DESCRIPTION is the description; po/ subdirectories other than
# templates are languages, each a luci-i18n-* package (not built here);
# htdocs/ installs to /www and root/ to /; the default postinst drops
# LuCI's caches and makes rpcd re-read its ACLs.

LUCI_NAME?=$(notdir $(CURDIR))
LUCI_LANGUAGES:=$(sort $(filter-out templates,$(notdir $(wildcard $(CURDIR)/po/*))))
LUCI_PKGARCH?=$(if $(realpath src/Makefile),,all)
LUCI_URL?=https://github.com/openwrt/luci
LUCI_MAINTAINER?=OpenWrt LuCI community

PKG_NAME?=$(LUCI_NAME)
PKG_RELEASE?=1
PKG_BUILD_DIR:=$(BUILD_DIR)/$(PKG_NAME)

include $(INCLUDE_DIR)/package.mk

define Package/$(PKG_NAME)
  SECTION:=luci
  CATEGORY:=LuCI
  TITLE:=$(if $(LUCI_TITLE),$(LUCI_TITLE),LuCI $(LUCI_NAME))
  DEPENDS:=$(LUCI_DEPENDS)
  VERSION:=$(if $(PKG_VERSION),$(PKG_VERSION),git-unknown)
  PKGARCH:=$(LUCI_PKGARCH)
  URL:=$(LUCI_URL)
  MAINTAINER:=$(LUCI_MAINTAINER)
endef

ifneq ($(LUCI_DESCRIPTION),)
 define Package/$(PKG_NAME)/description
   $(strip $(LUCI_DESCRIPTION))
 endef
endif

define Build/Prepare
	for d in luasrc htdocs root src; do \
	  if [ -d ./$$$$d ]; then \
	    mkdir -p $(PKG_BUILD_DIR)/$$$$d; \
	    $(CP) ./$$$$d/* $(PKG_BUILD_DIR)/$$$$d/; \
	  fi; \
	done
	$(call Build/Prepare/Default)
endef

define Build/Compile
endef

define Package/$(PKG_NAME)/install
	if [ -d $(PKG_BUILD_DIR)/htdocs ]; then \
	  $(INSTALL_DIR) $(1)/www; \
	  cp -pR $(PKG_BUILD_DIR)/htdocs/* $(1)/www/; \
	fi
	if [ -d $(PKG_BUILD_DIR)/root ]; then \
	  $(INSTALL_DIR) $(1)/; \
	  cp -pR $(PKG_BUILD_DIR)/root/* $(1)/; \
	fi
endef

ifndef Package/$(PKG_NAME)/postinst
define Package/$(PKG_NAME)/postinst
[ -n "$${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	killall -HUP rpcd 2>/dev/null
	exit 0
}
endef
endif

$(if $(LUCI_LANGUAGES),$(error this stand-in builds no translations: $(LUCI_LANGUAGES)))
$(eval $(call BuildPackage,$(PKG_NAME)))
