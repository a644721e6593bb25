//! A router's whole receive path for its own frames: Ethernet, the PDU,
//! the authentication, the TLVs, the replay window, and the engine that
//! records the sender and acts on what it says (docs/PROTOCOL.md §2.8).
//!
//! Input: one byte of flags (bit 0: the group has a key; bit 1: sign every
//! frame with it first, so that mutations get past the tag to the code
//! behind it), then frames, each as a u16 length (big-endian), a byte of
//! path and time (bit 0: a control link, bit 1: which one, bits 2..7: tens
//! of milliseconds before it arrives), and the frame's bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::engine::{Action, Engine, Path, Settings};
use vwrp::time::{Instant, ms};
use vwrp::wire::{ETHERNET_HEADER_LEN, EthernetFrame, Flags, HEADER_LEN, Key, Keyring, Mac, Message, Packet, TAG_LEN};

/// The receiver: router A of the spec's vectors (§9), so that vectors
/// addressed to A and signed with the test key are seeds that pass.
/// Dual stack on (as `for_tests` has it), so the IPv6 TLVs reach the
/// engine's lease6 side.
fn settings(keys: Keyring) -> Settings {
    Settings {
        preempt: true,
        preempt_delay: ms(300),
        shared_mac: Mac([0x02, 0x76, 0x77, 0x72, 0x70, 0x01]),
        control_macs: vec![Mac([0x02, 0, 0, 0, 0, 0xa1]), Mac([0x02, 0, 0, 0, 1, 0xa1])],
        keys,
        nudge_interval: Some(ms(10_000)),
        lan_announce_interval: Some(ms(10_000)),
        client_id: vec![1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01],
        duid: vec![0, 3, 0, 1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01],
        ..Settings::for_tests(0xc000_0203, 150)
    }
}

/// Writes the tag `key` gives the frame over the trailer, when the frame
/// has one.
fn sign(frame: &mut [u8], key: &Key) {
    let Ok(eth) = EthernetFrame::new_checked(&*frame) else { return };
    let dst = eth.dst();
    let Ok(pkt) = Packet::new_checked(eth.payload()) else { return };
    if !pkt.flags().has(Flags::AUTH) {
        return;
    }
    let body = HEADER_LEN + usize::from(pkt.tlv_len());
    let at = ETHERNET_HEADER_LEN + body;
    let tag = key.tag(dst, &frame[ETHERNET_HEADER_LEN..at]);
    frame[at] = key.id;
    frame[at + 1..at + 1 + TAG_LEN].copy_from_slice(&tag);
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else { return };
    let key = Key::new(1, b"vwrp-test-key");
    let keys = if flags & 1 != 0 { Keyring::new(vec![key.clone()]) } else { Keyring::default() };
    let mut engine = Engine::new(settings(keys.clone()), 0x1a2b_3c4d, Instant::from_millis(0));
    let mut now = Instant::from_millis(0);
    while let [hi, lo, how, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes, tail) = tail.split_at(len);
        rest = tail;
        let mut frame = bytes.to_vec();
        if flags & 2 != 0 {
            sign(&mut frame, &key);
        }
        // The codec alone, as every receiver runs it.
        if let Ok(eth) = EthernetFrame::new_checked(&frame[..]) {
            if let Ok(pkt) = Packet::new_checked(eth.payload()) {
                if let Ok(m) = Message::parse(&pkt, eth.dst(), &keys) {
                    let _ = m.to_string();
                }
            }
        }
        // Then the engine, with time passing between frames.
        now = now.plus(ms(u64::from(how >> 2) * 10));
        let path = if how & 1 == 0 { Path::Wan } else { Path::Control(how >> 1 & 1) };
        if engine.poll_timeout().is_some_and(|t| t <= now) {
            engine.handle_timeout(now);
        }
        engine.handle_frame(now, path, &frame);
        while let Some(a) = engine.poll_action() {
            if a == Action::Prepare {
                engine.handle_prepared(now);
            }
        }
        let _ = engine.status(now);
    }
});
