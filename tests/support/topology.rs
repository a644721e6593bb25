//! Building the bed: namespaces, switches, links, addresses, NAT, dnsmasq.

use std::time::Duration;

use super::servers;
use super::{CLI_ADDR, ISP_ADDR, LAN_GATEWAY, SHARED_MAC, SRV_ADDR, SRV_ADDR6, Testbed, WAN_ADDR, poll_until};

impl Testbed {
    pub(super) fn build(&mut self) {
        for role in self.roles() {
            self.add_namespace(&role);
        }
        for switch in ["wsw", "lsw"] {
            let ns = self.ns_name(switch);
            // A dumb switch: no STP, no snooping, so no frames of its own.
            self.ip(&format!("-n {ns} link add br0 type bridge mcast_snooping 0"));
            self.ip(&format!("-n {ns} link set br0 up"));
        }
        self.build_isp();
        for n in 1..=self.routers {
            self.build_router(n);
        }
        self.build_client();
        self.start_dnsmasq();
        if self.opts.ipv6 {
            self.start_ipv6_servers();
        }
    }

    fn add_namespace(&mut self, role: &str) {
        let ns = super::netns::Netns::named(self.ns_name(role));
        self.namespaces.push(ns);
        // Before any interface exists: otherwise links would come up with
        // IPv6 and routers sharing one MAC would share a link-local too
        // (with `ipv6`, the daemon fences the WAN before it comes up).
        let is_router = role.strip_prefix('r').is_some_and(|n| n.parse::<usize>().is_ok());
        let switch = role == "wsw" || role == "lsw";
        let mut sysctls = Vec::new();
        if !self.opts.ipv6 || switch {
            sysctls.extend(["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
        }
        if role == "isp" || is_router {
            sysctls.push("net.ipv4.ip_forward=1");
            if self.opts.ipv6 {
                sysctls.push("net.ipv6.conf.all.forwarding=1");
            }
        }
        if self.opts.ipv6 && (role == "isp" || role == "srv") {
            // The ISP's side is infrastructure: no waiting for DAD there.
            sysctls.push("net.ipv6.conf.default.accept_dad=0");
        }
        if !sysctls.is_empty() {
            let mut argv = vec!["sysctl", "-q", "-w"];
            argv.extend(sysctls);
            self.exec_ok(role, argv);
        }
    }

    /// A veth pair from `a_role`'s `a_if` to `b_role`'s `b_if`, created
    /// inside the namespaces (the root namespace never sees the names).
    fn veth(&self, a_role: &str, a_if: &str, b_role: &str, b_if: &str, b_mac: Option<&str>) {
        let (a, b) = (self.ns_name(a_role), self.ns_name(b_role));
        let mut args = format!("-n {a} link add {a_if} type veth peer name {b_if} netns {b}");
        if let Some(mac) = b_mac {
            args.push_str(&format!(" address {mac}"));
        }
        self.ip(&args);
    }

    /// Creates a switch port `port` in `switch` towards `role`'s `inner`.
    fn switch_port(&self, switch: &str, port: &str, role: &str, inner: &str, mac: Option<&str>) {
        self.veth(switch, port, role, inner, mac);
        self.exec_ok(switch, ["ip", "link", "set", port, "master", "br0", "up"]);
    }

    fn build_isp(&self) {
        self.switch_port("wsw", "isp", "isp", "cust", None);
        self.veth("isp", "srv", "srv", "eth0", None);
        let isp_cidr = format!("{ISP_ADDR}/24");
        self.exec_ok("isp", ["ip", "addr", "add", &isp_cidr, "dev", "cust"]);
        self.exec_ok("isp", ["ip", "link", "set", "cust", "up"]);
        self.exec_ok("isp", ["ip", "addr", "add", "192.0.2.1/24", "dev", "srv"]);
        self.exec_ok("isp", ["ip", "link", "set", "srv", "up"]);
        let srv_cidr = format!("{SRV_ADDR}/24");
        self.exec_ok("srv", ["ip", "addr", "add", &srv_cidr, "dev", "eth0"]);
        self.exec_ok("srv", ["ip", "link", "set", "eth0", "up"]);
        self.exec_ok("srv", ["ip", "route", "add", "default", "via", "192.0.2.1"]);
        if self.opts.ipv6 {
            let isp = format!("{}/64", servers::ISP6);
            self.exec_ok("isp", ["ip", "addr", "add", &isp, "dev", "cust"]);
            self.exec_ok("isp", ["ip", "addr", "add", "2001:db8:ffff::1/64", "dev", "srv"]);
            // The delegated prefix goes to the address Kea leases.
            let pd = format!("{}/{}", servers::PD, servers::PD_LEN);
            self.exec_ok("isp", ["ip", "-6", "route", "add", &pd, "via", servers::IA_NA, "dev", "cust"]);
            let srv6 = format!("{SRV_ADDR6}/64");
            self.exec_ok("srv", ["ip", "addr", "add", &srv6, "dev", "eth0"]);
            self.exec_ok("srv", ["ip", "-6", "route", "add", "default", "via", "2001:db8:ffff::1"]);
        }
    }

    /// Kea and radvd at the ISP, each with its own files in the bed's dir.
    fn start_ipv6_servers(&mut self) {
        let dir = self.dir.clone();
        let kea_conf = dir.join("kea.json");
        std::fs::write(&kea_conf, servers::kea_config(&dir, "cust")).expect("kea.json");
        self.spawn("isp", servers::kea_argv(&dir, &kea_conf));
        assert!(self.kea().wait_started(), "Kea did not start: {}", self.kea().log());
        let radvd_conf = dir.join("radvd.conf");
        std::fs::write(&radvd_conf, servers::radvd_config("cust")).expect("radvd.conf");
        let radvd = self.spawn("isp", servers::radvd_argv(&dir, &radvd_conf));
        let ready = poll_until(Duration::from_secs(10), || self.proc_log(radvd).contains("next iface is cust"));
        assert!(ready, "radvd did not start: {}", self.proc_log(radvd));
    }

    fn build_router(&self, n: usize) {
        let role = Self::router(n);
        let port = Self::wan_port(n);
        // The WAN switch port is up; the router's end stays down.
        self.switch_port("wsw", &port, &role, "wan", Some(SHARED_MAC));
        self.switch_port("lsw", &port, &role, "lan", Some(&Self::router_lan_mac(n)));
        let lan_cidr = format!("{}/24", Self::router_lan_addr(n));
        self.exec_ok(&role, ["ip", "addr", "add", &lan_cidr, "dev", "lan"]);
        self.exec_ok(&role, ["ip", "link", "set", "lan", "up"]);
        self.exec_ok(
            &role,
            [
                "nft",
                // On one line nft wants `;` after a chain's closing brace.
                "table inet vwrpnat { chain postrouting { \
                   type nat hook postrouting priority srcnat; policy accept; \
                   oifname \"wan\" masquerade; }; }",
            ],
        );
    }

    fn build_client(&self) {
        self.switch_port("lsw", "cli", "cli", "eth0", None);
        let cidr = format!("{CLI_ADDR}/24");
        self.exec_ok("cli", ["ip", "addr", "add", &cidr, "dev", "eth0"]);
        self.exec_ok("cli", ["ip", "link", "set", "eth0", "up"]);
        self.exec_ok("cli", ["ip", "route", "add", "default", "via", LAN_GATEWAY]);
    }

    pub(super) fn start_dnsmasq(&mut self) {
        // The log is appended to: wait for this start's banner, not the last.
        let banners = self.dnsmasq_log().matches("DHCP, IP range").count();
        let path = |name: &str| self.dir.join(name).to_str().expect("utf-8 temp path").to_string();
        let mut argv = vec![
            "dnsmasq".to_string(),
            "--keep-in-foreground".into(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            // Stay root: the log and lease files are in our temp dir.
            "--user=root".into(),
            "--interface=cust".into(),
            format!("--dhcp-range={WAN_ADDR},{WAN_ADDR},255.255.255.0,{}", self.opts.lease_secs),
            format!("--dhcp-option=3,{ISP_ADDR}"),
            format!("--dhcp-option=6,{ISP_ADDR}"),
            format!("--dhcp-leasefile={}", path("dnsmasq.leases")),
            format!("--pid-file={}", path("dnsmasq.pid")),
            "--log-dhcp".into(),
            format!("--log-facility={}", path("dnsmasq.log")),
        ];
        argv.extend(self.opts.dnsmasq_args.iter().cloned());
        let proc = self.spawn("isp", argv);
        self.dnsmasq = Some(proc);
        let ready =
            poll_until(Duration::from_secs(10), || self.dnsmasq_log().matches("DHCP, IP range").count() > banners);
        assert!(ready, "dnsmasq did not start: {}{}", self.proc_log(proc), self.dnsmasq_log());
    }
}
