//! The server's TOML configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::AppSettings;

/// Where `imstatus serve` listens for clients unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7800";
/// Where the admin HTTP API listens unless told otherwise.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:7801";
/// The sdkAppID of the embedded default app.
pub const DEFAULT_SDK_APP_ID: u32 = 1_400_000_000;

/// Everything `imstatus serve` can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address for SDK connections.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Address for the admin HTTP API; empty turns the API off.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: String,
    /// Bearer token the admin API requires; a random one is made (and printed) when absent.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Where what must outlive a restart is kept; `None` keeps everything in memory only.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Address for SDK connections over TLS; empty (the default) for none. Needs `tls_cert`
    /// and `tls_key`. The plaintext `listen` stays on unless set to "" (for loopback, or
    /// behind a proxy that terminates TLS).
    #[serde(default)]
    pub tls_listen: String,
    /// The certificate chain, leaf first, as a PEM file; read again on SIGHUP.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key, as a PEM file; read again on SIGHUP.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Whether the admin API speaks TLS too, with the same certificate.
    #[serde(default)]
    pub admin_tls: bool,
    /// Apps, each in an `[[app]]` table. With none, the embedded default app is created.
    #[serde(default, rename = "app")]
    pub apps: Vec<AppSettings>,
    /// How much the server lets each client hold of it: connections, queues, timeouts.
    #[serde(default)]
    pub limits: Limits,
    /// Runs this server as one node of a cluster on Redis, in the `[cluster]` table. Without
    /// it the server runs alone on its embedded store.
    #[serde(default)]
    pub cluster: Option<ClusterConfig>,
}

/// A cluster of nodes on one Redis or Redis Cluster, in the `[cluster]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://host:port` of a standalone Redis (or of one node of a Redis Cluster, found
    /// out by asking it), or a list of seed nodes of a Redis Cluster.
    #[serde(deserialize_with = "one_or_many")]
    pub redis: Vec<String>,
    /// How long a node's lease lasts unless renewed (every third of it): a node that died is
    /// found out, and its devices turned OFFLINE, within about 1⅓ of this.
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
}

impl ClusterConfig {
    /// A cluster on the Redis at `urls`, with the default lease.
    pub fn new(urls: Vec<String>) -> ClusterConfig {
        ClusterConfig {
            redis: urls,
            lease: default_lease(),
        }
    }
}

/// The lease of a node of a cluster unless configured: 15 s.
fn default_lease() -> Duration {
    Duration::from_secs(15)
}

/// A string, or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let urls = match OneOrMany::deserialize(d)? {
        OneOrMany::One(url) => vec![url],
        OneOrMany::Many(urls) => urls,
    };
    if urls.is_empty() {
        return Err(serde::de::Error::custom(
            "redis names no server: give redis://host:port, or a list of them",
        ));
    }
    Ok(urls)
}

