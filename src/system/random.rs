//! Random numbers for the boot epoch, DHCP transaction ids and keys.
//!
//! Read from /dev/urandom through std's own File, not from libc's
//! getrandom(): std declares that symbol weak and checks it for null, and
//! in a fat-LTO static musl build a crate's plain call to it can end up
//! bound to std's weak declaration, which links nothing in: the call went
//! to address 0 (issue 12). /dev/urandom also never blocks and never
//! fails early at boot, when a router without a hardware RNG starts vwrp
//! before the kernel's pool is ready (getrandom with GRND_NONBLOCK would
//! fail then).

use std::io::Read;

/// Fills `buf` from /dev/urandom, or fails: what needs secrecy (a key)
/// has no weaker fallback.
pub fn fill(buf: &mut [u8]) -> std::io::Result<()> {
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf))
}

/// Four random bytes. Without /dev/urandom, a value derived from the
/// clock and the pid: it only has to differ between boots and clients.
pub fn u32() -> u32 {
    let mut b = [0u8; 4];
    if fill(&mut b).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        return t.subsec_nanos() ^ (t.as_secs() as u32) ^ std::process::id();
    }
    u32::from_ne_bytes(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ() {
        // Four equal draws in a row from a working source: 2^-96.
        let draws: Vec<u32> = (0..4).map(|_| super::u32()).collect();
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "{draws:?}");
    }
}
