//! Several imstatus servers as one: a cluster whose shared state is kept in Redis (standalone
//! or Redis Cluster). See docs/cluster.md for the keys, the channels, the leases and the
//! failure model.
//!
//! The engine calls the shared state synchronously from whatever thread runs an operation, so
//! the client here is a small blocking RESP2 client over std::net rather than an async one; and
//! it is our own rather than redis-rs because sharded pub/sub needs one SSUBSCRIBE per slot and
//! slot moves handled by us.

pub mod authority;
mod conn;
mod error;
mod guarded;
pub mod keys;
pub mod lease;
pub mod listener;
pub mod node;
pub mod pubsub;
pub mod record;
pub mod redis;
pub mod resp;
mod script;
mod slots;
