//! The end-to-end suite of tests/e2e.rs (tests/e2e/suite.rs) against a cluster: three server
//! nodes on a real 3-master Redis Cluster started by the test, each SDK client connected to the
//! next node in turn, so that watchers and the users they watch sit on different nodes.

mod common;

/// Three nodes on a Redis Cluster.
fn start(apps: Vec<imstatus_server::engine::AppSettings>) -> common::TestServer {
    common::TestServer::start_cluster(apps)
}

include!("e2e/suite.rs");
