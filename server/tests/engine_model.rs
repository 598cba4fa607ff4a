//! The engine against a naive reference model of `behaviour.md`, over long random sequences of
//! operations in a small world: one app, a few users, conns, platforms and device IDs, a short
//! heartbeat timeout and short retentions, so that kicks, reconnects, timeouts and expiries all
//! happen often.
//!
//! The model is written from the rules, with plain data structures (a Vec of devices per user,
//! a Vec of subscriptions, a set of friend pairs) and without calling into the engine. After
//! every operation the test compares: the operation's answer (or error code); every user's
//! status, devices, subscriptions and friends; the closes the engine asks for; and what each
//! connection was pushed, per user and in order (N1, N2, N3, C4), in the view of that
//! connection's audience (X4).
//!
//! The extensions of `docs/behaviour-extensions.md` are in the model too: the last seen, appear
//! offline, who may see me (with friend-list changes), and custom statuses that expire. Besides
//! the model's answers, every step checks what every user sees of every other (and what the
//! app's backend sees), that a hidden view's version moves only when that view changes (X12:
//! watching or polling reveals nothing), and that every push carries a version above anything
//! its connection was ever given for that user (N3, X12).
//!
//! `ENGINE_MODEL_SEEDS` and `ENGINE_MODEL_OPS` override the amount of work;
//! `ENGINE_MODEL_SEED` runs one seed only (to replay a failure).

// covers: L1, L2, L3, L4, L5, L6, D1, D2, C1, C3, C4, Q1, Q2, Q3, Q5, S1, S2, S4, S5, S6, S7, N1, N2, N3, F1, F2
// covers: X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use imstatus_protocol::codes;
use imstatus_server::engine::{
    AppSettings, CloseReason, ConnId, Edition, Effects, Engine, EngineError, Login, MemoryStore,
    Millis, MultiDevicePolicy, OnlineState, Platform, RateLimit, SelfState, StatusType, Store,
    UserKey, UserStatus, Visibility, MAX_CUSTOM_STATUS_EXPIRY,
};
use imstatus_server::usersig;

const APP: u32 = 1_400_000_009;
const KEY: &str = "model-test-secret";
const T0: Millis = 1_700_000_000_000;

const USERS: [&str; 6] = ["ann", "ben", "cat", "dan", "eve", "fay"];
/// Subscribed to and befriended, but never logs in.
const OUTSIDER: &str = "zed";
const DEVICES: [&str; 3] = ["d1", "d2", "d3"];
const PLATFORMS: [Platform; 6] = [
    Platform::Android,
    Platform::IPhone,
    Platform::IPad,
    Platform::Windows,
    Platform::Mac,
    Platform::Web,
];
const CONNS: u64 = 12;

const HEARTBEAT_TIMEOUT: Millis = 1000;
const OFFLINE_RETENTION: Millis = 5000;
const SUBSCRIPTION_RETENTION: Millis = 7000;
const SUBSCRIPTION_LIMIT: usize = 3;
/// A connection that has not logged in is closed after this long (the engine's documented
/// constant; checked against it below).
const LOGIN_TIMEOUT: Millis = 30_000;
const MAX_CUSTOM_BYTES: usize = 100;
const QUERY_BATCH: usize = 500;
const SUBSCRIBE_BATCH: usize = 100;

const VALID_SIG_SECS: u64 = 365 * 86_400;

const NOT_LOGGED_IN: i32 = codes::ERR_SDK_NOT_LOGGED_IN;
const INVALID: i32 = codes::ERR_INVALID_PARAMETERS;
const BAD_ID: i32 = codes::ERR_SDK_COMM_INVALID_IDENTIFIER;
const NOT_ULTIMATE: i32 = codes::ERR_SDK_INTERFACE_NOT_SUPPORT;
const SWITCH_OFF: i32 = codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED;

// ---------------------------------------------------------------------------------------------
// A seeded PRNG (splitmix64).

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

// ---------------------------------------------------------------------------------------------
// Operations and answers, shared by the model and the engine driver.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settings {
    edition: Edition,
    status_enabled: bool,
    friend_notify: bool,
    policy: MultiDevicePolicy,
    max_per_platform: usize,
}

impl Settings {
    fn app(&self) -> AppSettings {
        let lots = RateLimit {
            calls: 1_000_000,
            window: Duration::from_secs(5),
        };
        AppSettings {
            edition: self.edition,
            status_enabled: self.status_enabled,
            friend_status_notify: self.friend_notify,
            heartbeat_timeout: Duration::from_millis(HEARTBEAT_TIMEOUT),
            subscription_limit: SUBSCRIPTION_LIMIT as u32,
            query_batch_limit: QUERY_BATCH as u32,
            subscribe_batch_limit: SUBSCRIBE_BATCH as u32,
            query_rate: lots,
            subscribe_rate: lots,
            unsubscribe_rate: lots,
            set_status_rate: lots,
            offline_retention: Duration::from_millis(OFFLINE_RETENTION),
            subscription_retention: Duration::from_millis(SUBSCRIPTION_RETENTION),
            multi_device: self.policy,
            max_instances_per_platform: self.max_per_platform as u32,
            ..AppSettings::new(APP, KEY)
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Sig {
    /// Valid for a year from T0 (made once per user: making sigs is slow in debug builds).
    Valid,
    /// Valid for this many more seconds.
    Short(u64),
    Expired,
    OtherUser,
    Garbage,
}

#[derive(Debug, Clone)]
enum Op {
    Login {
        conn: ConnId,
        user: String,
        device: &'static str,
        platform: Platform,
        sig: Sig,
    },
    Logout(ConnId),
    Close(ConnId),
    Touch(ConnId),
    /// Every open connection sends a heartbeat.
    Heartbeats,
    /// Advance the clock by `ms`, then tick. With `heartbeats`, every open connection but
    /// `silent` sent a heartbeat meanwhile (taken as arriving at the new time, before the tick).
    Advance {
        ms: Millis,
        heartbeats: bool,
        silent: ConnId,
    },
    /// set_self_status, with an expiry (X9).
    Set(ConnId, Option<String>, Option<Millis>),
    SetInvisible(ConnId, bool),
    SetVisibility(ConnId, Visibility),
    Query(ConnId, Vec<String>),
    Subscribe(ConnId, Vec<String>),
    Unsubscribe(ConnId, Option<Vec<String>>),
    AddFriends(String, Vec<String>),
    RemoveFriends(String, Vec<String>),
    PutApp(Settings),
    Restart,
}

/// (userID, statusType, customStatus, online platforms sorted, last seen, own switches): a
/// status as one audience sees it, without its version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    user: String,
    status_type: StatusType,
    custom: String,
    platforms: Vec<Platform>,
    last_seen: Option<Millis>,
    own: Option<SelfState>,
}

impl View {
    fn of(s: &UserStatus) -> View {
        View {
            user: s.user_id.clone(),
            status_type: s.status_type,
            custom: s.custom_status.clone(),
            platforms: s.online_devices.clone(),
            last_seen: s.last_seen,
            own: s.own,
        }
    }

    /// What a change is about: all but the online platforms (N1).
    fn content(&self) -> (StatusType, &str, Option<Millis>, Option<SelfState>) {
        (self.status_type, &self.custom, self.last_seen, self.own)
    }
}

/// Which view a watcher gets (X4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Own,
    Truth,
    Invisible,
    Restricted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Done,
    Statuses(Vec<View>),
    Count(usize),
}

type Answer = Result<Reply, i32>;

fn valid_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

// ---------------------------------------------------------------------------------------------
// The reference model.

#[derive(Debug, Clone)]
struct MDevice {
    id: String,
    platform: Platform,
    online: bool,
    offline_since: Option<Millis>,
    logged_in_at: Millis,
}

#[derive(Debug, Clone, Default)]
struct MUser {
    devices: Vec<MDevice>,
    custom: String,
    /// Earliest first.
    subs: Vec<String>,
    away_since: Option<Millis>,
    /// X1.
    last_seen: Option<Millis>,
    /// X9.
    custom_expires: Option<Millis>,
    /// X6: the switch, and the last seen allowed watchers are shown while it is on.
    invisible: bool,
    invisible_freeze: Option<Option<Millis>>,
    /// X10: the switch, and the last seen restricted watchers are shown.
    visibility: Visibility,
    visibility_freeze: Option<Option<Millis>>,
}

impl MUser {
    /// L3.
    fn status_type(&self) -> StatusType {
        if self.devices.iter().any(|d| d.online) {
            StatusType::Online
        } else if !self.devices.is_empty() {
            StatusType::Offline
        } else {
            StatusType::Unlogined
        }
    }

