//! imstatus: a self-hosted user status (presence) system for instant messaging apps.
//!
//! Data flows one way: binding → ffi/jni → [`client`] → [`protocol`] → [`server`] → [`engine`],
//! and events come back the same road. Every rule of `behaviour.md` is decided in [`engine`].

pub mod client;
pub mod codes;
pub mod engine;
pub mod ffi;
/// cbindgen:ignore
#[cfg(feature = "jni")]
pub mod jni;
pub mod protocol;
pub mod server;
pub mod usersig;
