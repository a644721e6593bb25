//! External trackers: set up or down over the control socket (`vwrp
//! tracker NAME up|down`, or ubus). They never probe: `Trackers::external`
//! passes each verdict on as it comes.

use std::time::Duration;

use super::{Begun, Context, Probe, RunCtx, Shared};
use crate::time::Instant;

pub struct External;

impl Probe for External {
    fn begin(&mut self, _now: Instant, _timeout: Duration, _ctx: &Context, _run: &mut RunCtx) -> Begun {
        Begun::Skipped
    }

    fn settled(&self, _state: Option<bool>, _shared: &Shared) -> bool {
        true
    }
}
