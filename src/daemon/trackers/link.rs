//! Link trackers: the carrier of a device, as rtnetlink reports it. A
//! carrier change counts as a result at once; until the tracker's state
//! follows it, the carrier is counted again every interval.

use std::time::Duration;

use super::{Begun, Context, Probe, RunCtx, Shared};
use crate::json;
use crate::system::rtnl;
use crate::time::Instant;

pub struct Link {
    device: String,
}

impl Link {
    pub fn new(device: &str) -> Link {
        Link { device: device.to_string() }
    }
}

impl Probe for Link {
    /// The carrier known now is the result; a device that does not exist
    /// (not in the link dump) is down. Skipped while nothing is known yet.
    fn begin(&mut self, _now: Instant, _timeout: Duration, _ctx: &Context, run: &mut RunCtx) -> Begun {
        let carriers = &mut run.shared.carriers;
        let absent = || rtnl::ifindex(&self.device).is_err_and(|e| e.raw_os_error() == Some(nix::libc::ENODEV));
        if carriers.get(&self.device).is_none() && absent() {
            carriers.insert(&self.device, false);
        }
        carriers.get(&self.device).map_or(Begun::Skipped, Begun::Decided)
    }

    /// Sampled only until the state agrees with the carrier; the next
    /// change comes as an event.
    fn settled(&self, state: Option<bool>, shared: &Shared) -> bool {
        shared.carriers.get(&self.device).is_none_or(|c| state == Some(c))
    }

    fn watches(&self, device: &str) -> bool {
        self.device == device
    }

    fn status(&self, j: &mut json::Writer) -> Option<&str> {
        j.key("device").str(&self.device);
        None
    }
}
