//! Shared test helpers: the server crate's (a real server on port 0, UserSigs, a raw protocol
//! client), so that every SDK test runs against the real thing.
#![allow(unused_imports)]

pub use imstatus_server::testing::*;

pub mod tls;
