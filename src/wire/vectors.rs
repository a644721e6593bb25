//! The test vectors of docs/PROTOCOL.md §9, checked in both directions:
//! every vector in the document parses to the message built here, and
//! emitting that message gives the document's bytes exactly. So the
//! specification and the code cannot disagree without a test failing.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    DEFAULT_ETHERTYPE, ETHERNET_HEADER_LEN, Error, EthernetFrame, Flags, HEADER_LEN, Handover, HandoverReason, Ia6,
    Key, Keyring, Lease4, Lease6, MIN_FRAME_LEN, MULTICAST_MAC, Mac, Message, MessageType, Packet, ReplayGuard,
    Server6, Tlvs, TrackerSummary, WireState, frame,
};

const SPEC: &str = include_str!("../../docs/PROTOCOL.md");
const FENCE: &str = "```hex vector ";

const TEST_KEY_ID: u8 = 1;
const TEST_KEY: &[u8] = b"vwrp-test-key";

const A: u32 = 0xc000_0201; // 192.0.2.1
const B: u32 = 0xc000_0202; // 192.0.2.2
const A_MAC: Mac = Mac([0x02, 0x00, 0x00, 0x00, 0x00, 0xa1]);
const B_MAC: Mac = Mac([0x02, 0x00, 0x00, 0x00, 0x00, 0xb2]);
/// "vwrp" in ASCII after a locally administered first octet.
const SHARED_MAC: Mac = Mac([0x02, 0x76, 0x77, 0x72, 0x70, 0x01]);
const A_EPOCH: u32 = 0x1a2b_3c4d;
const B_EPOCH: u32 = 0x7f3e_9a10;
/// The first handover A starts: its epoch turned by 16 bits, xor 1.
const RUN_ID: u32 = 0x3c4d_1a2a;

/// Vector 8 carries a TLV of a type no version defines, which this crate
/// never emits: it is spliced into the emitted frame.
const UNKNOWN_TLV: [u8; 5] = [0xf0, 0x03, 0xde, 0xad, 0x01];

