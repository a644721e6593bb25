//! The kernel-facing side of the daemon: netlink, the nftables fence,
//! addresses and routes, AF_PACKET sockets, announcements, the lease
//! udhcpc obtained, the DHCP renewal of a lease taken over and the lease
//! kept for a restart (INIT-REBOOT), the lease on
//! the WAN (and its hand-off to netifd), DHCPv6 state from odhcp6c,
//! transition hooks, conntrackd (connection tracking sync), random
//! numbers, the child processes all of them start, and the daemon's own
//! real-time scheduling.

pub mod announce;
pub mod conntrackd;
pub mod dhcp6;
pub mod hooks;
pub mod netifd;
pub mod netlink;
pub mod nft;
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
pub mod udhcpc;
pub mod wan;
