//! The `status` reply (docs/CONTROL.md), written by hand: derived
//! `Serialize` impls for it cost ~13 KB on a router. The CLI, rpcd, LuCI
//! and the tests read these keys, in this order, with `null` where a
//! value is unknown and a key left out only where the doc says so.

use crate::engine::Status;
use crate::json;

/// A control link as the daemon sees it: `up`, `down` (no carrier),
/// `missing` (no such device now) or `tied` (to the WAN device: `tie`
/// says how; nothing is sent on it).
pub struct ControlLink<'a> {
    pub device: &'a str,
    pub state: &'static str,
    pub tie: Option<String>,
}

/// One group: the names only the daemon knows, the engine's snapshot,
/// then its trackers; `run` adds tracker `i`'s run time to its object,
/// `conntrack` writes the value of `"conntrack"` (docs/NATSYNC.md).
pub fn group(
    j: &mut json::Writer,
    name: &str,
    wan_device: &str,
    control: &[ControlLink<'_>],
    s: &Status,
    run: &mut dyn FnMut(usize, &mut json::Writer),
    conntrack: &mut dyn FnMut(&mut json::Writer),
) {
    j.open('{').key("name").str(name).key("wan_device").str(wan_device).key("control").open('[');
    for c in control {
        j.str(c.device);
    }
    j.close(']');
    j.key("group").num(u64::from(s.group));
    j.key("router_id").str(&s.router_id);
    j.key("state").str(s.state);
    j.key("since_ms").num(s.since_ms);
    j.key("reason").str(&s.reason);
    j.key("priority").num(u64::from(s.priority));
    j.key("configured_priority").num(u64::from(s.configured_priority));
    j.key("effective_priority").num(u64::from(s.effective_priority));
    j.key("preempt").bool(s.preempt);
    j.key("wan_open").bool(s.wan_open);
    j.key("lan_up").bool(s.lan_up);
    j.key("authenticated").bool(s.authenticated);
    j.key("key_ids").open('[');
    for id in &s.key_ids {
        j.num(u64::from(*id));
    }
    j.close(']');
    j.key("hold_left_ms").num(s.hold_left_ms);
    j.key("step_up");
    match &s.step_up {
        Some(u) => {
            j.open('{').key("state").str(u.state).key("ago_ms").num(u.ago_ms);
            j.key("reason").str(&u.reason).close('}');
        }
        None => {
            j.null();
        }
    }
    j.key("peers").open('[');
    for p in &s.peers {
        j.open('{').key("router_id").str(&p.router_id).key("state").str(p.state);
        j.key("priority").num(u64::from(p.priority)).key("effective_priority").num(u64::from(p.effective_priority));
        j.key("last_heard_ms").num(p.last_heard_ms).key("alive").bool(p.alive);
        strings(j.key("paths"), &p.paths);
        key_id(j, p.key_id);
        j.close('}');
    }
    j.close(']').key("refused").open('[');
    for r in &s.refused {
        j.open('{').key("router_id").str(&r.router_id);
        key_id(j, r.key_id);
        j.key("reason").str(r.reason).key("frames").num(r.frames).key("last_heard_ms").num(r.last_heard_ms);
        j.close('}');
    }
    j.close(']').key("lease");
    match &s.lease {
        Some(l) => {
            j.open('{').key("address").str(&l.address).key("prefix_len").num(u64::from(l.prefix_len));
            j.key("gateway").str(&l.gateway).key("server_id").str(&l.server_id);
            strings(j.key("dns"), &l.dns);
            j.key("lease_time").num(u64::from(l.lease_time)).key("seconds_left").num(u64::from(l.seconds_left));
            j.key("valid").bool(l.valid).close('}');
        }
        None => {
            j.null();
        }
    }
    j.key("lease6");
    match &s.lease6 {
        Some(l) => {
            j.open('{');
            for (k, ias) in [("addresses", &l.addresses), ("prefixes", &l.prefixes)] {
                j.key(k).open('[');
                for i in ias {
                    j.open('{').key("address").str(&i.address).key("prefix_len").num(u64::from(i.prefix_len));
                    j.key("preferred_left")
                        .num(u64::from(i.preferred_left))
                        .key("valid_left")
                        .num(u64::from(i.valid_left));
                    j.close('}');
                }
                j.close(']');
            }
            strings(j.key("dns"), &l.dns);
            j.key("gateway").opt_str(l.gateway.as_deref()).close('}');
        }
        None => {
            j.null();
        }
    }
    j.key("counters").open('{');
    for (k, v) in s.counters.named() {
        j.key(k).num(v);
    }
    j.close('}').key("transitions").open('[');
    for t in &s.transitions {
        j.open('{').key("ago_ms").num(t.ago_ms).key("from").str(t.from).key("to").str(t.to);
        j.key("reason").str(&t.reason).close('}');
    }
    j.close(']').key("trackers").open('[');
    for (i, t) in s.trackers.iter().enumerate() {
        j.open('{').key("name").str(&t.name).key("state").str(t.state);
        j.key("weight").str(&t.weight).key("wan_only").bool(t.wan_only);
        run(i, j);
        j.close('}');
    }
    j.close(']').key("conntrack");
    conntrack(j);
    // Last: a key added later goes after the others, so the group's own
    // "state" stays the first (scripts grep for it, tests/vm does).
    j.key("control_links").open('[');
    for c in control {
        j.open('{').key("device").str(c.device).key("state").str(c.state).key("tie").opt_str(c.tie.as_deref());
        j.close('}');
    }
    j.close(']').close('}');
}

/// `"key_id"`: the id, or `null` for unsigned frames.
fn key_id(j: &mut json::Writer, id: Option<u8>) {
    j.key("key_id");
    match id {
        Some(id) => j.num(u64::from(id)),
        None => j.null(),
    };
}

fn strings(j: &mut json::Writer, list: &[String]) {
    j.open('[');
    for s in list {
        j.str(s);
    }
    j.close(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reply, byte for byte: the contract with the CLI, rpcd and LuCI
    /// (first written by derived `Serialize`; keys are only ever added).
    const BEFORE: &str = concat!(
        r#"{"groups":[{"name":"wan","wan_device":"eth1","control":["lan1","l\"2"],"group":7,"router_id":"0xc000"#,
        r#"0201","state":"active","since_ms":1234,"reason":"said \"hi\"\n\u0001"#,
        "\u{7f}",
        r#"é\\/","priority":100,"configured_priority":101,"effective_priority":90,"preempt":true,"wan_open":tru"#,
        r#"e,"lan_up":true,"authenticated":false,"key_ids":[],"hold_left_ms":0,"step_up":{"state":"failed","ago"#,
        r#"_ms":3,"reason":"router 0x2 did not hand the WAN over"},"peers":[{"router_id":"0x2","state":"standby"#,
        r#"","priority":5,"effective_priority":6,"last_heard_ms":18446744073709551615,"alive":false,"paths":["w"#,
        r#"an","control0"],"key_id":1},{"router_id":"0x3","state":"fault","priority":255,"effective_priority":0"#,
        r#","last_heard_ms":17,"alive":true,"paths":[],"key_id":null}],"refused":[{"router_id":"0x9","key_id":3"#,
        r#","reason":"unknown_key","frames":4,"last_heard_ms":250}],"lease":{"address":"203.0.113.10","prefix_l"#,
        r#"en":24,"gateway":"203.0.113.1","server_id":"203.0.113.1","dns":["192.0.2.53","192.0.2.54"],"lease_ti"#,
        r#"me":3600,"seconds_left":4294967295,"valid":true},"lease6":{"addresses":[{"address":"2001:db8::1","pr"#,
        r#"efix_len":128,"preferred_left":100,"valid_left":200}],"prefixes":[{"address":"2001:db8:1::","prefix_"#,
        r#"len":56,"preferred_left":100,"valid_left":200},{"address":"2001:db8:2::","prefix_len":60,"preferred_"#,
        r#"left":100,"valid_left":200}],"dns":[],"gateway":null},"counters":{"rx_ok":1,"rx_truncated":0,"rx_bad"#,
        r#"_version":0,"rx_malformed":0,"rx_unauthenticated":0,"rx_bad_key":0,"rx_bad_tag":0,"rx_replayed":0,"r"#,
        r#"x_other":0,"rx_own":0,"rx_path_mismatch":0,"rx_peer_limit":12,"rx_claim_bounded":0,"tx":0,"tx_errors":0,"transitions":0,""#,
        r#"takeovers":0,"handovers":0,"handovers_aborted":0,"prepare_timeouts":0,"stalls":18446744073709551615,"#,
        r#""releases":0},"transitions":[{"ago_ms":5,"from":"standby","to":"active","reason":"peer dead"},{"ago_"#,
        r#"ms":9,"from":"init","to":"standby","reason":""}],"trackers":[{"name":"up","state":"up","weight":"fat"#,
        r#"al","wan_only":true,"type":"link","running":true,"interval_ms":100,"timeout_ms":50,"rise":1,"fall":1"#,
        r#","last":"ok","last_ago_ms":0,"change":{"to":"down","ago_ms":0,"detect_ms":250},"device":"wan\"1","er"#,
        r#"ror":null},{"name":"pi\"ng","state":"down","weight":"20","wan_only":false,"type":"ping","running":fa"#,
        r#"lse,"interval_ms":100,"timeout_ms":50,"rise":1,"fall":1,"last":"fail","last_ago_ms":0,"change":null,"#,
        r#""answered":0,"targets":1,"error":"no route\tto host"},{"name":"ext","state":"unknown","weight":"255""#,
        r#","wan_only":false,"type":"external","running":false,"interval_ms":100,"timeout_ms":50,"rise":1,"fall"#,
        r#"":1,"last":null,"last_ago_ms":null,"change":null,"error":null},{"name":"sc","state":"up","weight":"1"#,
        r#"","wan_only":true,"type":"script","running":false,"interval_ms":100,"timeout_ms":50,"rise":1,"fall":"#,
        r#"1,"last":null,"last_ago_ms":null,"change":null,"pid":null,"error":null},{"name":"none","state":"up","#,
        r#""weight":"1","wan_only":true},{"name":"arp","state":"down","weight":"fatal","wan_only":false,"type":"#,
        r#""arping","running":false,"interval_ms":100,"timeout_ms":50,"rise":1,"fall":1,"last":null,"last_ago_m"#,
        r#"s":null,"change":null,"error":null}],"conntrack":null,"control_links":[{"device":"lan1","state":"up","tie":null},{"#,
        r#""device":"l\"2","state":"tied","tie":"l\"2 is a port of, or the device under, the WAN device eth1"}]},{"#,
        r#""name":"w\"2","wan_device":"eth2","control":[],"group":8,"rou"#,
        r#"ter_id":"0x1","state":"init","since_ms":0,"reason":"","priority":1,"configured_priority":1,"effectiv"#,
        r#"e_priority":1,"preempt":false,"wan_open":false,"lan_up":false,"authenticated":true,"key_ids":[2,1],""#,
        r#"hold_left_ms":18446744073709551615,"step_up":null,"peers":[],"refused":[],"lease":null,"lease6":{"ad"#,
        r#"dresses":[],"prefixes":[],"dns":["2001:db8::53"],"gateway":"fe80::1"},"counters":{"rx_ok":0,"rx_trun"#,
        r#"cated":0,"rx_bad_version":0,"rx_malformed":0,"rx_unauthenticated":0,"rx_bad_key":0,"rx_bad_tag":0,"r"#,
        r#"x_replayed":0,"rx_other":0,"rx_own":0,"rx_path_mismatch":0,"rx_peer_limit":0,"rx_claim_bounded":0,"tx":0,"tx_errors":0,"t"#,
        r#"ransitions":0,"takeovers":0,"handovers":0,"handovers_aborted":0,"prepare_timeouts":0,"stalls":0,"rel"#,
        r#"eases":0},"transitions":[],"trackers":[],"conntrack":{"state":"ok","commit":null},"control_links":[]}]}"#,
    );

    #[test]
    fn the_reply_is_byte_for_byte_what_it_was() {
        let (t, st, now) = super::super::trackers::tests::sample_status();
        let tie = Some("l\"2 is a port of, or the device under, the WAN device eth1".to_string());
        let links = vec![
            ControlLink { device: "lan1", state: "up", tie: None },
            ControlLink { device: "l\"2", state: "tied", tie },
        ];
        let names = [("wan", "eth1", links), ("w\"2", "eth2", vec![])];
        let mut j = json::Writer::new();
        j.open('{').key("groups").open('[');
        for (gi, s) in st.iter().enumerate() {
            let (name, wan, control) = &names[gi];
            let mut conntrack = |j: &mut json::Writer| {
                if gi == 0 {
                    j.null();
                } else {
                    j.open('{').key("state").str("ok").key("commit").null().close('}');
                }
            };
            group(&mut j, name, wan, control, s, &mut |i, j| t.status(gi, i, now, j), &mut conntrack);
        }
        j.close(']').close('}');
        assert_eq!(j.finish(), BEFORE);
    }
}