struct Vector {
    dst: Mac,
    src: Mac,
    msg: Message,
    keys: Keyring,
    /// (offset in the TLV area, TLV bytes) inserted after emitting.
    extra: Option<(usize, &'static [u8])>,
}

fn test_keys() -> Keyring {
    Keyring::new(vec![Key::new(TEST_KEY_ID, TEST_KEY)])
}

fn base(kind: MessageType, state: WireState, router_id: u32, priority: u8, epoch: u32, seq: u32) -> Message {
    Message {
        kind,
        group: 1,
        state,
        router_id,
        priority,
        effective_priority: priority,
        flags: Flags::default(),
        dead_multiplier: 3,
        hello_interval: 100,
        epoch,
        seq,
        tlvs: Tlvs::default(),
    }
}

fn handover() -> Tlvs {
    Tlvs { handover: Some(Handover { target: B, id: RUN_ID, reason: HandoverReason::Preempt }), ..Tlvs::default() }
}

/// The vectors, in the document's order (vector N is element N-1).
fn vectors() -> Vec<Vector> {
    let plain = Keyring::default;
    let v1 = base(MessageType::Hello, WireState::Init, B, 100, B_EPOCH, 1);
    let v2 = Message {
        flags: Flags(Flags::WAN | Flags::FORWARDING),
        hello_interval: 1000,
        tlvs: Tlvs {
            lease4: Some(Lease4 {
                address: Ipv4Addr::new(203, 0, 113, 10),
                prefix_len: 24,
                gateway: Ipv4Addr::new(203, 0, 113, 1),
                server_id: Ipv4Addr::new(203, 0, 113, 1),
                lease_time: 3600,
                valid_left: 2999,
                renew_left: 1199,
                rebind_left: 2549,
                dns: vec![Ipv4Addr::new(203, 0, 113, 53), Ipv4Addr::new(198, 51, 100, 53)],
            }),
            client_id: Some(vec![0x01, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01]),
            ..Tlvs::default()
        },
        ..base(MessageType::Hello, WireState::Active, A, 200, A_EPOCH, 1000)
    };
    let v3 = Message {
        flags: Flags(Flags::WANT_PREEMPT),
        ..base(MessageType::Hello, WireState::Standby, B, 250, B_EPOCH, 77)
    };
    let v4 = Message { tlvs: handover(), ..base(MessageType::Offer, WireState::HandingOver, A, 200, A_EPOCH, 1001) };
    let v5 = Message { tlvs: handover(), ..base(MessageType::Ready, WireState::TakingOver, B, 250, B_EPOCH, 78) };
    let v6 = Message { tlvs: handover(), ..base(MessageType::Done, WireState::Standby, A, 200, A_EPOCH, 1002) };
    let v7 = base(MessageType::Release, WireState::Standby, A, 200, A_EPOCH, 1003);
    let ia = |address: Ipv6Addr, prefix_len: u8| Ia6 { address, prefix_len, preferred_left: 1800, valid_left: 3600 };
    let v8 = Message {
        effective_priority: 180,
        tlvs: Tlvs {
            lease6: Lease6 {
                addresses: vec![ia(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0x10), 128)],
                prefixes: vec![ia(Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 0), 56)],
                dns: vec![Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)],
                gateway: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
                // DUID-LL (type 3, hardware type 1) of the shared MAC.
                duid: Some((1, vec![0x00, 0x03, 0x00, 0x01, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01])),
                // Renew at 0.5 and rebind at 0.8 of the preferred lifetime.
                server: Some(Server6 {
                    duid: vec![0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
                    renew_left: 900,
                    rebind_left: 1440,
                }),
            },
            trackers: Some(TrackerSummary {
                total: 3,
                up: 2,
                down: 1,
                unknown: 0,
                penalty: 20,
                fatal: false,
                hold_left: 45,
            }),
            ..Tlvs::default()
        },
        ..base(MessageType::Hello, WireState::Active, A, 200, A_EPOCH, 4242)
    };
    // IA_NA 28 + IA_PD 28 + DNS 18 + gateway 18 + DUID 16 bytes precede
    // the trackers TLV.
    let before_trackers = 28 + 28 + 18 + 18 + 16;
    let v9 = Message {
        effective_priority: 0,
        flags: Flags(Flags::WAN | Flags::LEAVING | Flags::FORWARDING),
        ..base(MessageType::Release, WireState::Active, A, 200, A_EPOCH, 5000)
    };
    vec![
        Vector { dst: MULTICAST_MAC, src: B_MAC, msg: v1, keys: plain(), extra: None },
        Vector { dst: MULTICAST_MAC, src: SHARED_MAC, msg: v2, keys: plain(), extra: None },
        Vector { dst: A_MAC, src: B_MAC, msg: v3, keys: test_keys(), extra: None },
        Vector { dst: B_MAC, src: A_MAC, msg: v4, keys: test_keys(), extra: None },
        Vector { dst: A_MAC, src: B_MAC, msg: v5, keys: test_keys(), extra: None },
        Vector { dst: B_MAC, src: A_MAC, msg: v6, keys: test_keys(), extra: None },
        Vector { dst: MULTICAST_MAC, src: A_MAC, msg: v7, keys: test_keys(), extra: None },
        Vector { dst: MULTICAST_MAC, src: A_MAC, msg: v8, keys: plain(), extra: Some((before_trackers, &UNKNOWN_TLV)) },
        Vector { dst: MULTICAST_MAC, src: SHARED_MAC, msg: v9, keys: test_keys(), extra: None },
    ]
}

/// The whole Ethernet frame of a vector, built by the crate's own code.
fn build(v: &Vector) -> Vec<u8> {
    let mut f = frame(v.dst, v.src, DEFAULT_ETHERTYPE, &v.msg, &v.keys).expect("vector message emits");
    if let Some((at, tlv)) = v.extra {
        // Splicing would invalidate a tag: only unauthenticated vectors.
        assert!(v.keys.is_empty());
        let tlv_len_at = ETHERNET_HEADER_LEN + 14;
        let tlv_len = usize::from(u16::from_be_bytes([f[tlv_len_at], f[tlv_len_at + 1]]));
        f.truncate(ETHERNET_HEADER_LEN + HEADER_LEN + tlv_len);
        let pos = ETHERNET_HEADER_LEN + HEADER_LEN + at;
        f.splice(pos..pos, tlv.iter().copied());
        let new_len = u16::try_from(tlv_len + tlv.len()).expect("fits");
        f[tlv_len_at..tlv_len_at + 2].copy_from_slice(&new_len.to_be_bytes());
        if f.len() < MIN_FRAME_LEN {
            f.resize(MIN_FRAME_LEN, 0);
        }
    }
    f
}

