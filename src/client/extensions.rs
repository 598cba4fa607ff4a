//! Presence beyond V2TIM (docs/behaviour-extensions.md): a custom status that expires, appearing
//! offline, and who may see the user. New names beside V2TIM's; the server decides every rule
//! (X1–X14) and the client only carries the calls and the fields.

use std::time::Duration;

use crate::codes;
use crate::protocol::Request;

use super::command::Reply;
use super::types::ClientError;
use super::Client;

/// Who may see the user's status (X10). Beyond V2TIM. Read from the user's own status
/// ([`UserStatus::visibility`](super::UserStatus::visibility)); set with
/// [`Client::set_visibility`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum Visibility {
    /// Everyone who may see statuses at all (the default).
    #[default]
    Everyone = 0,
    /// Only the user's friends; everyone else sees the user as if appearing offline.
    Friends = 1,
    /// Nobody but the user's own devices.
    Nobody = 2,
    /// A value this SDK predates, sent by a newer server. Never accepted by
    /// [`Client::set_visibility`].
    Unknown = 3,
}

impl Visibility {
    /// The name on the wire (`everyone`, `friends`, `nobody`); `None` for [`Visibility::Unknown`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            Visibility::Everyone => Some("everyone"),
            Visibility::Friends => Some("friends"),
            Visibility::Nobody => Some("nobody"),
            Visibility::Unknown => None,
        }
    }

    /// Reads a wire name exactly (as the server does); anything else is `None`.
    pub fn from_name(name: &str) -> Option<Visibility> {
        [
            Visibility::Everyone,
            Visibility::Friends,
            Visibility::Nobody,
        ]
        .into_iter()
        .find(|v| v.name() == Some(name))
    }

    /// The value of a status's wire field: absent is the default, an unknown name is
    /// [`Visibility::Unknown`].
    pub(crate) fn from_wire(field: Option<&str>) -> Visibility {
        field.map_or(Visibility::Everyone, |name| {
            Visibility::from_name(name).unwrap_or(Visibility::Unknown)
        })
    }

    /// Maps an integer from a binding (the `#[repr(i32)]` values); anything else is `None`.
    pub fn from_i32(value: i32) -> Option<Visibility> {
        match value {
            0 => Some(Visibility::Everyone),
            1 => Some(Visibility::Friends),
            2 => Some(Visibility::Nobody),
            3 => Some(Visibility::Unknown),
            _ => None,
        }
    }
}

/// A duration in whole milliseconds for the wire; more than `u64::MAX` ms is `u64::MAX`, which
/// the server refuses like any expiry above its limit (X9).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Client {
    /// Sets (or with `None`/empty clears) the own custom status like
    /// [`set_self_status`](Self::set_self_status), and with `expire_after` has the server clear
    /// it that long afterwards, as an ordinary change every watcher sees (X9). Beyond V2TIM.
    /// Setting a status again replaces the expiry (`None`: none). The server refuses an expiry
    /// under one millisecond or over a year with 6017.
    pub fn set_self_status_expiring(
        &self,
        custom_status: Option<&str>,
        expire_after: Option<Duration>,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let reply = Reply::Done(self.completion(done));
        self.call(
            Request::SetSelfStatus {
                custom_status: custom_status.map(str::to_owned),
                expire_after_ms: expire_after.map(millis),
            },
            reply,
        );
    }

    /// Appears offline to everyone else, or stops (X6). Beyond V2TIM. Others then see the user
    /// OFFLINE (UNLOGINED if logged out), without a custom status, with the last-seen time frozen
    /// at this moment; the user's own devices keep seeing the truth, with
    /// [`UserStatus::invisible`](super::UserStatus::invisible) set. Kept across logouts.
    pub fn set_invisible(
        &self,
        on: bool,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let reply = Reply::Done(self.completion(done));
        self.call(Request::SetInvisible { on }, reply);
    }

    /// Sets who may see the user's status (X10). Beyond V2TIM. A watcher who may not sees exactly
    /// what they would see if the user appeared offline. [`Visibility::Unknown`] is refused with
    /// 6017 on the callback thread.
    pub fn set_visibility(
        &self,
        visibility: Visibility,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let Some(name) = visibility.name() else {
            let error = ClientError::new(
                codes::ERR_INVALID_PARAMETERS,
                "visibility must be everyone, friends or nobody",
            );
            return self.refuse(error, done);
        };
        let reply = Reply::Done(self.completion(done));
        self.call(
            Request::SetVisibility {
                visibility: name.to_owned(),
            },
            reply,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_unknowns() {
        for (v, name, value) in [
            (Visibility::Everyone, "everyone", 0),
            (Visibility::Friends, "friends", 1),
            (Visibility::Nobody, "nobody", 2),
        ] {
            assert_eq!(v.name(), Some(name));
            assert_eq!(Visibility::from_name(name), Some(v));
            assert_eq!(Visibility::from_i32(value), Some(v));
            assert_eq!(v as i32, value);
            assert_eq!(Visibility::from_wire(Some(name)), v);
        }
        assert_eq!(Visibility::from_wire(None), Visibility::Everyone);
        assert_eq!(Visibility::from_wire(Some("mutuals")), Visibility::Unknown);
        assert_eq!(Visibility::from_name("Friends"), None);
        assert_eq!(Visibility::Unknown.name(), None);
        assert_eq!(Visibility::from_i32(4), None);
        assert_eq!(Visibility::from_i32(-1), None);
        assert_eq!(millis(Duration::from_secs(90)), 90_000);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
