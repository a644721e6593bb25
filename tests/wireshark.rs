//! The Wireshark dissector, `contrib/wireshark/vwrp.lua`, read by Debian's
//! tshark (`make test` installs it). Three things are checked:
//!
//! - every test vector of docs/PROTOCOL.md §9, written to a pcap, decodes
//!   to exactly the values this crate's parser reads from it (so when the
//!   vectors change, this test follows), and its tag shows as good with the
//!   key given as a preference, unverified without it;
//! - malformed frames, derived from the vectors, show expert info naming
//!   the error this crate refuses each with, never a Lua error;
//! - a capture of the namespace test bed during a graceful handover and a
//!   hard failover shows what the test made the routers do.
//!
//! The bed test needs root.

mod e2e;
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Cluster, KEY, prio};
use serde_json::Value;
use support::{DISSECTOR, SHARED_MAC, TempDir, WAN_ADDR, poll_until};
use vwrp::wire::{
    ETHERNET_HEADER_LEN, Error, EthernetFrame, Flags, HEADER_LEN, Key, Keyring, MIN_FRAME_LEN, Message, Packet,
    ReplayGuard,
};

const SPEC: &str = include_str!("../docs/PROTOCOL.md");
/// The key of the vectors, §9.
const VECTOR_KEY: &str = "1:vwrp-test-key";

/// tshark's expert severity "error" (PI_ERROR in epan/proto.h).
const SEVERITY_ERROR: u64 = 0x0080_0000;

