//! The lease busybox udhcpc obtained, as it reports it to its event script
//! (files/usr/share/vwrp/udhcpc.script passes the environment on through
//! `vwrp lease-event`).

use std::net::Ipv4Addr;

use crate::wire::dhcpv4::{mask_prefix, timers};
use crate::wire::{Lease4, Mac};

fn env_ip(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<Ipv4Addr>, String> {
    match get(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| format!("{name}: not an IPv4 address: {v:?}")),
    }
}

fn env_ip_list(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Vec<Ipv4Addr>, String> {
    get(name)
        .unwrap_or_default()
        .split_whitespace()
        .map(|w| w.parse().map_err(|_| format!("{name}: not an IPv4 address: {w:?}")))
        .collect()
}

fn env_u32(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<u32>, String> {
    match get(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| format!("{name}: not a number: {v:?}")),
    }
}

/// udhcpc hands options it has no name for as `optN=<hex>`.
fn env_hex(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(v) = get(name) else { return Ok(None) };
    let v = v.trim();
    let bad = || format!("{name}: not hex: {v:?}");
    if v.is_empty() || v.len() % 2 != 0 {
        return Err(bad());
    }
    v.as_bytes()
        .chunks(2)
        .map(|p| core::str::from_utf8(p).ok().and_then(|s| u8::from_str_radix(s, 16).ok()).ok_or_else(bad))
        .collect::<Result<Vec<u8>, String>>()
        .map(Some)
}

fn env_hex_u32(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<u32>, String> {
    match env_hex(get, name)? {
        None => Ok(None),
        Some(b) => <[u8; 4]>::try_from(b.as_slice())
            .map(|a| Some(u32::from_be_bytes(a)))
            .map_err(|_| format!("{name}: not 4 bytes")),
    }
}

/// Builds the lease from udhcpc's event-script environment (`bound` or
/// `renew`): `ip`, `mask` (prefix length) or `subnet`, `router` (first one
/// used), `dns`, `serverid`, `lease`, and `opt58`/`opt59`/`opt61` (T1, T2,
/// client id as hex) when the server sent them; the client id is `None`
/// when the server did not echo it. The lease was granted just
/// now, so every "left" time is the full time.
///
/// A missing `router` or `serverid` becomes 0.0.0.0 (no gateway nudge;
/// renewal falls back to broadcast). A missing mask means /24, as OpenWrt's
/// own dhcp.script assumes. Any malformed value is an error naming it.
pub fn lease_from_udhcpc_env(get: impl Fn(&str) -> Option<String>) -> Result<(Lease4, Option<Vec<u8>>), String> {
    let address = env_ip(&get, "ip")?.ok_or("ip: missing")?;
    let prefix_len = match (env_u32(&get, "mask")?, env_ip(&get, "subnet")?) {
        (Some(m), _) => u8::try_from(m).ok().filter(|&m| m <= 32).ok_or_else(|| format!("mask: out of range: {m}"))?,
        (None, Some(s)) => mask_prefix(s).ok_or_else(|| format!("subnet: not contiguous: {s}"))?,
        (None, None) => 24,
    };
    let gateway = env_ip_list(&get, "router")?.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let server_id = env_ip(&get, "serverid")?.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let lease_time = env_u32(&get, "lease")?.ok_or("lease: missing")?;
    let (renew, rebind) = timers(lease_time, env_hex_u32(&get, "opt58")?, env_hex_u32(&get, "opt59")?);
    let lease = Lease4 {
        address,
        prefix_len,
        gateway,
        server_id,
        lease_time,
        valid_left: lease_time,
        renew_left: renew,
        rebind_left: rebind,
        dns: env_ip_list(&get, "dns")?,
    };
    Ok((lease, env_hex(&get, "opt61")?))
}

/// The client id busybox udhcpc sends unless told otherwise: hardware type
/// 1 (Ethernet) and the MAC. Servers seldom echo option 61 back (dnsmasq
/// 2.90 does not), so the caller that started udhcpc supplies it.
pub fn busybox_client_id(mac: Mac) -> Vec<u8> {
    let mut id = vec![1];
    id.extend_from_slice(&mac.0);
    id
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    /// What busybox 1.35 udhcpc exported for a dnsmasq 2.90 lease.
    const UDHCPC_ENV: [(&str, &str); 12] = [
        ("interface", "cli0"),
        ("ip", "203.0.113.10"),
        ("siaddr", "203.0.113.1"),
        ("subnet", "255.255.255.0"),
        ("mask", "24"),
        ("router", "203.0.113.1"),
        ("broadcast", "203.0.113.255"),
        ("dns", "203.0.113.53 203.0.113.54"),
        ("serverid", "203.0.113.1"),
        ("lease", "120"),
        ("opt58", "0000003c"),
        ("opt59", "00000069"),
    ];

    pub(crate) fn expected_lease() -> Lease4 {
        Lease4 {
            address: ip("203.0.113.10"),
            prefix_len: 24,
            gateway: ip("203.0.113.1"),
            server_id: ip("203.0.113.1"),
            lease_time: 120,
            valid_left: 120,
            renew_left: 60,
            rebind_left: 105,
            dns: vec![ip("203.0.113.53"), ip("203.0.113.54")],
        }
    }

    #[test]
    fn udhcpc_env_parsed() {
        assert_eq!(lease_from_udhcpc_env(env(&UDHCPC_ENV)), Ok((expected_lease(), None)));
    }

    #[test]
    fn udhcpc_env_defaults_and_variants() {
        let (l, id) = lease_from_udhcpc_env(env(&[
            ("ip", "198.51.100.7"),
            ("subnet", "255.255.252.0"),
            ("router", "198.51.100.1 198.51.100.2 "),
            ("lease", "3600"),
            ("opt61", "0102005E005301"),
        ]))
        .unwrap();
        assert_eq!(l.prefix_len, 22);
        assert_eq!(l.gateway, ip("198.51.100.1"));
        assert_eq!(l.server_id, Ipv4Addr::UNSPECIFIED);
        assert_eq!((l.lease_time, l.valid_left, l.renew_left, l.rebind_left), (3600, 3600, 1800, 3150));
        assert!(l.dns.is_empty());
        assert_eq!(id, Some(busybox_client_id(MAC)));

        let (l, _) = lease_from_udhcpc_env(env(&[("ip", "198.51.100.7"), ("lease", "4294967295")])).unwrap();
        assert_eq!((l.prefix_len, l.gateway), (24, Ipv4Addr::UNSPECIFIED));
        assert_eq!((l.renew_left, l.rebind_left), (2147483647, 3758096383));
        // T1/T2 the server sent are kept in order and within the lease.
        let (l, _) = lease_from_udhcpc_env(env(&[
            ("ip", "198.51.100.7"),
            ("lease", "100"),
            ("opt58", "000000c8"),
            ("opt59", "00000050"),
        ]))
        .unwrap();
        assert_eq!((l.renew_left, l.rebind_left), (80, 80));
    }

    #[test]
    fn udhcpc_env_errors_name_the_variable() {
        let err = |pairs: &[(&str, &str)]| lease_from_udhcpc_env(env(pairs)).unwrap_err();
        assert!(err(&[("lease", "60")]).starts_with("ip:"));
        assert!(err(&[("ip", "203.0.113.10")]).starts_with("lease:"));
        assert!(err(&[("ip", "203.0.113.300"), ("lease", "60")]).starts_with("ip:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "-1")]).starts_with("lease:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "60"), ("mask", "33")]).starts_with("mask:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "60"), ("subnet", "255.0.255.0")]).starts_with("subnet:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "60"), ("dns", "1.2.3.4 x")]).starts_with("dns:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "60"), ("opt58", "3c")]).starts_with("opt58:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "60"), ("opt61", "0g")]).starts_with("opt61:"));
        assert!(err(&[("ip", "203.0.113.10"), ("lease", "60"), ("opt61", "xé1")]).starts_with("opt61:"));
    }
}

