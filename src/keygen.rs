//! `vwrp genkey`: a fresh key in the form `list key` takes, `ID:SECRET`,
//! the secret being random bytes from the kernel written as hex digits.
//! One router makes it; the same line goes into every router's file.

use std::io;

/// Random bytes in a secret: 256 bits, the size of the HMAC-SHA256 key.
pub const SECRET_BYTES: usize = 32;

/// `ID:` and `SECRET_BYTES` random bytes as lower-case hex, from the
/// daemon's random source (system::random, /dev/urandom); a key is never
/// made from anything weaker, so a failure is an error.
pub fn generate(id: u8) -> io::Result<String> {
    let mut b = [0u8; SECRET_BYTES];
    crate::system::random::fill(&mut b).map_err(|e| io::Error::new(e.kind(), format!("/dev/urandom: {e}")))?;
    Ok(format_key(id, &b))
}

fn format_key(id: u8, secret: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = format!("{id}:");
    for b in secret {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_id_colon_hex_and_differ_every_time() {
        assert_eq!(format_key(7, &[0, 0x5a, 0xff]), "7:005aff");
        let a = generate(1).unwrap();
        let b = generate(1).unwrap();
        assert_ne!(a, b);
        let (id, secret) = a.split_once(':').unwrap();
        assert_eq!(id, "1");
        assert_eq!(secret.len(), 2 * SECRET_BYTES);
        assert!(secret.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)), "{a}");
        assert!(generate(255).unwrap().starts_with("255:"));
    }

    #[test]
    fn the_config_reader_takes_a_generated_key() {
        let key = generate(3).unwrap();
        let text = format!(
            "config group 'wan'\n\toption wan_device 'wan'\n\toption shared_mac '02:00:00:00:00:01'\n\tlist key '{key}'\n"
        );
        let c = crate::config::parse(&text, "test").unwrap();
        let (id, secret) = key.split_once(':').unwrap();
        assert_eq!(c.groups[0].keys, [(3, secret.as_bytes().to_vec())], "{id}");
    }
}
