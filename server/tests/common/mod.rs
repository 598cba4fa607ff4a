//! Shared test helpers, from the crate itself.
#![allow(unused_imports)]

pub use imstatus_server::testing::*;

pub mod redis;
