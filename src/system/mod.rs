pub mod packet;
pub mod announce;
