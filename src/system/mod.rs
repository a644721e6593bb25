//! The kernel-facing side of the daemon: netlink, the nftables fence,
//! addresses and routes, AF_PACKET sockets, announcements, the lease
//! udhcpc obtained, the DHCP renewal of a lease taken over and the lease
//! kept for a restart (INIT-REBOOT), the lease on the WAN (and its
//! hand-off to netifd), the group's DHCPv6 client and the DHCPv6 binding
//! on the WAN and the LAN, router discovery, DHCPv6 state from odhcp6c,
//! transition hooks, conntrackd (connection tracking sync), random
//! numbers, the child processes all of them start, and the daemon's own
//! real-time scheduling.

pub mod announce;
pub mod conntrackd;
pub mod dhcp6;
pub mod hooks;
pub mod ipv6;
pub mod ndp;
pub mod netifd;
pub mod netlink;
pub mod nft;
pub mod odhcp6c;
pub mod packet;
pub mod process;
pub mod random;
pub mod realtime;
pub mod renewer;
pub mod rtnl;
pub mod stored_lease;
#[cfg(test)]
#[path = "../../tests/support/netns.rs"]
pub(crate) mod testnet;
#[cfg(test)]
#[path = "../../tests/support/servers.rs"]
pub(crate) mod testservers;
pub mod udhcpc;
pub mod wan;
