//! The WAN lease handed to netifd (OpenWrt, `dhcp 'netifd'`, the WAN
//! interface on `proto vwrp`). vwrp configures the address itself at
//! takeover, so forwarding never waits for netifd; then it gives netifd the
//! same lease with the call a DHCP protocol handler makes,
//!
//! ```text
//! ubus call network.interface notify_proto '{"action":0,"link-up":true,...,"interface":"wan"}'
//! ```
//!
//! and netifd owns it from there on: `ifstatus wan`, fw4, ddns and mwan3
//! see the interface up with the lease. Leaving the active role sends
//! `"link-up":false`, which makes netifd take the interface down to
//! "pending" and remove the address. docs/OPENWRT.md has the whole story.
//!
//! The proto handler (files/lib/netifd/proto/vwrp.sh) tells vwrp which
//! netifd interface serves a WAN device by writing its name to
//! `<state_dir>/netifd.<device>` (tmpfs), so a restarted daemon knows too.

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::json;
use crate::wire::{Lease4, Lease6};

/// Where the proto handler leaves the interface name for `device`.
pub fn interface_file(state_dir: &Path, device: &str) -> PathBuf {
    state_dir.join(format!("netifd.{device}"))
}

/// The netifd interface serving `device`, if its proto handler said so.
pub fn read_interface(state_dir: &Path, device: &str) -> Option<String> {
    let s = std::fs::read_to_string(interface_file(state_dir, device)).ok()?;
    Some(s.trim().to_string()).filter(|s| valid_interface(s))
}

/// Records which netifd interface serves `device` (tmpfs, not flash).
pub fn write_interface(state_dir: &Path, device: &str, interface: &str) -> io::Result<()> {
    if !valid_interface(interface) || !valid_device(device) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface {interface:?} or device {device:?}"),
        ));
    }
    std::fs::create_dir_all(state_dir)?;
    let path = interface_file(state_dir, device);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{interface}\n"))?;
    std::fs::rename(tmp, path)
}

/// A UCI section name, as netifd's interfaces are: letters, digits, `_`.
pub fn valid_interface(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A Linux interface name that is safe in a file name.
pub fn valid_device(s: &str) -> bool {
    !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `ubus` arguments that hand the leases in use to netifd as interface
/// `interface`: for DHCPv4 what /lib/netifd/dhcp.script sends for a bound
/// lease (address, default route, a host route to an off-link gateway,
/// DNS, lease time and server); for DHCPv6 what dhcpv6.script sends for
/// the WAN (the IA_NA address with its lifetimes, the default route via
/// the ISP's router, DNS), but not the delegated prefix, which vwrp puts
/// on the LAN itself (docs/OPENWRT.md).
pub fn up_args(interface: &str, lease: Option<&Lease4>, lease6: Option<&Lease6>) -> Vec<String> {
    let mut msg = match lease {
        Some(l) => up_message(interface, l),
        None => Notify { link_up: true, ..empty(interface) },
    };
    if let Some(l) = lease6 {
        add_ipv6(&mut msg, l);
    }
    notify_args(&msg)
}

/// `ubus` arguments that take the lease back from netifd: the interface
/// drops its address and waits, pending, for the next `up`.
pub fn down_args(interface: &str) -> Vec<String> {
    notify_args(&empty(interface))
}

/// A message that says nothing but "no link".
fn empty(interface: &str) -> Notify<'_> {
    Notify {
        action: 0,
        link_up: false,
        keep: false,
        ipaddr: None,
        ip6addr: None,
        routes: None,
        routes6: None,
        data: None,
        dns: None,
        interface,
    }
}

fn notify_args(msg: &Notify) -> Vec<String> {
    let mut j = json::Writer::new();
    msg.write(&mut j);
    vec!["call".into(), "network.interface".into(), "notify_proto".into(), j.finish()]
}

/// `notify_proto`'s message; the lease's parts are left out when the
/// link goes down. Written by hand (`json::Writer`), keys in this order
/// and a `None` left out, as its derived `Serialize` did: that and
/// serde_json's serializer cost 4.8 KB on a router.
struct Notify<'a> {
    action: u8,
    link_up: bool,
    keep: bool,
    ipaddr: Option<[Address; 1]>,
    ip6addr: Option<Vec<Address6>>,
    routes: Option<Vec<Route>>,
    routes6: Option<Vec<Route>>,
    data: Option<Data>,
    dns: Option<Vec<String>>,
    interface: &'a str,
}

