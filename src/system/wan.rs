//! The lease on plain Linux: WAN address without a lifetime and default
//! route through rtnetlink, and the DNS servers (both families') in a
//! resolv file. (On OpenWrt netifd owns the address; see
//! docs/OPENWRT.md.)

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;

use super::rtnl;
use crate::wire::Lease4;

/// The WAN device a lease goes on: its index for the requests, its name
/// for the errors.
pub struct Wan<'a> {
    pub ifindex: u32,
    pub name: &'a str,
}

/// Configures `lease` on the WAN device. Idempotent: applying the same
/// lease again changes nothing. An error names the step that failed: the
/// netlink request, the address or route, the device.
pub fn apply(wan: &Wan<'_>, lease: &Lease4, previous: Option<&Lease4>) -> io::Result<()> {
    if let Some(old) = previous.filter(|o| o.address != lease.address || o.prefix_len != lease.prefix_len) {
        rtnl::del_address(wan.ifindex, IpAddr::V4(old.address), old.prefix_len)
            .map_err(step(format!("RTM_DELADDR {}/{} dev {}", old.address, old.prefix_len, wan.name)))?;
    }
    rtnl::add_address(wan.ifindex, IpAddr::V4(lease.address), lease.prefix_len)
        .map_err(step(format!("RTM_NEWADDR {}/{} dev {}", lease.address, lease.prefix_len, wan.name)))?;
    rtnl::replace_default_route(wan.ifindex, IpAddr::V4(lease.gateway))
        .map_err(step(format!("RTM_NEWROUTE default via {} dev {} onlink", lease.gateway, wan.name)))
}

/// Removes the address and default route of a lease we may no longer use.
pub fn withdraw(wan: &Wan<'_>, lease: &Lease4) -> io::Result<()> {
    rtnl::del_default_route(wan.ifindex, false).map_err(step(format!("RTM_DELROUTE default dev {}", wan.name)))?;
    rtnl::del_address(wan.ifindex, IpAddr::V4(lease.address), lease.prefix_len)
        .map_err(step(format!("RTM_DELADDR {}/{} dev {}", lease.address, lease.prefix_len, wan.name)))
}

/// The error, prefixed with what was being done; its kind is kept.
fn step(what: String) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
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
