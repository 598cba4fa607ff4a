//! Who sees what of a user (X4, X5, X10–X12): the user's own devices see the truth and the
//! user's switches; a watcher who may see the user sees the truth, or the hidden view while the
//! user is invisible; a watcher who may not sees the hidden view. Decided here once for every
//! path: query answers, subscribe answers, login snapshots, pushes and the admin query.
//!
//! A hidden view shows a last seen frozen when the reason to hide began (a [`Freeze`]), and a
//! version that moves only when that view changes, so that watching or polling it reveals
//! nothing of what the user does meanwhile (X12).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::admin::{DeviceDetail, OnlineState};
use super::fanout::Watch;
use super::store::{Freeze, Store, UserRecord};
use super::types::{ConnId, Millis, SelfState, StatusType, UserKey, UserStatus, Visibility};
use super::Engine;

/// Which view of a user an audience sees (X4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ViewKind {
    /// The user's own devices: the truth, and the user's switches.
    Own,
    /// A watcher who may see a visible user: the truth.
    Truth,
    /// A watcher who may see an invisible user: the hidden view, with the invisible freeze.
    Invisible,
    /// A watcher who may not see the user: the hidden view, with the visibility freeze.
    Restricted,
}

/// Who asks for a view.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Viewer<'a> {
    /// A user of the same app (the user themself included).
    User(&'a str),
    /// The app's backend, through the admin API (X8): an allowed watcher.
    Backend,
}

/// What a change of a view is about: all of it but its version and its online devices (a
/// second device coming online is no change, N1; a hidden view has none anyway).
#[derive(Debug, PartialEq, Eq)]
struct Content<'a> {
    status_type: StatusType,
    custom: &'a str,
    last_seen: Option<Millis>,
    own: Option<SelfState>,
}

impl UserRecord {
    /// The user's switches, when one of them is not the default (X4).
    pub fn self_state(&self) -> Option<SelfState> {
        self.hides().then_some(SelfState {
            invisible: self.invisible,
            visibility: self.visibility,
        })
    }

    /// What the user's own devices see: the truth and the switches (X4).
    pub fn own_status(&self, user_id: &str) -> UserStatus {
        UserStatus {
            own: self.self_state(),
            ..self.status(user_id)
        }
    }

    /// The status type of the hidden view: OFFLINE while any device is logged in, else
    /// UNLOGINED (X5).
    fn hidden_type(&self) -> StatusType {
        if self.devices.is_empty() {
            StatusType::Unlogined
        } else {
            StatusType::Offline
        }
    }

    fn freeze(&self, kind: ViewKind) -> Option<&Freeze> {
        match kind {
            ViewKind::Invisible => self.invisible_freeze.as_ref(),
            ViewKind::Restricted => self.visibility_freeze.as_ref(),
            ViewKind::Own | ViewKind::Truth => None,
        }
    }

    fn freeze_mut(&mut self, kind: ViewKind) -> Option<&mut Freeze> {
        match kind {
            ViewKind::Invisible => self.invisible_freeze.as_mut(),
            ViewKind::Restricted => self.visibility_freeze.as_mut(),
            ViewKind::Own | ViewKind::Truth => None,
        }
    }

    /// The view of kind `kind`.
    pub(crate) fn view(&self, user_id: &str, kind: ViewKind) -> UserStatus {
        match kind {
            ViewKind::Own => self.own_status(user_id),
            ViewKind::Truth => self.status(user_id),
            ViewKind::Invisible | ViewKind::Restricted => {
                let freeze = self.freeze(kind).copied().unwrap_or_default();
                UserStatus {
                    user_id: user_id.to_string(),
                    status_type: self.hidden_type(),
                    custom_status: String::new(),
                    online_devices: Vec::new(),
                    version: freeze.version,
                    last_seen: freeze.last_seen,
                    own: None,
                }
            }
        }
    }

    fn content(&self, kind: ViewKind) -> Content<'_> {
        match kind {
            ViewKind::Own | ViewKind::Truth => Content {
                status_type: self.status_type(),
                custom: &self.custom_status,
                last_seen: self.shown_last_seen(),
                own: if kind == ViewKind::Own {
                    self.self_state()
                } else {
                    None
                },
            },
            ViewKind::Invisible | ViewKind::Restricted => Content {
                status_type: self.hidden_type(),
                custom: "",
                last_seen: self.freeze(kind).and_then(|f| f.last_seen),
                own: None,
            },
        }
    }

    fn version_of(&self, kind: ViewKind) -> u64 {
        self.freeze(kind).map_or(self.version, |f| f.version)
    }

    /// The view a watcher other than the user gets: `allowed` says whether they may see the
    /// user (X10).
    pub(crate) fn watcher_kind(&self, allowed: bool) -> ViewKind {
        if !allowed && self.visibility_freeze.is_some() {
            ViewKind::Restricted
        } else if self.invisible_freeze.is_some() {
            ViewKind::Invisible
        } else {
            ViewKind::Truth
        }
    }

    /// The last seen allowed watchers were shown at `now`.
    fn allowed_last_seen(&self, now: Millis) -> Option<Millis> {
        match &self.invisible_freeze {
            Some(f) => f.last_seen,
            None if self.status_type() == StatusType::Online => Some(now),
            None => self.last_seen,
        }
    }
}

