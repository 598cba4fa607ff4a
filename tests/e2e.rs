//! The whole system over real TCP: a real server on its embedded store, real SDK clients, every
//! rule the issue lists (the suite is tests/e2e/suite.rs; tests/e2e_cluster.rs runs it on a
//! cluster).

mod common;

/// One server on its own.
fn start(apps: Vec<imstatus_server::engine::AppSettings>) -> common::TestServer {
    common::TestServer::start(apps)
}

include!("e2e/suite.rs");
