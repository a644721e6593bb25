//! Arping trackers: one ARP request per round, on the WAN, from the
//! leased address and the shared MAC; up when the target answers with an
//! ARP reply before the timeout. The default target is the lease's
//! gateway: the first hop every packet takes.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::ping::deregister;
use super::{Begun, Context, Probe, RunCtx};
use crate::json;
use crate::system::packet::{PacketSocket, PacketType};
use crate::time::Instant;
use crate::wire::arp::{self, Operation};
use crate::wire::ethertype;

/// The sender's IPv4 address of an Ethernet/IPv4 ARP reply.
fn reply_sender(frame: &[u8]) -> Option<Ipv4Addr> {
    arp::Repr::from_frame(frame).filter(|r| r.operation == Operation::Reply).map(|r| r.sender_ip)
}

struct Round {
    target: Ipv4Addr,
    end: Instant,
    answered: bool,
}

pub struct Arping {
    target: Option<Ipv4Addr>,
    /// Receives every ARP frame on the WAN while the tracker runs, and
    /// sends the requests.
    sock: Option<PacketSocket>,
    round: Option<Round>,
    pub error: Option<String>,
}

impl Arping {
    pub fn new(target: Option<Ipv4Addr>) -> Arping {
        Arping { target, sock: None, round: None, error: None }
    }
}

impl Probe for Arping {
    /// Sends the round's request on the WAN, from the shared MAC and the
    /// leased address (0.0.0.0, an RFC 5227 probe, without one). Skipped
    /// when there is nobody to ask: no target configured and no lease.
    fn begin(&mut self, now: Instant, timeout: Duration, ctx: &Context, run: &mut RunCtx) -> Begun {
        let g = ctx.group;
        let lease = g.applied.as_ref();
        let gateway = lease.map(|l| l.gateway).filter(|a| !a.is_unspecified());
        let Some(target) = self.target.or(gateway) else { return Begun::Skipped };
        if self.sock.is_none() {
            let opened = PacketSocket::open(g.wan.ifindex, ethertype::ARP).and_then(|s| {
                run.reg.register(&mut SourceFd(&s.as_raw_fd()), Token(run.token), Interest::READABLE)?;
                Ok(s)
            });
            match opened {
                Ok(s) => self.sock = Some(s),
                Err(e) => {
                    let msg = format!("ARP socket: {e}");
                    if self.error.as_deref() != Some(msg.as_str()) {
                        crate::logging::warn!("{msg}");
                    }
                    self.error = Some(msg);
                }
            }
        }
        let address = lease.map_or(Ipv4Addr::UNSPECIFIED, |l| l.address);
        let request = arp::Repr::request(g.engine.settings().shared_mac, address, target).frame();
        if let Some(Err(e)) = self.sock.as_ref().map(|s| s.send(&request)) {
            crate::logging::debug!("arping {target}: {e}");
        }
        self.round = Some(Round { target, end: now.plus(timeout), answered: false });
        Begun::Started
    }

    /// Reads the ARP frames waiting.
    fn readable(&mut self, _sub: usize) {
        let Some(sock) = &self.sock else { return };
        let mut buf = [0u8; 128];
        loop {
            match sock.recv(&mut buf) {
                Ok(Some((_, PacketType::Outgoing))) => {}
                Ok(Some((n, _))) => {
                    let sender = reply_sender(buf.get(..n).unwrap_or(&buf));
                    if let Some(r) = self.round.as_mut().filter(|r| sender == Some(r.target)) {
                        r.answered = true;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    crate::logging::debug!("ARP receive: {e}");
                    return;
                }
            }
        }
    }

    /// The round's outcome once decided.
    fn poll(&mut self, now: Instant) -> Option<bool> {
        let r = self.round.as_ref()?;
        let outcome = if r.answered {
            true
        } else if now >= r.end {
            false
        } else {
            return None;
        };
        if outcome {
            self.error = None;
        }
        self.round = None;
        Some(outcome)
    }

    fn deadline(&self) -> Option<Instant> {
        self.round.as_ref().map(|r| r.end)
    }

    /// Closes the socket: a standby's tracker must not read the WAN.
    fn stop(&mut self, reg: &Registry) {
        if let Some(s) = self.sock.take() {
            deregister(reg, &s);
        }
        self.round = None;
    }

    fn status(&self, _j: &mut json::Writer) -> Option<&str> {
        self.error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::wire::Mac;

    const GW: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
    const ME: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

    #[test]
    fn only_a_reply_names_its_sender() {
        let request = arp::Repr::request(Mac([2, 0, 0, 0, 0, 1]), GW, ME);
        assert_eq!(reply_sender(&request.frame()), None, "a request is no answer");
        let reply = arp::Repr { operation: Operation::Reply, target_mac: Mac([2, 0, 0, 0, 0, 9]), ..request };
        assert_eq!(reply_sender(&reply.frame()), Some(GW));
    }
}