/// Whether `watcher` may see a user with `visibility` whose own friend list is `friends` (X10).
fn may_see(visibility: Visibility, friends: Option<&[String]>, watcher: &str) -> bool {
    match visibility {
        Visibility::Everyone => true,
        Visibility::Friends => friends.is_some_and(|f| f.iter().any(|f| f == watcher)),
        Visibility::Nobody => false,
    }
}

/// Starts and ends the freezes of `after` as its switches say, from what watchers were shown
/// at `now` by `before` (X6, X10): switching invisible on freezes what allowed watchers saw;
/// narrowing the visibility from everyone freezes what they saw (the invisible freeze, while
/// invisible); narrowing it further keeps the freeze it has (stale is fine, newer would leak).
/// A freeze ends with its reason. The versions are set by [`Engine::publish`].
pub(crate) fn refreeze(before: &UserRecord, after: &mut UserRecord, now: Millis) {
    let allowed_saw = before.allowed_last_seen(now);
    if !after.invisible {
        after.invisible_freeze = None;
    } else if after.invisible_freeze.is_none() {
        after.invisible_freeze = Some(Freeze {
            last_seen: allowed_saw,
            version: 0,
        });
    }
    if after.visibility == Visibility::Everyone {
        after.visibility_freeze = None;
    } else if after.visibility_freeze.is_none() {
        after.visibility_freeze = Some(Freeze {
            last_seen: allowed_saw,
            version: 0,
        });
    }
}

impl<S: Store> Engine<S> {
    /// The view `viewer` gets of `key`, whose record is `record` (X4). Called holding `key`'s
    /// lock (it may read `key`'s friends).
    pub(crate) fn view_for(
        &self,
        key: &UserKey,
        record: &UserRecord,
        viewer: Viewer<'_>,
    ) -> UserStatus {
        let kind = match viewer {
            Viewer::User(w) if w == &*key.user => ViewKind::Own,
            Viewer::User(w) => {
                let friends =
                    (record.visibility == Visibility::Friends).then(|| self.store.friends_of(key));
                record.watcher_kind(may_see(record.visibility, friends.as_deref(), w))
            }
            Viewer::Backend => record.watcher_kind(true),
        };
        record.view(&key.user, kind)
    }

    /// The status of `key` as `watcher` (a user of the same app) sees it (X4): what a query by
    /// `watcher` would answer.
    pub fn status_seen_by(&self, key: &UserKey, watcher: &str) -> UserStatus {
        let mut shard = self.lock_user(key);
        match self.existing(&mut shard, key) {
            Some(record) => self.view_for(key, record, Viewer::User(watcher)),
            None => self.unknown(&key.user),
        }
    }

    /// What the app's backend sees of a user through the admin API (X8): an allowed watcher's
    /// view, and each logged-in device (every one OFFLINE in the hidden view).
    pub fn status_for_backend(&self, key: &UserKey) -> (UserStatus, Vec<DeviceDetail>) {
        let mut shard = self.lock_user(key);
        let Some(record) = self.existing(&mut shard, key) else {
            return (self.unknown(&key.user), Vec::new());
        };
        let status = self.view_for(key, record, Viewer::Backend);
        let mut details = record.device_details();
        if record.invisible {
            for d in &mut details {
                d.state = OnlineState::PushOnline;
            }
        }
        (status, details)
    }