/// Connection hygiene and bounded delivery, in the `[limits]` table. Every field has a default
/// that leaves well-behaved clients alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Connections the kernel queues for the SDK listener before they are accepted.
    pub listen_backlog: u32,
    /// Connections from one IP address that have not logged in yet; more are closed at once.
    pub max_unauthenticated_per_ip: u32,
    /// How long a connection may stay without logging in, counted from its accept (or its
    /// logout) whatever it sends meanwhile.
    #[serde(with = "humantime_serde")]
    pub login_timeout: Duration,
    /// Bytes waiting in one connection's outbox before it is closed as a slow consumer (a
    /// single reply, such as a large login snapshot, may be larger).
    pub outbox_max_bytes: usize,
    /// Replies and distinct users' pushes waiting in one outbox before it is closed.
    pub outbox_max_entries: usize,
    /// How long a write to a client may make no progress before the connection is closed (its
    /// device OFFLINE). Default: the app's heartbeat timeout (before login, the login deadline).
    #[serde(with = "humantime_serde")]
    pub write_stall_timeout: Option<Duration>,
    /// Heartbeats one connection may send per second, sustained; more are refused with 7008
    /// without reaching the engine. (Other requests are limited per user by the engine.)
    pub heartbeats_per_second: u32,
    /// Heartbeats one connection may send in a burst.
    pub heartbeat_burst: u32,
    /// Open connections to the admin API; more are closed at once.
    pub admin_max_connections: usize,
    /// How long the admin API waits for a request's headers, and for the next request on a
    /// kept-alive connection.
    #[serde(with = "humantime_serde")]
    pub admin_header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            listen_backlog: 4096,
            max_unauthenticated_per_ip: 256,
            login_timeout: Duration::from_secs(30),
            outbox_max_bytes: 512 * 1024,
            outbox_max_entries: 8192,
            write_stall_timeout: None,
            heartbeats_per_second: 4,
            heartbeat_burst: 10,
            admin_max_connections: 64,
            admin_header_timeout: Duration::from_secs(10),
        }
    }
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_string()
}
fn default_admin_listen() -> String {
    DEFAULT_ADMIN_LISTEN.to_string()
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: default_listen(),
            admin_listen: default_admin_listen(),
            admin_token: None,
            data_dir: None,
            tls_listen: String::new(),
            tls_cert: None,
            tls_key: None,
            admin_tls: false,
            apps: Vec::new(),
            limits: Limits::default(),
            cluster: None,
        }
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn from_file(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks a configuration.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check_tls()?;
        let limits = &config.limits;
        if limits.listen_backlog == 0
            || limits.max_unauthenticated_per_ip == 0
            || limits.login_timeout.is_zero()
            || limits.outbox_max_bytes == 0
            || limits.outbox_max_entries == 0
            || limits.heartbeats_per_second == 0
            || limits.heartbeat_burst == 0
            || limits.admin_max_connections == 0
            || limits.admin_header_timeout.is_zero()
            || limits.write_stall_timeout.is_some_and(|t| t.is_zero())
        {
            return Err("every [limits] value must be above zero".into());
        }
        let mut seen = std::collections::HashSet::new();
        for app in &config.apps {
            app.validate().map_err(|e| e.desc)?;
            if !seen.insert(app.sdk_app_id) {
                return Err(format!("app {} is configured twice", app.sdk_app_id));
            }
        }
        Ok(config)
    }

    /// Refuses a TLS setting that cannot work: a TLS listener (or TLS for the admin API)
    /// without both the certificate and the key, or those without anything that uses them.
    pub fn check_tls(&self) -> Result<(), String> {
        let wants = !self.tls_listen.is_empty() || self.admin_tls;
        let has = (self.tls_cert.is_some(), self.tls_key.is_some());
        match (wants, has) {
            (true, (true, true)) | (false, (false, false)) => Ok(()),
            (true, _) => Err("tls_listen and admin_tls need both tls_cert and tls_key".into()),
            (false, _) => Err(
                "tls_cert and tls_key are set but nothing uses them: set tls_listen or admin_tls"
                    .into(),
            ),
        }
    }

    /// The embedded default app: Ultimate with both switches on, so that every API works out of
    /// the box. Its key is made once and kept in the data directory.
    pub fn default_app(secret_key: String) -> AppSettings {
        let mut app = AppSettings::new(DEFAULT_SDK_APP_ID, secret_key);
        app.status_enabled = true;
        app.friend_status_notify = true;
        app
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let config = Config::from_toml(
            r#"
            listen = "127.0.0.1:9000"
            admin_token = "t"
            data_dir = "/tmp/x"
            [[app]]
            sdk_app_id = 7
            secret_key = "k"
            edition = "pro"
            status_enabled = true
            heartbeat_timeout = "1s"
            multi_device = "dual_platform"
            "#,
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000");
        assert_eq!(config.admin_listen, DEFAULT_ADMIN_LISTEN);
        assert_eq!(config.apps.len(), 1);
        assert_eq!(config.limits, Limits::default());
        assert!(Config::from_toml("tls_listen = \"127.0.0.1:1\"").is_err());
        assert!(Config::from_toml("tls_cert = \"c.pem\"\ntls_key = \"k.pem\"").is_err());
        let tls = Config::from_toml(
            "tls_listen = \"127.0.0.1:1\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"",
        )
        .unwrap();
        assert_eq!(tls.tls_cert.as_deref(), Some(Path::new("c.pem")));
        assert!(Config::from_toml("lisen = 1").is_err());
        let config = Config::from_toml(
            "[limits]\nlisten_backlog = 16\nwrite_stall_timeout = \"5s\"\noutbox_max_bytes = 4096",
        )
        .unwrap();
        assert_eq!(config.limits.listen_backlog, 16);
        assert_eq!(
            config.limits.write_stall_timeout,
            Some(Duration::from_secs(5))
        );
        assert_eq!(config.limits.outbox_max_entries, 8192);
        assert!(Config::from_toml("[limits]\nheartbeat_burst = 0").is_err());
        assert!(Config::from_toml("[limits]\nbacklog = 1").is_err());
        assert!(Config::from_toml("[[app]]\nsdk_app_id = 0\nsecret_key = \"k\"").is_err());
    }
}
