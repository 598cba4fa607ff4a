//! One or more tests per rule of `docs/behaviour-extensions.md` (X1…X14) that the engine
//! decides, each naming the rule ids it covers. The engine is pure and its clock is injected,
//! so every test drives time itself.

use std::time::Duration;

use imstatus_protocol::codes;
use imstatus_server::engine::{
    Action, AppSettings, ConnId, Edition, Effects, Engine, EngineError, Login, MemoryStore, Millis,
    OnlineState, Platform, SelfState, StatusType, Store, UserKey, UserStatus, Visibility,
    MAX_CUSTOM_STATUS_EXPIRY,
};
use imstatus_server::usersig;

const APP: u32 = 1_400_000_077;
const KEY: &str = "the-secret-key-of-the-extensions-app";
/// 2023-11-14, in unix milliseconds.
const T0: Millis = 1_700_000_000_000;

fn ultimate() -> AppSettings {
    let mut settings = AppSettings::new(APP, KEY);
    settings.edition = Edition::Ultimate;
    settings.status_enabled = true;
    settings.friend_status_notify = true;
    settings.set_status_rate.calls = 1_000_000;
    settings
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn code<T: std::fmt::Debug>(result: Result<T, EngineError>) -> i32 {
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => {
            assert!(!e.desc.is_empty(), "error {} has no description", e.code);
            e.code
        }
    }
}

/// One change as the sink heard it: the status one audience sees, and its connections.
#[derive(Debug, Clone)]
struct Delivery {
    status: UserStatus,
    conns: Vec<ConnId>,
}

struct World {
    engine: Engine,
    now: Millis,
    next_conn: ConnId,
    next_device: u32,
    epoch: u32,
}

impl World {
    fn new() -> World {
        World::with(ultimate())
    }

    fn with(settings: AppSettings) -> World {
        let engine = Engine::new(MemoryStore::new(), 1, T0);
        engine.put_app(settings).unwrap();
        World {
            engine,
            now: T0,
            next_conn: 1,
            next_device: 1,
            epoch: 1,
        }
    }

    fn change_settings(&mut self, f: impl FnOnce(&mut AppSettings)) {
        let mut settings = self.engine.app_settings(APP).unwrap();
        f(&mut settings);
        self.engine.put_app(settings).unwrap();
    }

    fn login(&mut self, user: &str, platform: Platform) -> ConnId {
        let device = format!("device-{}", self.next_device);
        self.next_device += 1;
        self.login_device(user, platform, &device)
    }

    fn try_login(
        &mut self,
        user: &str,
        platform: Platform,
        device: &str,
    ) -> (ConnId, Vec<UserStatus>) {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.engine.open(conn, self.now);
        let sig = usersig::generate(APP, KEY, user, 86_400, self.now / 1000);
        let snapshot = self
            .engine
            .login(
                conn,
                &Login {
                    sdk_app_id: APP,
                    user_id: user,
                    user_sig: &sig,
                    platform,
                    device_id: device,
                },
                self.now,
            )
            .unwrap_or_else(|e| panic!("login of {user} failed: {e}"));
        (conn, snapshot)
    }

    fn login_device(&mut self, user: &str, platform: Platform, device: &str) -> ConnId {
        self.try_login(user, platform, device).0
    }

    /// The user's status as their own devices see it.
    fn own(&self, user: &str) -> UserStatus {
        self.engine.status_of(&UserKey::new(APP, user))
    }

    /// `user`'s status as `watcher` sees it.
    fn seen_by(&self, user: &str, watcher: &str) -> UserStatus {
        self.engine
            .status_seen_by(&UserKey::new(APP, user), watcher)
    }

    fn backend(&self, user: &str) -> (UserStatus, Vec<(Platform, OnlineState)>) {
        let (status, devices) = self.engine.status_for_backend(&UserKey::new(APP, user));
        (
            status,
            devices.iter().map(|d| (d.platform, d.state)).collect(),
        )
    }

    fn set(&mut self, conn: ConnId, custom: Option<&str>) -> Result<(), EngineError> {
        self.engine.set_self_status(conn, custom, self.now)
    }

    fn set_for(&mut self, conn: ConnId, custom: &str, ms: Millis) -> Result<(), EngineError> {
        self.engine
            .set_self_status_with_expiry(conn, Some(custom), Some(ms), self.now)
    }

    fn invisible(&mut self, conn: ConnId, on: bool) {
        self.engine.set_invisible(conn, on, self.now).unwrap();
    }