/// The `hex vector N` blocks of the document, in order of appearance.
fn doc_vectors() -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut lines = SPEC.lines();
    while let Some(line) = lines.next() {
        let Some(n) = line.trim().strip_prefix(FENCE) else { continue };
        let n: usize = n.trim().parse().expect("vector number");
        let mut bytes = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            let words: Vec<&str> = l.split_whitespace().collect();
            assert!(words.len() <= 16, "vector {n}: more than 16 bytes on a line");
            for w in words {
                bytes.push(u8::from_str_radix(w, 16).unwrap_or_else(|_| panic!("vector {n}: bad hex byte {w:?}")));
            }
        }
        out.push((n, bytes));
    }
    out
}

/// A vector as the document shows it, for regenerating the document.
fn hex_block(n: usize, bytes: &[u8]) -> String {
    let mut s = format!("{FENCE}{n}\n");
    for line in bytes.chunks(16) {
        let words: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&words.join(" "));
        s.push('\n');
    }
    s.push_str("```\n");
    s
}

fn all_blocks() -> String {
    vectors().iter().enumerate().map(|(i, v)| hex_block(i + 1, &build(v))).collect::<Vec<_>>().join("\n")
}

fn parse(bytes: &[u8], keys: &Keyring) -> Result<Message, Error> {
    let eth = EthernetFrame::new_checked(bytes)?;
    let pkt = Packet::new_checked(eth.payload())?;
    Message::parse(&pkt, eth.dst(), keys)
}

#[test]
fn document_holds_every_vector_in_order() {
    let numbers: Vec<usize> = doc_vectors().iter().map(|(n, _)| *n).collect();
    let expected: Vec<usize> = (1..=vectors().len()).collect();
    assert_eq!(numbers, expected, "vectors of docs/PROTOCOL.md §9; they should be:\n{}", all_blocks());
    assert!(SPEC.contains("`vwrp-test-key`"), "the document names the test key");
}

#[test]
fn every_vector_parses_to_its_message() {
    let vs = vectors();
    for (n, bytes) in doc_vectors() {
        let v = &vs[n - 1];
        let eth = EthernetFrame::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("vector {n}: {e}"));
        assert_eq!((eth.dst(), eth.src(), eth.ethertype()), (v.dst, v.src, DEFAULT_ETHERTYPE), "vector {n}");
        assert!(bytes.len() >= MIN_FRAME_LEN, "vector {n} is padded");
        let pkt = Packet::new_checked(eth.payload()).unwrap_or_else(|e| panic!("vector {n}: {e}"));
        assert_eq!(Message::parse(&pkt, eth.dst(), &v.keys).as_ref(), Ok(&v.msg), "vector {n}");
        assert_eq!(pkt.flags().has(Flags::AUTH), !v.keys.is_empty(), "vector {n}");
    }
}

#[test]
fn every_message_emits_the_documents_bytes() {
    let vs = vectors();
    for (n, bytes) in doc_vectors() {
        let built = build(&vs[n - 1]);
        assert!(built == bytes, "vector {n} differs from what the code emits:\n{}", hex_block(n, &built));
    }
}

/// Vector 3: the authenticated HELLO.
fn authenticated() -> Vec<u8> {
    build(&vectors()[2])
}

#[test]
fn a_flipped_bit_breaks_the_tag() {
    let good = authenticated();
    assert!(parse(&good, &test_keys()).is_ok());
    let pdu = ETHERNET_HEADER_LEN;
    // The priority byte, the sequence number, the tag's last byte.
    for at in [pdu + 8, pdu + 23, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        assert_eq!(parse(&bad, &test_keys()), Err(Error::BadTag), "byte {at} flipped");
    }
    // The Ethernet source is not covered: a receiver records it, no more.
    let mut moved = good.clone();
    moved[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0xc3]);
    assert!(parse(&moved, &test_keys()).is_ok());
    // The key id is covered too: with both keys known, the other id fails.
    let both = Keyring::new(vec![Key::new(TEST_KEY_ID, TEST_KEY), Key::new(2, TEST_KEY)]);
    let mut other_id = good.clone();
    other_id[pdu + HEADER_LEN] = 2;
    assert_eq!(parse(&other_id, &both), Err(Error::BadTag));
    assert_eq!(parse(&good, &Keyring::new(vec![Key::new(TEST_KEY_ID, b"another key")])), Err(Error::BadTag));
}