    /// Sets the versions of `after`'s views and answers which audience hears what of the
    /// change from `before` (X4, X7, X11, X12), for a user who hides something before or
    /// after. Every change goes out with the version `fresh`, above any this user's views ever
    /// carried. A view's stored version moves to `fresh` only when that view changes, so a
    /// hidden view's version reveals nothing; a watcher moved to another view by a change of
    /// who may see (X11) is pushed its new view with `fresh` even where the view keeps its
    /// older version. `friends_before` is the user's friend list before this change, when it
    /// changed (the store holds the new one). Called holding `key`'s lock.
    pub(crate) fn publish(
        &self,
        key: &UserKey,
        before: &UserRecord,
        after: &mut UserRecord,
        fresh: u64,
        friends_before: Option<&[String]>,
    ) -> Vec<(UserStatus, Vec<ConnId>)> {
        use ViewKind::*;
        let mut issued = false;
        let own_changed = before.content(Own) != after.content(Own);
        if own_changed || before.content(Truth) != after.content(Truth) {
            issued = true;
        }
        for kind in [Invisible, Restricted] {
            let version = match (before.freeze(kind), after.freeze(kind)) {
                (_, None) => continue,
                (Some(was), Some(_)) if before.content(kind) == after.content(kind) => was.version,
                (Some(_), Some(_)) => fresh,
                (None, Some(_)) => {
                    // Its watchers saw the allowed view until now: the same content keeps the
                    // same version.
                    let from = before.watcher_kind(true);
                    if before.content(from) == after.content(kind) {
                        before.version_of(from)
                    } else {
                        fresh
                    }
                }
            };
            issued |= version == fresh;
            if let Some(freeze) = after.freeze_mut(kind) {
                freeze.version = version;
            }
        }
        if issued {
            after.version = fresh;
        }

        let mut out: Vec<(UserStatus, Vec<ConnId>)> = Vec::new();
        if own_changed {
            out.push((after.view(&key.user, Own), self.fanout.local(key)));
        }
        let watchers = self.watchers_of(key);
        if !watchers.is_empty() {
            let friends_now = (before.visibility == Visibility::Friends
                || after.visibility == Visibility::Friends)
                .then(|| self.store.friends_of(key));
            let friends_then = friends_before.or(friends_now.as_deref());
            let mut groups: BTreeMap<(ViewKind, ViewKind), Vec<ConnId>> = BTreeMap::new();
            for watcher in &watchers {
                let was = before.watcher_kind(may_see(before.visibility, friends_then, watcher));
                let now =
                    after.watcher_kind(may_see(after.visibility, friends_now.as_deref(), watcher));
                if before.content(was) == after.content(now) {
                    continue;
                }
                let conns = groups.entry((was, now)).or_default();
                self.fanout
                    .local_into(&UserKey::new(key.app, watcher.clone()), conns);
            }
            for ((_, kind), mut conns) in groups {
                if conns.is_empty() {
                    continue;
                }
                conns.sort_unstable();
                conns.dedup();
                let mut status = after.view(&key.user, kind);
                // A watcher that moved to this view may hold a version above the view's own.
                status.version = fresh;
                issued = true;
                out.push((status, conns));
            }
        }
        if issued {
            after.version = fresh;
            for (status, _) in &mut out {
                status.version = fresh;
            }
        }
        merge_equal(out)
    }

    /// Everyone whose connections receive `key`'s changes besides `key`'s own (N1), in ID
    /// order, each once.
    fn watchers_of(&self, key: &UserKey) -> Vec<Arc<str>> {
        let Some(app) = self.app_opt(key.app) else {
            return Vec::new();
        };
        let mut watchers = Vec::new();
        if app.subscriptions_active() {
            watchers.extend(self.fanout.watchers(key, Watch::Subscription));
        }
        if app.friend_status_notify {
            watchers.extend(self.fanout.watchers(key, Watch::Friend));
        }
        watchers.sort_unstable();
        watchers.dedup();
        watchers.retain(|w| *w != key.user);
        watchers
    }
}

/// One delivery per distinct status: audiences that see the same thing hear it as one change
/// (X7), each connection once (N2).
fn merge_equal(out: Vec<(UserStatus, Vec<ConnId>)>) -> Vec<(UserStatus, Vec<ConnId>)> {
    let mut merged: Vec<(UserStatus, Vec<ConnId>)> = Vec::with_capacity(out.len());
    for (status, conns) in out {
        match merged.iter_mut().find(|(s, _)| *s == status) {
            Some((_, to)) => {
                to.extend(conns);
                to.sort_unstable();
                to.dedup();
            }
            None => merged.push((status, conns)),
        }
    }
    merged
}

impl UserRecord {
    /// Each logged-in device, ONLINE or not, by platform.
    pub(crate) fn device_details(&self) -> Vec<DeviceDetail> {
        let mut details: Vec<DeviceDetail> = self
            .devices
            .values()
            .map(|d| DeviceDetail {
                platform: d.platform,
                state: if d.online {
                    OnlineState::Online
                } else {
                    OnlineState::PushOnline
                },
            })
            .collect();
        details.sort_by_key(|d| d.platform);
        details
    }
}
