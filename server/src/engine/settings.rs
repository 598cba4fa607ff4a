//! Per-app console settings (I1, F2), with the seed's defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use super::types::Platform;

/// The app's purchased edition. Querying others and subscribing need [`Edition::Ultimate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    Basic,
    Pro,
    Ultimate,
}

/// Which platforms may be logged in at the same time (the console's multi-device policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiDevicePolicy {
    /// One device of any platform.
    SinglePlatform,
    /// One native device (any platform but Web) plus Web.
    DualPlatform,
    /// One mobile (Android, iPhone, iPad), one desktop (Windows, Mac, Linux), plus Web.
    ThreePlatform,
    /// Every platform at once.
    MultiPlatform,
}

impl MultiDevicePolicy {
    /// Whether a device on `existing` must make way when one on `new` logs in (apart from the
    /// per-platform instance limit).
    pub fn conflicts(self, new: Platform, existing: Platform) -> bool {
        match self {
            MultiDevicePolicy::SinglePlatform => true,
            MultiDevicePolicy::DualPlatform => {
                (new == Platform::Web) == (existing == Platform::Web) && new != existing
            }
            MultiDevicePolicy::ThreePlatform => group(new) == group(existing) && new != existing,
            MultiDevicePolicy::MultiPlatform => false,
        }
    }
}

fn group(p: Platform) -> u8 {
    match p {
        Platform::Android | Platform::IPhone | Platform::IPad => 0,
        Platform::Windows | Platform::Mac | Platform::Linux => 1,
        Platform::Web => 2,
    }
}

/// A rate limit: at most `calls` accepted calls in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub calls: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl Default for RateLimit {
    /// 20 calls per 5 seconds (Q4, S3).
    fn default() -> RateLimit {
        RateLimit {
            calls: 20,
            window: Duration::from_secs(5),
        }
    }
}

/// One app's settings. Every field but `sdk_app_id` and `secret_key` has the seed's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    pub sdk_app_id: u32,
    pub secret_key: String,
    /// Self-hosting has nothing to purchase, so the default is the edition with every API.
    #[serde(default = "default_edition")]
    pub edition: Edition,
    /// The console switch "user status query and status change notification" (Q2, S1); off by
    /// default as in the console.
    #[serde(default)]
    pub status_enabled: bool,
    /// The console switch "friend status notification" (N1); off by default as in the console.
    #[serde(default)]
    pub friend_status_notify: bool,
    /// Silence after which a connection is taken as dead (D2).
    #[serde(default = "default_heartbeat_timeout", with = "humantime_serde")]
    pub heartbeat_timeout: Duration,
    /// Subscriptions a user may hold before the earliest is evicted (S5).
    #[serde(default = "default_subscription_limit")]
    pub subscription_limit: u32,
    /// IDs per getUserStatus call (Q3).
    #[serde(default = "default_query_batch_limit")]
    pub query_batch_limit: u32,
    /// IDs per subscribe/unsubscribe call (S2).
    #[serde(default = "default_subscribe_batch_limit")]
    pub subscribe_batch_limit: u32,
    /// getUserStatus calls that include other users (Q4).
    #[serde(default)]
    pub query_rate: RateLimit,
    /// subscribeUserStatus calls (S3).
    #[serde(default)]
    pub subscribe_rate: RateLimit,
    /// unsubscribeUserStatus calls (S3).
    #[serde(default)]
    pub unsubscribe_rate: RateLimit,
    /// setSelfStatus calls: not a V2TIM limit (C2 has none) but an abuse cap (ours), far above
    /// what a person does, so that one client cannot flood every watcher.
    #[serde(default = "default_set_status_rate")]
    pub set_status_rate: RateLimit,
    /// How long an OFFLINE device stays logged in (L5).
    #[serde(default = "default_offline_retention", with = "humantime_serde")]
    pub offline_retention: Duration,
    /// How long subscriptions outlive their owner being away (S7).
    #[serde(default = "default_subscription_retention", with = "humantime_serde")]
    pub subscription_retention: Duration,
    /// Which platforms may be logged in together.
    #[serde(default = "default_multi_device")]
    pub multi_device: MultiDevicePolicy,
    /// Devices per platform before the earliest is kicked (L2).
    #[serde(default = "default_instances_per_platform")]
    pub max_instances_per_platform: u32,
    /// Where Tencent's state-change callback (`State.StateChange`) goes, `http://` or
    /// `https://`; empty turns it off (the default).
    #[serde(default)]
    pub state_change_callback_url: String,
    /// The key of the callback's HMAC-SHA256 signature header; empty signs with `secret_key`
    /// (which the app's backend has anyway, to make UserSigs).
    #[serde(default)]
    pub state_change_callback_secret: String,
}

fn default_set_status_rate() -> RateLimit {
    RateLimit {
        calls: 10,
        window: Duration::from_secs(1),
    }
}
fn default_edition() -> Edition {
    Edition::Ultimate
}
fn default_heartbeat_timeout() -> Duration {
    Duration::from_secs(400)
}
fn default_subscription_limit() -> u32 {
    200
}
fn default_query_batch_limit() -> u32 {
    500
}
fn default_subscribe_batch_limit() -> u32 {
    100
}
fn default_offline_retention() -> Duration {
    Duration::from_secs(7 * 86400)
}
fn default_subscription_retention() -> Duration {
    Duration::from_secs(86400)
}
fn default_multi_device() -> MultiDevicePolicy {
    MultiDevicePolicy::MultiPlatform
}
fn default_instances_per_platform() -> u32 {
    1
}

