//! The ISP's IPv6 side, for the test bed and the unit tests that speak
//! to it: Kea's DHCPv6 server (Debian's kea-dhcp6-server), which hands out
//! exactly one address (IA_NA) and delegates exactly one /56 (IA_PD), and
//! radvd, which announces the ISP's router on the WAN link.
//!
//! Each runs with its own files in a directory of the caller's: /run and
//! /var/lib are shared by every namespace. Kea's server DUID is fixed and
//! not written to /var/lib/kea.

// Each user needs a different part of this file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The one address Kea leases.
pub const IA_NA: &str = "2001:db8:0:1::10";
/// The one prefix Kea delegates, a /56.
pub const PD: &str = "2001:db8:100::";
pub const PD_LEN: u8 = 56;
/// The ISP's address on the WAN link (2001:db8:0:1::/64).
pub const ISP6: &str = "2001:db8:0:1::1";
/// The DNS server Kea names.
pub const DNS6: &str = "2001:db8:ffff::53";
/// Kea's server DUID: DUID-LL of 02:00:00:00:00:01.
pub const SERVER_DUID: &str = "00:03:00:01:02:00:00:00:00:01";
/// Lifetimes and timers Kea grants.
pub const PREFERRED: u32 = 3000;
pub const VALID: u32 = 4000;

/// Kea's configuration, serving on `iface`, its lease file and log in `dir`.
pub fn kea_config(dir: &Path, iface: &str) -> String {
    let d = dir.display();
    format!(
        r#"{{"Dhcp6": {{
  "interfaces-config": {{"interfaces": ["{iface}"]}},
  "server-id": {{"type": "LL", "htype": 1, "identifier": "020000000001", "persist": false}},
  "lease-database": {{"type": "memfile", "persist": true, "name": "{d}/kea-leases6.csv", "lfc-interval": 0}},
  "preferred-lifetime": {PREFERRED}, "valid-lifetime": {VALID}, "renew-timer": 1000, "rebind-timer": 2000,
  "subnet6": [{{"id": 1, "subnet": "2001:db8:0:1::/64", "interface": "{iface}",
    "pools": [{{"pool": "{IA_NA} - {IA_NA}"}}],
    "pd-pools": [{{"prefix": "{PD}", "prefix-len": {PD_LEN}, "delegated-len": {PD_LEN}}}],
    "option-data": [{{"name": "dns-servers", "data": "{DNS6}"}}]}}],
  "loggers": [{{"name": "kea-dhcp6", "severity": "DEBUG", "debuglevel": 50,
    "output_options": [{{"output": "{d}/kea.log"}}]}}]
}}}}"#
    )
}

/// The command line that runs Kea with the configuration at `conf`,
/// its pid and lock files in `dir`.
pub fn kea_argv(dir: &Path, conf: &Path) -> Vec<String> {
    vec![
        "env".into(),
        format!("KEA_PIDFILE_DIR={}", dir.display()),
        format!("KEA_LOCKFILE_DIR={}", dir.display()),
        "kea-dhcp6".into(),
        "-c".into(),
        conf.display().to_string(),
    ]
}

/// radvd's configuration: the ISP's router on `iface`, DHCPv6 for
/// addresses (M flag), the link's prefix on-link but not for SLAAC.
pub fn radvd_config(iface: &str) -> String {
    format!(
        "interface {iface} {{\n\tAdvSendAdvert on;\n\tMinRtrAdvInterval 3;\n\tMaxRtrAdvInterval 10;\n\
         \tAdvManagedFlag on;\n\tAdvDefaultLifetime 1800;\n\
         \tprefix 2001:db8:0:1::/64 {{ AdvOnLink on; AdvAutonomous off; }};\n}};\n"
    )
}

/// radvd in the foreground, logging to stderr, its pid file in `dir`.
pub fn radvd_argv(dir: &Path, conf: &Path) -> Vec<String> {
    vec![
        "radvd".into(),
        "--nodaemon".into(),
        "--logmethod".into(),
        "stderr".into(),
        "--debug".into(),
        "1".into(),
        "--config".into(),
        conf.display().to_string(),
        "--pidfile".into(),
        dir.join("radvd.pid").display().to_string(),
    ]
}

/// What Kea wrote: its log and lease file, read from its directory.
#[derive(Clone, Debug)]
pub struct KeaFiles {
    pub dir: PathBuf,
}

impl KeaFiles {
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kea.log")).unwrap_or_default()
    }

    /// Waits until Kea says it serves.
    pub fn wait_started(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log().contains("DHCP6_STARTED") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The type of every message Kea received, in order ("SOLICIT",
    /// "REQUEST", "RENEW", "REBIND", "RELEASE", ...).
    pub fn messages(&self) -> Vec<String> {
        // DHCP6_PACKET_RECEIVED duid=[…], tid=0x…: SOLICIT (type 1) received from …
        self.log()
            .lines()
            .filter(|l| l.contains("DHCP6_PACKET_RECEIVED"))
            .filter_map(|l| l.split("): ").nth(1).or_else(|| l.split(": ").last()))
            .filter_map(|rest| rest.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// The lease file: a CSV header, then a line per lease update.
    pub fn lease_file(&self) -> String {
        std::fs::read_to_string(self.dir.join("kea-leases6.csv")).unwrap_or_default()
    }

    /// The distinct leases (address or prefix, DUID, IAID, type) Kea
    /// recorded, whatever their updates.
    pub fn leases(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for l in self.lease_file().lines().skip(1) {
            // address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,...
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 9 {
                continue;
            }
            let key = vec![f[0].to_string(), f[1].to_string(), f[7].to_string(), f[6].to_string(), f[8].to_string()];
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }

    /// The server's DUID, as bytes.
    pub fn server_duid(&self) -> Vec<u8> {
        SERVER_DUID.split(':').map(|h| u8::from_str_radix(h, 16).expect("hex")).collect()
    }
}
