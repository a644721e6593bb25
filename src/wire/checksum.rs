//! The internet checksum (RFC 1071), for ICMP and ICMPv6.

/// `sum` plus the ones'-complement sum of `data` as big-endian 16-bit
/// words, an odd last byte padded with zero. Sums of several parts chain
/// (a pseudo-header, then a message) as long as every part but the last
/// has an even length.
pub fn add(sum: u16, data: &[u8]) -> u16 {
    let mut s = u32::from(sum);
    for pair in data.chunks(2) {
        s += u32::from(u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]));
        // End-around carry at every step: the sum never leaves 17 bits.
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The checksum of `data`: the complement of its sum. A message that
/// carries its own checksum sums to 0xffff, so this gives 0 for it.
pub fn of(data: &[u8]) -> u16 {
    !add(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3's worked example: words 0001 f203 f4f5 f6f7 sum to
    /// 0x220d, folded 0xddf2; the checksum is its complement.
    #[test]
    fn matches_rfc1071_example() {
        assert_eq!(of(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        // An odd byte is padded with zero on the right.
        assert_eq!(of(&[0x01]), !0x0100);
        assert_eq!(of(&[]), 0xffff);
    }

    #[test]
    fn parts_chain() {
        let whole = [0x12, 0x34, 0xff, 0xff, 0xab, 0xcd, 0x01];
        assert_eq!(!add(add(0, &whole[..4]), &whole[4..]), of(&whole));
    }
}
