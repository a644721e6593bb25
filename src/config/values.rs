//! The value parsers of the schema: text in, value or a message out.
//! Messages quote the value, except for keys.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;

use super::{DhcpMode, LanGateway, Weight};

pub(super) const SECOND: u64 = 1000;
pub(super) const MINUTE: u64 = 60 * SECOND;
pub(super) const HOUR: u64 = 60 * MINUTE;
pub(super) const DAY: u64 = 24 * HOUR;

/// `'TEXT' REST`: how most messages start. One shared call instead of a
/// formatting sequence at each site.
pub(super) fn quoted(text: &str, rest: &str) -> String {
    format!("'{text}' {rest}")
}

/// Plain decimal; anything too large for u64 is simply out of range.
pub(super) fn decimal(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(quoted(s, "is not a number"));
    }
    Ok(s.parse().unwrap_or(u64::MAX))
}

/// Decimal or 0x-prefixed hexadecimal.
pub(super) fn number(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(u64::from_str_radix(hex, 16).unwrap_or(u64::MAX))
        }
        Some(_) => Err(quoted(s, "is not a number")),
        None => decimal(s),
    }
}

pub(super) fn u8_in(lo: u8, hi: u8) -> impl Fn(&str) -> Result<u8, String> {
    move |s| {
        let n = decimal(s)?;
        u8::try_from(n).ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| format!("{s} is out of range {lo}..{hi}"))
    }
}

/// EtherTypes of protocols a network may carry. A standby's fence lets
/// vwrp's EtherType through, so one of these would open the WAN to IPv4,
/// ARP or a VLAN's whole traffic.
const REAL_ETHERTYPES: &[(u16, &str)] = &[
    (0x0800, "IPv4"),
    (0x0806, "ARP"),
    (0x0842, "Wake-on-LAN"),
    (0x22f3, "TRILL"),
    (0x6003, "DECnet"),
    (0x8035, "RARP"),
    (0x809b, "AppleTalk"),
    (0x80f3, "AARP"),
    (0x8100, "a VLAN tag (802.1Q)"),
    (0x8137, "IPX"),
    (0x86dd, "IPv6"),
    (0x8808, "Ethernet flow control"),
    (0x8809, "LACP (slow protocols)"),
    (0x8847, "MPLS"),
    (0x8848, "MPLS multicast"),
    (0x8863, "PPPoE discovery"),
    (0x8864, "PPPoE session"),
    (0x887b, "HomePlug"),
    (0x888e, "802.1X (EAPOL)"),
    (0x8892, "PROFINET"),
    (0x88a2, "ATA over Ethernet"),
    (0x88a4, "EtherCAT"),
    (0x88a8, "a VLAN tag (802.1ad)"),
    (0x88b7, "OUI extended"),
    (0x88c7, "802.11 pre-authentication"),
    (0x88cc, "LLDP"),
    (0x88e1, "HomePlug AV"),
    (0x88e3, "MRP"),
    (0x88e5, "MACsec"),
    (0x88e7, "802.1ah (PBB)"),
    (0x88f7, "PTP"),
    (0x88fb, "PRP"),
    (0x8902, "CFM (802.1ag)"),
    (0x8906, "FCoE"),
    (0x8914, "FIP"),
    (0x8915, "RoCE"),
    (0x892f, "HSR"),
    (0x893a, "IEEE 1905.1"),
    (0x894f, "NSH"),
    (0x9000, "Ethernet loopback"),
    (0x9100, "a VLAN tag (QinQ)"),
    (0x9200, "a VLAN tag (QinQ)"),
    (0xffff, "reserved"),
];

/// What `ethertype` allows, for its messages and docs/CONFIG.md.
pub(super) const ETHERTYPE_RULE: &str = "0x0600..0xfffe, other than a real protocol's; \
     0x88b5 and 0x88b6 are IEEE 802's EtherTypes for local use";

