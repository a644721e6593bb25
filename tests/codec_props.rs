//! Properties of the wire codec (docs/PROTOCOL.md §2, §3): no input makes
//! the parser panic, every valid message survives emit then parse (into
//! reused lists too), emit refuses what does not fit and leaves the buffer
//! alone, and the replay guard never accepts a frame twice.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use vwrp::wire::{
    self, EthernetFrame, Flags, Handover, HandoverReason, Ia6, Key, Keyring, Lease4, Lease6, Mac, Message, MessageType,
    Packet, ReplayGuard, Server6, SpareLists, Tlvs, TrackerSummary, WireState,
};

fn kind() -> impl Strategy<Value = MessageType> {
    prop_oneof![
        Just(MessageType::Hello),
        Just(MessageType::Offer),
        Just(MessageType::Ready),
        Just(MessageType::Done),
        Just(MessageType::Release),
    ]
}

fn state() -> impl Strategy<Value = WireState> {
    prop_oneof![
        Just(WireState::Init),
        Just(WireState::Standby),
        Just(WireState::TakingOver),
        Just(WireState::Active),
        Just(WireState::HandingOver),
        Just(WireState::Fault),
    ]
}

fn ip4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn ip6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn lease4() -> impl Strategy<Value = Lease4> {
    (ip4(), 0u8..=32, ip4(), ip4(), any::<[u32; 4]>(), vec(ip4(), 0..=56)).prop_map(
        |(address, prefix_len, gateway, server_id, [lease_time, valid_left, renew_left, rebind_left], dns)| Lease4 {
            address,
            prefix_len,
            gateway,
            server_id,
            lease_time,
            valid_left,
            renew_left,
            rebind_left,
            dns,
        },
    )
}

fn ia6() -> impl Strategy<Value = Ia6> {
    (ip6(), 0u8..=128, any::<u32>(), any::<u32>()).prop_map(|(address, prefix_len, preferred_left, valid_left)| Ia6 {
        address,
        prefix_len,
        preferred_left,
        valid_left,
    })
}

fn lease6() -> impl Strategy<Value = Lease6> {
    (
        vec(ia6(), 0..3),
        vec(ia6(), 0..3),
        prop_oneof![Just(vec![]), vec(ip6(), 1..=15)],
        proptest::option::of(ip6()),
        proptest::option::of((any::<u32>(), vec(any::<u8>(), 1..=251))),
        proptest::option::of((vec(any::<u8>(), 1..=247), any::<u32>(), any::<u32>())),
    )
        .prop_map(|(addresses, prefixes, dns, gateway, duid, server)| Lease6 {
            addresses,
            prefixes,
            dns,
            gateway,
            duid,
            server: server.map(|(duid, renew_left, rebind_left)| Server6 { duid, renew_left, rebind_left }),
        })
}

fn trackers() -> impl Strategy<Value = TrackerSummary> {
    (any::<[u8; 5]>(), any::<bool>(), any::<u16>()).prop_map(
        |([total, up, down, unknown, penalty], fatal, hold_left)| TrackerSummary {
            total,
            up,
            down,
            unknown,
            penalty,
            fatal,
            hold_left,
        },
    )
}

fn handover() -> impl Strategy<Value = Handover> {
    let reason = prop_oneof![
        Just(HandoverReason::Operator),
        Just(HandoverReason::Preempt),
        Just(HandoverReason::Tracker),
        Just(HandoverReason::Shutdown),
    ];
    (any::<u32>(), any::<u32>(), reason).prop_map(|(target, id, reason)| Handover { target, id, reason })
}

/// Any message a receiver accepts: every field in its range, every TLV.
fn message() -> impl Strategy<Value = Message> {
    let header =
        (kind(), any::<u8>(), state(), 1u32.., (any::<u8>(), 0u8..255), 0u8..16, 1u8.., 1u16.., (any::<u32>(), 1u32..));
    let tlvs = (
        proptest::option::of(lease4()),
        proptest::option::of(vec(any::<u8>(), 1..=255)),
        lease6(),
        proptest::option::of(trackers()),
        proptest::option::of(handover()),
    );
    (header, tlvs).prop_map(
        |(
            (
                kind,
                group,
                state,
                router_id,
                (priority, effective_priority),
                flags,
                dead_multiplier,
                hello_interval,
                (epoch, seq),
            ),
            (lease4, client_id, lease6, trackers, handover),
        )| Message {
            kind,
            group,
            state,
            router_id,
            priority,
            effective_priority,
            // AUTH is the encoder's to set.
            flags: Flags(flags & !Flags::AUTH),
            dead_multiplier,
            hello_interval,
            epoch,
            seq,
            tlvs: Tlvs { lease4, client_id, lease6, trackers, handover },
        },
    )
}

