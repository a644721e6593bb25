//! The lease on plain Linux: WAN address without a lifetime and default
//! route through rtnetlink, and the DNS servers (both families') in a
//! resolv file. (On OpenWrt netifd owns the address; see
//! docs/OPENWRT.md.)

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;

use super::rtnl;
use crate::wire::Lease4;

/// Configures `lease` on the WAN device. Idempotent: applying the same
/// lease again changes nothing.
pub fn apply(ifindex: u32, lease: &Lease4, previous: Option<&Lease4>) -> io::Result<()> {
    if let Some(old) = previous.filter(|o| o.address != lease.address || o.prefix_len != lease.prefix_len) {
        rtnl::del_address(ifindex, IpAddr::V4(old.address), old.prefix_len)?;
    }
    rtnl::add_address(ifindex, IpAddr::V4(lease.address), lease.prefix_len)?;
    rtnl::replace_default_route(ifindex, IpAddr::V4(lease.gateway))
}

/// Removes the address and default route of a lease we may no longer use.
pub fn withdraw(ifindex: u32, lease: &Lease4) -> io::Result<()> {
    rtnl::del_default_route(ifindex, false)?;
    rtnl::del_address(ifindex, IpAddr::V4(lease.address), lease.prefix_len)
}

/// The DNS servers of the leases in use, written whole to a temporary file
/// and renamed, so readers never see half a file. The path is on tmpfs
/// (/var/run): no flash writes.
pub fn write_resolv(path: &Path, dns: &[IpAddr]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "# Interface wan (vwrp)")?;
    for d in dns {
        writeln!(f, "nameserver {d}")?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