pub(super) fn ethertype(s: &str) -> Result<u16, String> {
    let n = number(s)?;
    let n = u16::try_from(n)
        .ok()
        .filter(|n| *n >= 0x0600)
        .ok_or_else(|| format!("{s} is out of range: use {ETHERTYPE_RULE}"))?;
    match REAL_ETHERTYPES.iter().find(|(t, _)| *t == n) {
        Some((_, what)) => {
            Err(format!("{s} is {what}: a standby's fence would let it through to the WAN; use {ETHERTYPE_RULE}"))
        }
        None => Ok(n),
    }
}

pub(super) fn router_id(s: &str) -> Result<u32, String> {
    let n = if s.contains('.') {
        let ip: Ipv4Addr = s.parse().map_err(|_| quoted(s, "is not a number or dotted quad"))?;
        u64::from(u32::from(ip))
    } else {
        number(s)?
    };
    u32::try_from(n).ok().filter(|n| *n != 0).ok_or_else(|| format!("{s} is out of range 1..{}", u32::MAX))
}

/// OpenWrt's spellings, as /lib/functions.sh config_get_bool reads them.
pub(super) fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "1" | "yes" | "on" | "true" | "enabled" => Ok(true),
        "0" | "no" | "off" | "false" | "disabled" => Ok(false),
        _ => Err(quoted(s, "is not a boolean (use 1/0, yes/no, on/off, true/false or enabled/disabled)")),
    }
}

/// `100ms`, `1s`, `1.5s`, `2m`, `1h`, `1d`, or bare milliseconds. Whole
/// milliseconds only.
pub(super) fn duration(s: &str) -> Result<Duration, String> {
    let bad = || quoted(s, "is not a duration (e.g. 100ms, 1.5s, 2m, or a number of milliseconds)");
    let units: [(&str, u64); 5] = [("ms", 1), ("s", SECOND), ("m", MINUTE), ("h", HOUR), ("d", DAY)];
    let (number, unit) =
        units.iter().find_map(|(suffix, ms)| s.strip_suffix(suffix).map(|n| (n, *ms))).unwrap_or((s, 1));
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (number.contains('.') && !digits(fraction)) {
        return Err(bad());
    }
    let too_long = || quoted(s, "is out of range");
    let whole_ms = whole.parse::<u64>().ok().and_then(|w| w.checked_mul(unit)).ok_or_else(too_long)?;
    // Beyond nine digits nothing is a whole number of milliseconds.
    if fraction.len() > 9 {
        return Err(quoted(s, "is finer than a millisecond"));
    }
    // fraction * unit / 10^digits, exactly: at most nine digits times a
    // day's milliseconds stays far below u64::MAX.
    let (scaled, scale) = fraction.bytes().fold((0u64, 1u64), |(n, p), b| {
        let digit = u64::from(b.saturating_sub(b'0'));
        (n.saturating_mul(10).saturating_add(digit), p.saturating_mul(10))
    });
    let scaled = scaled.saturating_mul(unit);
    if scaled % scale != 0 {
        return Err(quoted(s, "is finer than a millisecond"));
    }
    let fraction_ms = scaled / scale;
    whole_ms.checked_add(fraction_ms).map(Duration::from_millis).ok_or_else(too_long)
}

