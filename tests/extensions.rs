//! Presence beyond V2TIM through the Rust client, over real TCP against a real server: an
//! expiring custom status, appearing offline, who may see the user, and last seen
//! (docs/behaviour-extensions.md, X1–X14). The suite is tests/extensions/suite.rs;
//! tests/extensions_cluster.rs runs it on a cluster.

mod common;

/// One server on its own.
fn start(apps: Vec<imstatus_server::engine::AppSettings>) -> common::TestServer {
    common::TestServer::start(apps)
}

include!("extensions/suite.rs");
