//! The imstatus SDK: a V2TIM-shaped user-status client for instant messaging apps.
//!
//! Data flows one way: a binding (C++, Java, Objective-C) → [`ffi`] or `jni` → [`client`] →
//! [`protocol`] → the server, and events come back the same road. The SDK carries no server
//! code: the server (and every rule of `behaviour.md`, decided in its engine) is the
//! `imstatus-server` crate in `server/`.
//!
//! Beyond V2TIM (`docs/behaviour-extensions.md`): last seen, appearing offline, a custom status
//! that expires and who may see the user, as new names on every face beside V2TIM's
//! ([`client::Client::set_self_status_expiring`], [`client::Client::set_invisible`],
//! [`client::Client::set_visibility`], the fields of [`client::UserStatus`]; `ims_client_set_*`
//! and `ims_status_*` in the C ABI).

pub mod client;
pub mod ffi;
/// cbindgen:ignore
#[cfg(feature = "jni")]
pub mod jni;
/// Counters of live objects for leak tests; public only with the feature `test-hooks`.
#[cfg(feature = "test-hooks")]
pub mod live;
#[cfg(not(feature = "test-hooks"))]
pub(crate) mod live;

/// The wire protocol the client speaks (the `imstatus-protocol` crate, shared with the server).
pub use imstatus_protocol as protocol;
/// V2TIM error codes, as every layer reports them.
pub use imstatus_protocol::codes;