    fn visibility(&mut self, conn: ConnId, visibility: Visibility) {
        self.engine
            .set_visibility(conn, visibility, self.now)
            .unwrap();
    }

    fn query(&mut self, conn: ConnId, list: &[&str]) -> Vec<UserStatus> {
        self.engine
            .get_user_status(conn, &ids(list), self.now)
            .unwrap()
    }

    fn subscribe(&mut self, conn: ConnId, list: &[&str]) -> Vec<UserStatus> {
        self.engine.subscribe(conn, &ids(list), self.now).unwrap()
    }

    fn friend(&mut self, owner: &str, friend: &str) {
        self.engine
            .add_friends(APP, owner, &ids(&[friend]))
            .unwrap();
    }

    fn unfriend(&mut self, owner: &str, friend: &str) {
        self.engine
            .remove_friends(APP, owner, &ids(&[friend]))
            .unwrap();
    }

    fn advance(&mut self, ms: Millis) {
        self.now += ms;
    }

    fn tick(&mut self) {
        self.engine.tick(self.now);
    }

    fn effects(&mut self) -> Effects {
        self.engine.take_effects()
    }

    fn deliveries(&mut self) -> Vec<Delivery> {
        let effects = self.engine.take_effects();
        assert_eq!(effects.changes.len(), effects.to.len());
        effects
            .changes
            .into_iter()
            .zip(effects.to)
            .map(|(change, conns)| Delivery {
                status: change.status,
                conns,
            })
            .collect()
    }

    /// Stops the engine and starts another over a copy of what the store kept, `ms` later.
    fn restart(&mut self, ms: Millis) {
        let from = self.engine.store();
        let to = MemoryStore::new();
        for app in from.apps() {
            to.put_app(&app);
        }
        for key in from.user_keys() {
            to.put_user(&key, &from.user(&key).unwrap());
        }
        for user in ["alice", "bob", "carol", "dave", "erin"] {
            let owner = UserKey::new(APP, user);
            for friend in from.friends_of(&owner) {
                to.add_friend(&owner, &friend);
            }
        }
        self.advance(ms);
        self.epoch += 1;
        self.engine = Engine::new(to, self.epoch, self.now);
        self.engine.recover_all();
        self.engine.take_effects();
    }
}

/// What `conn` was pushed, in order.
fn pushed_to(deliveries: &[Delivery], conn: ConnId) -> Vec<UserStatus> {
    deliveries
        .iter()
        .filter(|d| d.conns.contains(&conn))
        .map(|d| d.status.clone())
        .collect()
}

/// No connection hears a change twice (N2).
fn assert_once_each(deliveries: &[Delivery]) {
    let mut all: Vec<(String, ConnId)> = deliveries
        .iter()
        .flat_map(|d| d.conns.iter().map(|&c| (d.status.user_id.clone(), c)))
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        n,
        "a connection heard one change twice: {deliveries:?}"
    );
}

/// The hidden view (X5), apart from its version.
fn assert_hidden(status: &UserStatus, status_type: StatusType, last_seen: Option<Millis>) {
    assert_eq!(status.status_type, status_type, "{status:?}");
    assert_eq!(status.custom_status, "", "{status:?}");
    assert!(status.online_devices.is_empty(), "{status:?}");
    assert_eq!(status.last_seen, last_seen, "{status:?}");
    assert_eq!(status.own, None, "{status:?}");
}

// ---------------------------------------------------------------------------------------------
// Last seen

#[test]
fn last_seen_is_when_the_user_last_left_online() {
    // covers: X1, X2, D1, L4
    let mut w = World::new();
    assert_eq!(w.own("alice").last_seen, None, "never seen");
    let phone = w.login("alice", Platform::Android);
    let laptop = w.login("alice", Platform::Mac);
    assert_eq!(w.own("alice").last_seen, None, "not while ONLINE");

    // One device leaving is not the user leaving ONLINE.
    w.advance(1000);
    w.engine.close(phone, w.now);
    assert_eq!(w.own("alice").status_type, StatusType::Online);
    assert_eq!(w.own("alice").last_seen, None);

    w.advance(1000);
    let left = w.now;
    w.engine.close(laptop, w.now);
    let status = w.own("alice");
    assert_eq!(status.status_type, StatusType::Offline);
    assert_eq!(status.last_seen, Some(left));

    // Back ONLINE: not shown; logging out of the last device moves it again.
    w.advance(5000);
    let again = w.login("alice", Platform::Web);
    assert_eq!(w.own("alice").last_seen, None);
    w.advance(1000);
    w.engine.logout(again, w.now).unwrap();
    // The two closed devices are still logged in: OFFLINE, away since the logout.
    assert_eq!(w.own("alice").status_type, StatusType::Offline);
    assert_eq!(w.own("alice").last_seen, Some(w.now));
}

