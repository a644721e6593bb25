//! The fence: two nftables tables on the WAN devices, each of which alone
//! keeps a standby silent there, and the active's permission to forward,
//! which the kernel expires by itself unless the running daemon renews it.
//!
//! ```text
//! table netdev vwrp {                    # and: table netdev vwrp_owned { flags owner
//!   set open { type iface_index; size 65535; flags dynamic, timeout; }
//!   chain in_<dev>  { type filter hook ingress device "<dev>" priority -500; policy drop;
//!                     ether type <ethertype> ether saddr <shared MAC> accept;
//!                     ether type <ethertype> drop; meta iif @open accept; }
//!   chain out_<dev> { type filter hook egress  device "<dev>" priority -500; policy drop;
//!                     ether type <ethertype> ether saddr <shared MAC> meta mark <own>
//!                         @ll,192,8 & 0x20 == 0x20 update @open { oif timeout <permit> };
//!                     ether type <ethertype> ether saddr <shared MAC> meta mark <own> accept;
//!                     ether type <ethertype> drop; meta oif @open accept; }
//! }
//! ```
//!
//! What crosses a closed WAN is the group's own WAN frames: vwrp's
//! EtherType from the shared MAC, the source every router gives its WAN
//! frames (docs/PROTOCOL.md §2.1). Other frames of that EtherType are
//! dropped, open or closed: a WAN port bridged with the LAN (a tie, or any
//! bridge) would carry the LAN's hellos, or a LAN host's frames of that
//! EtherType, to the ISP from a foreign MAC, and the ISP's into the LAN;
//! and such a frame that says FORWARDING would open a standby's WAN. On
//! the way out the frame must also carry the mark of the daemon's WAN
//! socket (`OWN_FRAME_MARK`): a LAN host may spoof the shared MAC.
//!
//! A frame crosses only if every base chain on its hook accepts it, so it
//! needs both tables' consent, and the active's permission is an element
//! of both sets. The tables differ in what removes them (docs/OPENWRT.md,
//! "The fence"):
//!
//! - `vwrp` belongs to nobody. It outlives the daemon, so a crash leaves
//!   the WAN closed (the permission lapses) until the next daemon starts.
//!   `nft flush ruleset` and `fw4 flush` delete it; the daemon puts it back.
//! - `vwrp_owned` is owned by the daemon's netlink socket
//!   (`NFT_TABLE_F_OWNER`, Linux 5.12): a flush from any other socket
//!   leaves it in place and nobody else may change it, so a flush never
//!   opens the WAN, not even while `vwrp` is missing. The kernel deletes it
//!   when that socket closes, that is when the daemon exits or dies: then
//!   `vwrp` is still there.
//!
//! The permission is renewed on the way out by the active's own WAN
//! frames: the first rule of the egress chain restarts its timeout for
//! every frame of the group's EtherType whose header says FORWARDING
//! (docs/PROTOCOL.md §2.5, §4.4), which the engine sets exactly while the
//! WAN is open. So a hello tick that sends a WAN hello needs no nftables
//! transaction, the largest part of an active's cost per hello before;
//! the daemon renews the permission over nfnetlink on a tick without one.
//!
//! Everything else goes over nfnetlink, one transaction per change
//! (install, repair, a renewal, a new permit timeout): nothing is spawned.
//!
//! Chains are bound to their device by name. Up to Linux 6.15 a chain's
//! device must exist when the chain is added, and deleting the device
//! deletes the chain; from 6.16 on a chain waits for its device and
//! follows it when it is re-created. So the fence is installed for the
//! WAN devices that exist, and [`Fence::ensure`] adds the chains of a
//! device that appears (the daemon calls it on every link event of a WAN
//! device, when the ruleset's generation moved ([`Fence::generation`],
//! checked once a second) and every 10 s).

use std::io;
use std::os::fd::AsRawFd as _;
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;

use super::netlink::{
    F_ACK, F_CREATE, F_DUMP, F_EXCL, F_REQUEST, Message, Messages, Protocol, Request, Socket, is_errno,
};
use super::rtnl;
use crate::wire::{self, Flags, Mac};

/// The table that outlives the daemon, in family `netdev`.
pub const TABLE: &str = "vwrp";
/// The table owned by the daemon's netlink socket.
pub const OWNED_TABLE: &str = "vwrp_owned";
/// The set of interface indexes allowed to forward, in each table.
pub const OPEN_SET: &str = "open";
/// The mark (`SO_MARK`) on the daemon's WAN frames: the egress chains let
/// out vwrp's EtherType only with it ("vwrp" in ASCII). Other software's
/// marks never meet it: they are set on routed packets, and a frame of
/// vwrp's EtherType is never routed.
pub const OWN_FRAME_MARK: u32 = 0x7677_7270;
/// Before anything else on the device, fw4's hooks included.
const PRIORITY: i32 = -500;

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;

// Message types: the nftables subsystem in the high byte (nfnetlink.h).
const SUBSYS: u16 = (libc::NFNL_SUBSYS_NFTABLES as u16) << 8;
const MSG_NEWTABLE: u16 = SUBSYS | libc::NFT_MSG_NEWTABLE as u16;
const MSG_GETTABLE: u16 = SUBSYS | libc::NFT_MSG_GETTABLE as u16;
const MSG_DELTABLE: u16 = SUBSYS | libc::NFT_MSG_DELTABLE as u16;
const MSG_NEWCHAIN: u16 = SUBSYS | libc::NFT_MSG_NEWCHAIN as u16;
const MSG_GETCHAIN: u16 = SUBSYS | libc::NFT_MSG_GETCHAIN as u16;
const MSG_NEWRULE: u16 = SUBSYS | libc::NFT_MSG_NEWRULE as u16;
const MSG_GETRULE: u16 = SUBSYS | libc::NFT_MSG_GETRULE as u16;
const MSG_NEWSET: u16 = SUBSYS | libc::NFT_MSG_NEWSET as u16;
const MSG_GETSET: u16 = SUBSYS | libc::NFT_MSG_GETSET as u16;
const MSG_NEWSETELEM: u16 = SUBSYS | libc::NFT_MSG_NEWSETELEM as u16;
const MSG_DELSETELEM: u16 = SUBSYS | libc::NFT_MSG_DELSETELEM as u16;
const MSG_GETGEN: u16 = SUBSYS | libc::NFT_MSG_GETGEN as u16;
const BATCH_BEGIN: u16 = libc::NFNL_MSG_BATCH_BEGIN as u16;
const BATCH_END: u16 = libc::NFNL_MSG_BATCH_END as u16;
const F_APPEND: u16 = libc::NLM_F_APPEND as u16;

// Attribute numbers and flags from linux/netfilter/nf_tables.h (not in libc).
const NFTA_GEN_ID: u16 = 1;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFT_TABLE_F_OWNER: u32 = 2;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_HOOK_DEV: u16 = 3;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DESC: u16 = 9;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_DESC_SIZE: u16 = 1;
/// What nft gives a dynamic set by default; elements are WAN devices.
const SET_SIZE: u32 = 65535;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_LOOKUP_SET_ID: u16 = 4;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_DYNSET_SET_NAME: u16 = 1;
const NFTA_DYNSET_SET_ID: u16 = 2;
const NFTA_DYNSET_OP: u16 = 3;
const NFTA_DYNSET_SREG_KEY: u16 = 4;
const NFTA_DYNSET_TIMEOUT: u16 = 6;
const MSG_DELRULE: u16 = SUBSYS | libc::NFT_MSG_DELRULE as u16;
/// nft's datatype number for `iface_index` (its datatype.h), so that `nft
/// list` shows the set as nft would have made it.
const TYPE_IFINDEX: u32 = 20;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NF_NETDEV_INGRESS: u32 = 0;
const NF_NETDEV_EGRESS: u32 = 1;
const REG_VERDICT: u32 = libc::NFT_REG_VERDICT as u32;
const REG_1: u32 = libc::NFT_REG_1 as u32;
/// `ARPHRD_ETHER`: the device type `ether type` checks before reading the
/// link-layer header.
const ARPHRD_ETHER: u16 = 1;
/// Where the EtherType sits in an Ethernet header.
const ETHERTYPE_OFFSET: u32 = 12;
/// Where the source MAC sits in an Ethernet header.
const SOURCE_OFFSET: u32 = 6;
/// Where a vwrp frame's header flags sit (docs/PROTOCOL.md §2.2).
const FLAGS_OFFSET: u32 = (wire::ETHERNET_HEADER_LEN + wire::FLAGS_OFFSET) as u32;

