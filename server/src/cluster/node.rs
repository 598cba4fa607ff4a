//! This server as one node of a cluster: connected to Redis, registered under an incarnation,
//! listening for the changes its connections care about, holding its lease.

use std::sync::{Arc, Weak};

use super::authority::RedisAuthority;
use super::lease::{self, Lease};
use super::listener::Bridge;
use super::pubsub::Subscriber;
use super::redis::Redis;
use crate::config::ClusterConfig;
use crate::hub::Hub;

/// A node of a cluster, from its start to its leave.
pub struct Node {
    /// The cluster's shared state, as the engine and the store.
    pub authority: Arc<RedisAuthority>,
    lease: Arc<Lease>,
}

impl Node {
    /// Connects to Redis and registers this node. Blocks (it waits out a Redis that is still
    /// starting); call it off the runtime's workers.
    pub fn join(config: &ClusterConfig) -> Result<Node, String> {
        let redis = Arc::new(
            Redis::connect(&config.redis)
                .map_err(|e| format!("cannot connect to Redis {:?}: {e}", config.redis))?,
        );
        let incarnation = lease::register(&redis, config.lease)?;
        let authority = Arc::new(RedisAuthority::new(redis, incarnation));
        let lease = Lease::new(authority.clone(), config.lease);
        tracing::info!(
            incarnation,
            cluster = authority.redis().is_cluster(),
            "joined the cluster"
        );
        Ok(Node { authority, lease })
    }

    /// This node's incarnation.
    pub fn incarnation(&self) -> u64 {
        use crate::engine::Authority;
        self.authority.incarnation()
    }

    /// Starts listening for changes and keeping the lease, for the node of `hub`.
    pub fn serve(&self, hub: &Arc<Hub>) {
        let weak: Weak<Hub> = Arc::downgrade(hub);
        let subscriber = Subscriber::start(
            self.authority.redis().clone(),
            Arc::new(Bridge::new(weak.clone())),
        );
        self.authority.listen(subscriber);
        self.lease.spawn(weak);
    }

    /// Leaves the cluster at shutdown, once the node's connections are closed.
    pub fn leave(&self) {
        self.lease.leave();
    }
}
