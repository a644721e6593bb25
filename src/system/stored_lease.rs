//! The WAN lease kept for a restart of the daemon: `lease.<device>` in the
//! state directory (/var/run/vwrp: tmpfs, so it survives a restart and not
//! a reboot, and nothing is written to flash). A daemon that starts with a
//! lease still valid asks the server for it back (INIT-REBOOT, RFC 2131
//! §4.3.2) instead of starting over with DISCOVER.
//!
//! Times are counted on the system's monotonic clock, which runs from boot
//! for every process alike: the lease's seconds left as of `stamp_us`, so
//! the next daemon ages them by what passed since, whatever the wall clock
//! did (a router without RTC jumps when NTP first answers).
//!
//! One `key value` per line, the text of `vwrp status`'s lease:
//!
//! ```text
//! stamp_us 3702214570
//! address 203.0.113.10
//! prefix_len 24
//! gateway 203.0.113.1
//! server_id 203.0.113.1
//! lease_time 120
//! valid_left 118
//! renew_left 58
//! rebind_left 103
//! dns 203.0.113.53 203.0.113.54
//! client_id 0102005e005301
//! ```

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::netifd::valid_device;
use crate::wire::Lease4;

/// A lease as kept: its times are seconds left as of `stamp_us`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub lease: Lease4,
    pub client_id: Option<Vec<u8>>,
    /// Microseconds since boot on the monotonic clock.
    pub stamp_us: u64,
}

impl Stored {
    /// The lease aged to `now_us` (same clock), whole seconds rounded up.
    pub fn at(&self, now_us: u64) -> Lease4 {
        let gone = now_us.saturating_sub(self.stamp_us).div_ceil(1_000_000);
        let gone = u32::try_from(gone).unwrap_or(u32::MAX);
        Lease4 {
            valid_left: self.lease.valid_left.saturating_sub(gone),
            renew_left: self.lease.renew_left.saturating_sub(gone),
            rebind_left: self.lease.rebind_left.saturating_sub(gone),
            ..self.lease.clone()
        }
    }
}

fn file(state_dir: &Path, device: &str) -> io::Result<PathBuf> {
    if !valid_device(device) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad device {device:?}")));
    }
    Ok(state_dir.join(format!("lease.{device}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keeps `s` for the WAN `device` (written whole, then renamed).
pub fn write(state_dir: &Path, device: &str, s: &Stored) -> io::Result<()> {
    let path = file(state_dir, device)?;
    let l = &s.lease;
    let dns: Vec<String> = l.dns.iter().map(Ipv4Addr::to_string).collect();
    let mut text = format!(
        "stamp_us {}\naddress {}\nprefix_len {}\ngateway {}\nserver_id {}\nlease_time {}\nvalid_left {}\n\
         renew_left {}\nrebind_left {}\ndns {}\n",
        s.stamp_us,
        l.address,
        l.prefix_len,
        l.gateway,
        l.server_id,
        l.lease_time,
        l.valid_left,
        l.renew_left,
        l.rebind_left,
        dns.join(" ")
    );
    if let Some(id) = &s.client_id {
        text.push_str(&format!("client_id {}\n", hex(id)));
    }
    std::fs::create_dir_all(state_dir)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// Forgets the lease of `device` (the server refused it); none is fine.
pub fn remove(state_dir: &Path, device: &str) -> io::Result<()> {
    match std::fs::remove_file(file(state_dir, device)?) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The lease kept for `device`: `Ok(None)` when there is none, an error
/// when the file cannot be read or makes no sense.
pub fn read(state_dir: &Path, device: &str) -> io::Result<Option<Stored>> {
    let text = match std::fs::read_to_string(file(state_dir, device)?) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    parse(&text).map(Some).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not a lease file"))
}

fn parse(text: &str) -> Option<Stored> {
    let get = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' '));
    let num = |key: &str| get(key)?.parse::<u32>().ok();
    let addr = |key: &str| get(key)?.parse::<Ipv4Addr>().ok();
    let dns = get("dns")?.split_whitespace().map(|a| a.parse().ok()).collect::<Option<Vec<Ipv4Addr>>>()?;
    let client_id = match get("client_id") {
        None => None,
        Some(h) if h.len() % 2 == 0 => Some(
            (0..h.len()).step_by(2).map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok()).collect::<Option<_>>()?,
        ),
        Some(_) => return None,
    };
    let lease = Lease4 {
        address: addr("address")?,
        prefix_len: u8::try_from(num("prefix_len")?).ok().filter(|p| *p <= 32)?,
        gateway: addr("gateway")?,
        server_id: addr("server_id")?,
        lease_time: num("lease_time")?,
        valid_left: num("valid_left")?,
        renew_left: num("renew_left")?,
        rebind_left: num("rebind_left")?,
        dns,
    };
    Some(Stored { lease, client_id, stamp_us: get("stamp_us")?.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Stored {
        Stored {
            lease: Lease4 {
                address: Ipv4Addr::new(203, 0, 113, 10),
                prefix_len: 24,
                gateway: Ipv4Addr::new(203, 0, 113, 1),
                server_id: Ipv4Addr::new(203, 0, 113, 1),
                lease_time: 120,
                valid_left: 118,
                renew_left: 58,
                rebind_left: 103,
                dns: vec![Ipv4Addr::new(203, 0, 113, 53), Ipv4Addr::new(203, 0, 113, 54)],
            },
            client_id: Some(vec![1, 2, 0, 0x5e, 0, 0x53, 1]),
            stamp_us: 3_702_214_570,
        }
    }

    #[test]
    fn written_read_back_aged_and_removed() {
        let dir = std::env::temp_dir().join(format!("vwrp-stored-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(read(&dir, "wan").unwrap(), None);
        write(&dir, "wan", &stored()).unwrap();
        let text = std::fs::read_to_string(dir.join("lease.wan")).unwrap();
        assert_eq!(
            text,
            "stamp_us 3702214570\naddress 203.0.113.10\nprefix_len 24\ngateway 203.0.113.1\nserver_id 203.0.113.1\n\
             lease_time 120\nvalid_left 118\nrenew_left 58\nrebind_left 103\ndns 203.0.113.53 203.0.113.54\n\
             client_id 0102005e005301\n"
        );
        let back = read(&dir, "wan").unwrap().unwrap();
        assert_eq!(back, stored());
        // 60.2 s later: 61 s gone, rounded up; never below zero.
        let aged = back.at(back.stamp_us + 60_200_000);
        assert_eq!((aged.valid_left, aged.renew_left, aged.rebind_left), (57, 0, 42));
        assert_eq!(back.at(back.stamp_us + 500_000_000).valid_left, 0);
        assert_eq!(back.at(0).valid_left, 118, "a stamp in the future ages nothing");
        let no_id = Stored { client_id: None, ..stored() };
        write(&dir, "wan", &no_id).unwrap();
        assert_eq!(read(&dir, "wan").unwrap(), Some(no_id));
        std::fs::write(dir.join("lease.wan"), "address 203.0.113.10\n").unwrap();
        assert_eq!(read(&dir, "wan").unwrap_err().kind(), io::ErrorKind::InvalidData);
        remove(&dir, "wan").unwrap();
        remove(&dir, "wan").unwrap();
        assert_eq!(read(&dir, "wan").unwrap(), None);
        assert!(write(&dir, "../x", &stored()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
