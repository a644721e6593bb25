//! DHCPv6 state from odhcp6c's event script (OpenWrt's
//! /etc/odhcp6c.user.d hook), for the hellos and the status: odhcp6c
//! (`src/script.c`) puts it in the environment as
//!
//! ```text
//! ADDRESSES="2001:db8::10/128,3600,7200,1800,2880 …"   addr/len,preferred,valid,t1,t2
//! PREFIXES="2001:db8:1::/56,3600,7200,1800,2880,class=00000002 …"
//! RDNSS="2001:db8::53 …"   RA_DNS="…"
//! RA_ROUTES="::/0,fe80::1,1800,1024 …"                 target/len,router,valid,metric
//! ```
//!
//! Entries that no longer count (valid 0, which odhcp6c passes for
//! prefixes being removed) are left out.

use std::net::Ipv6Addr;

use crate::wire::{Ia6, Lease6};

/// At most this many of each kind travel in a hello.
const MAX_ENTRIES: usize = 8;

/// Builds the DHCPv6 state from odhcp6c's environment; any malformed
/// entry is an error naming its variable.
pub fn lease6_from_odhcp6c_env(get: impl Fn(&str) -> Option<String>) -> Result<Lease6, String> {
    let mut dns = addresses(&get, "RDNSS")?;
    if dns.is_empty() {
        dns = addresses(&get, "RA_DNS")?;
    }
    dns.truncate(MAX_ENTRIES);
    Ok(Lease6 {
        addresses: entries(&get, "ADDRESSES")?,
        prefixes: entries(&get, "PREFIXES")?,
        dns,
        gateway: default_router(&get)?,
        // odhcp6c does not tell its scripts its DUID, nor its server's.
        duid: None,
        server: None,
    })
}

fn words(get: &impl Fn(&str) -> Option<String>, var: &str) -> Vec<String> {
    get(var).map(|v| v.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

fn bad(var: &str, what: &str) -> String {
    format!("{var}: malformed entry {what:?}")
}

fn addresses(get: &impl Fn(&str) -> Option<String>, var: &str) -> Result<Vec<Ipv6Addr>, String> {
    words(get, var).iter().map(|w| w.parse().map_err(|_| bad(var, w))).collect()
}

fn prefix(var: &str, w: &str, field: &str) -> Result<(Ipv6Addr, u8), String> {
    let (a, l) = field.split_once('/').ok_or_else(|| bad(var, w))?;
    let len: u8 = l.parse().ok().filter(|l| *l <= 128).ok_or_else(|| bad(var, w))?;
    Ok((a.parse().map_err(|_| bad(var, w))?, len))
}

fn entries(get: &impl Fn(&str) -> Option<String>, var: &str) -> Result<Vec<Ia6>, String> {
    let mut out = Vec::new();
    for w in words(get, var) {
        let mut f = w.split(',');
        let (address, prefix_len) = prefix(var, &w, f.next().unwrap_or(""))?;
        let mut num = || -> Result<u32, String> { f.next().and_then(|n| n.parse().ok()).ok_or_else(|| bad(var, &w)) };
        let preferred_left = num()?;
        let valid_left = num()?;
        if valid_left > 0 && out.len() < MAX_ENTRIES {
            out.push(Ia6 { address, prefix_len, preferred_left: preferred_left.min(valid_left), valid_left });
        }
    }
    Ok(out)
}

/// The router of the first default route (`::/0`) the RAs gave.
fn default_router(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Ipv6Addr>, String> {
    for w in words(get, "RA_ROUTES") {
        let mut f = w.split(',');
        let (_, len) = prefix("RA_ROUTES", &w, f.next().unwrap_or(""))?;
        let router = f.next().unwrap_or("");
        let valid: u32 = f.next().and_then(|n| n.parse().ok()).ok_or_else(|| bad("RA_ROUTES", &w))?;
        if len == 0 && valid > 0 && !router.is_empty() {
            return router.parse().map(Some).map_err(|_| bad("RA_ROUTES", &w));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_bound_odhcp6c_environment() {
        let l = lease6_from_odhcp6c_env(env(&[
            ("ADDRESSES", "2001:db8::10/128,3600,7200,1800,2880"),
            ("PREFIXES", "2001:db8:1::/56,3600,7200,1800,2880,class=00000002 2001:db8:2::/56,0,0,0,0"),
            ("RDNSS", "2001:db8::53 2001:db8::54"),
            ("RA_ROUTES", "2001:db8::/64,,1800,256 ::/0,fe80::1,1800,1024"),
            ("RA_DNS", "2001:db8::99"),
        ]))
        .unwrap();
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert_eq!(
            l.addresses,
            vec![Ia6 { address: a("2001:db8::10"), prefix_len: 128, preferred_left: 3600, valid_left: 7200 }]
        );
        assert_eq!(
            l.prefixes,
            vec![Ia6 { address: a("2001:db8:1::"), prefix_len: 56, preferred_left: 3600, valid_left: 7200 }]
        );
        assert_eq!(l.dns, vec![a("2001:db8::53"), a("2001:db8::54")]);
        assert_eq!(l.gateway, Some(a("fe80::1")));
        assert_eq!(l.duid, None);
    }

    #[test]
    fn ra_dns_stands_in_for_missing_rdnss_and_nothing_is_empty() {
        let l = lease6_from_odhcp6c_env(env(&[("RA_DNS", "2001:db8::99")])).unwrap();
        assert_eq!(l.dns, vec!["2001:db8::99".parse::<Ipv6Addr>().unwrap()]);
        assert!(lease6_from_odhcp6c_env(env(&[])).unwrap().is_empty());
    }

    #[test]
    fn malformed_entries_name_their_variable() {
        for (var, val) in [
            ("ADDRESSES", "2001:db8::10,3600,7200"),
            ("ADDRESSES", "2001:db8::10/129,1,1"),
            ("PREFIXES", "2001:db8::/56,x,1"),
            ("PREFIXES", "2001:db8::/56,1"),
            ("RDNSS", "dns.example"),
            ("RA_ROUTES", "::/0,nope,1800,1"),
        ] {
            let e = lease6_from_odhcp6c_env(env(&[(var, val)])).unwrap_err();
            assert!(e.starts_with(var), "{e}");
        }
    }

    #[test]
    fn at_most_eight_of_each() {
        let many: Vec<String> = (1..=20).map(|i| format!("2001:db8::{i:x}/128,1,2")).collect();
        let l = lease6_from_odhcp6c_env(env(&[("ADDRESSES", &many.join(" "))])).unwrap();
        assert_eq!(l.addresses.len(), MAX_ENTRIES);
    }
}
