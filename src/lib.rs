//! vwrp: the Virtual WAN Redundancy Protocol.
//!
//! `wire` is the protocol's byte format, `engine` its election and handover
//! logic (pure: no I/O, no clock). `config` reads UCI, `system` talks to
//! the kernel, `daemon` is the thin event loop between them, `control` the
//! operator's socket, `rpcd` its ubus face on OpenWrt, `keygen` makes keys.

pub mod config;
pub mod control;
pub mod daemon;
pub mod engine;
pub mod json;
pub mod keygen;
pub mod rpcd;
pub mod system;
pub mod time;
pub mod tracker;
pub mod trap;
pub mod wire;