/// The shortest exact spelling: `90s`, `2m`, `1500ms`.
pub(super) fn format_duration(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0".to_string();
    }
    [(DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s")]
        .iter()
        .find(|(unit, _)| ms % unit == 0)
        .map_or_else(|| format!("{ms}ms"), |(unit, suffix)| format!("{}{suffix}", ms / unit))
}

pub(super) fn duration_in(lo_ms: u64, hi_ms: u64) -> impl Fn(&str) -> Result<Duration, String> {
    move |s| {
        let d = duration(s)?;
        let (lo, hi) = (Duration::from_millis(lo_ms), Duration::from_millis(hi_ms));
        if d < lo || d > hi {
            return Err(format!("{s} is out of range {}..{}", format_duration(lo), format_duration(hi)));
        }
        Ok(d)
    }
}

/// Zero turns the feature off; anything else must be in range.
pub(super) fn duration_or_off(lo_ms: u64, hi_ms: u64) -> impl Fn(&str) -> Result<Option<Duration>, String> {
    move |s| {
        if duration(s)?.is_zero() {
            return Ok(None);
        }
        duration_in(lo_ms, hi_ms)(s).map(Some).map_err(|m| format!("{m}, or 0 for off"))
    }
}

pub(super) fn absolute_path(s: &str) -> Result<PathBuf, String> {
    if !s.starts_with('/') {
        return Err(quoted(s, "is not an absolute path"));
    }
    Ok(PathBuf::from(s))
}

/// A unix socket's path must fit sockaddr_un.sun_path with its NUL.
pub(super) fn socket_path(s: &str) -> Result<PathBuf, String> {
    const SUN_PATH_MAX: usize = 107;
    if s.len() > SUN_PATH_MAX {
        return Err(format!("'{s}' is longer than {SUN_PATH_MAX} bytes, the limit for a unix socket"));
    }
    absolute_path(s)
}

pub(super) fn log_level(s: &str) -> Result<LevelFilter, String> {
    match s {
        "error" => Ok(LevelFilter::Error),
        "warn" => Ok(LevelFilter::Warn),
        "info" => Ok(LevelFilter::Info),
        "debug" => Ok(LevelFilter::Debug),
        "trace" => Ok(LevelFilter::Trace),
        _ => Err(quoted(s, "is not a log level (error, warn, info, debug or trace)")),
    }
}

/// What the kernel's dev_valid_name() accepts.
pub(super) fn ifname(s: &str) -> Result<String, String> {
    const IFNAMSIZ: usize = 16;
    if s.is_empty() {
        return Err("empty interface name".to_string());
    }
    if s.len() >= IFNAMSIZ {
        return Err(format!("interface name '{s}' is longer than 15 bytes"));
    }
    if s == "." || s == ".." || s.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        return Err(quoted(s, "is not a valid interface name"));
    }
    Ok(s.to_string())
}

pub(super) fn shared_mac(s: &str) -> Result<[u8; 6], String> {
    let bad = || quoted(s, "is not a MAC address (xx:xx:xx:xx:xx:xx)");
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for octet in mac.iter_mut() {
        let part = parts.next().unwrap_or_default();
        if part.is_empty() || part.len() > 2 {
            return Err(bad());
        }
        *octet = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    if mac == [0; 6] {
        return Err("the all-zero address cannot be used".to_string());
    }
    if mac.first().is_some_and(|b| b & 1 == 1) {
        return Err(quoted(s, "is a multicast address; the first octet must be even"));
    }
    Ok(mac)
}

/// `ID:SECRET`. Messages never repeat the text: it holds the secret.
pub(super) fn key(s: &str) -> Result<(u8, Vec<u8>), String> {
    let (id, secret) = s.split_once(':').ok_or_else(|| "expected ID:SECRET (the value is not shown)".to_string())?;
    let id = decimal(id)
        .ok()
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| "expected ID:SECRET with an ID of 0..255 (the value is not shown)".to_string())?;
    if secret.is_empty() {
        return Err(format!("key id {id} has an empty secret"));
    }
    // 128 bits at least: as hex digits, 32 of them; as other text, 16 bytes.
    let hex = secret.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && secret.len() < MIN_SECRET_HEX {
        return Err(format!(
            "key id {id}: the secret is too short: hex digits need at least {MIN_SECRET_HEX} of them \
             (`vwrp genkey` makes a key)"
        ));
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "key id {id}: the secret is too short: at least {MIN_SECRET_BYTES} bytes, or {MIN_SECRET_HEX} hex digits \
             (`vwrp genkey` makes a key)"
        ));
    }
    Ok((id, secret.as_bytes().to_vec()))
}

/// The shortest secret `key` takes as text, and as hex digits.
pub(super) const MIN_SECRET_BYTES: usize = 16;
pub(super) const MIN_SECRET_HEX: usize = 32;