    fn hides(&self) -> bool {
        self.invisible || self.visibility != Visibility::Everyone
    }

    /// The truth (X4), as allowed watchers of a visible user see it.
    fn truth(&self, id: &str) -> View {
        let mut platforms: Vec<Platform> = self
            .devices
            .iter()
            .filter(|d| d.online)
            .map(|d| d.platform)
            .collect();
        platforms.sort();
        let online = self.status_type() == StatusType::Online;
        View {
            user: id.to_string(),
            status_type: self.status_type(),
            custom: self.custom.clone(),
            platforms,
            last_seen: if online { None } else { self.last_seen },
            own: None,
        }
    }

    /// The view of kind `kind` (X4, X5).
    fn view(&self, id: &str, kind: Kind) -> View {
        let hidden = |freeze: Option<Option<Millis>>| View {
            user: id.to_string(),
            status_type: if self.devices.is_empty() {
                StatusType::Unlogined
            } else {
                StatusType::Offline
            },
            custom: String::new(),
            platforms: Vec::new(),
            last_seen: freeze.expect("a freeze while hidden"),
            own: None,
        };
        match kind {
            Kind::Own => View {
                own: self.hides().then_some(SelfState {
                    invisible: self.invisible,
                    visibility: self.visibility,
                }),
                ..self.truth(id)
            },
            Kind::Truth => self.truth(id),
            Kind::Invisible => hidden(self.invisible_freeze),
            Kind::Restricted => hidden(self.visibility_freeze),
        }
    }

    /// The kind of view a watcher other than the user gets, `allowed` to see them or not.
    fn watcher_kind(&self, allowed: bool) -> Kind {
        if !allowed && self.visibility != Visibility::Everyone {
            Kind::Restricted
        } else if self.invisible {
            Kind::Invisible
        } else {
            Kind::Truth
        }
    }

    /// Whether `watcher` may see this user, whose friends are `friends` (X10).
    fn may_see(&self, friends: &BTreeSet<(String, String)>, me: &str, watcher: &str) -> bool {
        match self.visibility {
            Visibility::Everyone => true,
            Visibility::Friends => friends.contains(&(me.to_string(), watcher.to_string())),
            Visibility::Nobody => false,
        }
    }
}

#[derive(Debug, Clone)]
struct MConn {
    last_seen: Millis,
    /// When the connection opened or last logged out: it must log in within LOGIN_TIMEOUT of
    /// this, whatever it sends meanwhile.
    login_window: Millis,
    /// (user, device)
    session: Option<(String, String)>,
    sig_expires_at: Millis,
}

/// Which platforms share one seat under a policy; two different platforms in the same class
/// cannot be logged in together.
fn platform_class(policy: MultiDevicePolicy, p: Platform) -> usize {
    let mobile = matches!(p, Platform::Android | Platform::IPhone | Platform::IPad);
    let desktop = matches!(p, Platform::Windows | Platform::Mac | Platform::Linux);
    match policy {
        MultiDevicePolicy::SinglePlatform => 0,
        MultiDevicePolicy::DualPlatform => usize::from(p == Platform::Web),
        MultiDevicePolicy::ThreePlatform => {
            if mobile {
                0
            } else if desktop {
                1
            } else {
                2
            }
        }
        MultiDevicePolicy::MultiPlatform => 10 + PLATFORMS.iter().position(|&q| q == p).unwrap(),
    }
}

struct Model {
    settings: Settings,
    users: BTreeMap<String, MUser>,
    conns: BTreeMap<ConnId, MConn>,
    /// (owner, friend)
    friends: BTreeSet<(String, String)>,
    /// What the last operation pushed to which connection, and what it closed.
    pushes: Vec<(ConnId, View)>,
    closes: Vec<(ConnId, CloseReason)>,
}

impl Model {
    fn new(settings: Settings) -> Model {
        Model {
            settings,
            users: BTreeMap::new(),
            conns: BTreeMap::new(),
            friends: BTreeSet::new(),
            pushes: Vec::new(),
            closes: Vec::new(),
        }
    }

    fn user(&self, id: &str) -> MUser {
        self.users.get(id).cloned().unwrap_or_default()
    }

    /// The kind of view `viewer` gets of `id` (None: the app's backend, X8).
    fn kind(&self, id: &str, viewer: Option<&str>) -> Kind {
        let user = self.user(id);
        match viewer {
            Some(w) if w == id => Kind::Own,
            Some(w) => user.watcher_kind(user.may_see(&self.friends, id, w)),
            None => user.watcher_kind(true),
        }
    }

