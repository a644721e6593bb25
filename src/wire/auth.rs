//! The authentication trailer (HMAC-SHA256 with a key id) and the replay
//! window (random boot epoch + sequence number per sender).

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::{Error, Mac};

pub const TAG_LEN: usize = 32;
/// Key id (1 byte) then the tag.
pub const TRAILER_LEN: usize = 1 + TAG_LEN;

/// A shared secret and the id it travels under.
#[derive(Clone)]
pub struct Key {
    pub id: u8,
    secret: Vec<u8>,
    /// HMAC's keyed state, computed once: each tag then costs two
    /// SHA-256 blocks less, which counts on the hello path and under a
    /// flood of forged frames.
    keyed: Hmac<Sha256>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.id == other.id && self.secret == other.secret
    }
}

impl Eq for Key {}

impl Key {
    pub fn new(id: u8, secret: &[u8]) -> Self {
        // HMAC takes keys of any length; this cannot fail.
        let keyed = <Hmac<Sha256> as hmac::Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        Key { id, secret: secret.to_vec(), keyed }
    }

    /// The tag of a frame (docs/PROTOCOL.md §3.1): HMAC-SHA256 over its
    /// Ethernet destination, the `covered` PDU bytes and the key id. The
    /// destination binds the frame to its receiver: a copy re-addressed
    /// to another router no longer matches.
    pub fn tag(&self, dst: Mac, covered: &[u8]) -> [u8; TAG_LEN] {
        self.hmac(&[&dst.0, covered, &[self.id]]).finalize().into_bytes().into()
    }

    /// Constant-time check of `tag` over `dst` and `covered`.
    pub fn verify(&self, dst: Mac, covered: &[u8], tag: &[u8]) -> bool {
        self.hmac(&[&dst.0, covered, &[self.id]]).verify_slice(tag).is_ok()
    }

    fn hmac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p);
        }
        mac
    }
}

// The secret must never reach a log line.
impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Key {{ id: {}, secret: <{} bytes> }}", self.id, self.secret.len())
    }
}

/// The keys a router accepts, and the one it signs with. Empty means the
/// group runs unauthenticated (and the daemon warns loudly).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<Key>,
    send: Option<u8>,
}

impl Keyring {
    /// `keys[0]` signs; all of them verify (for rotation).
    pub fn new(keys: Vec<Key>) -> Self {
        let send = keys.first().map(|k| k.id);
        Keyring { keys, send }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn signing_key(&self) -> Option<&Key> {
        self.send.and_then(|id| self.get(id))
    }

    pub fn get(&self, id: u8) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The key ids, the signing one first: never the secrets.
    pub fn ids(&self) -> Vec<u8> {
        self.keys.iter().map(|k| k.id).collect()
    }
}

/// How many sequence numbers behind the highest one are still accepted
/// (frames on two paths may arrive out of order).
const WINDOW: u32 = 64;
/// Epochs remembered per sender; the least recently used one is forgotten.
const EPOCHS_PER_SENDER: usize = 4;
/// Senders remembered; the least recently heard one is forgotten. Without a
/// bound, frames with ever new router ids (unauthenticated mode) would
/// grow the guard without end.
const SENDERS: usize = 256;

#[derive(Clone, Copy, Debug)]
struct Window {
    epoch: u32,
    highest: u32,
    /// Bit i set: `highest - i` was seen.
    seen: u64,
    last_use: u64,
}

#[derive(Clone, Debug)]
struct Sender {
    router_id: u32,
    windows: Vec<Window>,
    last_use: u64,
}

/// Per-sender anti-replay state, as IPsec does it: a sliding window of 64
/// sequence numbers per (router id, boot epoch).
#[derive(Clone, Debug, Default)]
pub struct ReplayGuard {
    senders: Vec<Sender>,
    clock: u64,
}

impl ReplayGuard {
    /// Accepts (and records) `seq` from `router_id` in `epoch`, or refuses
    /// a sequence number seen before or older than the window.
    pub fn check(&mut self, router_id: u32, epoch: u32, seq: u32) -> Result<(), Error> {
        self.clock = self.clock.wrapping_add(1);
        let now = self.clock;
        let idx = match self.senders.iter().position(|s| s.router_id == router_id) {
            Some(i) => i,
            None => {
                if self.senders.len() >= SENDERS {
                    let oldest = self.senders.iter().enumerate().min_by_key(|(_, s)| s.last_use).map(|(i, _)| i);
                    if let Some(oldest) = oldest {
                        self.senders.swap_remove(oldest);
                    }
                }
                self.senders.push(Sender { router_id, windows: Vec::new(), last_use: now });
                self.senders.len() - 1
            }
        };
        let sender = &mut self.senders[idx];
        let verdict = check_windows(&mut sender.windows, epoch, seq, now);
        if verdict.is_ok() {
            sender.last_use = now;
        }
        verdict
    }