#[test]
fn last_seen_after_a_timeout_a_kick_and_an_expired_device() {
    // covers: X1, D2, L2, L5
    let mut w = World::new();
    w.change_settings(|s| {
        s.heartbeat_timeout = Duration::from_millis(1000);
        s.offline_retention = Duration::from_millis(5000);
    });
    let phone = w.login("alice", Platform::Android);
    w.advance(1000);
    w.tick();
    assert_eq!(w.own("alice").last_seen, Some(w.now), "D2");
    let _ = phone;

    // A kick by another device of the same user keeps the user ONLINE.
    let first = w.login("bob", Platform::Android);
    w.advance(10);
    let second = w.login("bob", Platform::Android);
    let _ = (first, second);
    assert_eq!(w.own("bob").status_type, StatusType::Online);
    assert_eq!(w.own("bob").last_seen, None);

    // L5: the OFFLINE device expires; the last seen stays when it was.
    let left = w.own("alice").last_seen;
    w.advance(5000);
    w.tick();
    assert_eq!(w.own("alice").status_type, StatusType::Unlogined);
    assert_eq!(w.own("alice").last_seen, left);
}

#[test]
fn last_seen_travels_with_every_status() {
    // covers: X2, N1, N4
    let mut w = World::new();
    let bob = w.login("bob", Platform::Web);
    w.subscribe(bob, &["alice"]);
    let alice = w.login("alice", Platform::Android);
    w.deliveries();
    w.advance(300);
    w.engine.close(alice, w.now);
    let left = w.now;
    let d = w.deliveries();
    let pushed = pushed_to(&d, bob);
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].last_seen, Some(left), "the push");
    assert_eq!(w.query(bob, &["alice"])[0].last_seen, Some(left), "a query");
    assert_eq!(w.subscribe(bob, &["alice"])[0].last_seen, Some(left));
    let (_, snapshot) = w.try_login("bob", Platform::Mac, "bob-mac");
    assert_eq!(snapshot[1].user_id, "alice");
    assert_eq!(snapshot[1].last_seen, Some(left), "a login snapshot");
    assert_eq!(
        w.backend("alice").0.last_seen,
        Some(left),
        "the admin query"
    );
}

#[test]
fn last_seen_survives_a_restart_and_devices_online_then_are_last_seen_at_the_boot() {
    // covers: X1, X3, L6
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.advance(100);
    w.engine.logout(alice, w.now).unwrap();
    let alice_left = w.now;
    // alice's only durable state is her last seen: she keeps a row.
    assert!(w.engine.store().user(&UserKey::new(APP, "alice")).is_some());
    w.login("bob", Platform::Web);

    w.restart(60_000);
    let boot = w.now;
    assert_eq!(w.own("alice").status_type, StatusType::Unlogined);
    assert_eq!(w.own("alice").last_seen, Some(alice_left));
    assert_eq!(w.own("bob").status_type, StatusType::Offline);
    assert_eq!(w.own("bob").last_seen, Some(boot), "the boot time (ours)");
    assert_eq!(w.own("carol").last_seen, None);

    // A second restart does not move it again.
    w.restart(1000);
    assert_eq!(w.own("bob").last_seen, Some(boot));
}

// ---------------------------------------------------------------------------------------------
// Appear offline

#[test]
fn an_invisible_user_looks_offline_to_everyone_else() {
    // covers: X4, X5, X6, X8
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let _phone2 = w.login("alice", Platform::Mac);
    w.set(alice, Some("busy")).unwrap();
    w.advance(500);
    let switched = w.now;
    w.invisible(alice, true);

    for watcher in ["bob", "zed"] {
        assert_hidden(
            &w.seen_by("alice", watcher),
            StatusType::Offline,
            Some(switched),
        );
    }
    let own = w.own("alice");
    assert_eq!(own.status_type, StatusType::Online);
    assert_eq!(own.custom_status, "busy");
    assert_eq!(own.online_devices, vec![Platform::Android, Platform::Mac]);
    assert_eq!(
        own.own,
        Some(SelfState {
            invisible: true,
            visibility: Visibility::Everyone
        })
    );
    let (backend, devices) = w.backend("alice");
    assert_hidden(&backend, StatusType::Offline, Some(switched));
    assert_eq!(
        devices,
        vec![
            (Platform::Android, OnlineState::PushOnline),
            (Platform::Mac, OnlineState::PushOnline)
        ]
    );
    // The truth is still there for the app's backend's own records.
    assert_eq!(
        w.engine.device_details(&UserKey::new(APP, "alice"))[0].state,
        OnlineState::Online
    );
}

