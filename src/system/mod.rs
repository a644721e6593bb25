//! The kernel-facing side of the daemon: netlink, the nftables fence,
//! addresses, routes and link state.

pub mod netlink;
pub mod nft;
pub mod rtnl;
#[cfg(test)]
mod testnet;