/// `struct nfgenmsg`: family, version, resource id (big endian).
fn nfgenmsg(family: u8, res_id: u16) -> [u8; 4] {
    let [hi, lo] = res_id.to_be_bytes();
    [family, libc::NFNETLINK_V0 as u8, hi, lo]
}

const NETDEV: u8 = libc::NFPROTO_NETDEV as u8;

/// One of the fence's two tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `vwrp`: belongs to nobody, outlives the daemon.
    Shared,
    /// `vwrp_owned`: owned by the daemon's socket, outlives a flush.
    Owned,
}

impl Layer {
    const BOTH: [Layer; 2] = [Layer::Owned, Layer::Shared];

    pub fn table(self) -> &'static str {
        match self {
            Layer::Shared => TABLE,
            Layer::Owned => OWNED_TABLE,
        }
    }

    fn flags(self) -> u32 {
        match self {
            Layer::Shared => 0,
            Layer::Owned => NFT_TABLE_F_OWNER,
        }
    }

    /// Each layer's set gets its own id inside a transaction.
    fn set_id(self) -> u32 {
        match self {
            Layer::Shared => 1,
            Layer::Owned => 2,
        }
    }
}

/// The two chains of a WAN device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hook {
    Ingress,
    Egress,
}

impl Hook {
    const BOTH: [Hook; 2] = [Hook::Ingress, Hook::Egress];

    fn chain(self, dev: &str) -> String {
        match self {
            Hook::Ingress => format!("in_{dev}"),
            Hook::Egress => format!("out_{dev}"),
        }
    }

    /// The chain's rules: the group's own frames accepted, others of
    /// their EtherType dropped, the permission set, and on the way out
    /// first the renewal.
    fn rules(self) -> usize {
        match self {
            Hook::Ingress => 3,
            Hook::Egress => 4,
        }
    }
}

/// A WAN device the fence covers: the EtherType and the shared MAC of its
/// group's WAN frames, which alone cross it closed, and the group's permit
/// timeout (`engine::permit_timeout`), which its egress chain gives the
/// permission at every renewal from a FORWARDING frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wan {
    pub device: String,
    pub ethertype: u16,
    pub shared_mac: Mac,
    pub permit: Duration,
}

impl Wan {
    pub fn new(device: &str, ethertype: u16, shared_mac: Mac, permit: Duration) -> Wan {
        Wan { device: device.to_string(), ethertype, shared_mac, permit }
    }
}

/// Removes the shared table, if present. For tests and tooling: the daemon
/// leaves it in place when it stops, so that a dead daemon fails closed.
pub fn uninstall() -> io::Result<()> {
    let mut req = Request::new();
    batch_begin(&mut req);
    // `delete` fails on a missing table; declaring it first makes it exist.
    table_message(&mut req, Layer::Shared, F_CREATE);
    req.message(MSG_DELTABLE, F_REQUEST | F_ACK).header(&nfgenmsg(NETDEV, 0)).attr_str(NFTA_TABLE_NAME, TABLE);
    batch_end(&mut req);
    Socket::open(Protocol::Netfilter, 0)?.request_ack(&mut req)
}

fn validate(wans: &[Wan]) -> io::Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for w in wans {
        let dev = w.device.as_str();
        if !valid_ifname(dev) || seen.contains(&dev) {
            return Err(invalid(format!("bad or repeated WAN device name {dev:?}")));
        }
        // Below 0x0600 the field is an 802.3 length, not an EtherType.
        if w.ethertype < 0x0600 {
            return Err(invalid(format!("EtherType {:#06x} out of range", w.ethertype)));
        }
        // A zero timeout would mean "the set's default": never expire.
        if w.permit.is_zero() {
            return Err(invalid(format!("{dev}: zero permit timeout")));
        }
        seen.push(dev);
    }
    Ok(())
}

/// Names that are safe inside a chain name (which nft allows to hold
/// letters, digits, `_`, `.` and `-`), so `nft list` shows them plainly.
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The devices of `wans` that exist now.
fn present(wans: &[Wan]) -> Vec<Wan> {
    wans.iter().filter(|w| rtnl::ifindex(&w.device).is_ok()).cloned().collect()
}

/// What [`Fence::ensure`] found missing and put back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    /// A table was made afresh (after a flush): its permission set is
    /// empty, so an open WAN must be refreshed now.
    pub emptied: bool,
    /// Chains were added to a table in place: a WAN device came back on a
    /// kernel that deletes a device's chains with it (before 6.16).
    pub chains: bool,
}

impl Repaired {
    pub fn any(self) -> bool {
        self.emptied || self.chains
    }
}

/// The netdev tables, sets, chains and rules the kernel has, as far as
/// they are the fence's.
#[derive(Debug, Default)]
struct Survey {
    /// (table, set)
    sets: Vec<(String, String)>,
    /// (table, chain, rules in it)
    chains: Vec<(String, String, usize)>,
}

impl Survey {
    /// Whether the layer's table stands with its set: every rule of the
    /// fence refers to it, so a table without it cannot be repaired in
    /// place.
    fn has_set(&self, layer: Layer) -> bool {
        self.sets.iter().any(|(t, s)| t == layer.table() && s == OPEN_SET)
    }

    /// The chain's rule count, if the chain exists.
    fn rules(&self, layer: Layer, chain: &str) -> Option<usize> {
        self.chains.iter().find(|(t, c, _)| t == layer.table() && c == chain).map(|(_, _, n)| *n)
    }
}

/// The daemon's nfnetlink socket: it owns `vwrp_owned`, and renews the
/// permission every hello.
#[derive(Debug)]
pub struct Fence {
    socket: Socket,
    /// Reused by every request: no allocation per permit refresh.
    req: Request,
}

impl Fence {
    /// Opens the socket, in the caller's network namespace.
    pub fn open() -> io::Result<Fence> {
        Ok(Fence { socket: Socket::open(Protocol::Netfilter, 0)?, req: Request::new() })
    }

    /// Installs both tables for these WAN devices, each with the EtherType
    /// its hellos use, every device closed, in one transaction: `vwrp`
    /// replaces any previous version (a crashed daemon's), `vwrp_owned` is
    /// made for this socket. Fails if another socket owns `vwrp_owned`
    /// (another daemon runs), and then changes nothing.
    pub fn install(&mut self, wans: &[Wan]) -> io::Result<()> {
        self.install_layers(&Layer::BOTH, wans)
    }

    /// `vwrp` alone, replacing any previous version, every device closed:
    /// for `vwrp fence` at boot, before the daemon runs.
    pub fn install_shared(&mut self, wans: &[Wan]) -> io::Result<()> {
        self.install_layers(&[Layer::Shared], wans)
    }

    fn install_layers(&mut self, layers: &[Layer], devs: &[Wan]) -> io::Result<()> {
        validate(devs)?;
        let batch = |devs: &[Wan]| {
            let mut req = Request::new();
            batch_begin(&mut req);
            for &layer in layers {
                replace_layer(&mut req, layer, devs);
            }
            batch_end(&mut req);
            req
        };
        match self.socket.request_ack(&mut batch(devs)) {
            Err(e) if !is_errno(&e, Errno::EPERM) => {
                // Before Linux 6.16 a chain's device must exist: fence the
                // ones that do; `ensure` adds the others when they appear.
                let present = present(devs);
                if present.len() == devs.len() {
                    return Err(e);
                }
                self.socket.request_ack(&mut batch(&present))
            }
            other => other,
        }
    }

    /// Puts back what is missing of either table for the WAN devices that
    /// exist: a table a flush deleted (made afresh, closed), the chains of
    /// a device that was re-created (added in place). A table whose set or
    /// rules were tampered with is made afresh. Cheap when nothing is
    /// missing: three netlink dumps.
    pub fn ensure(&mut self, devs: &[Wan]) -> io::Result<Repaired> {
        validate(devs)?;
        let found = self.survey()?;
        let present = present(devs);
        let mut req = Request::new();
        batch_begin(&mut req);
        let mut done = Repaired::default();
        for layer in Layer::BOTH {
            let intact = found.has_set(layer)
                && present.iter().all(|w| {
                    Hook::BOTH.iter().all(|h| found.rules(layer, &h.chain(&w.device)).is_none_or(|n| n == h.rules()))
                });
            if !intact {
                replace_layer(&mut req, layer, &present);
                done.emptied = true;
                continue;
            }
            for w in &present {
                for hook in Hook::BOTH {
                    if found.rules(layer, &hook.chain(&w.device)).is_none() {
                        add_chain(&mut req, layer, hook, w);
                        done.chains = true;
                    }
                }
            }
        }
        if done.any() {
            batch_end(&mut req);
            self.socket.request_ack(&mut req)?;
        }
        Ok(done)
    }