#[test]
fn switching_invisible_tells_own_devices_and_watchers_at_once() {
    // covers: X6, X7, N1, N2
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let alice2 = w.login("alice", Platform::Web);
    let bob = w.login("bob", Platform::Web);
    let carol = w.login("carol", Platform::Mac);
    w.subscribe(bob, &["alice"]);
    w.friend("carol", "alice");
    w.set(alice, Some("hi")).unwrap();
    w.deliveries();

    w.advance(10);
    w.invisible(alice2, true);
    let d = w.deliveries();
    assert_once_each(&d);
    for own in [alice, alice2] {
        let pushed = pushed_to(&d, own);
        assert_eq!(pushed.len(), 1);
        assert_eq!(pushed[0].status_type, StatusType::Online);
        assert!(pushed[0].own.unwrap().invisible);
    }
    for watcher in [bob, carol] {
        let pushed = pushed_to(&d, watcher);
        assert_eq!(pushed.len(), 1, "{d:?}");
        assert_hidden(&pushed[0], StatusType::Offline, Some(w.now));
    }

    // The same value again notifies nobody.
    w.invisible(alice, true);
    assert!(w.deliveries().is_empty());

    // Off: the truth at once, as one change: one push per device.
    w.advance(10);
    w.invisible(alice, false);
    let d = w.deliveries();
    assert_once_each(&d);
    assert_eq!(d.len(), 1, "own devices and watchers see the same: {d:?}");
    assert_eq!(d[0].conns, vec![alice, alice2, bob, carol]);
    assert_eq!(d[0].status.status_type, StatusType::Online);
    assert_eq!(d[0].status.custom_status, "hi");
    assert_eq!(d[0].status.own, None, "back to the defaults");
}

#[test]
fn invisible_is_kept_across_logout_and_restart() {
    // covers: X6, L6, X3
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.advance(100);
    let switched = w.now;
    w.invisible(alice, true);
    w.advance(100);
    w.engine.logout(alice, w.now).unwrap();
    assert_hidden(
        &w.seen_by("alice", "bob"),
        StatusType::Unlogined,
        Some(switched),
    );
    let alice = w.login("alice", Platform::Android);
    assert!(
        w.own("alice").own.unwrap().invisible,
        "still on after a logout"
    );
    let _ = alice;

    w.restart(5000);
    assert!(
        w.own("alice").own.unwrap().invisible,
        "still on after a restart"
    );
    assert_eq!(w.own("alice").last_seen, Some(w.now), "the truth: the boot");
    assert_hidden(
        &w.seen_by("alice", "bob"),
        StatusType::Offline,
        Some(switched),
    );
}

#[test]
fn an_invisible_users_devices_come_and_go_without_telling_watchers() {
    // covers: X14, X5, D1, D2, L2, L4, L5
    let mut w = World::new();
    w.change_settings(|s| {
        s.heartbeat_timeout = Duration::from_millis(1000);
        s.offline_retention = Duration::from_millis(5000);
    });
    let bob = w.login("bob", Platform::Web);
    w.subscribe(bob, &["alice"]);
    let alice = w.login("alice", Platform::Android);
    w.invisible(alice, true);
    let hidden = w.seen_by("alice", "bob");
    w.deliveries();

    // Another device, a kick, a close, a timeout: watchers hear nothing of it.
    let mac = w.login("alice", Platform::Mac);
    let _mac2 = w.login_device("alice", Platform::Mac, "another-mac");
    assert_eq!(w.effects().closes.len(), 1, "the kick of {mac}");
    w.engine.close(alice, w.now);
    w.engine.touch(bob, w.now + 900);
    w.advance(1000);
    w.tick();
    let d = w.deliveries();
    assert!(pushed_to(&d, bob).is_empty(), "{d:?}");
    assert_eq!(w.own("alice").status_type, StatusType::Offline);
    assert_eq!(
        w.seen_by("alice", "bob"),
        hidden,
        "the same view, the same version"
    );

    // The last device expires (L5): now the hidden view changes, and bob hears it.
    w.engine.touch(bob, w.now);
    w.advance(900);
    w.engine.touch(bob, w.now);
    w.tick();
    assert!(w.deliveries().is_empty());
    w.advance(4100);
    w.engine.touch(bob, w.now);
    w.tick();
    let d = w.deliveries();
    let pushed = pushed_to(&d, bob);
    assert_eq!(pushed.len(), 1, "{d:?}");
    assert_hidden(&pushed[0], StatusType::Unlogined, hidden.last_seen);
    assert!(pushed[0].version > hidden.version);
}