/// The `hex vector N` blocks of the specification, in order.
fn spec_vectors() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut lines = SPEC.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```hex vector ") {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let bytes = block.join(" ").split_whitespace().map(|w| u8::from_str_radix(w, 16).expect("hex byte")).collect();
        out.push(bytes);
    }
    assert!(out.len() >= 8, "docs/PROTOCOL.md §9 lost its vectors");
    out
}

fn keyring(spec: &str) -> Keyring {
    let (id, secret) = spec.split_once(':').expect("ID:SECRET");
    Keyring::new(vec![Key::new(id.parse().expect("key id"), secret.as_bytes())])
}

/// Whether the frame's header (if it has one) sets the AUTH flag.
fn has_auth(frame: &[u8]) -> bool {
    frame.get(ETHERNET_HEADER_LEN + 10).is_some_and(|f| f & Flags::AUTH != 0)
}

/// What this crate makes of a frame, with the vectors' key when it is
/// signed (as a receiver of that group would).
fn parse(frame: &[u8]) -> Result<Message, Error> {
    let keys = if has_auth(frame) { keyring(VECTOR_KEY) } else { Keyring::default() };
    let eth = EthernetFrame::new_checked(frame)?;
    let pkt = Packet::new_checked(eth.payload())?;
    Message::parse(&pkt, eth.dst(), &keys)
}

/// The error as the dissector's expert info names it.
fn error_name(e: &Error) -> String {
    match e {
        Error::BadField(field) => format!("BadField({field})"),
        other => format!("{other:?}"),
    }
}

/// A pcap (microsecond, Ethernet) of `frames`, one a second.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).expect("frame length");
        for word in [i as u32 + 1, 0, len, len] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// One frame as tshark shows it: every field (name, shown value) in tree
/// order, and the expert infos.
#[derive(Debug, Default)]
struct Decoded {
    fields: Vec<(String, String)>,
    experts: Vec<(String, u64)>,
}

impl Decoded {
    fn all(&self, name: &str) -> Vec<&str> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    fn one(&self, name: &str) -> &str {
        match self.all(name)[..] {
            [v] => v,
            ref vs => panic!("{name}: {vs:?} in {self:#?}"),
        }
    }

    fn num(&self, name: &str) -> u64 {
        let v = self.one(name);
        let parsed = match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        };
        parsed.unwrap_or_else(|e| panic!("{name}: {v:?}: {e}"))
    }

    fn errors(&self) -> Vec<&str> {
        self.experts.iter().filter(|(_, s)| *s >= SEVERITY_ERROR).map(|(m, _)| m.as_str()).collect()
    }

    fn walk(&mut self, v: &Value) {
        let Value::Object(map) = v else { return };
        for (k, v) in map {
            let items = match v {
                Value::Array(items) => items.iter().collect(),
                v => vec![v],
            };
            for item in items {
                match item {
                    Value::String(s) => self.fields.push((k.clone(), s.clone())),
                    Value::Object(_) if k == "_ws.expert" => {
                        let message = item["_ws.expert.message"].as_str().unwrap_or_default().to_string();
                        let severity = item["_ws.expert.severity"].as_str().and_then(|s| s.parse().ok());
                        self.experts.push((message, severity.unwrap_or(0)));
                    }
                    _ => self.walk(item),
                }
            }
        }
    }
}

/// Decodes `pcap` with the dissector, given its preferences (`("key",
/// "1:secret")` is `-o vwrp.key:1:secret`); panics if tshark or the Lua
/// script complain.
fn tshark(pcap: &Path, prefs: &[(&str, &str)], filter: Option<&str>) -> Vec<Decoded> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-X"]).arg(format!("lua_script:{DISSECTOR}")).arg("-r").arg(pcap);
    cmd.args(["-T", "json", "--no-duplicate-keys"]);
    for (name, value) in prefs {
        cmd.arg("-o").arg(format!("vwrp.{name}:{value}"));
    }
    if let Some(filter) = filter {
        cmd.args(["-Y", filter]);
    }
    let out = cmd.output().expect("tshark (Debian's tshark package; make test installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    // As root tshark warns that it runs as root; anything else is a problem.
    let complaints: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("Running as user \"root\"")).collect();
    assert!(complaints.is_empty(), "tshark: {}", complaints.join("\n"));
    let json: Value = serde_json::from_slice(&out.stdout).expect("tshark's JSON");
    let frames: Vec<Decoded> = json
        .as_array()
        .expect("a list of frames")
        .iter()
        .map(|f| {
            let mut d = Decoded::default();
            d.walk(&f["_source"]["layers"]);
            d
        })
        .collect();
    for (i, f) in frames.iter().enumerate() {
        let lua_error =
            f.fields.iter().map(|(_, v)| v).chain(f.experts.iter().map(|(m, _)| m)).any(|v| v.contains("Lua Error"));
        assert!(!lua_error, "frame {}: a Lua error: {f:#?}", i + 1);
    }
    frames
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Every value the dissector must show for a frame this crate parsed to
/// `m`, as tshark writes it. A field the wire format gains is a line here
/// and a line in the dissector's tables.
fn expected_fields(frame: &[u8], m: &Message) -> Vec<(&'static str, String)> {
    let pkt = Packet::new_checked(&frame[ETHERNET_HEADER_LEN..]).expect("parsed before");
    let bit = |b: u8| u8::from(pkt.flags().has(b)).to_string();
    let mut f = vec![
        ("vwrp.version", pkt.version().to_string()),
        ("vwrp.type", (m.kind as u8).to_string()),
        ("vwrp.group", m.group.to_string()),
        ("vwrp.state", (m.state as u8).to_string()),
        ("vwrp.router_id", format!("{:#010x}", m.router_id)),
        ("vwrp.priority", m.priority.to_string()),
        ("vwrp.effective_priority", m.effective_priority.to_string()),
        ("vwrp.flags", format!("{:#04x}", pkt.flags().0)),
        ("vwrp.flags.auth", bit(Flags::AUTH)),
        ("vwrp.flags.want_preempt", bit(Flags::WANT_PREEMPT)),
        ("vwrp.flags.want_step_up", bit(Flags::WANT_STEP_UP)),
        ("vwrp.flags.wan", bit(Flags::WAN)),
        ("vwrp.flags.leaving", bit(Flags::LEAVING)),
        ("vwrp.flags.forwarding", bit(Flags::FORWARDING)),
        ("vwrp.dead_multiplier", m.dead_multiplier.to_string()),
        ("vwrp.hello_interval", m.hello_interval.to_string()),
        ("vwrp.tlv_length", pkt.tlv_len().to_string()),
        ("vwrp.epoch", format!("{:#010x}", m.epoch)),
        ("vwrp.sequence", m.seq.to_string()),
    ];
    if let Some(l) = &m.tlvs.lease4 {
        f.extend([
            ("vwrp.ipv4_lease.address", l.address.to_string()),
            ("vwrp.ipv4_lease.prefix_len", l.prefix_len.to_string()),
            ("vwrp.ipv4_lease.gateway", l.gateway.to_string()),
            ("vwrp.ipv4_lease.server_id", l.server_id.to_string()),
            ("vwrp.ipv4_lease.lease_time", l.lease_time.to_string()),
            ("vwrp.ipv4_lease.valid_left", l.valid_left.to_string()),
            ("vwrp.ipv4_lease.renew_left", l.renew_left.to_string()),
            ("vwrp.ipv4_lease.rebind_left", l.rebind_left.to_string()),
        ]);
        f.extend(l.dns.iter().map(|a| ("vwrp.ipv4_lease.dns", a.to_string())));
    }
    if let Some(id) = &m.tlvs.client_id {
        f.push(("vwrp.client_id.value", hex_colon(id)));
    }
    for (name, ias) in [("ipv6_address", &m.tlvs.lease6.addresses), ("ipv6_prefix", &m.tlvs.lease6.prefixes)] {
        for ia in ias {
            let field = |what: &str| -> &'static str { format!("vwrp.{name}.{what}").leak() };
            f.extend([
                (field("address"), ia.address.to_string()),
                (field("prefix_len"), ia.prefix_len.to_string()),
                (field("preferred_left"), ia.preferred_left.to_string()),
                (field("valid_left"), ia.valid_left.to_string()),
            ]);
        }
    }
    f.extend(m.tlvs.lease6.dns.iter().map(|a| ("vwrp.ipv6_dns.server", a.to_string())));
    if let Some(gw) = m.tlvs.lease6.gateway {
        f.push(("vwrp.ipv6_gateway.address", gw.to_string()));
    }
    if let Some((iaid, duid)) = &m.tlvs.lease6.duid {
        f.extend([("vwrp.dhcpv6_duid.iaid", iaid.to_string()), ("vwrp.dhcpv6_duid.duid", hex_colon(duid))]);
    }
    if let Some(t) = &m.tlvs.trackers {
        f.extend([
            ("vwrp.trackers.total", t.total.to_string()),
            ("vwrp.trackers.up", t.up.to_string()),
            ("vwrp.trackers.down", t.down.to_string()),
            ("vwrp.trackers.unknown", t.unknown.to_string()),
            ("vwrp.trackers.penalty", t.penalty.to_string()),
            ("vwrp.trackers.flags.fatal", u8::from(t.fatal).to_string()),
            ("vwrp.trackers.hold_left", t.hold_left.to_string()),
        ]);
    }
    if let Some(h) = &m.tlvs.handover {
        f.extend([
            ("vwrp.handover.target", format!("{:#010x}", h.target)),
            ("vwrp.handover.id", format!("{:#010x}", h.id)),
            ("vwrp.handover.reason", (h.reason as u8).to_string()),
        ]);
    }
    if let Some(s) = &m.tlvs.lease6.server {
        f.extend([
            ("vwrp.dhcpv6_server.renew_left", s.renew_left.to_string()),
            ("vwrp.dhcpv6_server.rebind_left", s.rebind_left.to_string()),
            ("vwrp.dhcpv6_server.duid", hex_colon(&s.duid)),
        ]);
    }
    if let Some((id, tag)) = pkt.trailer() {
        f.extend([("vwrp.auth.key_id", id.to_string()), ("vwrp.auth.tag", hex_colon(tag))]);
    }
    f
}

/// Checks that `d` shows every expected value, in order, and no other
/// value for those fields.
fn assert_fields(what: &str, d: &Decoded, expected: &[(&'static str, String)]) {
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (k, v) in expected {
        by_name.entry(k).or_default().push(v);
    }
    for (name, want) in by_name {
        assert_eq!(d.all(name), want, "{what}: {name}\n{d:#?}");
    }
}

#[test]
fn every_spec_vector_decodes_as_the_crate_reads_it() {
    let vectors = spec_vectors();
    let scratch = TempDir::new("wireshark-vectors");
    let pcap = scratch.join("vectors.pcap");
    write_pcap(&pcap, &vectors);
    let with_key = tshark(&pcap, &[("key", VECTOR_KEY)], None);
    let without = tshark(&pcap, &[], None);
    // The same frames with a group's own EtherType, given as a preference.
    let retyped: Vec<Vec<u8>> = vectors.iter().map(|f| [&f[..12], &[0x88, 0xb6], &f[14..]].concat()).collect();
    let other_pcap = scratch.join("vectors-88b6.pcap");
    write_pcap(&other_pcap, &retyped);
    let other_type = tshark(&other_pcap, &[("key", VECTOR_KEY), ("ethertype", "0x88b6")], None);
    assert_eq!([with_key.len(), without.len(), other_type.len()], [vectors.len(); 3]);
    for (i, frame) in vectors.iter().enumerate() {
        let what = format!("vector {}", i + 1);
        let m = parse(frame).unwrap_or_else(|e| panic!("{what}: {e}"));
        let expected = expected_fields(frame, &m);
        for d in [&with_key[i], &without[i], &other_type[i]] {
            assert_fields(&what, d, &expected);
            assert!(d.errors().is_empty(), "{what}: {:?}", d.errors());
        }
        // The tag: checked with the key preference, not without it.
        let status: &[&str] = if has_auth(frame) { &["1"] } else { &[] };
        assert_eq!(with_key[i].all("vwrp.auth.status"), status, "{what}: tag status with the key");
        let status: &[&str] = if has_auth(frame) { &["2"] } else { &[] };
        assert_eq!(without[i].all("vwrp.auth.status"), status, "{what}: tag status without a key");
        // An unknown TLV type is shown as such, and skipped.
        let known = (1..=10).map(|t: u8| t.to_string()).collect::<Vec<_>>();
        for t in with_key[i].all("vwrp.tlv.type") {
            if !known.iter().any(|k| k == t) {
                assert!(
                    with_key[i].experts.iter().any(|(m, _)| m.contains(&format!("TLV type {t} is not defined"))),
                    "{what}: unknown TLV {t} not flagged"
                );
            }
        }
    }
    // Vector 8 carries the unknown TLV type 240 between DUID and trackers.
    assert!(with_key[7].all("vwrp.tlv.type").contains(&"240"));
}

/// The frame with `tlvs` as its TLV area: vector 1 (an unauthenticated
/// HELLO) with sequence number `seq`; above vector 3's 77, the highest
/// its sender used, so that no crafted frame is taken for a replay.
fn hello_with_tlvs(seq: u32, tlvs: &[u8]) -> Vec<u8> {
    let mut f = spec_vectors()[0][..ETHERNET_HEADER_LEN + HEADER_LEN].to_vec();
    let len = u16::try_from(tlvs.len()).expect("TLV area");
    // Header offsets 14 (TLV length) and 20 (sequence), §2.2.
    f[ETHERNET_HEADER_LEN + 14..ETHERNET_HEADER_LEN + 16].copy_from_slice(&len.to_be_bytes());
    f[ETHERNET_HEADER_LEN + 20..ETHERNET_HEADER_LEN + 24].copy_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(tlvs);
    f.resize(f.len().max(MIN_FRAME_LEN), 0);
    f
}

/// Frames a receiver refuses (and three it accepts), derived from the
/// vectors; §9.9 lists most of them.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let v = spec_vectors();
    let at = |n: usize, offset: usize, byte: u8| {
        let mut f = v[n - 1].clone();
        f[offset] = byte;
        f
    };
    let flip = |n: usize, offset: usize| at(n, offset, v[n - 1][offset] ^ 1);
    let v3_last = v[2].len() - 1;
    let pdu = ETHERNET_HEADER_LEN;
    let mut two_gateways = vec![6, 16];
    two_gateways.extend([0xfe, 0x80].iter().chain(&[0; 13]).chain(&[1]));
    two_gateways.extend(two_gateways.clone());
    let mut offer_bad_reason = hello_with_tlvs(102, &[9, 9, 0xc0, 0, 2, 2, 0, 0, 0, 1, 0]);
    offer_bad_reason[pdu + 1] = 2;
    vec![
        ("vector 3, priority changed", flip(3, pdu + 8)),
        ("vector 3, last sequence byte changed", flip(3, pdu + 23)),
        ("vector 3, last tag byte changed", flip(3, v3_last)),
        ("vector 3, re-addressed to another router", at(3, 5, 0xc3)),
        ("vector 3, re-addressed to every router", {
            let mut f = v[2].clone();
            f[..6].copy_from_slice(&[0x03, 0x56, 0x57, 0x52, 0x50, 0x00]);
            f
        }),
        ("vector 3, key id 2", at(3, pdu + HEADER_LEN, 2)),
        ("vector 3, Ethernet source changed", at(3, 11, 0xc3)),
        ("vector 3 again: a replay", v[2].clone()),
        ("vector 3 without its last byte", v[2][..v3_last].to_vec()),
        ("vector 2 cut inside its TLVs", v[1][..pdu + HEADER_LEN + 10].to_vec()),
        ("vector 1 cut inside its header", v[0][..pdu + 20].to_vec()),
        ("an Ethernet header alone", v[0][..pdu].to_vec()),
        ("vector 1, version 1", at(1, pdu, 1)),
        ("vector 3, version 3", at(3, pdu, 3)),
        ("vector 1, message type 6", at(1, pdu + 1, 6)),
        ("vector 1, state 6", at(1, pdu + 3, 6)),
        ("vector 1, router id 0", {
            let mut f = v[0].clone();
            f[pdu + 4..pdu + 8].fill(0);
            f
        }),
        ("vector 1, dead multiplier 0", at(1, pdu + 11, 0)),
        ("vector 1, effective priority 255", at(1, pdu + 9, 255)),
        ("vector 1, sequence 0", at(1, pdu + 23, 0)),
        ("vector 1, hello interval 0", at(1, pdu + 13, 0)),
        ("reserved flag bits set", {
            let mut f = hello_with_tlvs(101, &[]);
            f[pdu + 10] = 0xe0;
            f
        }),
        ("vector 2, CLIENT_ID length 7 raised to 8", at(2, pdu + 65, 8)),
        ("vector 2, lease prefix length 33", at(2, pdu + 30, 33)),
        ("IPV4_LEASE of 31 bytes", hello_with_tlvs(103, &[[1, 31].as_slice(), &[0; 31]].concat())),
        ("empty CLIENT_ID", hello_with_tlvs(104, &[2, 0])),
        ("IPV6_DNS of 17 bytes", hello_with_tlvs(105, &[[5, 17].as_slice(), &[0; 17]].concat())),
        ("DHCPV6_DUID of 4 bytes", hello_with_tlvs(106, &[7, 4, 0, 0, 0, 1])),
        ("two IPV6_GATEWAY TLVs", hello_with_tlvs(107, &two_gateways)),
        ("OFFER with handover reason 0", offer_bad_reason),
        ("one byte left in the TLV area", hello_with_tlvs(108, &[9])),
        ("unknown TLV running past the area", hello_with_tlvs(109, &[240, 5, 1, 2])),
        ("TRACKERS with an unassigned flag bit", hello_with_tlvs(110, &[8, 8, 1, 1, 0, 0, 0, 0x02, 0, 0])),
    ]
}

#[test]
fn malformed_frames_show_expert_info_not_lua_errors() {
    let cases = malformed();
    let scratch = TempDir::new("wireshark-malformed");
    let pcap = scratch.join("malformed.pcap");
    write_pcap(&pcap, &cases.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>());
    let decoded = tshark(&pcap, &[("key", VECTOR_KEY)], None);
    assert_eq!(decoded.len(), cases.len());
    // What a receiver keyed like the vectors' group does with each frame,
    // replay window included, in capture order.
    let mut guard = ReplayGuard::default();
    let mut accepted = Vec::new();
    for ((what, frame), d) in cases.iter().zip(&decoded) {
        assert!(d.fields.iter().any(|(k, _)| k.starts_with("vwrp.")), "{what}: not decoded as vwrp: {d:#?}");
        let verdict = parse(frame).and_then(|m| guard.check(m.router_id, m.epoch, m.seq).map(|()| m));
        let messages: Vec<&str> = d.experts.iter().map(|(m, _)| m.as_str()).collect();
        match verdict {
            Err(e) => {
                let name = error_name(&e);
                assert!(
                    messages.iter().any(|m| m.starts_with(&name)),
                    "{what}: refused as {name}, shown as {messages:?}"
                );
                if e == Error::BadTag {
                    assert_eq!(d.all("vwrp.auth.status"), ["0"], "{what}: tag status");
                }
            }
            Ok(_) => {
                assert!(d.errors().is_empty(), "{what}: accepted, shown with errors {:?}", d.errors());
                accepted.push(*what);
            }
        }
    }
    let expected =
        ["vector 3, Ethernet source changed", "reserved flag bits set", "TRACKERS with an unassigned flag bit"];
    assert_eq!(accepted, expected, "the frames a receiver accepts");
}

/// Seconds since the epoch, as tshark's `frame.time_epoch`.
fn now_epoch() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64()
}

fn time(d: &Decoded) -> f64 {
    d.one("frame.time_epoch").parse().expect("frame.time_epoch")
}

#[test]
fn a_capture_of_a_handover_and_a_failover_shows_what_happened() {
    let hello_ms = 100;
    let mut c = Cluster::start(&prio(&[200, 150]), hello_ms);
    assert_eq!(c.wait_one_active(Duration::from_secs(15)), 1);
    c.wait_lease(1, Duration::from_secs(20));
    let lan_file = c.dir().join("lan.pcap");
    let wan_file = c.dir().join("wan.pcap");
    let lan = c.bed.start_capture("lsw", &lan_file);
    let wan = c.bed.start_capture("wsw", &wan_file);
    std::thread::sleep(Duration::from_millis(300));

    // Graceful: r1 steps down, r2 (the only standby) takes over.
    let out = c.cli(1, &["step-down"]);
    assert!(out.status.success(), "step-down: {}", String::from_utf8_lossy(&out.stderr));
    assert!(poll_until(Duration::from_secs(5), || c.actives() == vec![2]), "no handover to r2\n{}", c.logs());
    std::thread::sleep(Duration::from_millis(300));

    // Hard: r2 killed, its cables pulled; r1 takes over.
    c.bed.kill(c.daemon(2));
    let killed_at = now_epoch();
    c.daemons[1] = None;
    c.bed.pull_links(2);
    assert!(poll_until(Duration::from_secs(5), || c.actives() == vec![1]), "r1 did not take over\n{}", c.logs());
    std::thread::sleep(Duration::from_millis(500));
    let lan_file = c.bed.stop_capture(lan);
    let wan_file = c.bed.stop_capture(wan);

    let lan = tshark(&lan_file, &[("key", KEY)], Some("vwrp"));
    let wan = tshark(&wan_file, &[("key", KEY)], Some("vwrp"));
    let priority = |id: u64| if id == 1 { "200" } else { "150" };
    for (path, frames) in [("LAN", &lan), ("WAN", &wan)] {
        assert!(frames.len() > 10, "{path}: {} vwrp frames", frames.len());
        for d in frames {
            let what = format!("{path} frame {}", d.one("frame.number"));
            assert!(d.experts.is_empty(), "{what}: {:?}", d.experts);
            assert_eq!(d.one("vwrp.auth.status"), "1", "{what}: tag not good with the group's key");
            assert_eq!(d.one("vwrp.auth.key_id"), "1", "{what}");
            assert_eq!(d.one("vwrp.group"), "1", "{what}");
            let id = d.num("vwrp.router_id");
            assert!(id == 1 || id == 2, "{what}: router id {id}");
            assert_eq!(d.one("vwrp.priority"), priority(id), "{what}");
            assert_eq!(d.one("vwrp.dead_multiplier"), "3", "{what}");
            // A standby (1) or a router in fault (5) that hears the active
            // says its slow pace (docs/PROTOCOL.md §4.6).
            let slow = (hello_ms * u64::from(vwrp::engine::STANDBY_PACE)).to_string();
            let paces = if matches!(d.one("vwrp.state"), "1" | "5") {
                [hello_ms.to_string(), slow]
            } else {
                [hello_ms.to_string(), hello_ms.to_string()]
            };
            assert!(
                paces.contains(&d.one("vwrp.hello_interval").to_string()),
                "{what}: hello interval {}",
                d.one("vwrp.hello_interval")
            );
            assert_eq!(d.one("vwrp.flags.wan"), if path == "WAN" { "1" } else { "0" }, "{what}");
            assert!(id == 1 || time(d) < killed_at, "{what}: r2 speaks after it was killed");
        }
    }

    // The WAN: only the router holding it speaks there, from the shared MAC,
    // with the ISP's lease; r1, then r2, then r1 again.
    let mut speakers = Vec::new();
    for d in &wan {
        let what = format!("WAN frame {}", d.one("frame.number"));
        assert_eq!(d.one("eth.src"), SHARED_MAC, "{what}");
        assert!(matches!(d.one("vwrp.state"), "3" | "4"), "{what}: state {} on the WAN", d.one("vwrp.state"));
        assert_eq!(d.one("vwrp.ipv4_lease.address"), WAN_ADDR, "{what}");
        assert_eq!(d.all("vwrp.client_id.value").len(), 1, "{what}: no client id with the lease");
        let id = d.num("vwrp.router_id");
        if speakers.last() != Some(&id) {
            speakers.push(id);
        }
    }
    assert_eq!(speakers, [1, 2, 1], "who held the WAN, in order");

    // The graceful handover on the LAN: one OFFER/READY/DONE exchange,
    // one handover id, target r2, reason operator, in that order.
    let of_type = |t: &str| lan.iter().filter(|d| d.one("vwrp.type") == t).collect::<Vec<_>>();
    let (offers, readies, dones) = (of_type("2"), of_type("3"), of_type("4"));
    assert!(!offers.is_empty() && !readies.is_empty() && !dones.is_empty(), "no OFFER/READY/DONE on the LAN");
    let handover_id = offers[0].one("vwrp.handover.id");
    for (name, frames, from, state) in
        [("OFFER", &offers, 1, "4"), ("READY", &readies, 2, "2"), ("DONE", &dones, 1, "1")]
    {
        for d in frames {
            assert_eq!(d.num("vwrp.router_id"), from, "{name} sender");
            assert_eq!(d.one("vwrp.state"), state, "{name} sender's state");
            assert_eq!(d.one("vwrp.handover.id"), handover_id, "{name}: another handover");
            assert_eq!(d.one("vwrp.handover.target"), "0x00000002", "{name} target");
            assert_eq!(d.one("vwrp.handover.reason"), "1", "{name}: reason operator");
        }
    }
    let first = |frames: &[&Decoded]| frames[0].num("frame.number");
    assert!(first(&offers) < first(&readies) && first(&readies) < first(&dones), "OFFER, READY, DONE out of order");

    // The hard failover: after the kill, r1 goes from Standby to Active
    // with no handover messages.
    let after: Vec<&Decoded> = lan.iter().filter(|d| time(d) > killed_at).collect();
    assert!(after.iter().all(|d| d.one("vwrp.type") == "1"), "only HELLOs after the kill");
    let states: Vec<&str> = after.iter().map(|d| d.one("vwrp.state")).collect();
    let active = states.iter().position(|s| *s == "3").expect("r1 announces itself active after the kill");
    assert!(states[..active].iter().all(|s| matches!(*s, "1" | "2")), "r1 before it took over: {states:?}");
}
