//! The server's TOML configuration.

use std::path::{Path, PathBuf};

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
    /// Apps, each in an `[[app]]` table. With none, the embedded default app is created.
    #[serde(default, rename = "app")]
    pub apps: Vec<AppSettings>,
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
            apps: Vec::new(),
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
        let mut seen = std::collections::HashSet::new();
        for app in &config.apps {
            app.validate().map_err(|e| e.desc)?;
            if !seen.insert(app.sdk_app_id) {
                return Err(format!("app {} is configured twice", app.sdk_app_id));
            }
        }
        Ok(config)
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
        assert!(Config::from_toml("lisen = 1").is_err());
        assert!(Config::from_toml("[[app]]\nsdk_app_id = 0\nsecret_key = \"k\"").is_err());
    }
}