    /// Forgets a sender entirely (it left the group).
    pub fn forget(&mut self, router_id: u32) {
        self.senders.retain(|s| s.router_id != router_id);
    }
}

/// One sender's windows: accepts (and records) `seq` in `epoch`, or
/// refuses a sequence number seen before or older than the window.
fn check_windows(windows: &mut Vec<Window>, epoch: u32, seq: u32, now: u64) -> Result<(), Error> {
    let Some(w) = windows.iter_mut().find(|w| w.epoch == epoch) else {
        if windows.len() >= EPOCHS_PER_SENDER {
            let oldest = windows.iter().enumerate().min_by_key(|(_, w)| w.last_use).map(|(i, _)| i);
            if let Some(oldest) = oldest {
                windows.swap_remove(oldest);
            }
        }
        windows.push(Window { epoch, highest: seq, seen: 1, last_use: now });
        return Ok(());
    };
    if seq > w.highest {
        let shift = seq - w.highest;
        w.seen = if shift >= WINDOW { 1 } else { (w.seen << shift) | 1 };
        w.highest = seq;
    } else {
        let behind = w.highest - seq;
        if behind >= WINDOW || w.seen & (1u64 << behind) != 0 {
            return Err(Error::Replayed);
        }
        w.seen |= 1u64 << behind;
    }
    w.last_use = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // HMAC-SHA256 test case 2 of RFC 4231, with our key-id byte taken as
        // the last byte of the message ("what do ya want for nothing?").
        // The destination MAC is "what d", the covered bytes the rest.
        let key = Key::new(b'?', b"Jefe");
        let dst = Mac(*b"what d");
        let tag = key.tag(dst, b"o ya want for nothing");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(key.verify(dst, b"o ya want for nothing", &tag));
        assert!(!key.verify(dst, b"o ya want for nothin", &tag));
        assert!(!key.verify(Mac(*b"what e"), b"o ya want for nothing", &tag));
    }

    #[test]
    fn replay_window() {
        let mut g = ReplayGuard::default();
        assert!(g.check(1, 7, 100).is_ok());
        assert_eq!(g.check(1, 7, 100), Err(Error::Replayed));
        assert!(g.check(1, 7, 98).is_ok(), "out of order within the window");
        assert_eq!(g.check(1, 7, 98), Err(Error::Replayed));
        assert!(g.check(1, 7, 200).is_ok());
        assert_eq!(g.check(1, 7, 136), Err(Error::Replayed), "older than the window");
        assert!(g.check(1, 7, 137).is_ok());
        assert!(g.check(2, 7, 100).is_ok(), "other sender, own window");
        assert!(g.check(1, 8, 1).is_ok(), "new epoch = reboot");
        assert_eq!(g.check(1, 7, 200), Err(Error::Replayed), "old epoch still remembered");
    }

    #[test]
    fn epochs_are_bounded() {
        let mut g = ReplayGuard::default();
        for e in 0..10 {
            g.check(1, e, 5).unwrap();
        }
        assert_eq!(g.senders[0].windows.len(), EPOCHS_PER_SENDER);
        assert_eq!(g.check(1, 9, 5), Err(Error::Replayed));
    }

    #[test]
    fn senders_are_bounded() {
        let mut g = ReplayGuard::default();
        g.check(1, 1, 5).unwrap();
        for id in 2..2 + SENDERS as u32 {
            g.check(id, 1, 5).unwrap();
            // Sender 1 stays the most recently heard one.
            g.check(1, 1, 5 + id).unwrap();
        }
        assert_eq!(g.senders.len(), SENDERS);
        assert_eq!(g.check(1, 1, 5), Err(Error::Replayed), "the busy sender is kept");
        assert!(g.check(2, 1, 5).is_ok(), "the least recently heard sender was forgotten");
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = Key::new(1, b"hunter2");
        assert!(!format!("{k:?}").contains("hunter2"));
    }
}
