//! Shared state for a cluster of imstatus servers, kept in Redis (standalone or Redis Cluster).
//!
//! The engine calls the shared state synchronously from whatever thread runs an operation, so
//! the client here is a small blocking RESP2 client over std::net rather than an async one; and
//! it is our own rather than redis-rs because sharded pub/sub needs one SSUBSCRIBE per slot and
//! slot moves handled by us.

mod conn;
mod error;
pub mod pubsub;
pub mod redis;
pub mod resp;
mod script;
mod slots;
