//! vwrp: the Virtual WAN Redundancy Protocol.
//!
//! `wire` is the protocol's byte format, `engine` its election and handover
//! logic (pure: no I/O, no clock). The daemon around them is thin.

pub mod system;
pub mod time;
pub mod wire;