    /// What `viewer` sees of `id` (X4).
    fn view_for(&self, id: &str, viewer: Option<&str>) -> View {
        self.user(id).view(id, self.kind(id, viewer))
    }

    /// The user's own view: the truth and the switches.
    fn own_view(&self, id: &str) -> View {
        self.view_for(id, Some(id))
    }

    /// Whether the devices of `watcher` receive changes of `user` (N1).
    fn watches(&self, watcher: &str, user: &str) -> bool {
        watcher == user
            || (self.subscriptions_served()
                && self
                    .users
                    .get(watcher)
                    .is_some_and(|w| w.subs.iter().any(|s| s == user)))
            || (self.settings.friend_notify
                && self
                    .friends
                    .contains(&(watcher.to_string(), user.to_string())))
    }

    /// Pushes to every connection that watches `id` the view it now has, where it differs
    /// from the one it had (N1, X4, X7, X11): `before` is the user and `friends_before` the
    /// friend pairs before the change.
    fn push_changes(
        &mut self,
        id: &str,
        before: &MUser,
        friends_before: &BTreeSet<(String, String)>,
    ) {
        let after = self.user(id);
        let mut pushes = Vec::new();
        for (&conn, c) in &self.conns {
            let Some((watcher, _)) = &c.session else {
                continue;
            };
            if !self.watches(watcher, id) {
                continue;
            }
            let (was, now) = if watcher == id {
                (Kind::Own, Kind::Own)
            } else {
                (
                    before.watcher_kind(before.may_see(friends_before, id, watcher)),
                    after.watcher_kind(after.may_see(&self.friends, id, watcher)),
                )
            };
            let (old, new) = (before.view(id, was), after.view(id, now));
            if old.content() != new.content() {
                pushes.push((conn, new));
            }
        }
        self.pushes.extend(pushes);
    }

    /// Changes one user, then applies what every change obeys: the custom status (and its
    /// expiry) goes when the user is not ONLINE (C3, X9), leaving ONLINE is the last seen (X1),
    /// the time away is tracked (S7), the freezes follow the switches (X6, X10), and what each
    /// audience sees is pushed where it changed, nothing else (N1, C4, X4).
    fn change(&mut self, id: &str, now: Millis, f: impl FnOnce(&mut MUser)) {
        let before = self.user(id);
        let user = self.users.entry(id.to_string()).or_default();
        f(user);
        if user.status_type() == StatusType::Online {
            user.away_since = None;
        } else {
            user.custom.clear();
            if user.away_since.is_none() {
                user.away_since = Some(now);
            }
            if before.status_type() == StatusType::Online {
                user.last_seen = Some(now);
            }
        }
        if user.custom.is_empty() {
            user.custom_expires = None;
        }
        // What allowed watchers were shown until now.
        let allowed_saw = match before.invisible_freeze {
            Some(frozen) => frozen,
            None if before.status_type() == StatusType::Online => Some(now),
            None => before.last_seen,
        };
        if !user.invisible {
            user.invisible_freeze = None;
        } else if user.invisible_freeze.is_none() {
            user.invisible_freeze = Some(allowed_saw);
        }
        if user.visibility == Visibility::Everyone {
            user.visibility_freeze = None;
        } else if user.visibility_freeze.is_none() {
            user.visibility_freeze = Some(allowed_saw);
        }
        let friends = self.friends.clone();
        self.push_changes(id, &before, &friends);
    }

    fn session(&self, conn: ConnId) -> Result<(String, String), i32> {
        self.conns
            .get(&conn)
            .and_then(|c| c.session.clone())
            .ok_or(NOT_LOGGED_IN)
    }