impl Notify<'_> {
    fn write(&self, j: &mut json::Writer) {
        j.open('{').key("action").num(u64::from(self.action));
        j.key("link-up").bool(self.link_up).key("keep").bool(self.keep);
        if let Some([a]) = &self.ipaddr {
            j.key("ipaddr").open('[').open('{').key("ipaddr").str(&a.ipaddr).key("mask").str(&a.mask);
            j.close('}').close(']');
        }
        if let Some(list) = &self.ip6addr {
            j.key("ip6addr").open('[');
            for a in list {
                j.open('{').key("ipaddr").str(&a.ipaddr).key("mask").str(&a.mask);
                j.key("preferred").num(u64::from(a.preferred)).key("valid").num(u64::from(a.valid)).close('}');
            }
            j.close(']');
        }
        for (key, routes) in [("routes", &self.routes), ("routes6", &self.routes6)] {
            if let Some(list) = routes {
                j.key(key).open('[');
                for r in list {
                    r.write(j);
                }
                j.close(']');
            }
        }
        if let Some(d) = &self.data {
            j.key("data").open('{').key("leasetime").num(u64::from(d.leasetime));
            if let Some(server) = &d.dhcpserver {
                j.key("dhcpserver").str(server);
            }
            j.close('}');
        }
        if let Some(list) = &self.dns {
            j.key("dns").open('[');
            for d in list {
                j.str(d);
            }
            j.close(']');
        }
        j.key("interface").str(self.interface).close('}');
    }
}

struct Address {
    ipaddr: String,
    mask: String,
}

/// netifd-proto.sh's `proto_add_ipv6_address`.
struct Address6 {
    ipaddr: String,
    mask: String,
    preferred: u32,
    valid: u32,
}

struct Route {
    target: String,
    netmask: &'static str,
    gateway: Option<String>,
    source: Option<String>,
}

impl Route {
    fn write(&self, j: &mut json::Writer) {
        j.open('{').key("target").str(&self.target).key("netmask").str(self.netmask);
        if let Some(g) = &self.gateway {
            j.key("gateway").str(g);
        }
        if let Some(s) = &self.source {
            j.key("source").str(s);
        }
        j.close('}');
    }
}

fn add_ipv6(msg: &mut Notify<'_>, l: &Lease6) {
    let addresses = l.addresses.iter().map(|a| Address6 {
        ipaddr: a.address.to_string(),
        mask: a.prefix_len.to_string(),
        preferred: a.preferred_left,
        valid: a.valid_left,
    });
    msg.ip6addr = Some(addresses.collect());
    let default = |g: &std::net::Ipv6Addr| Route {
        target: "::".into(),
        netmask: "0",
        gateway: Some(g.to_string()),
        source: None,
    };
    msg.routes6 = Some(l.gateway.iter().map(default).collect());
    let dns = msg.dns.get_or_insert_with(Vec::new);
    dns.extend(l.dns.iter().map(|d| d.to_string()));
    if dns.is_empty() {
        msg.dns = None;
    }
}

struct Data {
    leasetime: u32,
    dhcpserver: Option<String>,
}

fn up_message<'a>(interface: &'a str, l: &Lease4) -> Notify<'a> {
    let address = l.address.to_string();
    let mut routes = Vec::new();
    if l.gateway != Ipv4Addr::UNSPECIFIED {
        let source = Some(address.clone());
        if !same_subnet(l.address, l.gateway, l.prefix_len) {
            routes.push(Route { target: l.gateway.to_string(), netmask: "32", gateway: None, source: source.clone() });
        }
        let gateway = Some(l.gateway.to_string());
        routes.push(Route { target: "0.0.0.0".into(), netmask: "0", gateway, source });
    }
    let dhcpserver = Some(l.server_id).filter(|s| *s != Ipv4Addr::UNSPECIFIED).map(|s| s.to_string());
    Notify {
        link_up: true,
        ipaddr: Some([Address { ipaddr: address, mask: l.prefix_len.to_string() }]),
        routes: Some(routes),
        data: Some(Data { leasetime: l.valid_left, dhcpserver }),
        dns: Some(l.dns.iter().map(|d| d.to_string()).collect()).filter(|d: &Vec<String>| !d.is_empty()),
        ..empty(interface)
    }
}

fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix_len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32u32.saturating_sub(u32::from(prefix_len))).unwrap_or(0);
    u32::from(a) & mask == u32::from(b) & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Ia6;
    use serde_json::{Value, json};

    fn lease(gw: [u8; 4]) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(203, 0, 113, 10),
            prefix_len: 24,
            gateway: gw.into(),
            server_id: Ipv4Addr::new(203, 0, 113, 1),
            lease_time: 600,
            valid_left: 512,
            renew_left: 212,
            rebind_left: 437,
            dns: vec![Ipv4Addr::new(203, 0, 113, 1), Ipv4Addr::new(198, 51, 100, 53)],
        }
    }

    #[test]
    fn up_is_what_dhcp_script_sends_for_a_bound_lease() {
        let args = up_args("wan", Some(&lease([203, 0, 113, 1])), None);
        assert_eq!(args[..3], ["call", "network.interface", "notify_proto"]);
        let v: Value = serde_json::from_str(&args[3]).unwrap();
        assert_eq!(
            v,
            json!({
                "action": 0, "link-up": true, "keep": false, "interface": "wan",
                "ipaddr": [{"ipaddr": "203.0.113.10", "mask": "24"}],
                "routes": [{"target": "0.0.0.0", "netmask": "0", "gateway": "203.0.113.1", "source": "203.0.113.10"}],
                "dns": ["203.0.113.1", "198.51.100.53"],
                "data": {"leasetime": 512, "dhcpserver": "203.0.113.1"}
            })
        );
    }

    #[test]
    fn an_off_link_gateway_gets_a_host_route_first() {
        let v: Value = serde_json::from_str(&up_args("wan", Some(&lease([192, 0, 2, 1])), None)[3]).unwrap();
        assert_eq!(v["routes"][0], json!({"target": "192.0.2.1", "netmask": "32", "source": "203.0.113.10"}));
        assert_eq!(v["routes"][1]["gateway"], "192.0.2.1");
        assert!(same_subnet(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 1), 0));
        assert!(!same_subnet(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), 32));
    }

    #[test]
    fn no_gateway_no_routes_no_server_no_dns() {
        let mut l = lease([0, 0, 0, 0]);
        l.server_id = Ipv4Addr::UNSPECIFIED;
        l.dns.clear();
        let v: Value = serde_json::from_str(&up_args("wan", Some(&l), None)[3]).unwrap();
        assert_eq!(
            v,
            json!({
                "action": 0, "link-up": true, "keep": false, "interface": "wan",
                "ipaddr": [{"ipaddr": "203.0.113.10", "mask": "24"}],
                "routes": [], "data": {"leasetime": 512}
            })
        );
    }

    fn lease6() -> Lease6 {
        let a = |s: &str| s.parse().unwrap();
        Lease6 {
            addresses: vec![Ia6 {
                address: a("2001:db8:0:1::10"),
                prefix_len: 128,
                preferred_left: 2900,
                valid_left: 3900,
            }],
            prefixes: vec![Ia6 {
                address: a("2001:db8:100::"),
                prefix_len: 56,
                preferred_left: 2900,
                valid_left: 3900,
            }],
            dns: vec![a("2001:db8:ffff::53")],
            gateway: Some(a("fe80::1")),
            ..Lease6::default()
        }
    }

    /// Both families in one update, as netifd-proto.sh's proto_send_update
    /// builds it; the delegated prefix stays out.
    #[test]
    fn ipv6_beside_ipv4_without_the_prefix() {
        let v: Value =
            serde_json::from_str(&up_args("wan", Some(&lease([203, 0, 113, 1])), Some(&lease6()))[3]).unwrap();
        assert_eq!(
            v["ip6addr"],
            json!([{"ipaddr": "2001:db8:0:1::10", "mask": "128", "preferred": 2900, "valid": 3900}])
        );
        assert_eq!(v["routes6"], json!([{"target": "::", "netmask": "0", "gateway": "fe80::1"}]));
        assert_eq!(v["dns"], json!(["203.0.113.1", "198.51.100.53", "2001:db8:ffff::53"]));
        assert_eq!(v["ipaddr"][0]["ipaddr"], "203.0.113.10");
        assert!(v.get("ip6prefix").is_none());
        // IPv6 alone: the link is up with it.
        let v: Value = serde_json::from_str(&up_args("wan", None, Some(&lease6()))[3]).unwrap();
        assert_eq!(
            (&v["link-up"], v.get("ipaddr"), v["routes6"][0]["gateway"].as_str()),
            (&json!(true), None, Some("fe80::1"))
        );
    }

    #[test]
    fn down_is_a_lost_link() {
        let v: Value = serde_json::from_str(&down_args("wan")[3]).unwrap();
        assert_eq!(v, json!({"action": 0, "link-up": false, "keep": false, "interface": "wan"}));
    }

    #[test]
    fn names_that_could_leave_the_state_dir_are_refused() {
        let dir = std::env::temp_dir().join(format!("vwrp-netifd-{}", std::process::id()));
        assert!(write_interface(&dir, "../etc", "wan").is_err());
        assert!(write_interface(&dir, "wan", "a/b").is_err());
        write_interface(&dir, "eth1", "wan_b").unwrap();
        assert_eq!(read_interface(&dir, "eth1").as_deref(), Some("wan_b"));
        assert_eq!(read_interface(&dir, "eth2"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The messages byte for byte as derived `Serialize` wrote them
    /// (before `json::Writer`): netifd reads keys in any order, but a
    /// change here should be a decision.
    #[test]
    fn the_messages_are_byte_for_byte_what_they_were() {
        let both = up_args("wan", Some(&lease([192, 0, 2, 1])), Some(&lease6()));
        let v6 = up_args("wan", None, Some(&Lease6 { gateway: None, dns: Vec::new(), ..lease6() }));
        let no_server = up_args(
            "w_2",
            Some(&Lease4 {
                server_id: Ipv4Addr::UNSPECIFIED,
                gateway: Ipv4Addr::UNSPECIFIED,
                dns: Vec::new(),
                ..lease([0; 4])
            }),
            None,
        );
        let got = [&both[3], &v6[3], &no_server[3], &down_args("wan")[3]];
        assert_eq!(got, EXPECTED);
    }

    const EXPECTED: [&str; 4] = [
        concat!(
            r#"{"action":0,"link-up":true,"keep":false,"ipaddr":[{"ipaddr":"203.0.113.10","mask":"24"}],"#,
            r#""ip6addr":[{"ipaddr":"2001:db8:0:1::10","mask":"128","preferred":2900,"valid":3900}],"#,
            r#""routes":[{"target":"192.0.2.1","netmask":"32","source":"203.0.113.10"},"#,
            r#"{"target":"0.0.0.0","netmask":"0","gateway":"192.0.2.1","source":"203.0.113.10"}],"#,
            r#""routes6":[{"target":"::","netmask":"0","gateway":"fe80::1"}],"#,
            r#""data":{"leasetime":512,"dhcpserver":"203.0.113.1"},"#,
            r#""dns":["203.0.113.1","198.51.100.53","2001:db8:ffff::53"],"interface":"wan"}"#,
        ),
        concat!(
            r#"{"action":0,"link-up":true,"keep":false,"#,
            r#""ip6addr":[{"ipaddr":"2001:db8:0:1::10","mask":"128","preferred":2900,"valid":3900}],"#,
            r#""routes6":[],"interface":"wan"}"#,
        ),
        concat!(
            r#"{"action":0,"link-up":true,"keep":false,"ipaddr":[{"ipaddr":"203.0.113.10","mask":"24"}],"#,
            r#""routes":[],"data":{"leasetime":512},"interface":"w_2"}"#,
        ),
        r#"{"action":0,"link-up":false,"keep":false,"interface":"wan"}"#,
    ];
}