impl AppSettings {
    /// An app with every setting at its default.
    pub fn new(sdk_app_id: u32, secret_key: impl Into<String>) -> AppSettings {
        AppSettings {
            sdk_app_id,
            secret_key: secret_key.into(),
            edition: default_edition(),
            status_enabled: false,
            friend_status_notify: false,
            heartbeat_timeout: default_heartbeat_timeout(),
            subscription_limit: default_subscription_limit(),
            query_batch_limit: default_query_batch_limit(),
            subscribe_batch_limit: default_subscribe_batch_limit(),
            query_rate: RateLimit::default(),
            subscribe_rate: RateLimit::default(),
            unsubscribe_rate: RateLimit::default(),
            set_status_rate: default_set_status_rate(),
            offline_retention: default_offline_retention(),
            subscription_retention: default_subscription_retention(),
            multi_device: default_multi_device(),
            max_instances_per_platform: default_instances_per_platform(),
            state_change_callback_url: String::new(),
            state_change_callback_secret: String::new(),
        }
    }

    /// The key the state-change callback is signed with.
    pub fn callback_secret(&self) -> &str {
        if self.state_change_callback_secret.is_empty() {
            &self.secret_key
        } else {
            &self.state_change_callback_secret
        }
    }

    /// Every call limit of the app.
    pub fn rate_limits(&self) -> [RateLimit; 4] {
        [
            self.query_rate,
            self.subscribe_rate,
            self.unsubscribe_rate,
            self.set_status_rate,
        ]
    }

    /// Refuses settings that cannot work, saying which field is wrong.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |what: &str| {
            Err(EngineError::invalid(format!(
                "app {}: {what}",
                self.sdk_app_id
            )))
        };
        if self.sdk_app_id == 0 {
            return bad("sdk_app_id must not be 0");
        }
        if self.secret_key.is_empty() {
            return bad("secret_key must not be empty");
        }
        if self.heartbeat_timeout.is_zero() {
            return bad("heartbeat_timeout must be above zero");
        }
        if self.subscription_limit == 0
            || self.query_batch_limit == 0
            || self.subscribe_batch_limit == 0
        {
            return bad("subscription and batch limits must be above zero");
        }
        if self.max_instances_per_platform == 0 {
            return bad("max_instances_per_platform must be above zero");
        }
        let url = &self.state_change_callback_url;
        if !url.is_empty() {
            let Some(rest) = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"))
            else {
                return bad("state_change_callback_url must start with http:// or https://");
            };
            if rest
                .split(['/', '?', '#'])
                .next()
                .unwrap_or_default()
                .is_empty()
            {
                return bad("state_change_callback_url has no host");
            }
        }
        if url.len() > 2048 || url.chars().any(char::is_control) {
            return bad("state_change_callback_url must be a URL of at most 2048 bytes");
        }
        for rate in self.rate_limits() {
            if rate.calls == 0 || rate.window.is_zero() {
                return bad("rate limits need calls and a window above zero");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_defaults_are_the_seeds() {
        let app: AppSettings = toml::from_str("sdk_app_id = 1\nsecret_key = \"k\"").unwrap();
        assert_eq!(app, AppSettings::new(1, "k"));
        assert_eq!(app.heartbeat_timeout, Duration::from_secs(400));
        assert_eq!(
            app.query_rate,
            RateLimit {
                calls: 20,
                window: Duration::from_secs(5)
            }
        );
        let app: AppSettings = toml::from_str(
            "sdk_app_id = 1\nsecret_key = \"k\"\nedition = \"basic\"\nheartbeat_timeout = \"1s\"\nquery_rate = { calls = 3, window = \"2s\" }",
        )
        .unwrap();
        assert_eq!(app.edition, Edition::Basic);
        assert_eq!(app.heartbeat_timeout, Duration::from_secs(1));
        assert_eq!(app.query_rate.calls, 3);
        assert!(
            toml::from_str::<AppSettings>("sdk_app_id = 1\nsecret_key = \"k\"\ntypo = 1").is_err()
        );
    }

    #[test]
    fn a_callback_url_is_http_or_https_with_a_host() {
        let with = |url: &str| AppSettings {
            state_change_callback_url: url.into(),
            ..AppSettings::new(1, "k")
        };
        assert!(with("").validate().is_ok());
        assert!(with("https://backend.example/im?x=1").validate().is_ok());
        assert!(with("http://10.0.0.1:8080").validate().is_ok());
        for bad in [
            "ftp://x",
            "backend.example",
            "https://",
            "http:///path",
            "https://a\nb",
        ] {
            assert!(with(bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn multi_device_policies() {
        use Platform::*;
        assert!(MultiDevicePolicy::SinglePlatform.conflicts(Web, Android));
        assert!(MultiDevicePolicy::DualPlatform.conflicts(Windows, Android));
        assert!(!MultiDevicePolicy::DualPlatform.conflicts(Web, Android));
        assert!(MultiDevicePolicy::ThreePlatform.conflicts(IPhone, Android));
        assert!(!MultiDevicePolicy::ThreePlatform.conflicts(Mac, Android));
        assert!(!MultiDevicePolicy::MultiPlatform.conflicts(Mac, Windows));
    }
}