/// files/usr/share/vwrp/udhcpc.script, run by the shells it will meet.
#[cfg(test)]
mod event_script_tests {
    use std::path::PathBuf;
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/files/usr/share/vwrp/udhcpc.script");

    /// A scratch directory with a stand-in `vwrp` (and busybox's `timeout`)
    /// first on PATH; removed on drop.
    struct Bin(PathBuf);

    impl Drop for Bin {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl Bin {
        fn new(tag: &str, vwrp_body: &str) -> Bin {
            let dir = std::env::temp_dir().join(format!("vwrp-script-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let vwrp = dir.join("vwrp");
            let calls = dir.join("calls");
            std::fs::write(&vwrp, format!("#!/bin/sh\necho \"$* ip=$ip\" >> {}\n{vwrp_body}\n", calls.display()))
                .unwrap();
            Command::new("chmod").arg("755").arg(&vwrp).status().unwrap();
            std::os::unix::fs::symlink("/usr/bin/busybox", dir.join("timeout")).unwrap();
            Bin(dir)
        }

        fn run(&self, shell: &[&str], event: &str) -> Output {
            let path = format!("{}:{}", self.0.display(), std::env::var("PATH").unwrap_or_default());
            Command::new(shell[0])
                .args(&shell[1..])
                .arg(SCRIPT)
                .arg(event)
                .env("PATH", path)
                .env("ip", "203.0.113.10")
                .output()
                .unwrap()
        }

        fn calls(&self) -> String {
            std::fs::read_to_string(self.0.join("calls")).unwrap_or_default()
        }
    }

    #[test]
    fn only_bound_and_renew_reach_the_daemon() {
        for (tag, shell) in [("ash", &["busybox", "sh"][..]), ("dash", &["/bin/sh"][..])] {
            let bin = Bin::new(tag, "exit 3");
            for event in ["deconfig", "leasefail", "nak", "bound", "renew", "bogus"] {
                let out = bin.run(shell, event);
                assert!(out.status.success(), "{tag} {event}: {out:?}");
            }
            assert_eq!(bin.calls(), "lease-event ip=203.0.113.10\nlease-event ip=203.0.113.10\n", "{tag}");
        }
    }

    #[test]
    fn a_hung_daemon_holds_udhcpc_about_one_second() {
        let bin = Bin::new("hang", "exec sleep 5");
        let t = Instant::now();
        let out = bin.run(&["busybox", "sh"], "bound");
        assert!(out.status.success());
        assert!(t.elapsed() < Duration::from_millis(2500), "{:?}", t.elapsed());
        assert!(t.elapsed() >= Duration::from_millis(900), "{:?}", t.elapsed());
        assert_eq!(bin.calls(), "lease-event ip=203.0.113.10\n");
    }

    #[test]
    fn shellcheck_clean() {
        let out = Command::new("shellcheck")
            .args(["-s", "sh", SCRIPT])
            .output()
            .expect("shellcheck (apt-get install shellcheck)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