    /// Gives the chains of `wans` their permit timeouts and shared MACs,
    /// in both tables, in one transaction (each chain's rules replaced as
    /// a whole: no frame sees it without them): after a reload changed a
    /// group's hello interval or multiplier, so that the kernel's renewals
    /// keep to the permit the engine counts on, or its shared MAC, so that
    /// its WAN frames still cross. Chains not in place are skipped:
    /// `ensure` adds them with the new rules.
    pub fn rewrite(&mut self, wans: &[Wan]) -> io::Result<()> {
        validate(wans)?;
        let found = self.survey()?;
        let mut req = Request::new();
        batch_begin(&mut req);
        let mut any = false;
        for layer in Layer::BOTH {
            for w in wans {
                for hook in Hook::BOTH {
                    let chain = hook.chain(&w.device);
                    if found.rules(layer, &chain).is_some() {
                        req.message(MSG_DELRULE, F_REQUEST | F_ACK)
                            .header(&nfgenmsg(NETDEV, 0))
                            .attr_str(NFTA_RULE_TABLE, layer.table())
                            .attr_str(NFTA_RULE_CHAIN, &chain);
                        chain_rules(&mut req, layer, hook, &chain, w);
                        any = true;
                    }
                }
            }
        }
        if !any {
            return Ok(());
        }
        batch_end(&mut req);
        self.socket.request_ack(&mut req)
    }

