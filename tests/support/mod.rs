//! Shared test harness: the moto server and the wire-format replay client.
#![allow(dead_code)]

pub mod moto;
pub mod replay;