    fn conn_of(&self, user: &str, device: &str) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|(_, c)| {
                c.session
                    .as_ref()
                    .is_some_and(|(u, d)| u == user && d == device)
            })
            .map(|(&id, _)| id)
    }

    fn subscriptions_served(&self) -> bool {
        self.settings.edition == Edition::Ultimate && self.settings.status_enabled
    }

    fn status_feature(&self) -> Result<(), i32> {
        if self.settings.edition != Edition::Ultimate {
            Err(NOT_ULTIMATE)
        } else if !self.settings.status_enabled {
            Err(SWITCH_OFF)
        } else {
            Ok(())
        }
    }

    /// The login answer: own status, then everyone watched, by ID.
    fn snapshot(&self, user: &str) -> Vec<View> {
        let mut watched = BTreeSet::new();
        if self.subscriptions_served() {
            if let Some(u) = self.users.get(user) {
                watched.extend(u.subs.iter().cloned());
            }
        }
        if self.settings.friend_notify {
            for (owner, friend) in &self.friends {
                if owner == user {
                    watched.insert(friend.clone());
                }
            }
        }
        watched.remove(user);
        let mut out = vec![self.own_view(user)];
        out.extend(watched.iter().map(|w| self.view_for(w, Some(user))));
        out
    }

    /// The server's part of every request on a connection: a new one is opened, and anything
    /// that arrives counts as a heartbeat.
    fn touch(&mut self, conn: ConnId, now: Millis) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_seen = c.last_seen.max(now);
        }
    }

    /// The connection is gone (D1): its device is OFFLINE.
    fn drop_conn(&mut self, conn: ConnId, now: Millis) {
        if let Some(c) = self.conns.remove(&conn) {
            if let Some((user, device)) = c.session {
                self.change(&user, now, |u| {
                    for d in u.devices.iter_mut().filter(|d| d.id == device) {
                        d.online = false;
                        d.offline_since = Some(now);
                    }
                });
            }
        }
    }

    /// The engine ends this connection's session and has the server close it.
    fn end_conn(&mut self, conn: ConnId, reason: CloseReason) {
        self.conns.remove(&conn);
        self.closes.push((conn, reason));
    }

    fn apply(&mut self, op: &Op, now: Millis) -> Answer {
        self.pushes.clear();
        self.closes.clear();
        match op {
            Op::Login {
                conn,
                user,
                device,
                platform,
                sig,
            } => {
                self.conns.entry(*conn).or_insert(MConn {
                    last_seen: now,
                    login_window: now,
                    session: None,
                    sig_expires_at: Millis::MAX,
                });
                self.touch(*conn, now);
                self.login(*conn, user, device, *platform, *sig, now)
            }
            Op::Logout(conn) => {
                self.touch(*conn, now);
                self.logout(*conn, now).map(|()| Reply::Done)
            }
            Op::Close(conn) => {
                self.drop_conn(*conn, now);
                Ok(Reply::Done)
            }
            Op::Touch(conn) => {
                self.touch(*conn, now);
                Ok(Reply::Done)
            }
            Op::Heartbeats => {
                for c in self.conns.values_mut() {
                    c.last_seen = c.last_seen.max(now);
                }
                Ok(Reply::Done)
            }
            Op::Advance {
                heartbeats, silent, ..
            } => {
                if *heartbeats {
                    for (id, c) in self.conns.iter_mut() {
                        if id != silent {
                            c.last_seen = c.last_seen.max(now);
                        }
                    }
                }
                self.tick(now);
                Ok(Reply::Done)
            }
            Op::Set(conn, custom, expiry) => {
                self.touch(*conn, now);
                let (me, _) = self.session(*conn)?;
                let custom = custom.clone().unwrap_or_default();
                if custom.len() > MAX_CUSTOM_BYTES {
                    return Err(INVALID);
                }
                if expiry.is_some_and(|ms| ms == 0 || ms > MAX_CUSTOM_STATUS_EXPIRY) {
                    return Err(INVALID);
                }
                self.change(&me, now, |u| {
                    u.custom = custom;
                    u.custom_expires = expiry.map(|ms| now + ms);
                });
                Ok(Reply::Done)
            }
            Op::SetInvisible(conn, on) => {
                self.touch(*conn, now);
                let (me, _) = self.session(*conn)?;
                self.change(&me, now, |u| u.invisible = *on);
                Ok(Reply::Done)
            }
            Op::SetVisibility(conn, visibility) => {
                self.touch(*conn, now);
                let (me, _) = self.session(*conn)?;
                self.change(&me, now, |u| u.visibility = *visibility);
                Ok(Reply::Done)
            }
            Op::Query(conn, ids) => {
                self.touch(*conn, now);
                self.query(*conn, ids)
            }
            Op::Subscribe(conn, ids) => {
                self.touch(*conn, now);
                self.subscribe(*conn, ids, now)
            }
            Op::Unsubscribe(conn, ids) => {
                self.touch(*conn, now);
                let (me, _) = self.session(*conn)?;
                self.status_feature()?;
                let ids = ids.clone().unwrap_or_default();
                if ids.len() > SUBSCRIBE_BATCH {
                    return Err(INVALID);
                }
                self.change(&me, now, |u| {
                    if ids.is_empty() {
                        u.subs.clear();
                    } else {
                        u.subs.retain(|s| !ids.contains(s));
                    }
                });
                Ok(Reply::Done)
            }
            Op::AddFriends(owner, list) => {
                if !valid_user_id(owner) || !list.iter().all(|f| valid_user_id(f)) {
                    return Err(INVALID);
                }
                let before = self.friends.clone();
                let added = list
                    .iter()
                    .filter(|f| *f != owner)
                    .filter(|f| self.friends.insert((owner.clone(), f.to_string())))
                    .count();
                // Who may see a friends-only owner changed (X11).
                let user = self.user(owner);
                self.push_changes(owner, &user, &before);
                Ok(Reply::Count(added))
            }
            Op::RemoveFriends(owner, list) => {
                if !valid_user_id(owner) || !list.iter().all(|f| valid_user_id(f)) {
                    return Err(INVALID);
                }
                let before = self.friends.clone();
                let removed = list
                    .iter()
                    .filter(|f| self.friends.remove(&(owner.clone(), f.to_string())))
                    .count();
                let user = self.user(owner);
                self.push_changes(owner, &user, &before);
                Ok(Reply::Count(removed))
            }
            Op::PutApp(settings) => {
                self.settings = *settings;
                Ok(Reply::Done)
            }
            Op::Restart => {
                // Every connection is gone without a word; what was logged in is OFFLINE.
                self.conns.clear();
                for user in self.users.values_mut() {
                    for d in &mut user.devices {
                        d.online = false;
                        if d.offline_since.is_none() {
                            d.offline_since = Some(now);
                            // Online when the server stopped: last seen at the boot (X3).
                            user.last_seen = Some(now);
                        }
                    }
                    user.custom.clear();
                    user.custom_expires = None;
                    if user.away_since.is_none() {
                        user.away_since = Some(now);
                    }
                }
                Ok(Reply::Done)
            }
        }
    }

    fn login(
        &mut self,
        conn: ConnId,
        user: &str,
        device: &str,
        platform: Platform,
        sig: Sig,
        now: Millis,
    ) -> Answer {
        if !valid_user_id(user) {
            return Err(BAD_ID);
        }
        let sig_last_second = match sig {
            Sig::Valid => T0 / 1000 + VALID_SIG_SECS,
            Sig::Short(secs) => now / 1000 + secs,
            Sig::Expired => return Err(codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED),
            Sig::OtherUser => return Err(codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID),
            Sig::Garbage => return Err(codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED),
        };
        let sig_expires_at = (sig_last_second + 1) * 1000;
        let current = self.conns[&conn].session.clone();
        if current.as_ref() == Some(&(user.to_string(), device.to_string())) {
            // The same session again: only the sig is new.
            self.conns.get_mut(&conn).unwrap().sig_expires_at = sig_expires_at;
            return Ok(Reply::Statuses(self.snapshot(user)));
        }
        if current.is_some() {
            self.logout(conn, now).unwrap();
        }
        // The same device on another connection: that one is stale.
        if let Some(old) = self.conn_of(user, device) {
            self.end_conn(old, CloseReason::Replaced);
        }
        // L2 and the policy, over the user's other devices.
        let settings = self.settings;
        let others: Vec<MDevice> = self
            .users
            .get(user)
            .map(|u| u.devices.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.id != device)
            .collect();
        let mut kick: Vec<String> = others
            .iter()
            .filter(|d| {
                // Single-platform means one device in all, whatever the instance limit.
                settings.policy == MultiDevicePolicy::SinglePlatform
                    || (d.platform != platform
                        && platform_class(settings.policy, d.platform)
                            == platform_class(settings.policy, platform))
            })
            .map(|d| d.id.clone())
            .collect();
        let mut same: Vec<&MDevice> = others.iter().filter(|d| d.platform == platform).collect();
        same.sort_by_key(|d| d.logged_in_at);
        let excess = same.len().saturating_sub(settings.max_per_platform - 1);
        kick.extend(same[..excess].iter().map(|d| d.id.clone()));
        for id in &kick {
            if let Some(c) = self.conn_of(user, id) {
                self.end_conn(c, CloseReason::Kicked);
            }
        }
        // The new session hears its own login, as the engine routes it.
        let c = self.conns.get_mut(&conn).unwrap();
        c.session = Some((user.to_string(), device.to_string()));
        c.sig_expires_at = sig_expires_at;
        self.change(user, now, |u| {
            u.devices.retain(|d| !kick.contains(&d.id));
            match u.devices.iter_mut().find(|d| d.id == device) {
                Some(d) => {
                    d.platform = platform;
                    d.online = true;
                    d.offline_since = None;
                }
                None => u.devices.push(MDevice {
                    id: device.to_string(),
                    platform,
                    online: true,
                    offline_since: None,
                    logged_in_at: now,
                }),
            }
        });
        Ok(Reply::Statuses(self.snapshot(user)))
    }

    fn logout(&mut self, conn: ConnId, now: Millis) -> Result<(), i32> {
        let (user, device) = self.session(conn)?;
        let c = self.conns.get_mut(&conn).unwrap();
        c.session = None;
        c.login_window = now;
        self.change(&user, now, |u| u.devices.retain(|d| d.id != device));
        Ok(())
    }

    fn tick(&mut self, now: Millis) {
        let due: Vec<(ConnId, CloseReason)> = self
            .conns
            .iter()
            .filter_map(|(&id, c)| {
                let reason = match c.session {
                    None if now >= c.login_window + LOGIN_TIMEOUT => Some(CloseReason::TimedOut),
                    None => None,
                    Some(_) if now >= c.last_seen + HEARTBEAT_TIMEOUT => {
                        Some(CloseReason::TimedOut)
                    }
                    Some(_) if now >= c.sig_expires_at => Some(CloseReason::UserSigExpired),
                    Some(_) => None,
                };
                reason.map(|r| (id, r))
            })
            .collect();
        for (conn, reason) in due {
            self.closes.push((conn, reason));
            self.drop_conn(conn, now);
        }
        let ids: Vec<String> = self.users.keys().cloned().collect();
        for id in ids {
            self.change(&id, now, |u| {
                // L5
                u.devices.retain(|d| {
                    d.online || d.offline_since.is_some_and(|t| now < t + OFFLINE_RETENTION)
                });
                // S7
                if u.status_type() != StatusType::Online
                    && u.away_since
                        .is_some_and(|t| now >= t + SUBSCRIPTION_RETENTION)
                {
                    u.subs.clear();
                }
                // X9
                if u.custom_expires.is_some_and(|t| now >= t) {
                    u.custom.clear();
                }
            });
        }
    }

    fn query(&self, conn: ConnId, ids: &[String]) -> Answer {
        let (me, _) = self.session(conn)?;
        if ids.is_empty() || ids.len() > QUERY_BATCH {
            return Err(INVALID);
        }
        let mut unique: Vec<&String> = Vec::new();
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        let mut answers = Vec::new();
        let mut first_failure = None;
        for id in unique {
            let verdict = if !valid_user_id(id) {
                Err(INVALID)
            } else if *id == me {
                Ok(())
            } else {
                self.status_feature()
            };
            match verdict {
                Ok(()) => answers.push(self.view_for(id, Some(&me))),
                Err(code) => {
                    first_failure.get_or_insert(code);
                }
            }
        }
        if answers.is_empty() {
            Err(first_failure.unwrap())
        } else {
            Ok(Reply::Statuses(answers))
        }
    }

    fn subscribe(&mut self, conn: ConnId, ids: &[String], now: Millis) -> Answer {
        let (me, _) = self.session(conn)?;
        self.status_feature()?;
        if ids.is_empty() || ids.len() > SUBSCRIBE_BATCH {
            return Err(INVALID);
        }
        if !ids.iter().all(|id| valid_user_id(id)) {
            return Err(INVALID);
        }
        let mut list: Vec<String> = Vec::new();
        for id in ids {
            if *id != me && !list.contains(id) {
                list.push(id.clone());
            }
        }
        if list.is_empty() {
            return Err(INVALID);
        }
        self.change(&me, now, |u| {
            for id in &list {
                if !u.subs.contains(id) {
                    u.subs.push(id.clone());
                }
            }
            while u.subs.len() > SUBSCRIPTION_LIMIT {
                u.subs.remove(0);
            }
        });
        let subs = &self.users[&me].subs;
        Ok(Reply::Statuses(
            list.iter()
                .filter(|id| subs.contains(id))
                .map(|id| self.view_for(id, Some(&me)))
                .collect(),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The engine, driven as the server drives it.

struct Driver {
    engine: Engine,
    epoch: u32,
    open: BTreeSet<ConnId>,
    /// Sigs that do not depend on the clock, by (kind, user).
    sigs: HashMap<(&'static str, String), String>,
}

fn answer<T>(r: Result<T, EngineError>, f: impl FnOnce(T) -> Reply) -> Answer {
    r.map(f).map_err(|e| e.code)
}

fn statuses(list: Vec<UserStatus>) -> Reply {
    Reply::Statuses(list.iter().map(View::of).collect())
}

/// A copy of what the store holds, through the `Store` trait: what a durable store would give a
/// restarted server.
fn copy_store(from: &MemoryStore) -> MemoryStore {
    let to = MemoryStore::new();
    for app in from.apps() {
        to.put_app(&app);
    }
    for key in from.user_keys() {
        to.put_user(&key, &from.user(&key).unwrap());
    }
    for owner in USERS {
        let owner = UserKey::new(APP, owner);
        for friend in from.friends_of(&owner) {
            to.add_friend(&owner, &friend);
        }
    }
    to
}

impl Driver {
    fn new(settings: Settings, now: Millis) -> Driver {
        let engine = Engine::new(MemoryStore::new(), 1, now);
        engine.put_app(settings.app()).unwrap();
        Driver {
            engine,
            epoch: 1,
            open: BTreeSet::new(),
            sigs: HashMap::new(),
        }
    }

    /// What the server does with any frame on `conn`.
    fn request(&mut self, conn: ConnId, now: Millis) {
        self.engine.touch(conn, now);
    }

    fn apply(&mut self, op: &Op, now: Millis) -> (Answer, Effects) {
        let result = match op {
            Op::Login {
                conn,
                user,
                device,
                platform,
                sig,
            } => {
                if self.open.insert(*conn) {
                    self.engine.open(*conn, now);
                }
                self.request(*conn, now);
                let t0 = T0 / 1000;
                let mut cached = |kind: &'static str, make: &dyn Fn() -> String| {
                    self.sigs
                        .entry((kind, user.clone()))
                        .or_insert_with(make)
                        .clone()
                };
                let user_sig = match sig {
                    Sig::Valid => cached("valid", &|| {
                        usersig::generate(APP, KEY, user, VALID_SIG_SECS, t0)
                    }),
                    Sig::Short(secs) => usersig::generate(APP, KEY, user, *secs, now / 1000),
                    Sig::Expired => cached("expired", &|| {
                        usersig::generate(APP, KEY, user, 5, t0 - 100)
                    }),
                    Sig::OtherUser => cached("other", &|| {
                        usersig::generate(APP, KEY, &format!("{user}x"), VALID_SIG_SECS, t0)
                    }),
                    Sig::Garbage => "garbage!".to_string(),
                };
                let login = Login {
                    sdk_app_id: APP,
                    user_id: user,
                    user_sig: &user_sig,
                    platform: *platform,
                    device_id: device,
                };
                answer(self.engine.login(*conn, &login, now), statuses)
            }
            Op::Logout(conn) => {
                self.request(*conn, now);
                answer(self.engine.logout(*conn, now), |()| Reply::Done)
            }
            Op::Close(conn) => {
                self.open.remove(conn);
                self.engine.close(*conn, now);
                Ok(Reply::Done)
            }
            Op::Touch(conn) => {
                self.request(*conn, now);
                Ok(Reply::Done)
            }
            Op::Heartbeats => {
                for conn in self.open.clone() {
                    self.request(conn, now);
                }
                Ok(Reply::Done)
            }
            Op::Advance {
                heartbeats, silent, ..
            } => {
                if *heartbeats {
                    for conn in self.open.clone() {
                        if conn != *silent {
                            self.request(conn, now);
                        }
                    }
                }
                self.engine.tick(now);
                Ok(Reply::Done)
            }
            Op::Set(conn, custom, expiry) => {
                self.request(*conn, now);
                answer(
                    self.engine
                        .set_self_status_with_expiry(*conn, custom.as_deref(), *expiry, now),
                    |()| Reply::Done,
                )
            }
            Op::SetInvisible(conn, on) => {
                self.request(*conn, now);
                answer(self.engine.set_invisible(*conn, *on, now), |()| Reply::Done)
            }
            Op::SetVisibility(conn, visibility) => {
                self.request(*conn, now);
                answer(self.engine.set_visibility(*conn, *visibility, now), |()| {
                    Reply::Done
                })
            }
            Op::Query(conn, ids) => {
                self.request(*conn, now);
                answer(self.engine.get_user_status(*conn, ids, now), statuses)
            }
            Op::Subscribe(conn, ids) => {
                self.request(*conn, now);
                answer(self.engine.subscribe(*conn, ids, now), statuses)
            }
            Op::Unsubscribe(conn, ids) => {
                self.request(*conn, now);
                answer(self.engine.unsubscribe(*conn, ids.as_deref(), now), |()| {
                    Reply::Done
                })
            }
            Op::AddFriends(owner, list) => {
                answer(self.engine.add_friends(APP, owner, list), Reply::Count)
            }
            Op::RemoveFriends(owner, list) => {
                answer(self.engine.remove_friends(APP, owner, list), Reply::Count)
            }
            Op::PutApp(settings) => answer(self.engine.put_app(settings.app()), |()| Reply::Done),
            Op::Restart => {
                let store = copy_store(self.engine.store());
                self.epoch += 1;
                self.engine = Engine::new(store, self.epoch, now);
                // What the server does in the background after a start.
                self.engine.recover_all();
                self.open.clear();
                Ok(Reply::Done)
            }
        };
        let effects = self.engine.take_effects();
        // The server closes what the engine ended; its later close report is a no-op.
        for close in &effects.closes {
            self.open.remove(&close.conn);
        }
        (result, effects)
    }
}

// ---------------------------------------------------------------------------------------------
// Random operations.

fn random_ids(rng: &mut Rng, own: Option<&str>) -> Vec<String> {
    let n = rng.pick(&[0, 1, 1, 2, 2, 3, 4]);
    (0..n)
        .map(|_| match rng.below(20) {
            0 => String::new(),
            1 => "q".repeat(33),
            2 => OUTSIDER.to_string(),
            3..=5 => own.unwrap_or("ann").to_string(),
            _ => rng.pick(&USERS).to_string(),
        })
        .collect()
}

fn random_settings(rng: &mut Rng) -> Settings {
    Settings {
        edition: if rng.chance(80) {
            Edition::Ultimate
        } else {
            rng.pick(&[Edition::Basic, Edition::Pro])
        },
        status_enabled: rng.chance(80),
        friend_notify: rng.chance(70),
        policy: rng.pick(&[
            MultiDevicePolicy::MultiPlatform,
            MultiDevicePolicy::MultiPlatform,
            MultiDevicePolicy::SinglePlatform,
            MultiDevicePolicy::DualPlatform,
            MultiDevicePolicy::ThreePlatform,
        ]),
        max_per_platform: if rng.chance(70) { 1 } else { 2 },
    }
}

/// Every time at which something is due: heartbeat and login timeouts, sig expiries, offline
/// retention (L5) and subscription retention (S7).
fn deadlines(model: &Model) -> Vec<Millis> {
    let mut out = Vec::new();
    for c in model.conns.values() {
        if c.session.is_some() {
            out.push(c.last_seen + HEARTBEAT_TIMEOUT);
            if c.sig_expires_at != Millis::MAX {
                out.push(c.sig_expires_at);
            }
        } else {
            out.push(c.login_window + LOGIN_TIMEOUT);
        }
    }
    for u in model.users.values() {
        out.extend(
            u.devices
                .iter()
                .filter_map(|d| d.offline_since)
                .map(|t| t + OFFLINE_RETENTION),
        );
        if !u.subs.is_empty() {
            out.extend(u.away_since.map(|t| t + SUBSCRIPTION_RETENTION));
        }
        out.extend(u.custom_expires);
    }
    out
}

fn random_op(rng: &mut Rng, model: &Model, now: Millis) -> Op {
    // Mostly act on logged-in connections, so that most operations get past the session check.
    let live: Vec<ConnId> = model
        .conns
        .iter()
        .filter(|(_, c)| c.session.is_some())
        .map(|(&id, _)| id)
        .collect();
    let idle: Vec<ConnId> = (1..=CONNS).filter(|c| !live.contains(c)).collect();
    let conn = if !live.is_empty() && rng.chance(85) {
        rng.pick(&live)
    } else {
        1 + rng.below(CONNS)
    };
    // Logins mostly bring in another connection.
    let login_conn = if !idle.is_empty() && rng.chance(75) {
        rng.pick(&idle)
    } else {
        conn
    };
    let own = model.conns.get(&conn).and_then(|c| c.session.clone());
    let own = own.as_ref().map(|(u, _)| u.as_str());
    match rng.below(1000) {
        0..=189 => {
            let user = if rng.chance(2) {
                String::new()
            } else if let (Some(own), true) = (own, rng.chance(40)) {
                own.to_string()
            } else {
                rng.pick(&USERS).to_string()
            };
            let sig = match rng.below(40) {
                0 => Sig::Expired,
                1 => Sig::OtherUser,
                2 => Sig::Garbage,
                3..=5 => Sig::Short(rng.below(3)),
                _ => Sig::Valid,
            };
            Op::Login {
                conn: login_conn,
                user,
                device: rng.pick(&DEVICES),
                platform: rng.pick(&PLATFORMS),
                sig,
            }
        }
        190..=229 => Op::Logout(conn),
        230..=289 => Op::Close(conn),
        290..=399 => Op::Advance {
            ms: if rng.chance(50) {
                rng.pick(&[0, 1, 50, 100, 300, 600, 900, 999])
            } else {
                rng.pick(&[1000, 1500, 3000, 5000, 7000])
            },
            heartbeats: rng.chance(80),
            silent: 1 + rng.below(CONNS),
        },
        400..=439 => Op::Touch(conn),
        440..=499 => Op::Heartbeats,
        500..=609 => {
            let custom = match rng.below(10) {
                0 => None,
                1 => Some(String::new()),
                2 => Some("x".repeat(MAX_CUSTOM_BYTES + 1)),
                // 100 bytes in 50 characters, then 102 bytes in 51 characters.
                3 => Some("\u{e9}".repeat(50)),
                4 => Some("\u{e9}".repeat(51)),
                5 => Some("busy".to_string()),
                6 => Some("away".to_string()),
                _ => Some(rng.pick(&["a", "b"]).to_string()),
            };
            let expiry = match rng.below(20) {
                0 => Some(0),
                1 => Some(MAX_CUSTOM_STATUS_EXPIRY + 1),
                2 => Some(MAX_CUSTOM_STATUS_EXPIRY),
                3..=8 => Some(rng.pick(&[1, 50, 300, 1000, 3000])),
                _ => None,
            };
            Op::Set(conn, custom, expiry)
        }
        610..=634 => Op::SetInvisible(conn, rng.chance(60)),
        635..=659 => Op::SetVisibility(
            conn,
            rng.pick(&[
                Visibility::Everyone,
                Visibility::Friends,
                Visibility::Friends,
                Visibility::Nobody,
            ]),
        ),
        660..=739 => Op::Query(conn, random_ids(rng, own)),
        740..=829 => Op::Subscribe(conn, random_ids(rng, own)),
        830..=869 => {
            let ids = if rng.chance(30) {
                None
            } else {
                Some(random_ids(rng, own))
            };
            Op::Unsubscribe(conn, ids)
        }
        870..=939 => {
            let owner = rng.pick(&USERS).to_string();
            let list = random_ids(rng, Some(&owner));
            if rng.chance(60) {
                Op::AddFriends(owner, list)
            } else {
                Op::RemoveFriends(owner, list)
            }
        }
        940..=964 => Op::PutApp(random_settings(rng)),
        965..=979 => {
            // Right at a deadline, or just before it: the boundaries of D2, L5 and S7.
            // (Not the year-long sigs' expiry: that would end every session for good.)
            let due: Vec<Millis> = deadlines(model)
                .into_iter()
                .filter(|&t| t > now && t < now + 60_000)
                .collect();
            let target = if due.is_empty() {
                now
            } else {
                rng.pick(&due) - rng.below(2)
            };
            Op::Advance {
                ms: target.saturating_sub(now),
                heartbeats: rng.chance(30),
                silent: 1 + rng.below(CONNS),
            }
        }
        980..=984 => Op::Restart,
        _ => Op::Advance {
            ms: rng.pick(&[10_000, 31_000]),
            heartbeats: rng.chance(50),
            silent: 1 + rng.below(CONNS),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison.

struct Run {
    seed: u64,
    step: usize,
    history: Vec<String>,
    /// The last version each connection was pushed of each user (N3, X12).
    pushed: HashMap<(ConnId, String), u64>,
    /// What each user saw of each other user (and the backend, `None`) after the last step:
    /// the kind of view, its content and its version (X12).
    seen: HashMap<(Option<String>, String), (Kind, View, u64)>,
    /// Whether this step is a login on a connection already logged in: a logout and then a
    /// login, two changes that may each move a hidden view and back.
    relogin: bool,
}

impl Run {
    fn fail(&self, what: String) -> ! {
        let mut history = String::new();
        let from = self.history.len().saturating_sub(30);
        for (i, op) in self.history.iter().enumerate().skip(from) {
            let _ = writeln!(history, "  #{i}: {op}");
        }
        panic!(
            "seed {} op #{}: {what}\nlast operations:\n{history}replay with ENGINE_MODEL_SEED={}",
            self.seed, self.step, self.seed
        );
    }

    fn check<T: PartialEq + std::fmt::Debug>(&self, what: &str, engine: T, model: T) {
        if engine != model {
            self.fail(format!(
                "{what} differs\n  engine: {engine:?}\n  model:  {model:?}"
            ));
        }
    }
}

/// Pushes per (connection, user), in order: the order across users carries no meaning.
fn by_conn(pushes: &[(ConnId, View)]) -> BTreeMap<(ConnId, String), Vec<View>> {
    let mut out: BTreeMap<(ConnId, String), Vec<View>> = BTreeMap::new();
    for (conn, view) in pushes {
        out.entry((*conn, view.user.clone()))
            .or_default()
            .push(view.clone());
    }
    out
}

fn compare(
    run: &mut Run,
    op: &Op,
    driver: &Driver,
    model: &Model,
    got: Answer,
    want: Answer,
    effects: &Effects,
) {
    run.check("answer", &got, &want);

    // Closes, as a set: the order within one operation carries no meaning.
    let mut closes: Vec<(ConnId, CloseReason)> =
        effects.closes.iter().map(|c| (c.conn, c.reason)).collect();
    closes.sort();
    let mut want_closes = model.closes.clone();
    want_closes.sort();
    run.check("closes", closes, want_closes);

    // What each connection was pushed, per user and in order (N1, N2, N3, C4, X4): the model
    // pushes a connection its audience's view where that view's content changed.
    run.check(
        "changes and recipients",
        effects.changes.len(),
        effects.to.len(),
    );
    let mut pushes: Vec<(ConnId, View)> = Vec::new();
    for (change, to) in effects.changes.iter().zip(&effects.to) {
        let s = &change.status;
        run.check("change app", change.app, APP);
        let mut dedup = to.clone();
        dedup.sort_unstable();
        dedup.dedup();
        run.check("recipients have no duplicates (N2)", dedup.len(), to.len());
        for &conn in to {
            pushes.push((conn, View::of(s)));
            // N3, X12: every push carries a version above anything this connection was
            // pushed of this user, across restarts too.
            let last = run.pushed.insert((conn, s.user_id.clone()), s.version);
            if last.is_some_and(|last| s.version <= last) {
                run.fail(format!(
                    "conn {conn} was pushed {} at version {} after {last:?} (N3)",
                    s.user_id, s.version
                ));
            }
        }
    }
    run.check("pushes", by_conn(&pushes), by_conn(&model.pushes));

    if matches!(op, Op::Restart) {
        // Every view starts again at the new run's baseline (N3): nothing to compare across.
        run.seen.clear();
    }
    // What every user sees of every other, and the backend (X4, X5, X8, X10), and that a view
    // hidden before and after keeps its version while its content stays (X12).
    for user in USERS.iter().chain([&OUTSIDER]) {
        let key = UserKey::new(APP, *user);
        let viewers = USERS
            .iter()
            .chain([&OUTSIDER])
            .map(|v| Some(v.to_string()))
            .chain([None]);
        for viewer in viewers {
            let status = match &viewer {
                Some(v) => driver.engine.status_seen_by(&key, v),
                None => driver.engine.status_for_backend(&key).0,
            };
            let view = View::of(&status);
            run.check(
                &format!("{user} as {viewer:?} sees them"),
                &view,
                &model.view_for(user, viewer.as_deref()),
            );
            let kind = model.kind(user, viewer.as_deref());
            let hidden = |k: Kind| matches!(k, Kind::Invisible | Kind::Restricted);
            let entry = (kind, view.clone(), status.version);
            if let Some((was, seen, version)) =
                run.seen.insert((viewer.clone(), user.to_string()), entry)
            {
                if hidden(was)
                    && hidden(kind)
                    && seen == view
                    && version != status.version
                    && !run.relogin
                {
                    run.fail(format!(
                        "{user}'s hidden view as {viewer:?} sees it moved from version {version} \
                         to {} without changing (X12)",
                        status.version
                    ));
                }
            }
        }
    }

    // Every user's state.
    for user in USERS.iter().chain([&OUTSIDER]) {
        let key = UserKey::new(APP, *user);
        let status = driver.engine.status_of(&key);
        run.check(
            &format!("status of {user}"),
            View::of(&status),
            model.own_view(user),
        );
        let mut devices: Vec<(Platform, bool)> = driver
            .engine
            .device_details(&key)
            .iter()
            .map(|d| (d.platform, d.state == OnlineState::Online))
            .collect();
        devices.sort();
        let mut want_devices: Vec<(Platform, bool)> = model
            .users
            .get(*user)
            .map(|u| u.devices.iter().map(|d| (d.platform, d.online)).collect())
            .unwrap_or_default();
        want_devices.sort();
        run.check(&format!("devices of {user}"), devices, want_devices);
        let subs: Vec<String> = driver.engine.subscriptions_of(&key);
        let want_subs = model
            .users
            .get(*user)
            .map(|u| u.subs.clone())
            .unwrap_or_default();
        run.check(&format!("subscriptions of {user}"), subs, want_subs);
        let want_friends: Vec<String> = model
            .friends
            .iter()
            .filter(|(o, _)| o == user)
            .map(|(_, f)| f.clone())
            .collect();
        run.check(
            &format!("friends of {user}"),
            driver.engine.friends_of(&key),
            want_friends,
        );
    }
    // Sessions: which connections are logged in as whom.
    for conn in 1..=CONNS {
        let want = model
            .conns
            .get(&conn)
            .and_then(|c| c.session.as_ref())
            .map(|(u, _)| UserKey::new(APP, u.clone()));
        run.check(
            &format!("session of conn {conn}"),
            driver.engine.session_user(conn),
            want,
        );
    }
}

fn run_seed(seed: u64, ops: usize) -> (usize, usize, usize) {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xdead_beef);
    let settings = Settings {
        edition: Edition::Ultimate,
        status_enabled: true,
        friend_notify: true,
        policy: MultiDevicePolicy::MultiPlatform,
        max_per_platform: 1,
    };
    let mut now = T0;
    let mut driver = Driver::new(settings, now);
    let mut model = Model::new(settings);
    let mut run = Run {
        seed,
        step: 0,
        history: Vec::new(),
        pushed: HashMap::new(),
        seen: HashMap::new(),
        relogin: false,
    };
    let (mut changes, mut closes, mut errors) = (0, 0, 0);
    for step in 0..ops {
        // Time always moves, so that "earliest" is never a tie.
        now += 1;
        let op = random_op(&mut rng, &model, now);
        if let Op::Advance { ms, .. } = op {
            now += ms;
        }
        run.step = step;
        run.relogin = match &op {
            Op::Login { conn, .. } => model.conns.get(conn).is_some_and(|c| c.session.is_some()),
            _ => false,
        };
        run.history.push(format!("t+{} {op:?}", now - T0));
        let (got, effects) = driver.apply(&op, now);
        let want = model.apply(&op, now);
        changes += effects.changes.len();
        closes += effects.closes.len();
        errors += usize::from(got.is_err());
        compare(&mut run, &op, &driver, &model, got, want, &effects);
    }
    (changes, closes, errors)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn engine_matches_the_reference_model() {
    assert_eq!(LOGIN_TIMEOUT, imstatus_server::engine::LOGIN_TIMEOUT);
    let ops = env_number("ENGINE_MODEL_OPS").unwrap_or(300) as usize;
    let seeds: Vec<u64> = match env_number("ENGINE_MODEL_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_number("ENGINE_MODEL_SEEDS").unwrap_or(200)).collect(),
    };
    let (mut changes, mut closes, mut errors) = (0, 0, 0);
    for &seed in &seeds {
        let (c, k, e) = run_seed(seed, ops);
        changes += c;
        closes += k;
        errors += e;
    }
    println!(
        "{} seeds x {ops} ops: {changes} changes, {closes} closes, {errors} refused operations",
        seeds.len()
    );
    // The world must be lively enough for the comparison to mean something.
    let total = seeds.len() * ops;
    assert!(changes * 10 > total, "too few changes: {changes}");
    assert!(closes * 50 > total, "too few closes: {closes}");
}
