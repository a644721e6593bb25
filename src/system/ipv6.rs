//! The DHCPv6 binding on the system, through rtnetlink: on the WAN the
//! IA_NA address and the IPv6 default route via the ISP's router; on the
//! LAN the delegated prefix, one /64 of it per device with a link-local
//! gateway address, and an unreachable route for the whole delegated
//! prefix (as netifd adds), so unused parts of it do not loop back to the
//! ISP.
//!
//! The LAN /64 is the same on every router (subnet k of the delegated
//! prefix for the k-th such device), so the hosts' SLAAC addresses stay
//! when the active changes. Each router holds `<subnet>::1/64` there only
//! while active (added without duplicate address detection, like every
//! address vwrp takes over): the address gives the kernel the /64's route.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::rtnl;
use crate::wire::Lease6;

/// The router's interface id in each LAN /64.
const ROUTER_IID: u128 = 1;

/// The `k`-th /64 of `prefix/len`, if the prefix is short enough to hold it.
pub fn lan_subnet(prefix: Ipv6Addr, len: u8, k: usize) -> Option<Ipv6Addr> {
    let k = u128::try_from(k).ok()?;
    if len > 64 || k >> (64 - u32::from(len)) != 0 {
        return None;
    }
    let keep = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    Some(Ipv6Addr::from((u128::from(prefix) & keep) | (k << 64)))
}

/// Every LAN /64 of `lease` on the devices `lan` (their interface
/// indexes, in configuration order): (device, network).
pub fn lan_subnets(lease: &Lease6, lan: &[u32]) -> Vec<(u32, Ipv6Addr)> {
    let mut out = Vec::new();
    for p in &lease.prefixes {
        // A device that does not exist now (index 0) keeps its /64.
        for (k, &ifindex) in lan.iter().enumerate().filter(|&(_, &i)| i != 0) {
            if let Some(net) = lan_subnet(p.address, p.prefix_len, k) {
                out.push((ifindex, net));
            }
        }
    }
    out
}

fn router_address(net: Ipv6Addr) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(u128::from(net) | ROUTER_IID))
}

/// Configures `lease` on the WAN device `wan` and the LAN devices `lan`;
/// what `previous` configured and `lease` no longer has is removed first.
/// Idempotent.
pub fn apply(wan: u32, lan: &[u32], lease: &Lease6, previous: Option<&Lease6>) -> io::Result<()> {
    if let Some(old) = previous {
        remove(wan, lan, old, Some(lease))?;
    }
    for a in &lease.addresses {
        rtnl::add_address(wan, IpAddr::V6(a.address), a.prefix_len)?;
    }
    if let Some(g) = lease.gateway {
        rtnl::replace_default_route(wan, IpAddr::V6(g))?;
    }
    for p in &lease.prefixes {
        rtnl::set_unreachable(p.address, p.prefix_len, true)?;
    }
    for (dev, net) in lan_subnets(lease, lan) {
        rtnl::add_address(dev, router_address(net), 64)?;
    }
    Ok(())
}

/// Removes what `apply` configured for `lease`.
pub fn withdraw(wan: u32, lan: &[u32], lease: &Lease6) -> io::Result<()> {
    remove(wan, lan, lease, None)
}

