pub mod packet;
pub mod announce;
pub mod dhcp;