#[test]
fn the_backend_keeps_hearing_the_truth_of_an_invisible_user() {
    // covers: X8
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.invisible(alice, true);
    w.effects();
    let mac = w.login("alice", Platform::Mac);
    w.set(mac, Some("secret")).unwrap();
    w.engine.logout(mac, w.now).unwrap();
    let actions: Vec<(Action, String)> = w
        .effects()
        .events
        .iter()
        .map(|e| (e.action, e.custom_status.clone()))
        .collect();
    assert_eq!(
        actions,
        vec![
            (Action::Login, String::new()),
            (Action::CustomStatusChange, "secret".to_string()),
            (Action::Logout, String::new()),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Custom status that expires

#[test]
fn a_custom_status_with_an_expiry_is_cleared_then_and_notified() {
    // covers: X9, N1, C1
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    w.subscribe(bob, &["alice"]);
    w.set_for(alice, "in a meeting", 60_000).unwrap();
    let set = w.deliveries();
    let version = pushed_to(&set, bob)[0].version;

    w.advance(59_999);
    w.tick();
    assert!(w.deliveries().is_empty());
    assert_eq!(w.own("alice").custom_status, "in a meeting");
    w.advance(1);
    w.tick();
    let d = w.deliveries();
    for conn in [alice, bob] {
        let pushed = pushed_to(&d, conn);
        assert_eq!(pushed.len(), 1);
        assert_eq!(pushed[0].custom_status, "");
        assert_eq!(pushed[0].status_type, StatusType::Online);
        assert!(pushed[0].version > version);
    }
    w.advance(60_000);
    w.tick();
    assert!(w.deliveries().is_empty(), "once");
}

#[test]
fn setting_again_replaces_the_expiry_and_clearing_or_leaving_removes_it() {
    // covers: X9, C3, C4
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.set_for(alice, "a", 1000).unwrap();
    // The same value with a later expiry: nobody hears it, the expiry moves.
    w.deliveries();
    w.set_for(alice, "a", 5000).unwrap();
    assert!(w.deliveries().is_empty());
    w.advance(1000);
    w.tick();
    assert_eq!(w.own("alice").custom_status, "a");
    // A new value without an expiry does not expire.
    w.set(alice, Some("b")).unwrap();
    w.advance(10_000);
    w.tick();
    assert_eq!(w.own("alice").custom_status, "b");
    // Cleared, then set again without an expiry: no old expiry comes back.
    w.set_for(alice, "c", 1000).unwrap();
    w.set(alice, None).unwrap();
    w.set(alice, Some("c")).unwrap();
    w.advance(2000);
    w.tick();
    assert_eq!(w.own("alice").custom_status, "c");
    // Leaving ONLINE clears the status and its expiry (C3).
    w.set_for(alice, "d", 1000).unwrap();
    w.engine.close(alice, w.now);
    let alice = w.login("alice", Platform::Android);
    w.set(alice, Some("e")).unwrap();
    w.deliveries();
    w.advance(2000);
    w.tick();
    assert_eq!(w.own("alice").custom_status, "e");
    assert!(w.deliveries().is_empty());
    // An expiry with an empty status is ignored.
    w.set_for(alice, "", 1000).unwrap();
    assert_eq!(w.own("alice").custom_status, "");
}

#[test]
fn an_expiry_must_be_within_a_year() {
    // covers: X9, X13, B1
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    assert_eq!(
        code(w.set_for(alice, "x", 0)),
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(
        code(w.set_for(alice, "x", MAX_CUSTOM_STATUS_EXPIRY + 1)),
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(
        w.own("alice").custom_status,
        "",
        "a refused call changes nothing"
    );
    w.set_for(alice, "x", MAX_CUSTOM_STATUS_EXPIRY).unwrap();
    assert_eq!(
        code(
            w.engine
                .set_self_status_with_expiry(999, Some("x"), Some(5), w.now)
        ),
        codes::ERR_SDK_NOT_LOGGED_IN
    );
}

#[test]
fn an_expiring_status_of_an_invisible_user_is_for_own_devices_only() {
    // covers: X9, X6, X4
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    w.subscribe(bob, &["alice"]);
    w.invisible(alice, true);
    w.deliveries();
    w.set_for(alice, "shh", 100).unwrap();
    w.advance(100);
    w.tick();
    let d = w.deliveries();
    assert!(pushed_to(&d, bob).is_empty(), "{d:?}");
    let own = pushed_to(&d, alice);
    assert_eq!(own.last().unwrap().custom_status, "");
}

#[test]
fn an_expiry_is_not_kept_across_a_restart() {
    // covers: X9, L6
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.set_for(alice, "x", 1000).unwrap();
    w.restart(10);
    let alice = w.login_device("alice", Platform::Android, "device-1");
    w.set(alice, Some("y")).unwrap();
    w.advance(5000);
    w.tick();
    assert_eq!(w.own("alice").custom_status, "y");
}

// ---------------------------------------------------------------------------------------------
// Who may see me

#[test]
fn friends_only_shows_the_truth_to_the_users_own_friends() {
    // covers: X10, X4, X5, F1
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.set(alice, Some("hi")).unwrap();
    w.friend("alice", "bob");
    // carol has alice as a friend, but alice does not have carol: one-directional (F1).
    w.friend("carol", "alice");
    w.advance(10);
    w.visibility(alice, Visibility::Friends);

    let truth = w.seen_by("alice", "bob");
    assert_eq!(truth.status_type, StatusType::Online);
    assert_eq!(truth.custom_status, "hi");
    assert_eq!(truth.own, None);
    assert_hidden(
        &w.seen_by("alice", "carol"),
        StatusType::Offline,
        Some(w.now),
    );
    assert_hidden(&w.seen_by("alice", "zed"), StatusType::Offline, Some(w.now));
    assert_eq!(
        w.own("alice").own,
        Some(SelfState {
            invisible: false,
            visibility: Visibility::Friends
        })
    );
    // The backend is not a watcher: visibility does not apply to it (X8).
    assert_eq!(w.backend("alice").0.custom_status, "hi");

    w.visibility(alice, Visibility::Nobody);
    assert_hidden(&w.seen_by("alice", "bob"), StatusType::Offline, Some(w.now));
}

#[test]
fn the_hidden_view_comes_without_an_error_on_every_path() {
    // covers: X10, X4, S5, N4
    let mut w = World::new();
    w.change_settings(|s| s.subscription_limit = 2);
    let alice = w.login("alice", Platform::Android);
    w.visibility(alice, Visibility::Nobody);
    let bob = w.login("bob", Platform::Web);
    let answered = w.subscribe(bob, &["alice", "carol"]);
    assert_hidden(&answered[0], StatusType::Offline, Some(T0));
    assert_hidden(&w.query(bob, &["alice"])[0], StatusType::Offline, Some(T0));
    w.friend("bob", "alice");
    let (_, snapshot) = w.try_login("bob", Platform::Mac, "bob-mac");
    assert_hidden(&snapshot[1], StatusType::Offline, Some(T0));
    // The subscription counts towards the limit like any (S5).
    w.subscribe(bob, &["dave"]);
    assert_eq!(
        w.engine.subscriptions_of(&UserKey::new(APP, "bob")),
        vec!["carol", "dave"]
    );
    // Own devices always see the truth.
    assert_eq!(
        w.query(alice, &["alice"])[0].status_type,
        StatusType::Online
    );
}

#[test]
fn narrowing_freezes_what_watchers_saw_then_and_narrowing_further_keeps_it() {
    // covers: X10, X5, X12
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.friend("alice", "bob");
    w.advance(100);
    let narrowed = w.now;
    w.visibility(alice, Visibility::Friends);
    let stranger = w.seen_by("alice", "zed");
    w.engine.close(alice, w.now + 50);
    w.advance(1000);
    let alice = w.login("alice", Platform::Android);
    w.advance(1000);
    // friends -> nobody: the freeze stays as it was; bob now sees it too.
    w.visibility(alice, Visibility::Nobody);
    assert_eq!(w.seen_by("alice", "zed"), stranger, "not a newer freeze");
    assert_hidden(
        &w.seen_by("alice", "bob"),
        StatusType::Offline,
        Some(narrowed),
    );

    // Widening to everyone ends the freeze; narrowing again freezes anew.
    w.visibility(alice, Visibility::Everyone);
    assert_eq!(w.seen_by("alice", "zed").status_type, StatusType::Online);
    w.advance(10);
    w.visibility(alice, Visibility::Friends);
    assert_hidden(&w.seen_by("alice", "zed"), StatusType::Offline, Some(w.now));
}

#[test]
fn narrowing_while_invisible_takes_the_invisible_freeze() {
    // covers: X10, X6, X12
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    w.subscribe(bob, &["alice"]);
    w.advance(100);
    w.invisible(alice, true);
    let invisible = w.seen_by("alice", "bob");
    w.deliveries();
    w.advance(100);
    w.visibility(alice, Visibility::Nobody);
    let d = w.deliveries();
    assert!(pushed_to(&d, bob).is_empty(), "bob sees the same: {d:?}");
    assert_eq!(
        w.seen_by("alice", "bob"),
        invisible,
        "same view, same version"
    );
    // Switching invisible off changes nothing for bob: he still may not see alice.
    w.invisible(alice, false);
    let d = w.deliveries();
    assert!(pushed_to(&d, bob).is_empty(), "{d:?}");
    assert_eq!(w.seen_by("alice", "bob"), invisible);
    assert!(pushed_to(&d, alice)[0].own.is_some());
}

#[test]
fn changing_visibility_pushes_the_new_view_to_watchers_it_changes_for() {
    // covers: X11, X10, N1, N2, N3
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    let carol = w.login("carol", Platform::Mac);
    w.friend("alice", "bob");
    w.subscribe(bob, &["alice"]);
    w.subscribe(carol, &["alice"]);
    w.set(alice, Some("x")).unwrap();
    let held = w.deliveries();
    let carol_held = pushed_to(&held, carol)[0].version;

    w.advance(10);
    w.visibility(alice, Visibility::Friends);
    let d = w.deliveries();
    assert_once_each(&d);
    assert!(pushed_to(&d, bob).is_empty(), "bob still sees the truth");
    let carol_saw = pushed_to(&d, carol);
    assert_eq!(carol_saw.len(), 1);
    assert_hidden(&carol_saw[0], StatusType::Offline, Some(w.now));
    assert!(carol_saw[0].version > carol_held);
    assert_eq!(pushed_to(&d, alice).len(), 1, "own devices hear the switch");

    // Back to everyone: carol sees the truth again, with a higher version.
    w.visibility(alice, Visibility::Everyone);
    let d = w.deliveries();
    let carol_sees = pushed_to(&d, carol);
    assert_eq!(carol_sees.len(), 1);
    assert_eq!(carol_sees[0].custom_status, "x");
    assert!(carol_sees[0].version > carol_saw[0].version);
}

#[test]
fn friend_list_changes_change_who_may_see_from_then_on() {
    // covers: X11, F1, X12, N3
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    let carol = w.login("carol", Platform::Mac);
    w.subscribe(bob, &["alice"]);
    w.subscribe(carol, &["alice"]);
    w.set(alice, Some("x")).unwrap();
    w.visibility(alice, Visibility::Friends);
    let hidden = w.seen_by("alice", "bob");
    w.deliveries();

    // bob becomes alice's friend: he alone is pushed the truth.
    w.friend("alice", "bob");
    let d = w.deliveries();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].conns, vec![bob]);
    assert_eq!(d[0].status.custom_status, "x");
    assert!(d[0].status.version > hidden.version);
    let truth_version = d[0].status.version;
    assert_eq!(
        w.seen_by("alice", "carol"),
        hidden,
        "carol's view did not move"
    );

    // Removed again: bob alone is pushed the hidden view, above what he held.
    w.unfriend("alice", "bob");
    let d = w.deliveries();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].conns, vec![bob]);
    assert_hidden(&d[0].status, StatusType::Offline, hidden.last_seen);
    assert!(d[0].status.version > truth_version);
    assert_eq!(
        w.seen_by("alice", "carol"),
        hidden,
        "carol's view did not move"
    );

    // Removing someone who is not a friend, or a friend change of a visible user, tells nobody.
    w.unfriend("alice", "bob");
    w.visibility(alice, Visibility::Everyone);
    w.deliveries();
    w.friend("alice", "carol");
    assert!(w.deliveries().is_empty());
}

#[test]
fn a_restricted_watchers_view_reveals_nothing_of_what_the_user_does() {
    // covers: X12, X5, X10, X6
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    let carol = w.login("carol", Platform::Web);
    w.friend("alice", "carol");
    w.subscribe(bob, &["alice"]);
    w.subscribe(carol, &["alice"]);
    w.visibility(alice, Visibility::Friends);
    w.deliveries();
    let frozen = w.seen_by("alice", "bob");
    // Status changes, other devices, going OFFLINE and back, even invisible on and off.
    let mut alice = alice;
    for step in 0..5 {
        w.advance(1000);
        w.set(alice, Some(&format!("step {step}"))).unwrap();
        let mac = w.login("alice", Platform::Mac);
        w.engine.close(mac, w.now);
        w.engine.close(alice, w.now);
        alice = w.login_device("alice", Platform::Android, "device-1");
        w.invisible(alice, step % 2 == 0);
        let d = w.deliveries();
        assert!(pushed_to(&d, bob).is_empty(), "step {step}: {d:?}");
        assert!(
            !pushed_to(&d, carol).is_empty(),
            "carol, a friend, hears it"
        );
        assert_eq!(w.seen_by("alice", "bob"), frozen, "step {step}");
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limits and errors

#[test]
fn the_switches_share_the_set_status_abuse_cap() {
    // covers: X13, C2
    let mut settings = ultimate();
    settings.set_status_rate = imstatus_server::engine::RateLimit {
        calls: 3,
        window: Duration::from_secs(1),
    };
    let mut w = World::with(settings);
    let alice = w.login("alice", Platform::Android);
    w.set(alice, Some("a")).unwrap();
    w.invisible(alice, true);
    w.visibility(alice, Visibility::Friends);
    assert_eq!(
        code(w.engine.set_invisible(alice, false, w.now)),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    assert_eq!(
        code(w.engine.set_visibility(alice, Visibility::Everyone, w.now)),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    assert_eq!(
        code(w.set(alice, Some("b"))),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    let own = w.own("alice").own.unwrap();
    assert!(own.invisible, "a refused call changes nothing");
    assert_eq!(own.visibility, Visibility::Friends);
    w.advance(1000);
    w.engine.set_invisible(alice, false, w.now).unwrap();
}

#[test]
fn bad_values_and_missing_sessions_are_refused() {
    // covers: X13, B1
    let mut w = World::new();
    for bad in ["", "Everyone", "friend", "all"] {
        assert_eq!(
            code(Visibility::parse(bad)),
            codes::ERR_INVALID_PARAMETERS,
            "{bad:?}"
        );
    }
    assert_eq!(Visibility::parse("nobody"), Ok(Visibility::Nobody));
    assert_eq!(
        code(w.engine.set_invisible(42, true, w.now)),
        codes::ERR_SDK_NOT_LOGGED_IN
    );
    assert_eq!(
        code(w.engine.set_visibility(42, Visibility::Nobody, w.now)),
        codes::ERR_SDK_NOT_LOGGED_IN
    );
    let alice = w.login("alice", Platform::Android);
    w.engine.logout(alice, w.now).unwrap();
    assert_eq!(
        code(w.engine.set_invisible(alice, true, w.now)),
        codes::ERR_SDK_NOT_LOGGED_IN
    );
}

// ---------------------------------------------------------------------------------------------
// Versions and restarts

#[test]
fn versions_stay_above_what_any_device_held_across_views_and_restarts() {
    // covers: X12, N3, L6
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Web);
    w.subscribe(bob, &["alice"]);
    w.friend("alice", "bob");
    let mut held = 0;
    let mut check = |w: &mut World, what: &str| {
        for status in pushed_to(&w.deliveries(), bob) {
            assert!(
                status.version > held,
                "{what}: {} after {held}",
                status.version
            );
            held = status.version;
        }
    };
    w.set(alice, Some("x")).unwrap();
    check(&mut w, "set");
    w.visibility(alice, Visibility::Friends);
    check(&mut w, "friends");
    w.unfriend("alice", "bob");
    check(&mut w, "unfriended");
    w.invisible(alice, true);
    check(&mut w, "invisible");
    w.friend("alice", "bob");
    check(&mut w, "befriended");
    w.visibility(alice, Visibility::Nobody);
    check(&mut w, "nobody");
    w.invisible(alice, false);
    check(&mut w, "visible");
    w.visibility(alice, Visibility::Everyone);
    check(&mut w, "everyone");
    assert!(held > 0);

    // After a restart every view starts above every version of the last run.
    w.visibility(alice, Visibility::Nobody);
    w.restart(10);
    assert!(w.seen_by("alice", "bob").version > held);
    assert_eq!(
        w.own("alice").own.unwrap().visibility,
        Visibility::Nobody,
        "kept across the restart"
    );
}