/// 0..=3 keys with distinct ids.
fn keyring() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    vec((any::<u8>(), vec(any::<u8>(), 1..40)), 0..=3).prop_map(|mut ks| {
        let mut seen = HashSet::new();
        ks.retain(|(id, _)| seen.insert(*id));
        ks
    })
}

fn ring(keys: &[(u8, Vec<u8>)]) -> Keyring {
    Keyring::new(keys.iter().map(|(id, s)| Key::new(*id, s)).collect())
}

/// Parses a whole frame the way a receiver does.
fn parse_frame(bytes: &[u8], keys: &Keyring) -> Result<Message, wire::Error> {
    let eth = EthernetFrame::new_checked(bytes)?;
    let pkt = Packet::new_checked(eth.payload())?;
    Message::parse(&pkt, eth.dst(), keys)
}

fn test_ring() -> Keyring {
    Keyring::new(vec![Key::new(1, b"vwrp-test-key")])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        for keys in [Keyring::default(), test_ring()] {
            let _ = parse_frame(&bytes, &keys);
            // The same bytes as a bare PDU.
            if let Ok(pkt) = Packet::new_checked(&bytes[..]) {
                let _ = Message::parse(&pkt, wire::MULTICAST_MAC, &keys);
                let _ = (pkt.tlvs(), pkt.trailer(), pkt.tlv_len());
            }
        }
        if let Ok(eth) = EthernetFrame::new_checked(&bytes[..]) {
            let _ = (eth.dst(), eth.src(), eth.ethertype(), eth.to_string());
        }
    }

    /// Random bytes rarely get past the header checks; these start from
    /// a valid frame and damage it.
    #[test]
    fn damaged_frames_never_panic_and_keyed_ones_are_refused(
        m in message(),
        keyed in any::<bool>(),
        damage in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let keys = if keyed { test_ring() } else { Keyring::default() };
        let good = wire::frame(wire::MULTICAST_MAC, Mac([2, 0, 0, 0, 0, 1]), wire::DEFAULT_ETHERTYPE, &m, &keys).unwrap();
        let mut bad = good.clone();
        for (at, byte) in &damage {
            let i = at.index(bad.len());
            bad[i] = *byte;
        }
        let result = parse_frame(&bad, &keys);
        let cut_at = cut.index(bad.len() + 1);
        let _ = parse_frame(&bad[..cut_at], &keys);
        // With keys, a change anywhere in the PDU (header, TLVs, trailer;
        // a signed frame is never padded) is caught.
        let pdu = wire::ETHERNET_HEADER_LEN..;
        if keyed && bad[pdu.clone()] != good[pdu] {
            prop_assert!(result.is_err(), "damaged signed frame accepted");
        }
    }

    #[test]
    fn emit_then_parse_gives_the_message_back(m in message(), keys in keyring(), ethertype in 0x0600u16..) {
        let signing = ring(&keys);
        // Receivers list the same keys in another order: all verify.
        let mut reversed = keys.clone();
        reversed.reverse();
        let verifying = ring(&reversed);
        let (dst, src) = (Mac([3, 0x56, 0x57, 0x52, 0x50, 0]), Mac([2, 0x76, 0x77, 0x72, 0x70, 1]));
        let mut pdu = Vec::new();
        m.emit(dst, &signing, &mut pdu).unwrap();
        let pkt = Packet::new_checked(&pdu[..]).unwrap();
        prop_assert_eq!(pkt.flags().has(Flags::AUTH), !keys.is_empty());
        prop_assert_eq!(Message::parse(&pkt, dst, &verifying), Ok(m.clone()));

        let f = wire::frame(dst, src, ethertype, &m, &signing).unwrap();
        prop_assert!(f.len() >= wire::MIN_FRAME_LEN);
        prop_assert_eq!(&f[wire::ETHERNET_HEADER_LEN..wire::ETHERNET_HEADER_LEN + pdu.len()], &pdu[..]);
        prop_assert!(f[wire::ETHERNET_HEADER_LEN + pdu.len()..].iter().all(|&b| b == 0), "padding is zeros");
        let eth = EthernetFrame::new_checked(&f[..]).unwrap();
        prop_assert_eq!((eth.dst(), eth.src(), eth.ethertype()), (dst, src, ethertype));
        prop_assert_eq!(parse_frame(&f, &verifying), Ok(m));
        // Re-addressed to another receiver: refused when signed (§3.1).
        let mut readdressed = f.clone();
        readdressed[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xc3]);
        prop_assert_eq!(parse_frame(&readdressed, &verifying).is_err(), !keys.is_empty());
    }

    /// A standby parses each hello into the lists the earlier ones left
    /// (issue 21: no allocation on the hello path): nothing of theirs
    /// shows through. The active refills its lease the same way.
    #[test]
    fn reused_lists_parse_and_clone_as_new_ones(earlier in vec(message(), 0..3), m in message()) {
        let mut area = Vec::new();
        m.tlvs.emit(&mut area).unwrap();
        let mut spare = SpareLists::default();
        let mut lease6 = Lease6::default();
        for e in earlier {
            lease6.clone_from(&e.tlvs.lease6);
            prop_assert_eq!(&lease6, &e.tlvs.lease6);
            spare.keep(e.tlvs);
        }
        prop_assert_eq!(Tlvs::parse_reusing(&area, &mut spare), Ok(m.tlvs.clone()));
        lease6.clone_from(&m.tlvs.lease6);
        prop_assert_eq!(lease6, m.tlvs.lease6);
    }

    #[test]
    fn oversized_tlvs_are_refused_and_the_buffer_kept(
        m in message(),
        keys in keyring(),
        which in 0..4,
        extra in 1usize..100,
        prefix in vec(any::<u8>(), 0..20),
    ) {
        let mut m = m;
        match which {
            0 => m.tlvs.client_id = Some(vec![0x01; 255 + extra]),
            1 => {
                let mut l = m.tlvs.lease4.take().unwrap_or(Lease4 {
                    address: Ipv4Addr::new(203, 0, 113, 10),
                    prefix_len: 24,
                    gateway: Ipv4Addr::new(203, 0, 113, 1),
                    server_id: Ipv4Addr::new(203, 0, 113, 1),
                    lease_time: 1,
                    valid_left: 1,
                    renew_left: 1,
                    rebind_left: 1,
                    dns: vec![],
                });
                l.dns = vec![Ipv4Addr::new(198, 51, 100, 53); 56 + extra];
                m.tlvs.lease4 = Some(l);
            }
            2 => m.tlvs.lease6.dns = vec![Ipv6Addr::LOCALHOST; 15 + extra],
            _ => m.tlvs.lease6.duid = Some((1, vec![0; 251 + extra])),
        }
        let mut out = prefix.clone();
        prop_assert!(m.emit(wire::MULTICAST_MAC, &ring(&keys), &mut out).is_err());
        prop_assert_eq!(out, prefix);
        prop_assert!(wire::frame(wire::MULTICAST_MAC, Mac([2, 0, 0, 0, 0, 1]), 0x88b5, &m, &ring(&keys)).is_err());
    }

    /// Within what the guard remembers (4 epochs per sender), no
    /// (router id, epoch, sequence) is accepted twice.
    #[test]
    fn replay_guard_never_accepts_a_frame_twice(
        frames in vec((1u32..4, 0u32..4, prop_oneof![0u32..150, Just(u32::MAX), Just(u32::MAX - 1)]), 1..400),
    ) {
        let mut guard = ReplayGuard::default();
        let mut accepted = HashSet::new();
        for (id, epoch, seq) in frames {
            if guard.check(id, epoch, seq).is_ok() {
                prop_assert!(accepted.insert((id, epoch, seq)), "({}, {}, {}) accepted twice", id, epoch, seq);
            }
        }
    }

    /// Beyond it, a frame is accepted again only after its epoch was
    /// forgotten: at least 4 other epochs of that sender were accepted
    /// between two uses of the epoch, since the frame was first accepted
    /// (docs/PROTOCOL.md §3.4, §3.6).
    #[test]
    fn replay_guard_forgets_only_the_least_recent_epochs(
        frames in vec((1u32..3, 0u32..7, 0u32..100), 1..400),
    ) {
        let mut guard = ReplayGuard::default();
        let mut first: HashMap<(u32, u32, u32), usize> = HashMap::new();
        let mut history: Vec<(u32, u32)> = Vec::new();
        for (id, epoch, seq) in frames {
            if guard.check(id, epoch, seq).is_err() {
                continue;
            }
            if let Some(&t0) = first.get(&(id, epoch, seq)) {
                let mut others = HashSet::new();
                let mut forgotten = false;
                for &(_, e) in history[t0..].iter().filter(|(i, _)| *i == id) {
                    if e == epoch {
                        others.clear();
                    } else {
                        others.insert(e);
                        forgotten |= others.len() >= 4;
                    }
                }
                prop_assert!(forgotten, "({}, {}, {}) accepted again with its epoch remembered", id, epoch, seq);
            }
            first.insert((id, epoch, seq), history.len());
            history.push((id, epoch));
        }
    }

    /// A sender's frames in order are all accepted, each once.
    #[test]
    fn replay_guard_accepts_fresh_frames(
        id in 1u32..,
        epoch in any::<u32>(),
        start in any::<u32>(),
        steps in vec(1u32..100, 1..50),
    ) {
        let mut guard = ReplayGuard::default();
        let mut seq = start;
        prop_assert!(guard.check(id, epoch, seq).is_ok());
        for s in steps {
            let Some(next) = seq.checked_add(s) else { break };
            seq = next;
            prop_assert!(guard.check(id, epoch, seq).is_ok());
            prop_assert_eq!(guard.check(id, epoch, seq), Err(wire::Error::Replayed));
        }
    }
}