    /// The ruleset's generation: the kernel moves it at every committed
    /// change, anyone's, and not when a rule updates a set from the data
    /// path (the permit's renewals). Unchanged since a check that found
    /// the fence whole, the fence is still whole: one small request
    /// instead of `ensure`'s three dumps.
    pub fn generation(&mut self) -> io::Result<u32> {
        let mut req = Request::new();
        req.message(MSG_GETGEN, F_REQUEST | F_ACK).header(&nfgenmsg(libc::AF_UNSPEC as u8, 0));
        let mut id = None;
        self.socket.request(&mut req, &mut |m| {
            let (_, attrs) = m.split(4)?;
            for a in attrs {
                let a = a?;
                if a.kind == NFTA_GEN_ID {
                    id = a.value.try_into().ok().map(u32::from_be_bytes);
                }
            }
            Ok(())
        })?;
        id.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "nftables generation: no id in the answer"))
    }

    /// The fence's sets, chains and rule counts, as the kernel has them.
    fn survey(&mut self) -> io::Result<Survey> {
        let ours = |t: &str| t == TABLE || t == OWNED_TABLE;
        let mut found = Survey::default();
        let mut req = Request::new();
        req.message(MSG_GETSET, F_REQUEST | F_DUMP).header(&nfgenmsg(NETDEV, 0));
        self.socket.dump(&mut req, &mut |m| {
            let (table, name) = names(m, NFTA_SET_TABLE, NFTA_SET_NAME)?;
            if ours(&table) {
                found.sets.push((table, name));
            }
            Ok(())
        })?;
        let mut req = Request::new();
        req.message(MSG_GETCHAIN, F_REQUEST | F_DUMP).header(&nfgenmsg(NETDEV, 0));
        self.socket.dump(&mut req, &mut |m| {
            let (table, name) = names(m, NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME)?;
            if ours(&table) {
                found.chains.push((table, name, 0));
            }
            Ok(())
        })?;
        let mut req = Request::new();
        req.message(MSG_GETRULE, F_REQUEST | F_DUMP).header(&nfgenmsg(NETDEV, 0));
        self.socket.dump(&mut req, &mut |m| {
            let (table, chain) = names(m, NFTA_RULE_TABLE, NFTA_RULE_CHAIN)?;
            if let Some(c) = found.chains.iter_mut().find(|(t, c, _)| *t == table && *c == chain) {
                c.2 += 1;
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Lets `ifindex` forward for `timeout` from now, whether or not it
    /// could already, in both tables. Fails with `ENOENT` when a table is
    /// missing; the other is refreshed all the same.
    ///
    /// Re-adding an element that exists does not restart its timeout on the
    /// kernels this must run on (6.6 ignores it; 6.10+ updates only on a
    /// changed timeout or an explicit expiration). So one batch adds the
    /// element if absent, deletes it and adds it afresh; the transaction
    /// commits as a whole, so packets never see it missing.
    pub fn refresh(&mut self, ifindex: u32, timeout: Duration) -> io::Result<()> {
        // A zero timeout would mean "the set's default", i.e. never expire.
        let ms = crate::time::millis(timeout).max(1);
        let mut result = Ok(());
        for layer in Layer::BOTH {
            let req = &mut self.req;
            req.clear();
            batch_begin(req);
            element(req, layer, MSG_NEWSETELEM, F_CREATE, ifindex, Some(ms));
            element(req, layer, MSG_DELSETELEM, 0, ifindex, None);
            element(req, layer, MSG_NEWSETELEM, F_CREATE, ifindex, Some(ms));
            batch_end(req);
            result = result.and(self.socket.request_ack(req));
        }
        result
    }

    /// Withdraws the permission of `ifindex` at once, in both tables.
    /// Absent already (or a table missing) is fine.
    pub fn close(&mut self, ifindex: u32) -> io::Result<()> {
        let mut result = Ok(());
        for layer in Layer::BOTH {
            let mut req = Request::new();
            batch_begin(&mut req);
            element(&mut req, layer, MSG_DELSETELEM, 0, ifindex, None);
            batch_end(&mut req);
            match self.socket.request_ack(&mut req) {
                Err(e) if is_errno(&e, Errno::ENOENT) => {}
                r => result = result.and(r),
            }
        }
        result
    }

    /// Deletes the owned table while the daemon still runs, the shared
    /// one staying (closed): on the way out, before the control socket
    /// goes, so that whoever sees the socket gone may start the next
    /// daemon at once. Absent already is fine.
    pub fn release(&mut self) -> io::Result<()> {
        let mut req = Request::new();
        batch_begin(&mut req);
        req.message(MSG_DELTABLE, F_REQUEST | F_ACK)
            .header(&nfgenmsg(NETDEV, 0))
            .attr_str(NFTA_TABLE_NAME, OWNED_TABLE);
        batch_end(&mut req);
        match self.socket.request_ack(&mut req) {
            Err(e) if is_errno(&e, Errno::ENOENT) => Ok(()),
            r => r,
        }
    }

    /// Whether `table` (`TABLE` or `OWNED_TABLE`) exists: `vwrp fence`
    /// asks before it installs one, `vwrp wait-stopped` until the owned
    /// one is gone.
    pub fn table_present(&mut self, table: &str) -> io::Result<bool> {
        let mut req = Request::new();
        req.message(MSG_GETTABLE, F_REQUEST | F_ACK).header(&nfgenmsg(NETDEV, 0)).attr_str(NFTA_TABLE_NAME, table);
        match self.socket.request(&mut req, &mut |_| Ok(())) {
            Ok(()) => Ok(true),
            Err(e) if is_errno(&e, Errno::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl std::os::fd::AsRawFd for Fence {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

/// The two name attributes of a set, chain or rule message (after its
/// `nfgenmsg`): its table's and its own.
fn names(m: &Message<'_>, table: u16, name: u16) -> Result<(String, String), super::netlink::Malformed> {
    let (_, attrs) = m.split(4)?;
    let (mut t, mut n) = (String::new(), String::new());
    for a in attrs {
        let a = a?;
        if a.kind == table {
            t = a.string().unwrap_or_default().to_owned();
        } else if a.kind == name {
            n = a.string().unwrap_or_default().to_owned();
        }
    }
    Ok((t, n))
}

/// nf_tables multicast group: every ruleset change is announced there.
const NFNLGRP_NFTABLES: u32 = 7;

/// A socket filter that drops, in the kernel, the notifications of set
/// elements and of each new generation: every permit refresh (each hello
/// of the active) sends both, and each would wake the loop for nothing.
/// The kernel sends a transaction's notifications in as few datagrams as
/// it can, so one that starts with an element belongs to a transaction of
/// element changes; a deletion of anything else comes through, and the
/// once-a-second fence check covers any other case.
fn drop_element_news(socket: &Socket) -> io::Result<()> {
    // `ldh` reads big-endian; nlmsg_type is in host order.
    let kind = |msg: i32| u32::from(u16::from_be_bytes((SUBSYS | msg as u16).to_ne_bytes()));
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter { code: code as u16, jt, jf, k };
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let prog = [
        // The type of the datagram's first message (nlmsghdr offset 4).
        op(libc::BPF_LD | libc::BPF_H | libc::BPF_ABS, 0, 0, 4),
        op(jeq, 3, 0, kind(libc::NFT_MSG_NEWSETELEM)),
        op(jeq, 2, 0, kind(libc::NFT_MSG_DELSETELEM)),
        op(jeq, 1, 0, kind(libc::NFT_MSG_NEWGEN)),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ];
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr().cast_mut() };
    // SAFETY: `fprog` points at `prog`, alive for the call; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Notifications of nftables changes, so the daemon learns at once that
/// `nft flush ruleset` or `fw4 flush` removed something instead of
/// polling for it every hello.
pub struct FenceWatch {
    socket: Socket,
}

impl FenceWatch {
    pub fn open() -> io::Result<FenceWatch> {
        let socket = Socket::open(Protocol::Netfilter, 1 << (NFNLGRP_NFTABLES - 1))?;
        socket.set_nonblocking(true)?;
        drop_element_news(&socket)?;
        Ok(FenceWatch { socket })
    }

    /// Drains pending notifications. True when something was deleted (a
    /// table, chain, rule or set) or notifications were lost: time to check
    /// the table. Element changes (our own permit refreshes) do not count.
    pub fn deletions(&mut self) -> bool {
        let mut hit = false;
        loop {
            match self.socket.receive() {
                Ok(msgs) => hit |= deletions_in(msgs),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return hit,
                // ENOBUFS and the like: notifications were lost.
                Err(_) => return true,
            }
        }
    }
}

/// Whether one datagram of nftables notifications deletes something (a
/// table, chain, rule or set); a malformed one counts as a deletion, to be
/// checked rather than guessed. Element changes (our own permit refreshes)
/// do not count.
pub fn deletions_in(msgs: Messages<'_>) -> bool {
    let mut hit = false;
    for m in msgs {
        let Ok(m) = m else { return true };
        let k = m.kind.wrapping_sub(SUBSYS);
        let deleted = [libc::NFT_MSG_DELTABLE, libc::NFT_MSG_DELCHAIN, libc::NFT_MSG_DELRULE, libc::NFT_MSG_DELSET]
            .iter()
            .any(|&d| k == d as u16);
        hit |= m.kind & 0xff00 == SUBSYS && deleted;
    }
    hit
}

impl std::os::fd::AsRawFd for FenceWatch {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

/// Set-element changes must travel inside a batch (a transaction).
fn batch_begin(req: &mut Request) {
    req.message(BATCH_BEGIN, F_REQUEST).header(&nfgenmsg(libc::AF_UNSPEC as u8, libc::NFNL_SUBSYS_NFTABLES as u16));
}

fn batch_end(req: &mut Request) {
    req.message(BATCH_END, F_REQUEST).header(&nfgenmsg(libc::AF_UNSPEC as u8, libc::NFNL_SUBSYS_NFTABLES as u16));
}

/// A NEWTABLE message for `layer`'s table (with its owner flag).
fn table_message(req: &mut Request, layer: Layer, flags: u16) {
    req.message(MSG_NEWTABLE, F_REQUEST | F_ACK | flags)
        .header(&nfgenmsg(NETDEV, 0))
        .attr_str(NFTA_TABLE_NAME, layer.table())
        .attr_u32_be(NFTA_TABLE_FLAGS, layer.flags());
}

/// `layer`'s table made afresh, whatever was there: declaring it before
/// deleting it makes the delete valid when it is missing, and the
/// transaction replaces it as a whole (its set comes back empty).
fn replace_layer(req: &mut Request, layer: Layer, devs: &[Wan]) {
    table_message(req, layer, F_CREATE);
    req.message(MSG_DELTABLE, F_REQUEST | F_ACK).header(&nfgenmsg(NETDEV, 0)).attr_str(NFTA_TABLE_NAME, layer.table());
    add_layer(req, layer, devs);
}

/// The messages that make `layer`'s table, its set and the chains of
/// `devs`.
fn add_layer(req: &mut Request, layer: Layer, devs: &[Wan]) {
    table_message(req, layer, F_CREATE);
    req.message(MSG_NEWSET, F_REQUEST | F_ACK | F_CREATE | F_EXCL)
        .header(&nfgenmsg(NETDEV, 0))
        .attr_str(NFTA_SET_TABLE, layer.table())
        .attr_str(NFTA_SET_NAME, OPEN_SET)
        // EVAL ("dynamic"): the egress chains update it from the data path.
        .attr_u32_be(NFTA_SET_FLAGS, (libc::NFT_SET_TIMEOUT | libc::NFT_SET_EVAL) as u32)
        .attr_u32_be(NFTA_SET_KEY_TYPE, TYPE_IFINDEX)
        .attr_u32_be(NFTA_SET_KEY_LEN, 4)
        .attr_u32_be(NFTA_SET_ID, layer.set_id())
        .nest(NFTA_SET_DESC)
        .attr_u32_be(NFTA_SET_DESC_SIZE, SET_SIZE)
        .end_nest();
    for w in devs {
        for hook in Hook::BOTH {
            add_chain(req, layer, hook, w);
        }
    }
}

/// One chain (a new one: `F_EXCL`, so rules are never doubled) and its
/// rules.
fn add_chain(req: &mut Request, layer: Layer, hook: Hook, wan: &Wan) {
    let dev = wan.device.as_str();
    let chain = hook.chain(dev);
    let hooknum = match hook {
        Hook::Ingress => NF_NETDEV_INGRESS,
        Hook::Egress => NF_NETDEV_EGRESS,
    };
    req.message(MSG_NEWCHAIN, F_REQUEST | F_ACK | F_CREATE | F_EXCL)
        .header(&nfgenmsg(NETDEV, 0))
        .attr_str(NFTA_CHAIN_TABLE, layer.table())
        .attr_str(NFTA_CHAIN_NAME, &chain)
        .nest(NFTA_CHAIN_HOOK)
        .attr_u32_be(NFTA_HOOK_HOOKNUM, hooknum)
        .attr_u32_be(NFTA_HOOK_PRIORITY, PRIORITY as u32)
        .attr_str(NFTA_HOOK_DEV, dev)
        .end_nest()
        .attr_u32_be(NFTA_CHAIN_POLICY, NF_DROP)
        .attr_str(NFTA_CHAIN_TYPE, "filter");
    chain_rules(req, layer, hook, &chain, wan);
}

/// A chain's rules, as nft would compile them: on the way out first
/// `ether type <ethertype> ether saddr <shared MAC> @ll,192,8 & 0x20 ==
/// 0x20 update @open { oif timeout <permit> }` (the renewal), then on both
/// hooks `ether type <ethertype> ether saddr <shared MAC> accept; ether
/// type <ethertype> drop; meta iif|oif @open accept`; out, the daemon's
/// mark is matched after the source MAC.
fn chain_rules(req: &mut Request, layer: Layer, hook: Hook, chain: &str, wan: &Wan) {
    let meta = match hook {
        Hook::Ingress => libc::NFT_META_IIF,
        Hook::Egress => libc::NFT_META_OIF,
    };
    if hook == Hook::Egress {
        rule(req, layer, chain, |r| {
            group_frame(r, wan);
            own_frame(r);
            payload(r, FLAGS_OFFSET, 1);
            expr(r, "bitwise", |r| {
                r.attr_u32_be(NFTA_BITWISE_SREG, REG_1)
                    .attr_u32_be(NFTA_BITWISE_DREG, REG_1)
                    .attr_u32_be(NFTA_BITWISE_LEN, 1)
                    .nest(NFTA_BITWISE_MASK)
                    .attr(NFTA_DATA_VALUE, &[Flags::FORWARDING])
                    .end_nest()
                    .nest(NFTA_BITWISE_XOR)
                    .attr(NFTA_DATA_VALUE, &[0])
                    .end_nest();
            });
            cmp_eq(r, &[Flags::FORWARDING]);
            expr(r, "meta", |r| {
                r.attr_u32_be(NFTA_META_DREG, REG_1).attr_u32_be(NFTA_META_KEY, meta as u32);
            });
            expr(r, "dynset", |r| {
                r.attr_str(NFTA_DYNSET_SET_NAME, OPEN_SET)
                    .attr_u32_be(NFTA_DYNSET_SET_ID, layer.set_id())
                    .attr_u32_be(NFTA_DYNSET_OP, libc::NFT_DYNSET_OP_UPDATE as u32)
                    .attr_u32_be(NFTA_DYNSET_SREG_KEY, REG_1)
                    .attr_u64_be(NFTA_DYNSET_TIMEOUT, crate::time::millis(wan.permit).max(1));
            });
        });
    }
    // ether type <ethertype> ether saddr <shared MAC> [meta mark <own>] accept
    rule(req, layer, chain, |r| {
        group_frame(r, wan);
        if hook == Hook::Egress {
            own_frame(r);
        }
        verdict(r, NF_ACCEPT);
    });
    // ether type <ethertype> drop: not the group's, open or closed
    rule(req, layer, chain, |r| {
        ether_type(r, wan.ethertype);
        verdict(r, NF_DROP);
    });
    // meta iif|oif @open accept
    rule(req, layer, chain, |r| {
        expr(r, "meta", |r| {
            r.attr_u32_be(NFTA_META_DREG, REG_1).attr_u32_be(NFTA_META_KEY, meta as u32);
        });
        expr(r, "lookup", |r| {
            r.attr_str(NFTA_LOOKUP_SET, OPEN_SET)
                .attr_u32_be(NFTA_LOOKUP_SREG, REG_1)
                .attr_u32_be(NFTA_LOOKUP_SET_ID, layer.set_id());
        });
        verdict(r, NF_ACCEPT);
    });
}

/// A rule appended to `chain`, its expressions written by `exprs`.
fn rule(req: &mut Request, layer: Layer, chain: &str, exprs: impl FnOnce(&mut Request)) {
    req.message(MSG_NEWRULE, F_REQUEST | F_ACK | F_CREATE | F_APPEND)
        .header(&nfgenmsg(NETDEV, 0))
        .attr_str(NFTA_RULE_TABLE, layer.table())
        .attr_str(NFTA_RULE_CHAIN, chain)
        .nest(NFTA_RULE_EXPRESSIONS);
    exprs(req);
    req.end_nest();
}

/// `ether type <ethertype>`: an Ethernet device, and the EtherType.
fn ether_type(req: &mut Request, ethertype: u16) {
    expr(req, "meta", |r| {
        r.attr_u32_be(NFTA_META_DREG, REG_1).attr_u32_be(NFTA_META_KEY, libc::NFT_META_IIFTYPE as u32);
    });
    cmp_eq(req, &ARPHRD_ETHER.to_ne_bytes());
    payload(req, ETHERTYPE_OFFSET, 2);
    cmp_eq(req, &ethertype.to_be_bytes());
}

/// `ether type <ethertype> ether saddr <shared MAC>`: one of the group's
/// WAN frames, as its routers send them.
fn group_frame(req: &mut Request, wan: &Wan) {
    ether_type(req, wan.ethertype);
    payload(req, SOURCE_OFFSET, 6);
    cmp_eq(req, &wan.shared_mac.0);
}

/// `meta mark <OWN_FRAME_MARK>`: sent by this router's daemon. A frame
/// bridged to the WAN port from the LAN has no such mark, whatever its
/// source MAC says.
fn own_frame(req: &mut Request) {
    expr(req, "meta", |r| {
        r.attr_u32_be(NFTA_META_DREG, REG_1).attr_u32_be(NFTA_META_KEY, libc::NFT_META_MARK as u32);
    });
    cmp_eq(req, &OWN_FRAME_MARK.to_ne_bytes());
}

/// `len` bytes of the link-layer header at `offset` into register 1.
fn payload(req: &mut Request, offset: u32, len: u32) {
    expr(req, "payload", |r| {
        r.attr_u32_be(NFTA_PAYLOAD_DREG, REG_1)
            .attr_u32_be(NFTA_PAYLOAD_BASE, libc::NFT_PAYLOAD_LL_HEADER as u32)
            .attr_u32_be(NFTA_PAYLOAD_OFFSET, offset)
            .attr_u32_be(NFTA_PAYLOAD_LEN, len);
    });
}

/// One expression of a rule: its name and its attributes.
fn expr(req: &mut Request, name: &str, data: impl FnOnce(&mut Request)) {
    req.nest(NFTA_LIST_ELEM).attr_str(NFTA_EXPR_NAME, name).nest(NFTA_EXPR_DATA);
    data(req);
    req.end_nest().end_nest();
}

/// Register 1 equals `value`, else the rule ends here.
fn cmp_eq(req: &mut Request, value: &[u8]) {
    expr(req, "cmp", |r| {
        r.attr_u32_be(NFTA_CMP_SREG, REG_1)
            .attr_u32_be(NFTA_CMP_OP, libc::NFT_CMP_EQ as u32)
            .nest(NFTA_CMP_DATA)
            .attr(NFTA_DATA_VALUE, value)
            .end_nest();
    });
}

/// `accept` or `drop`.
fn verdict(req: &mut Request, code: u32) {
    expr(req, "immediate", |r| {
        r.attr_u32_be(NFTA_IMMEDIATE_DREG, REG_VERDICT)
            .nest(NFTA_IMMEDIATE_DATA)
            .nest(NFTA_DATA_VERDICT)
            .attr_u32_be(NFTA_VERDICT_CODE, code)
            .end_nest()
            .end_nest();
    });
}

/// One message naming the element `ifindex` of `layer`'s set. The key of
/// an `iface_index` set is the index in host byte order; nftables
/// timeouts are big-endian milliseconds.
fn element(req: &mut Request, layer: Layer, kind: u16, flags: u16, ifindex: u32, timeout_ms: Option<u64>) {
    req.message(kind, F_REQUEST | F_ACK | flags)
        .header(&nfgenmsg(NETDEV, 0))
        .attr_str(NFTA_SET_ELEM_LIST_TABLE, layer.table())
        .attr_str(NFTA_SET_ELEM_LIST_SET, OPEN_SET)
        .nest(NFTA_SET_ELEM_LIST_ELEMENTS)
        .nest(NFTA_LIST_ELEM)
        .nest(NFTA_SET_ELEM_KEY)
        .attr_u32_ne(NFTA_DATA_VALUE, ifindex)
        .end_nest();
    if let Some(ms) = timeout_ms {
        req.attr_u64_be(NFTA_SET_ELEM_TIMEOUT, ms);
    }
    req.end_nest().end_nest();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::packet::PacketSocket;
    use crate::system::testnet::{Netns, veth};
    use crate::wire::{EthernetRepr, Mac};
    use nix::sys::socket::MsgFlags;
    use std::os::fd::AsRawFd;
    use std::process::Command;
    use std::time::{Duration, Instant};

    #[test]
    fn bad_devices_are_refused() {
        let w = |d: &str, e: u16| Wan::new(d, e, SHARED, Duration::from_millis(20));
        for bad in [
            vec![w("", 0x88b5)],
            vec![w("a\"b", 0x88b5)],
            vec![w("x", 0x05ff)],
            vec![w("waaaaaaaaaaaaaan", 0x88b5)],
            vec![w("a", 0x88b5), w("a", 0x88b5)],
            vec![Wan::new("a", 0x88b5, SHARED, Duration::ZERO)],
        ] {
            assert_eq!(validate(&bad).unwrap_err().kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        validate(&[w("eth0.2", 0x88b5), w("wan-b", 0x9000)]).unwrap();
    }

    /// `fenced` holds WAN device `wa` behind the fence; `peer` is the other
    /// end of the wire with `wb`.
    struct Bed {
        fenced: Netns,
        peer: Netns,
        wa: u32,
        wb: u32,
        /// The daemon's socket: it owns `vwrp_owned`.
        fence: Fence,
    }

    const VWRP: u16 = 0x88b5;
    const OTHER: u16 = 0x88b6;
    /// The group's shared MAC: the source of its WAN frames.
    const SHARED: Mac = Mac([2, 0, 0, 0, 0, 1]);
    /// Another source: a LAN host's, or another router's control link.
    const FOREIGN: Mac = Mac([2, 0, 0, 0, 0, 0x42]);
    /// No FORWARDING bit where a vwrp header has its flags (a space
    /// there would open the WAN on the way out).
    const MARKER: &[u8] = b"VWRP_FENCE_TEST_FRAME";
    /// The permit timeout the bed's egress chains renew with.
    const PERMIT: Duration = Duration::from_millis(300);

    fn wan(dev: &str) -> Wan {
        Wan::new(dev, VWRP, SHARED, PERMIT)
    }

    fn bed(tag: &str) -> Bed {
        let fenced = Netns::new(&format!("{tag}f"));
        let peer = Netns::new(&format!("{tag}p"));
        veth(&fenced, "wa", &peer, "wb");
        fenced.ok("ip addr add 192.0.2.1/24 dev wa");
        peer.ok("ip addr add 192.0.2.2/24 dev wb");
        let (wa, wb) = (fenced.ifindex("wa"), peer.ifindex("wb"));
        let mut fence = fenced.enter(Fence::open).unwrap();
        fence.install(&[wan("wa")]).unwrap();
        Bed { fenced, peer, wa, wb, fence }
    }

    /// Whether the fence lets a ping through now. Neighbour entries go
    /// first: one left INCOMPLETE by a ping the fence stopped would hold
    /// this one until its next ARP probe, up to a second later (-W1).
    fn can_ping(bed: &Bed) -> bool {
        bed.peer.ok("ip neigh flush all");
        bed.fenced.ok("ip neigh flush all");
        bed.peer.ping("192.0.2.1")
    }

    /// Whether a frame of `ethertype` from the shared MAC, sent from one
    /// end of the WAN wire, reaches a socket bound to that EtherType on
    /// the other end.
    fn frame_passes(bed: &Bed, ethertype: u16, outbound: bool) -> bool {
        frame_from_passes(bed, SHARED, ethertype, outbound)
    }

    /// The same, from source `src`; outbound, sent as the daemon sends
    /// (its socket's mark).
    fn frame_from_passes(bed: &Bed, src: Mac, ethertype: u16, outbound: bool) -> bool {
        let (tx_ns, tx_if) = if outbound { (&bed.fenced, bed.wa) } else { (&bed.peer, bed.wb) };
        let tx = tx_ns.enter(|| PacketSocket::open(tx_if, ethertype)).unwrap();
        if outbound {
            tx.set_mark(OWN_FRAME_MARK).unwrap();
        }
        frame_reaches(bed, &tx, src, ethertype, outbound)
    }

    /// Whether a frame sent on `tx` reaches the other end of the WAN wire
    /// from the side `outbound` says.
    fn frame_reaches(bed: &Bed, tx: &PacketSocket, src: Mac, ethertype: u16, outbound: bool) -> bool {
        let (rx_ns, rx_if) = if outbound { (&bed.peer, bed.wb) } else { (&bed.fenced, bed.wa) };
        let rx = rx_ns.enter(|| PacketSocket::open(rx_if, ethertype)).unwrap();
        let marker = EthernetRepr { dst: Mac::BROADCAST, src, ethertype }.frame(|out| out.extend_from_slice(MARKER));
        // A fenced sender may be refused outright (ENOBUFS): not passed.
        if tx.send(&marker).is_err() {
            return false;
        }
        let deadline = Instant::now() + Duration::from_millis(300);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            match rx.recv(&mut buf) {
                Ok(Some((n, _))) if buf[..n.min(buf.len())] == marker[..] => return true,
                Ok(Some(_)) => {}
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        false
    }

    /// `Fence::ensure` as the daemon calls it: from inside the namespace,
    /// where it looks the devices up.
    fn ensure(bed: &mut Bed, devs: &[Wan]) -> Repaired {
        let Bed { fenced, fence, .. } = bed;
        fenced.enter(|| fence.ensure(devs)).unwrap()
    }

    fn listed(bed: &Bed, table: &str) -> String {
        // Empty when the table is missing.
        let out = bed.fenced.sh(&format!("nft list table netdev {table}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn nft_lists_both_tables_as_it_would_write_them() {
        let bed = bed("ls");
        let shared = listed(&bed, TABLE);
        let owned = listed(&bed, OWNED_TABLE);
        for (text, name) in [(&shared, "vwrp"), (&owned, "vwrp_owned")] {
            // nft decompiles our expressions into its own words: the
            // bytecode is what `ether type` and `meta iif @open` compile to.
            for line in [
                format!("table netdev {name} {{"),
                "type iface_index".into(),
                "flags dynamic,timeout".into(),
                "chain in_wa {".into(),
                "type filter hook ingress device \"wa\" priority -500; policy drop;".into(),
                "ether type 0x88b5 ether saddr 02:00:00:00:00:01 accept".into(),
                "ether type 0x88b5 drop".into(),
                "iif @open accept".into(),
                "chain out_wa {".into(),
                "type filter hook egress device \"wa\" priority -500; policy drop;".into(),
                "ether type 0x88b5 ether saddr 02:00:00:00:00:01 meta mark 0x76777270 @ll,192,8 & 0x20 == 0x20 update @open { oif timeout 300ms }"
                    .into(),
                "ether type 0x88b5 ether saddr 02:00:00:00:00:01 meta mark 0x76777270 accept".into(),
                "oif @open accept".into(),
            ] {
                assert!(text.contains(&line), "{line:?} missing from:\n{text}");
            }
            assert_eq!(text.matches("ether type 0x88b5 ether saddr 02:00:00:00:00:01 accept").count(), 1, "{text}");
            assert_eq!(text.matches("ether type 0x88b5 drop").count(), 2, "{text}");
        }
        assert!(owned.contains("flags owner"), "{owned}");
        assert!(!shared.contains("flags owner"), "{shared}");
    }

    #[test]
    fn closed_fence_passes_only_vwrp_frames() {
        let mut bed = bed("fc");
        assert!(bed.fenced.enter(|| Fence::open()?.table_present(TABLE)).unwrap());
        assert!(!can_ping(&bed), "ping crossed a closed fence");
        assert!(frame_passes(&bed, VWRP, false), "vwrp frame blocked inbound");
        assert!(frame_passes(&bed, VWRP, true), "vwrp frame blocked outbound");
        assert!(!frame_passes(&bed, OTHER, false), "other EtherType passed inbound");
        assert!(!frame_passes(&bed, OTHER, true), "other EtherType passed outbound");

        // Open: everything passes, so the checks above could have failed.
        bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        assert!(frame_passes(&bed, OTHER, false) && frame_passes(&bed, OTHER, true));
        assert!(can_ping(&bed));
    }

    /// vwrp's EtherType from another source than the shared MAC is not
    /// the group's WAN frame: it crosses neither way, closed or open
    /// (a LAN host's, or the LAN's hellos, out of a WAN port bridged
    /// with the LAN; the ISP side's into it), while the group's own do.
    #[test]
    fn only_the_groups_own_frames_cross_closed_or_open() {
        let mut bed = bed("fo");
        for open in [false, true] {
            let state = if open { "open" } else { "closed" };
            for outbound in [true, false] {
                let way = if outbound { "out" } else { "in" };
                assert!(
                    !frame_from_passes(&bed, FOREIGN, VWRP, outbound),
                    "a vwrp frame from a foreign MAC went {way} of a {state} WAN"
                );
                assert!(frame_passes(&bed, VWRP, outbound), "the group's frame blocked {way} of a {state} WAN");
                assert_eq!(frame_from_passes(&bed, FOREIGN, OTHER, outbound), open, "other EtherType, {way}, {state}");
            }
            bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        }
    }

    #[test]
    fn permission_expires_by_itself_and_closes_at_once() {
        let mut bed = bed("ex");
        let fence = &mut bed.fence;
        fence.refresh(bed.wa, Duration::from_millis(300)).unwrap();
        assert!(can_ping(&bed), "ping blocked right after refresh");
        std::thread::sleep(Duration::from_millis(400));
        assert!(!can_ping(&bed), "permission outlived its timeout");

        bed.fence.refresh(bed.wa, Duration::from_secs(30)).unwrap();
        assert!(can_ping(&bed));
        bed.fence.close(bed.wa).unwrap();
        assert!(!can_ping(&bed), "close did not stop forwarding");
        bed.fence.close(bed.wa).unwrap(); // already closed: fine
    }

    /// A vwrp frame out of the WAN whose header flags are `flags`.
    fn send_vwrp(bed: &Bed, flags: u8) {
        send_vwrp_from(bed, SHARED, flags).unwrap();
    }

    /// The same from source `src`, from the daemon's socket (`mark`) or
    /// another: refused (ENOBUFS) if the fence drops it.
    fn send_vwrp_from(bed: &Bed, src: Mac, flags: u8) -> io::Result<()> {
        send_vwrp_marked(bed, src, flags, Some(OWN_FRAME_MARK))
    }

    fn send_vwrp_marked(bed: &Bed, src: Mac, flags: u8, mark: Option<u32>) -> io::Result<()> {
        let mut pdu = [0u8; 46];
        pdu[crate::wire::FLAGS_OFFSET] = flags;
        let frame = EthernetRepr { dst: Mac::BROADCAST, src, ethertype: VWRP }.frame(|out| out.extend_from_slice(&pdu));
        let tx = bed.fenced.enter(|| PacketSocket::open(bed.wa, VWRP)).unwrap();
        if let Some(m) = mark {
            tx.set_mark(m)?;
        }
        tx.send(&frame)
    }

    #[test]
    fn a_forwarding_frame_on_the_way_out_renews_the_permission() {
        let bed = bed("fw");
        send_vwrp(&bed, !Flags::FORWARDING);
        assert!(!can_ping(&bed), "a frame without FORWARDING opened the WAN");
        // Another source's FORWARDING frame (a LAN hello bridged to the
        // WAN port, a LAN host's) renews nothing, and does not leave.
        let sent = send_vwrp_from(&bed, FOREIGN, Flags::FORWARDING | Flags::WAN);
        assert!(sent.is_err(), "a foreign FORWARDING frame left");
        assert!(!can_ping(&bed), "a foreign FORWARDING frame opened the WAN");
        // The shared MAC's, not from the daemon's socket (a LAN host
        // spoofing it through a tie): the same.
        let sent = send_vwrp_marked(&bed, SHARED, Flags::FORWARDING | Flags::WAN, None);
        assert!(sent.is_err(), "an unmarked FORWARDING frame left");
        assert!(!can_ping(&bed), "an unmarked FORWARDING frame opened the WAN");
        send_vwrp(&bed, Flags::FORWARDING | Flags::WAN);
        assert!(can_ping(&bed), "a FORWARDING frame did not open the WAN");
        // Renewed by frames alone, it lasts past one timeout ...
        for _ in 0..5 {
            std::thread::sleep(PERMIT / 3);
            send_vwrp(&bed, Flags::FORWARDING);
        }
        assert!(can_ping(&bed), "renewals did not keep the WAN open");
        // ... and lapses one timeout after the last.
        std::thread::sleep(PERMIT + Duration::from_millis(100));
        assert!(!can_ping(&bed), "the permission outlived its timeout after the last renewal");
    }

    #[test]
    fn the_generation_moves_with_changes_and_not_with_renewals() {
        let mut bed = bed("gn");
        let g0 = bed.fenced.enter(|| bed.fence.generation()).unwrap();
        send_vwrp(&bed, Flags::FORWARDING);
        assert!(can_ping(&bed), "the renewal did not open the WAN");
        assert_eq!(bed.fenced.enter(|| bed.fence.generation()).unwrap(), g0, "a renewal moved the generation");
        bed.fence.refresh(bed.wa, PERMIT).unwrap();
        let g1 = bed.fenced.enter(|| bed.fence.generation()).unwrap();
        assert_ne!(g1, g0, "a transaction left the generation");
        // Another process's change, as fw4 makes them.
        bed.fenced.ok("nft add table inet other");
        assert_ne!(bed.fenced.enter(|| bed.fence.generation()).unwrap(), g1);
    }

    #[test]
    fn rewrite_gives_the_renewals_a_new_timeout() {
        let mut bed = bed("rt");
        let longer = Wan::new("wa", VWRP, SHARED, Duration::from_secs(3));
        bed.fenced.enter(|| bed.fence.rewrite(std::slice::from_ref(&longer))).unwrap();
        for t in [TABLE, OWNED_TABLE] {
            let text = listed(&bed, t);
            assert!(text.contains("update @open { oif timeout 3s }"), "{text}");
        }
        assert_eq!(ensure(&mut bed, &[longer]), Repaired::default(), "rewrite left a chain to repair");
        send_vwrp(&bed, Flags::FORWARDING);
        std::thread::sleep(PERMIT + Duration::from_millis(200));
        assert!(can_ping(&bed), "the renewal kept the old timeout");
    }

    /// A reload that gives the group another shared MAC: its frames from
    /// the new one cross both ways and renew, the old one's no longer.
    #[test]
    fn rewrite_follows_a_new_shared_mac() {
        let mut bed = bed("rm");
        let moved = Wan::new("wa", VWRP, FOREIGN, PERMIT);
        bed.fenced.enter(|| bed.fence.rewrite(std::slice::from_ref(&moved))).unwrap();
        assert_eq!(ensure(&mut bed, &[moved]), Repaired::default(), "rewrite left a chain to repair");
        for outbound in [true, false] {
            assert!(frame_from_passes(&bed, FOREIGN, VWRP, outbound), "the new shared MAC's frame blocked");
            assert!(!frame_passes(&bed, VWRP, outbound), "the old shared MAC's frame crossed");
        }
        send_vwrp_from(&bed, FOREIGN, Flags::FORWARDING).unwrap();
        assert!(can_ping(&bed), "a FORWARDING frame from the new shared MAC did not open the WAN");
    }

    /// The WAN port bridged with the LAN (a tie): what a LAN host sends,
    /// bridged to the WAN port, reaches the ISP only when it is ordinary
    /// traffic of an open WAN; never when it has vwrp's EtherType, which
    /// is how the other routers' LAN hellos come. The router's own WAN
    /// frames still leave.
    #[test]
    fn lan_frames_bridged_to_the_wan_port_never_leave_with_vwrps_ethertype() {
        let mut bed = bed("br");
        let lan = Netns::new("brl");
        veth(&bed.fenced, "la", &lan, "lb");
        bed.fenced.ok("ip link add br0 type bridge");
        bed.fenced.ok("ip link set wa master br0");
        bed.fenced.ok("ip link set la master br0");
        bed.fenced.ok("ip link set br0 up");
        let lb = lan.ifindex("lb");
        let from_lan = |bed: &Bed, src, ethertype| {
            let tx = lan.enter(|| PacketSocket::open(lb, ethertype)).unwrap();
            frame_reaches(bed, &tx, src, ethertype, true)
        };
        for open in [false, true] {
            let state = if open { "open" } else { "closed" };
            assert!(!from_lan(&bed, FOREIGN, VWRP), "a LAN host's vwrp frame left by a {state} WAN port");
            assert!(!from_lan(&bed, SHARED, VWRP), "a LAN host's vwrp frame from the shared MAC left, {state} WAN");
            assert_eq!(from_lan(&bed, FOREIGN, OTHER), open, "a LAN host's other frame, {state} WAN");
            assert!(frame_passes(&bed, VWRP, true), "the router's own WAN frame blocked, {state} WAN");
            bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        }
    }

    #[test]
    fn refresh_restarts_the_timeout() {
        let mut bed = bed("rf");
        let timeout = Duration::from_millis(400);
        bed.fence.refresh(bed.wa, timeout).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        bed.fence.refresh(bed.wa, timeout).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // 500 ms after the first refresh, only the second one keeps it open
        // (until 700 ms).
        assert!(can_ping(&bed), "the second refresh did not extend the permission");
        // A zero timeout must not become a permanent element.
        bed.fence.refresh(bed.wa, Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!can_ping(&bed), "zero timeout left the fence open");
    }

    #[test]
    fn a_flush_leaves_the_owned_table_and_ensure_restores_the_other() {
        let mut bed = bed("fl");
        bed.fenced.ok("nft flush ruleset");
        assert!(!bed.fenced.enter(|| Fence::open()?.table_present(TABLE)).unwrap());
        assert!(listed(&bed, OWNED_TABLE).contains("chain in_wa"), "the flush took the owned table");
        // Still closed: the owned table alone fences.
        assert!(!can_ping(&bed), "ping crossed the fence after a flush");
        assert!(!frame_passes(&bed, OTHER, true), "a frame left after a flush");
        assert!(frame_passes(&bed, VWRP, false), "vwrp frames blocked after a flush");
        // The active forwards on: its permission lives in the owned table.
        let err = bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap_err();
        assert!(is_errno(&err, Errno::ENOENT), "{err}");
        assert!(can_ping(&bed), "the owned table's permission was not refreshed");

        let devs = [wan("wa")];
        assert_eq!(ensure(&mut bed, &devs), Repaired { emptied: true, chains: false });
        assert!(listed(&bed, TABLE).contains("oif @open accept"));
        assert!(!can_ping(&bed), "a restored table must start closed");
        bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        assert!(can_ping(&bed));
        assert_eq!(ensure(&mut bed, &devs), Repaired::default(), "nothing left to repair");

        // Tampered rules: the layer is made afresh.
        bed.fenced.ok("nft flush chain netdev vwrp in_wa");
        assert_eq!(ensure(&mut bed, &devs), Repaired { emptied: true, chains: false });
        assert_eq!(listed(&bed, TABLE).matches("ether saddr 02:00:00:00:00:01 accept").count(), 1);
        assert_eq!(listed(&bed, TABLE).matches("ether saddr 02:00:00:00:00:01 meta mark 0x76777270 accept").count(), 1);

        bed.fenced.enter(uninstall).unwrap();
        assert!(!bed.fenced.enter(|| Fence::open()?.table_present(TABLE)).unwrap());
        bed.fenced.enter(uninstall).unwrap();
    }

    /// Whether a datagram waits on the watch's socket.
    fn queued(w: &FenceWatch) -> bool {
        let mut b = [0u8; 1];
        let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
        nix::sys::socket::recv(w.as_raw_fd(), &mut b, flags).is_ok()
    }

    #[test]
    fn the_watch_hears_deletions_and_not_refreshes() {
        let mut bed = bed("wa");
        let mut watch = bed.fenced.enter(FenceWatch::open).unwrap();
        for _ in 0..3 {
            bed.fence.refresh(bed.wa, Duration::from_secs(1)).unwrap();
        }
        bed.fence.close(bed.wa).unwrap();
        assert!(!queued(&watch), "woken by permit refreshes");
        // A rule added is heard but is no deletion.
        bed.fenced.ok("nft add chain netdev vwrp extra");
        assert!(queued(&watch));
        assert!(!watch.deletions());
        bed.fenced.ok("nft flush ruleset");
        assert!(watch.deletions());
        assert!(!queued(&watch));
    }

    #[test]
    fn the_owned_table_is_nobody_elses_and_goes_with_its_socket() {
        let mut bed = bed("ow");
        let del = bed.fenced.sh("nft delete table netdev vwrp_owned");
        assert!(!del.status.success(), "another process deleted the owned table");
        let add = bed.fenced.sh("nft add element netdev vwrp_owned open '{ \"wa\" }'");
        assert!(!add.status.success(), "another process opened the owned table");
        // A second daemon cannot install over the first, and changes nothing.
        let err = bed.fenced.enter(|| Fence::open()?.install(&[wan("wa")])).unwrap_err();
        assert!(is_errno(&err, Errno::EPERM), "{err}");

        bed.fence.refresh(bed.wa, Duration::from_millis(300)).unwrap();
        assert!(can_ping(&bed));
        // The daemon dies: its table goes, the shared one stays and its
        // permission lapses by itself.
        let Bed { fenced, peer, wa, wb, fence } = bed;
        drop(fence);
        let fence = fenced.enter(Fence::open).unwrap();
        let bed = Bed { fenced, peer, wa, wb, fence };
        assert!(!listed(&bed, OWNED_TABLE).contains("chain"), "the owned table outlived its socket");
        std::thread::sleep(Duration::from_millis(400));
        assert!(!can_ping(&bed), "the WAN stayed open after the owner died");
        assert!(!frame_passes(&bed, OTHER, true));
    }

    /// A daemon on its way out gives up the owned table itself, before its
    /// socket closes: the next one installs at once, and the WAN stays
    /// closed by the shared table meanwhile.
    #[test]
    fn release_gives_up_the_owned_table_and_leaves_the_wan_closed() {
        let mut bed = bed("rl");
        bed.fence.release().unwrap();
        assert!(!bed.fenced.enter(|| Fence::open()?.table_present(OWNED_TABLE)).unwrap());
        assert!(bed.fenced.enter(|| Fence::open()?.table_present(TABLE)).unwrap());
        assert!(!can_ping(&bed), "the WAN opened when the owned table went");
        bed.fence.release().unwrap();
        // Still open: the next daemon's socket installs over it.
        bed.fenced.enter(|| Fence::open()?.install(&[wan("wa")])).unwrap();
    }

    #[test]
    fn ensure_puts_back_the_chains_of_a_device_that_came_back() {
        let mut bed = bed("dv");
        let devs = [wan("wa")];
        // Before Linux 6.16 deleting a device deletes its chains; a chain
        // deleted by hand stands in for that on newer kernels.
        bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        bed.fenced.ok("nft delete chain netdev vwrp out_wa");
        assert_eq!(ensure(&mut bed, &devs), Repaired { emptied: false, chains: true });
        assert_eq!(listed(&bed, TABLE).matches("ether saddr 02:00:00:00:00:01 accept").count(), 1);
        assert_eq!(listed(&bed, TABLE).matches("ether saddr 02:00:00:00:00:01 meta mark 0x76777270 accept").count(), 1);
        // Added in place: the permission survived.
        assert!(can_ping(&bed), "repairing a chain closed the WAN");

        // The device itself deleted and re-created: closed from its first
        // moment on this kernel, whatever ensure finds to do.
        bed.fenced.ok("ip link del wa");
        veth(&bed.fenced, "wa", &bed.peer, "wb");
        bed.fenced.ok("ip addr add 192.0.2.1/24 dev wa");
        bed.peer.ok("ip addr add 192.0.2.2/24 dev wb");
        bed.wa = bed.fenced.ifindex("wa");
        bed.wb = bed.peer.ifindex("wb");
        ensure(&mut bed, &devs);
        assert!(!can_ping(&bed), "a re-created device is open");
        assert!(!frame_passes(&bed, OTHER, true));
        assert!(frame_passes(&bed, VWRP, true));
        bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        assert!(can_ping(&bed), "the permission does not follow the new index");
    }

    #[test]
    fn a_missing_device_does_not_stop_the_others_being_fenced() {
        let mut bed = bed("ms");
        let devs = [wan("wa"), wan("nosuch0")];
        let Bed { fenced, fence, .. } = &mut bed;
        fenced.enter(|| fence.install(&devs)).unwrap();
        assert!(!can_ping(&bed));
        assert_eq!(ensure(&mut bed, &devs), Repaired::default());
        bed.fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        // The failed pings before left ARP retrying: a few tries under load.
        assert!((0..3).any(|_| can_ping(&bed)), "the present device cannot be opened");
    }

    #[test]
    fn refresh_cost_versus_nft_command() {
        let mut bed = bed("co");
        const N: u32 = 2000;
        let start = Instant::now();
        for _ in 0..N {
            bed.fence.refresh(bed.wa, Duration::from_millis(300)).unwrap();
        }
        let netlink = start.elapsed() / N;

        const M: u32 = 20;
        let spawned = bed.fenced.enter(|| {
            let start = Instant::now();
            for _ in 0..M {
                let ok = Command::new("nft")
                    .args(["add", "element", "netdev", TABLE, OPEN_SET, "{ \"wa\" timeout 300ms }"])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok);
            }
            start.elapsed() / M
        });
        const K: u32 = 200;
        let start = Instant::now();
        for _ in 0..K {
            ensure(&mut bed, &[wan("wa")]);
        }
        let check = start.elapsed() / K;
        println!(
            "refresh of both tables over netlink: {} µs; `nft add element`: {} µs; fence check: {} µs",
            netlink.as_micros(),
            spawned.as_micros(),
            check.as_micros()
        );
        assert!(netlink < spawned);
    }
}