/// §3.1: the tag covers the destination. A copy of B's unicast hello to
/// A, captured and re-addressed to another router or to the multicast
/// address, is refused; version 1 accepted it (the test fails there).
#[test]
fn a_re_addressed_copy_is_refused() {
    let good = authenticated();
    assert_eq!(&good[0..6], &A_MAC.0);
    let c_mac = Mac([0x02, 0, 0, 0, 0, 0xc3]);
    for dst in [c_mac, MULTICAST_MAC, Mac::BROADCAST] {
        let mut readdressed = good.clone();
        readdressed[0..6].copy_from_slice(&dst.0);
        assert_eq!(parse(&readdressed, &test_keys()), Err(Error::BadTag), "re-addressed to {dst}");
    }
    // A multicast frame turned into a unicast one, likewise (vector 7).
    let mut v7 = build(&vectors()[6]);
    assert!(parse(&v7, &test_keys()).is_ok());
    v7[0..6].copy_from_slice(&B_MAC.0);
    assert_eq!(parse(&v7, &test_keys()), Err(Error::BadTag));
}

#[test]
fn refused_header_values() {
    let pdu = ETHERNET_HEADER_LEN;
    let cases: [(usize, &[u8], &str); 3] = [
        (pdu + 9, &[255], "effective priority"),
        (pdu + 20, &[0, 0, 0, 0], "sequence"),
        (pdu + 4, &[0, 0, 0, 0], "router id"),
    ];
    for (at, bytes, field) in cases {
        let mut f = build(&vectors()[0]);
        f[at..at + bytes.len()].copy_from_slice(bytes);
        assert_eq!(parse(&f, &Keyring::default()), Err(Error::BadField(field)));
    }
}

#[test]
fn keyed_and_unkeyed_routers_refuse_each_other() {
    assert_eq!(parse(&authenticated(), &Keyring::default()), Err(Error::UnknownKey(TEST_KEY_ID)));
    assert_eq!(
        parse(&authenticated(), &Keyring::new(vec![Key::new(9, TEST_KEY)])),
        Err(Error::UnknownKey(TEST_KEY_ID))
    );
    assert_eq!(parse(&build(&vectors()[0]), &test_keys()), Err(Error::Unauthenticated));
}

#[test]
fn truncation_is_refused() {
    let v2 = build(&vectors()[1]);
    assert_eq!(parse(&v2[..ETHERNET_HEADER_LEN + HEADER_LEN + 10], &Keyring::default()), Err(Error::Truncated));
    assert_eq!(parse(&v2[..ETHERNET_HEADER_LEN + HEADER_LEN - 1], &Keyring::default()), Err(Error::Truncated));
    let v3 = authenticated();
    assert_eq!(parse(&v3[..v3.len() - 1], &test_keys()), Err(Error::Truncated));
    assert_eq!(parse(&v3[..13], &test_keys()), Err(Error::Truncated));
}

#[test]
fn another_version_is_refused() {
    for (i, keys) in [(0, Keyring::default()), (2, test_keys())] {
        for v in [1, 3] {
            let mut f = build(&vectors()[i]);
            f[ETHERNET_HEADER_LEN] = v;
            assert_eq!(parse(&f, &keys), Err(Error::UnknownVersion(v)));
        }
    }
}

#[test]
fn a_tlv_running_past_the_area_is_refused() {
    let mut f = build(&vectors()[1]);
    // The lease TLV (2 + 38 bytes) comes first, then the client id's.
    let client_id_len = ETHERNET_HEADER_LEN + HEADER_LEN + 40 + 1;
    assert_eq!(f[client_id_len - 1], 2);
    f[client_id_len] += 1;
    assert_eq!(parse(&f, &Keyring::default()), Err(Error::BadTlv(2)));
}

#[test]
fn the_unknown_tlv_is_skipped_and_its_neighbours_kept() {
    let v = &vectors()[7];
    let m = parse(&build(v), &Keyring::default()).expect("vector 8 parses");
    assert!(m.tlvs.trackers.is_some() && m.tlvs.lease6.duid.is_some());
}

#[test]
fn a_replayed_vector_is_refused() {
    let keys = test_keys();
    let mut guard = ReplayGuard::default();
    let m = parse(&authenticated(), &keys).expect("vector 3 parses");
    assert_eq!(guard.check(m.router_id, m.epoch, m.seq), Ok(()));
    let again = parse(&authenticated(), &keys).expect("still authentic");
    assert_eq!(guard.check(again.router_id, again.epoch, again.seq), Err(Error::Replayed));
}