/// Removes what `old` configured and `keep` (if any) does not. A WAN
/// device that is gone (index 0) took its address and route with it
/// (`rtnl`'s deletions do nothing on index 0).
fn remove(wan: u32, lan: &[u32], old: &Lease6, keep: Option<&Lease6>) -> io::Result<()> {
    let kept = |f: &dyn Fn(&Lease6) -> bool| keep.is_some_and(f);
    if old.gateway.is_some() && !kept(&|k| k.gateway.is_some()) {
        rtnl::del_default_route(wan, true)?;
    }
    for a in &old.addresses {
        if !kept(&|k| k.addresses.iter().any(|b| b.address == a.address && b.prefix_len == a.prefix_len)) {
            rtnl::del_address(wan, IpAddr::V6(a.address), a.prefix_len)?;
        }
    }
    let new_subnets = keep.map(|k| lan_subnets(k, lan)).unwrap_or_default();
    for (dev, net) in lan_subnets(old, lan) {
        if !new_subnets.contains(&(dev, net)) {
            rtnl::del_address(dev, router_address(net), 64)?;
        }
    }
    for p in &old.prefixes {
        if !kept(&|k| k.prefixes.iter().any(|q| q.address == p.address && q.prefix_len == p.prefix_len)) {
            rtnl::set_unreachable(p.address, p.prefix_len, false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::testnet::{Netns, veth};
    use crate::wire::Ia6;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_of_a_delegated_prefix() {
        assert_eq!(lan_subnet(a("2001:db8:100::"), 56, 0), Some(a("2001:db8:100::")));
        assert_eq!(lan_subnet(a("2001:db8:100::"), 56, 1), Some(a("2001:db8:100:1::")));
        assert_eq!(lan_subnet(a("2001:db8:100::"), 56, 255), Some(a("2001:db8:100:ff::")));
        assert_eq!(lan_subnet(a("2001:db8:100::"), 56, 256), None);
        // Host bits of the prefix are not kept.
        assert_eq!(lan_subnet(a("2001:db8:100:ab::1"), 56, 2), Some(a("2001:db8:100:2::")));
        assert_eq!(lan_subnet(a("2001:db8:100:7::"), 64, 0), Some(a("2001:db8:100:7::")));
        assert_eq!(lan_subnet(a("2001:db8:100:7::"), 64, 1), None);
        assert_eq!(lan_subnet(a("2001:db8::"), 65, 0), None);
        assert_eq!(lan_subnet(a("2001:db8::"), 0, 5), Some(a("0:0:0:5::")));
    }

    fn lease(prefix: &str, gateway: &str) -> Lease6 {
        let ia = |s: &str, len| Ia6 { address: a(s), prefix_len: len, preferred_left: 100, valid_left: 200 };
        Lease6 {
            addresses: vec![ia("2001:db8:0:1::10", 128)],
            prefixes: vec![ia(prefix, 56)],
            gateway: Some(a(gateway)),
            ..Lease6::default()
        }
    }

    #[test]
    fn applies_replaces_and_withdraws_a_binding() {
        let r = Netns::new("v6r");
        let i = Netns::new("v6i");
        veth(&r, "wan", &i, "cust");
        r.exec(["ip", "link", "add", "lan", "type", "veth", "peer", "name", "lanpeer"]);
        r.exec(["ip", "link", "set", "lan", "up"]);
        let (wan, lan) = (r.ifindex("wan"), r.ifindex("lan"));
        let show = || {
            [
                r.ok("ip -6 addr show dev wan scope global"),
                r.ok("ip -6 addr show dev lan scope global"),
                r.ok("ip -6 route show default"),
                r.ok("ip -6 route show type unreachable"),
            ]
        };
        let first = lease("2001:db8:100::", "fe80::1");
        r.enter(|| apply(wan, &[lan], &first, None)).unwrap();
        let [w, l, d, u] = show();
        assert!(w.contains("2001:db8:0:1::10/128") && w.contains("nodad"), "{w}");
        assert!(l.contains("2001:db8:100::1/64"), "{l}");
        assert!(d.contains("default via fe80::1 dev wan"), "{d}");
        assert!(u.contains("unreachable 2001:db8:100::/56"), "{u}");
        assert!(r.ok("ip -6 route show dev lan").contains("2001:db8:100::/64"));

        // Another prefix and gateway: the old ones go.
        let second = lease("2001:db8:200::", "fe80::2");
        r.enter(|| apply(wan, &[lan], &second, Some(&first))).unwrap();
        let [w, l, d, u] = show();
        assert!(w.contains("2001:db8:0:1::10/128"), "kept: {w}");
        assert!(l.contains("2001:db8:200::1/64") && !l.contains("2001:db8:100::1"), "{l}");
        assert!(d.contains("via fe80::2") && !d.contains("fe80::1 "), "{d}");
        assert!(u.contains("2001:db8:200::/56") && !u.contains("2001:db8:100::"), "{u}");

        r.enter(|| withdraw(wan, &[lan], &second)).unwrap();
        r.enter(|| withdraw(wan, &[lan], &second)).unwrap();
        for out in show() {
            assert!(!out.contains("2001:db8") && !out.contains("default"), "left over: {out}");
        }
    }

    /// The WAN device deleted under a binding (netifd re-creates it on a
    /// network reload): withdrawing it, with the WAN's index 0, still
    /// takes the LAN's address and the unreachable route away.
    #[test]
    fn withdraws_a_binding_whose_wan_device_is_gone() {
        let r = Netns::new("v6g");
        let i = Netns::new("v6h");
        veth(&r, "wan", &i, "cust");
        r.exec(["ip", "link", "add", "lan", "type", "veth", "peer", "name", "lanpeer"]);
        r.exec(["ip", "link", "set", "lan", "up"]);
        let (wan, lan) = (r.ifindex("wan"), r.ifindex("lan"));
        let binding = lease("2001:db8:100::", "fe80::1");
        r.enter(|| apply(wan, &[lan], &binding, None)).unwrap();
        r.exec(["ip", "link", "del", "wan"]);
        r.enter(|| withdraw(0, &[lan], &binding)).unwrap();
        let left = [r.ok("ip -6 addr show dev lan scope global"), r.ok("ip -6 route show type unreachable")];
        for out in left {
            assert!(!out.contains("2001:db8"), "left over: {out}");
        }
    }
}
