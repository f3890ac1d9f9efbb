//! Shared test harness: the moto server, the wire-format replay client and test custodians.
#![allow(dead_code)]

pub mod custodian;
pub mod export;
pub mod moto;
pub mod replay;

#[allow(unused_imports)]
pub use custodian::*;