/// `ADDRESS/PREFIX@DEVICE`.
pub(super) fn lan_gateway(s: &str) -> Result<LanGateway, String> {
    let shape = || quoted(s, "is not ADDRESS/PREFIX@DEVICE");
    let (cidr, device) = s.split_once('@').ok_or_else(shape)?;
    let (address, prefix) = cidr.split_once('/').ok_or_else(shape)?;
    let address: IpAddr = address.parse().map_err(|_| quoted(address, "is not an IP address"))?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix_len = u8_in(1, max)(prefix).map_err(|m| format!("prefix length {m}"))?;
    let address = unicast(address)?;
    if let IpAddr::V4(v4) = address {
        // Below /31 the first and last addresses of the prefix are no host's.
        if prefix_len <= 30 {
            let host_mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
            let host = u32::from(v4) & host_mask;
            if host == 0 || host == host_mask {
                return Err(format!("{v4} is the network or broadcast address of its /{prefix_len}"));
            }
        }
    }
    Ok(LanGateway { address, prefix_len, device: ifname(device)? })
}

pub(super) fn unicast(ip: IpAddr) -> Result<IpAddr, String> {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast {
        return Err(format!("{ip} is not a unicast address"));
    }
    Ok(ip)
}

pub(super) fn unicast_ip(s: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = s.parse().map_err(|_| quoted(s, "is not an IP address"))?;
    unicast(ip)
}

pub(super) fn arping_target(s: &str) -> Result<Ipv4Addr, String> {
    match unicast_ip(s)? {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(quoted(s, "is not an IPv4 address (arping is IPv4 only)")),
    }
}

pub(super) fn dhcp_mode(s: &str) -> Result<DhcpMode, String> {
    match s {
        "udhcpc" => Ok(DhcpMode::Udhcpc),
        "netifd" => Ok(DhcpMode::Netifd),
        "none" => Ok(DhcpMode::None),
        _ => Err(quoted(s, "is not one of udhcpc, netifd, none")),
    }
}

/// Hex bytes, optionally colon-separated: `01020304abcd`, `01:02:03`;
/// `min..=max` of them.
fn hex_bytes(s: &str, min: usize, max: usize) -> Result<Vec<u8>, String> {
    let bad = || quoted(s, "is not hex bytes (e.g. 01020304abcd)");
    let pairs: Vec<&str> = if s.contains(':') {
        s.split(':').collect()
    } else {
        (0..s.len()).step_by(2).map(|i| s.get(i..i.saturating_add(2)).unwrap_or_default()).collect()
    };
    let bytes = pairs
        .iter()
        .map(|p| {
            if p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
                u8::from_str_radix(p, 16).map_err(|_| bad())
            } else {
                Err(bad())
            }
        })
        .collect::<Result<Vec<u8>, String>>()?;
    if bytes.len() < min || bytes.len() > max {
        return Err(quoted(s, &format!("must be {min} to {max} bytes long")));
    }
    Ok(bytes)
}

/// DHCP option 61 (RFC 2132): 2 to 255 bytes.
pub(super) fn client_id(s: &str) -> Result<Vec<u8>, String> {
    hex_bytes(s, 2, 255)
}

/// A DHCPv6 DUID (RFC 8415 §11): a 2-byte type and up to 128 bytes.
pub(super) fn duid(s: &str) -> Result<Vec<u8>, String> {
    hex_bytes(s, 3, 130)
}

/// A command line split on whitespace; the program by absolute path.
pub(super) fn command_line(s: &str) -> Result<Vec<String>, String> {
    let argv: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    match argv.first() {
        None => Err("empty command".to_string()),
        Some(program) if !program.starts_with('/') => Err(quoted(program, "must be an absolute path")),
        Some(_) => Ok(argv),
    }
}

pub(super) fn weight(s: &str) -> Result<Weight, String> {
    if s == "fatal" {
        return Ok(Weight::Fatal);
    }
    u8_in(1, 255)(s).map(Weight::Penalty).map_err(|m| format!("{m}, or 'fatal'"))
}
