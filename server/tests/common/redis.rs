//! Real redis-server processes: the helpers live in the crate (`testing::redis`), so that the
//! SDK's tests can run a cluster too.
pub use imstatus_server::testing::redis::*;
