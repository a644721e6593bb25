# Stand-in for OpenWrt's rules.mk (tests/feed.rs builds the vwrp feed's
# recipes with it on Debian, where no OpenWrt buildroot or SDK exists):
# the directories and install commands a recipe uses, with OpenWrt's
# values. TOPDIR comes from the top-level Makefile, as in OpenWrt.

INCLUDE_DIR:=$(TOPDIR)/include
BUILD_DIR:=$(TOPDIR)/build_dir/target
PACKAGE_DIR:=$(TOPDIR)/bin/packages
ARCH?=x86_64

INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
CP:=cp -fpR
