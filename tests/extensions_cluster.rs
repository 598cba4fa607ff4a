//! The presence extensions of tests/extensions.rs (tests/extensions/suite.rs) against a
//! cluster: three server nodes on a real 3-master Redis Cluster, clients spread over them.

mod common;

/// Three nodes on a Redis Cluster.
fn start(apps: Vec<imstatus_server::engine::AppSettings>) -> common::TestServer {
    common::TestServer::start_cluster(apps)
}

include!("extensions/suite.rs");
