//! One or more tests per rule of `behaviour.md` that the engine decides. Each names the rule ids
//! it covers. The engine is pure and its clock is injected, so every test drives time itself.

use std::time::Duration;

use imstatus_protocol::codes;
use imstatus_server::engine::{
    AppSettings, Close, CloseReason, ConnId, DeviceRecord, Edition, Effects, Engine, EngineError,
    Login, MemoryStore, Millis, MultiDevicePolicy, Platform, RateLimit, StatusType, Store, UserKey,
    UserRecord, UserStatus,
};
use imstatus_server::usersig;

const APP: u32 = 1_400_000_001;
const KEY: &str = "the-secret-key-of-app-one";
const APP2: u32 = 1_400_000_002;
const KEY2: &str = "the-secret-key-of-app-two";
/// 2023-11-14, in unix milliseconds.
const T0: Millis = 1_700_000_000_000;

/// An ultimate app with both switches on, as most tests want it.
fn ultimate(app: u32, key: &str) -> AppSettings {
    let mut settings = AppSettings::new(app, key);
    settings.edition = Edition::Ultimate;
    settings.status_enabled = true;
    settings.friend_status_notify = true;
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

fn user_ids(statuses: &[UserStatus]) -> Vec<&str> {
    statuses.iter().map(|s| s.user_id.as_str()).collect()
}

/// A routed change, as the server would deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Delivery {
    user: String,
    status_type: StatusType,
    custom: String,
    version: u64,
    conns: Vec<ConnId>,
}

/// An engine plus a clock and a connection counter.
struct World {
    engine: Engine,
    now: Millis,
    next_conn: ConnId,
    next_device: u32,
}

impl World {
    fn new() -> World {
        World::with(ultimate(APP, KEY))
    }

    fn with(settings: AppSettings) -> World {
        let engine = Engine::new(MemoryStore::new(), 1, T0);
        engine.put_app(settings).unwrap();
        World {
            engine,
            now: T0,
            next_conn: 1,
            next_device: 1,
        }
    }

    fn settings(&self) -> AppSettings {
        self.engine.app_settings(APP).unwrap()
    }

    fn change_settings(&mut self, f: impl FnOnce(&mut AppSettings)) {
        let mut settings = self.settings();
        f(&mut settings);
        self.engine.put_app(settings).unwrap();
    }

    fn sig(&self, user: &str) -> String {
        usersig::generate(APP, KEY, user, 86_400, self.now / 1000)
    }

    fn new_conn(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.engine.open(conn, self.now);
        conn
    }

    fn try_login_as(
        &mut self,
        conn: ConnId,
        user: &str,
        platform: Platform,
        device: &str,
    ) -> Result<Vec<UserStatus>, EngineError> {
        let sig = self.sig(user);
        self.engine.login(
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
    }

    /// Logs `user` in on a new connection as a new device.
    fn login(&mut self, user: &str, platform: Platform) -> ConnId {
        let device = format!("device-{}", self.next_device);
        self.next_device += 1;
        self.login_device(user, platform, &device)
    }

    /// Logs `user` in on a new connection as `device`.
    fn login_device(&mut self, user: &str, platform: Platform, device: &str) -> ConnId {
        let conn = self.new_conn();
        self.try_login_as(conn, user, platform, device)
            .unwrap_or_else(|e| panic!("login of {user} failed: {e}"));
        conn
    }

    fn status(&self, user: &str) -> UserStatus {
        self.engine.status_of(&UserKey::new(APP, user))
    }

    fn status_type(&self, user: &str) -> StatusType {
        self.status(user).status_type
    }

    fn set(&mut self, conn: ConnId, custom: Option<&str>) -> Result<(), EngineError> {
        self.engine.set_self_status(conn, custom, self.now)
    }

    fn query(&mut self, conn: ConnId, list: &[&str]) -> Result<Vec<UserStatus>, EngineError> {
        self.engine.get_user_status(conn, &ids(list), self.now)
    }

    fn subscribe(&mut self, conn: ConnId, list: &[&str]) -> Result<Vec<UserStatus>, EngineError> {
        self.engine.subscribe(conn, &ids(list), self.now)
    }

    fn unsubscribe(&mut self, conn: ConnId, list: Option<&[&str]>) -> Result<(), EngineError> {
        let list = list.map(ids);
        self.engine.unsubscribe(conn, list.as_deref(), self.now)
    }

    fn friend(&mut self, owner: &str, friend: &str) {
        self.engine
            .add_friends(APP, owner, &ids(&[friend]))
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

    /// Takes the effects and routes every change, as the server does after each operation.
    fn deliveries(&mut self) -> Vec<Delivery> {
        let effects = self.engine.take_effects();
        effects
            .changes
            .iter()
            .map(|change| Delivery {
                user: change.status.user_id.clone(),
                status_type: change.status.status_type,
                custom: change.status.custom_status.clone(),
                version: change.status.version,
                conns: self.engine.route(change),
            })
            .collect()
    }

    /// The connections that receive a fresh change of `conn`'s user (made by toggling its
    /// custom status).
    fn route_of_change_by(&mut self, conn: ConnId) -> Vec<ConnId> {
        self.deliveries();
        let current = self.engine_status_of_conn(conn).custom_status;
        let next = if current == "probe" {
            "probe2"
        } else {
            "probe"
        };
        self.set(conn, Some(next)).unwrap();
        let deliveries = self.deliveries();
        assert_eq!(deliveries.len(), 1, "{deliveries:?}");
        deliveries[0].conns.clone()
    }

    fn engine_status_of_conn(&self, conn: ConnId) -> UserStatus {
        let key = self
            .engine
            .session_user(conn)
            .expect("conn is logged in")
            .clone();
        self.engine.status_of(&key)
    }
}

fn kicked(conn: ConnId) -> Close {
    Close {
        conn,
        reason: CloseReason::Kicked,
    }
}

// ---------------------------------------------------------------------------------------------
// Identities

#[test]
fn apps_never_see_each_others_users() {
    // covers: I1
    let mut w = World::new();
    w.engine.put_app(ultimate(APP2, KEY2)).unwrap();
    let alice1 = w.login("alice", Platform::Android);
    let bob1 = w.login("bob", Platform::Android);
    w.subscribe(bob1, &["alice"]).unwrap();
    w.friend("bob", "alice");

    // alice and bob of app two: separate users with the same IDs.
    let alice2 = w.new_conn();
    let sig2 = usersig::generate(APP2, KEY2, "alice", 86_400, w.now / 1000);
    w.engine
        .login(
            alice2,
            &Login {
                sdk_app_id: APP2,
                user_id: "alice",
                user_sig: &sig2,
                platform: Platform::Android,
                device_id: "d",
            },
            w.now,
        )
        .unwrap();
    let carol2 = w.new_conn();
    let sig2 = usersig::generate(APP2, KEY2, "carol", 86_400, w.now / 1000);
    w.engine
        .login(
            carol2,
            &Login {
                sdk_app_id: APP2,
                user_id: "carol",
                user_sig: &sig2,
                platform: Platform::Web,
                device_id: "d",
            },
            w.now,
        )
        .unwrap();
    w.deliveries();

    // app two's alice changing reaches only app two's alice.
    w.engine
        .set_self_status(alice2, Some("in app two"), w.now)
        .unwrap();
    let d = w.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].conns, vec![alice2]);
    // app one's alice is untouched, and app one's alice changing reaches app one only.
    assert_eq!(w.status("alice").custom_status, "");
    assert_eq!(w.route_of_change_by(alice1), vec![alice1, bob1]);
    // carol exists only in app two.
    assert_eq!(w.status_type("carol"), StatusType::Unlogined);
    let q = w.query(alice1, &["carol"]).unwrap();
    assert_eq!(q[0].status_type, StatusType::Unlogined);
    // a sig of app two does not open app one.
    let conn = w.new_conn();
    let sig2 = usersig::generate(APP2, KEY2, "alice", 86_400, w.now / 1000);
    let err = w.engine.login(
        conn,
        &Login {
            sdk_app_id: APP,
            user_id: "alice",
            user_sig: &sig2,
            platform: Platform::Web,
            device_id: "x",
        },
        w.now,
    );
    assert_eq!(code(err), codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID);
    // friends are per app too.
    assert!(w.engine.friends_of(&UserKey::new(APP2, "bob")).is_empty());
}

#[test]
fn own_id_must_be_1_to_32_printable_ascii_bytes() {
    // covers: I2
    let mut w = World::new();
    let long33 = "a".repeat(33);
    let long32 = "b".repeat(32);
    for bad in [
        "",
        long33.as_str(),
        "tab\there",
        "bell\u{7}",
        "del\u{7f}",
        "caf\u{e9}",
    ] {
        let conn = w.new_conn();
        let err = w.try_login_as(conn, bad, Platform::Web, "d");
        assert_eq!(
            code(err),
            codes::ERR_SDK_COMM_INVALID_IDENTIFIER,
            "userID {bad:?}"
        );
        assert!(w.effects().is_empty());
    }
    // the boundaries of the printable range and 32 bytes are fine.
    for good in [long32.as_str(), " space~tilde ", "!"] {
        let conn = w.new_conn();
        w.try_login_as(conn, good, Platform::Web, "d").unwrap();
        assert_eq!(w.status_type(good), StatusType::Online, "userID {good:?}");
    }
}

#[test]
fn invalid_ids_in_a_query_list_fail_alone() {
    // covers: I2, Q5
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    w.login("bob", Platform::Android);
    let long33 = "x".repeat(33);
    let answer = w
        .query(alice, &["", "bob", long33.as_str(), "caf\u{e9}", "alice"])
        .unwrap();
    assert_eq!(user_ids(&answer), vec!["bob", "alice"]);
    assert_eq!(answer[0].status_type, StatusType::Online);
    // only invalid entries: the call fails with the first failure's error.
    let err = w.query(alice, &["", long33.as_str()]);
    assert_eq!(code(err), codes::ERR_INVALID_PARAMETERS);
}

#[test]
fn status_belongs_to_the_user_not_the_device() {
    // covers: I3
    let mut w = World::new();
    let phone = w.login("alice", Platform::Android);
    let desk = w.login("alice", Platform::Windows);
    let bob = w.login("bob", Platform::Mac);
    w.set(phone, Some("from the phone")).unwrap();
    let s = w.status("alice");
    assert_eq!(s.custom_status, "from the phone");
    assert_eq!(s.online_devices, vec![Platform::Android, Platform::Windows]);
    // the desktop sees the same single status, and overwrites it for both.
    let q = w.query(desk, &["alice"]).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].custom_status, "from the phone");
    w.set(desk, Some("from the desk")).unwrap();
    let q = w.query(phone, &["alice"]).unwrap();
    assert_eq!(q[0].custom_status, "from the desk");
    // others see one entry for alice, whatever her devices.
    let q = w.query(bob, &["alice", "alice"]).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].custom_status, "from the desk");
    assert_eq!(
        q[0].online_devices,
        vec![Platform::Android, Platform::Windows]
    );
}

// ---------------------------------------------------------------------------------------------
// Login

#[test]
fn every_usersig_failure_has_its_code() {
    // covers: L1
    let mut w = World::new();
    let now_secs = w.now / 1000;
    let cases: Vec<(&str, u32, String, i32)> = vec![
        ("garbage", APP, "not a sig".into(), 70003),
        ("empty", APP, String::new(), 70003),
        (
            "other key",
            APP,
            usersig::generate(APP, "another-key", "alice", 86_400, now_secs),
            codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED,
        ),
        (
            "expired",
            APP,
            usersig::generate(APP, KEY, "alice", 60, now_secs - 3600),
            codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED,
        ),
        (
            "other user",
            APP,
            usersig::generate(APP, KEY, "bob", 86_400, now_secs),
            codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID,
        ),
        (
            "other app",
            APP,
            usersig::generate(APP2, KEY, "alice", 86_400, now_secs),
            codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
        ),
        (
            "unknown app",
            999,
            usersig::generate(999, KEY, "alice", 86_400, now_secs),
            codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
        ),
    ];
    assert_eq!(codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED, 70003);
    for (what, app, sig, expected) in cases {
        let conn = w.new_conn();
        let result = w.engine.login(
            conn,
            &Login {
                sdk_app_id: app,
                user_id: "alice",
                user_sig: &sig,
                platform: Platform::Web,
                device_id: "d",
            },
            w.now,
        );
        assert_eq!(code(result), expected, "{what}");
        assert!(w.effects().is_empty(), "{what}");
        assert_eq!(w.status_type("alice"), StatusType::Unlogined, "{what}");
        assert_eq!(
            code(w.set(conn, Some("x"))),
            codes::ERR_SDK_NOT_LOGGED_IN,
            "{what}"
        );
    }
    // and a good sig works, right up to its last second.
    let conn = w.new_conn();
    let sig = usersig::generate(APP, KEY, "alice", 60, now_secs - 60);
    w.engine
        .login(
            conn,
            &Login {
                sdk_app_id: APP,
                user_id: "alice",
                user_sig: &sig,
                platform: Platform::Web,
                device_id: "d",
            },
            w.now,
        )
        .unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Online);
}

#[test]
fn a_session_ends_when_its_usersig_expires_not_before() {
    // covers: L1
    let mut w = World::with(AppSettings {
        heartbeat_timeout: Duration::from_secs(3600),
        ..ultimate(APP, KEY)
    });
    let conn = w.new_conn();
    // valid for 10 more seconds: through second now+10, inclusive, as login checks it.
    let sig = usersig::generate(APP, KEY, "alice", 10, w.now / 1000);
    let login = Login {
        sdk_app_id: APP,
        user_id: "alice",
        user_sig: &sig,
        platform: Platform::Web,
        device_id: "d",
    };
    w.engine.login(conn, &login, w.now).unwrap();
    w.effects();
    w.advance(10_999);
    w.tick();
    assert!(w.effects().is_empty());
    // a login with the same sig in that last second still succeeds, and the session lives on.
    let other = w.new_conn();
    let login2 = Login {
        device_id: "e",
        platform: Platform::Android,
        ..login.clone()
    };
    w.engine.login(other, &login2, w.now).unwrap();
    w.tick();
    assert!(w.effects().closes.is_empty());
    w.advance(1);
    w.tick();
    let effects = w.effects();
    let mut closes = effects.closes.clone();
    closes.sort_by_key(|c| c.conn);
    assert_eq!(
        closes,
        vec![
            Close {
                conn,
                reason: CloseReason::UserSigExpired
            },
            Close {
                conn: other,
                reason: CloseReason::UserSigExpired
            }
        ]
    );
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    let err = w.engine.login(w.next_conn, &login, w.now);
    assert_eq!(code(err), codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED);
}

#[test]
fn second_login_on_the_same_platform_kicks_the_first() {
    // covers: L2
    let mut w = World::new();
    let watcher = w.login("bob", Platform::Mac);
    w.subscribe(watcher, &["alice"]).unwrap();
    let first = w.login_device("alice", Platform::Android, "phone-1");
    w.set(first, Some("busy")).unwrap();
    w.deliveries();

    let second = w.login_device("alice", Platform::Android, "phone-2");
    let effects = w.effects();
    assert_eq!(effects.closes, vec![kicked(first)]);
    // alice never left ONLINE, so nobody is told anything.
    assert!(effects.changes.is_empty(), "{:?}", effects.changes);
    let s = w.status("alice");
    assert_eq!(s.status_type, StatusType::Online);
    assert_eq!(s.custom_status, "busy");
    assert_eq!(s.online_devices, vec![Platform::Android]);

    // the kicked connection can do nothing any more.
    let not_logged_in = codes::ERR_SDK_NOT_LOGGED_IN;
    assert_eq!(code(w.set(first, Some("x"))), not_logged_in);
    assert_eq!(code(w.query(first, &["alice"])), not_logged_in);
    assert_eq!(code(w.subscribe(first, &["bob"])), not_logged_in);
    assert_eq!(code(w.unsubscribe(first, None)), not_logged_in);
    assert_eq!(code(w.engine.logout(first, w.now)), not_logged_in);
    // its close (as the server reports it) changes nothing.
    w.engine.close(first, w.now);
    assert!(w.effects().is_empty());
    assert_eq!(w.status_type("alice"), StatusType::Online);
    // changes go to the second device only.
    assert_eq!(w.route_of_change_by(second), vec![watcher, second]);
}

#[test]
fn another_platform_is_not_kicked() {
    // covers: L2
    let mut w = World::new();
    let phone = w.login("alice", Platform::Android);
    let tablet = w.login("alice", Platform::IPad);
    let web = w.login("alice", Platform::Web);
    assert!(w.effects().closes.is_empty());
    assert_eq!(
        w.status("alice").online_devices,
        vec![Platform::Android, Platform::IPad, Platform::Web]
    );
    assert_eq!(w.route_of_change_by(tablet), vec![phone, tablet, web]);
}

#[test]
fn reconnecting_the_same_device_replaces_its_old_connection() {
    // covers: L2
    let mut w = World::new();
    let old = w.login_device("alice", Platform::Android, "phone");
    let other = w.login_device("alice", Platform::Android, "phone");
    let effects = w.effects();
    assert_eq!(
        effects.closes,
        vec![Close {
            conn: old,
            reason: CloseReason::Replaced
        }]
    );
    assert_eq!(w.status("alice").online_devices, vec![Platform::Android]);
    assert_eq!(code(w.set(old, Some("x"))), codes::ERR_SDK_NOT_LOGGED_IN);
    assert_eq!(w.route_of_change_by(other), vec![other]);
}

#[test]
fn a_device_that_changes_platform_still_obeys_the_platform_limit() {
    // covers: L2
    let mut w = World::new();
    let phone = w.login_device("alice", Platform::Android, "d1");
    let tablet = w.login_device("alice", Platform::IPad, "d2");
    w.effects();
    // d2 comes back claiming Android: it must not hold a second Android instance.
    let again = w.login_device("alice", Platform::Android, "d2");
    let mut closes = w.effects().closes;
    closes.sort_by_key(|c| c.conn);
    assert_eq!(
        closes,
        vec![
            kicked(phone),
            Close {
                conn: tablet,
                reason: CloseReason::Replaced
            }
        ]
    );
    assert_eq!(w.status("alice").online_devices, vec![Platform::Android]);
    assert_eq!(w.route_of_change_by(again), vec![again]);
}

#[test]
fn max_instances_per_platform_two_allows_two() {
    // covers: L2, F2
    let mut w = World::new();
    w.change_settings(|s| s.max_instances_per_platform = 2);
    let a = w.login("alice", Platform::Web);
    w.advance(1);
    let b = w.login("alice", Platform::Web);
    assert!(w.effects().closes.is_empty());
    assert_eq!(
        w.status("alice").online_devices,
        vec![Platform::Web, Platform::Web]
    );
    // a third kicks the earliest.
    w.advance(1);
    let c = w.login("alice", Platform::Web);
    assert_eq!(w.effects().closes, vec![kicked(a)]);
    assert_eq!(w.route_of_change_by(c), vec![b, c]);
    // back to one: the next login kicks both others.
    w.change_settings(|s| s.max_instances_per_platform = 1);
    w.advance(1);
    let d = w.login("alice", Platform::Web);
    let mut closes = w.effects().closes;
    closes.sort_by_key(|c| c.conn);
    assert_eq!(closes, vec![kicked(b), kicked(c)]);
    assert_eq!(w.route_of_change_by(d), vec![d]);
}

#[test]
fn single_platform_policy_kicks_across_platforms() {
    // covers: L2, F2
    let mut w = World::new();
    w.change_settings(|s| s.multi_device = MultiDevicePolicy::SinglePlatform);
    let phone = w.login("alice", Platform::Android);
    let web = w.login("alice", Platform::Web);
    assert_eq!(w.effects().closes, vec![kicked(phone)]);
    assert_eq!(w.status("alice").online_devices, vec![Platform::Web]);
    assert_eq!(w.route_of_change_by(web), vec![web]);
    // an OFFLINE device gives way too, so alice is not OFFLINE on two platforms either.
    w.engine.close(web, w.now);
    w.login("alice", Platform::Mac);
    assert!(w.effects().closes.is_empty());
    assert_eq!(
        w.engine.device_details(&UserKey::new(APP, "alice")).len(),
        1
    );
}

#[test]
fn dual_and_three_platform_policies() {
    // covers: L2
    let mut w = World::new();
    w.change_settings(|s| s.multi_device = MultiDevicePolicy::DualPlatform);
    let phone = w.login("alice", Platform::Android);
    let web = w.login("alice", Platform::Web);
    assert!(w.effects().closes.is_empty());
    let mac = w.login("alice", Platform::Mac);
    assert_eq!(w.effects().closes, vec![kicked(phone)]);
    assert_eq!(
        w.status("alice").online_devices,
        vec![Platform::Mac, Platform::Web]
    );

    w.change_settings(|s| s.multi_device = MultiDevicePolicy::ThreePlatform);
    let iphone = w.login("alice", Platform::IPhone);
    assert!(w.effects().closes.is_empty());
    w.login("alice", Platform::Linux);
    assert_eq!(w.effects().closes, vec![kicked(mac)]);
    w.login("alice", Platform::Android);
    assert_eq!(w.effects().closes, vec![kicked(iphone)]);
    assert_eq!(
        w.status("alice").online_devices,
        vec![Platform::Android, Platform::Linux, Platform::Web]
    );
    let _ = web;
}

#[test]
fn policies_leave_same_platform_instances_to_the_instance_limit() {
    // covers: L2, F2
    for policy in [
        MultiDevicePolicy::DualPlatform,
        MultiDevicePolicy::ThreePlatform,
        MultiDevicePolicy::MultiPlatform,
    ] {
        let mut w = World::new();
        w.change_settings(|s| {
            s.multi_device = policy;
            s.max_instances_per_platform = 2;
        });
        w.login("alice", Platform::Android);
        w.advance(1);
        w.login("alice", Platform::Android);
        assert!(w.effects().closes.is_empty(), "{policy:?}");
        assert_eq!(
            w.status("alice").online_devices,
            vec![Platform::Android, Platform::Android],
            "{policy:?}"
        );
    }
}

#[test]
fn logging_in_as_someone_else_on_a_connection_logs_the_first_out() {
    // covers: L4, L3, N1
    let mut w = World::new();
    let watcher = w.login("carol", Platform::Web);
    w.subscribe(watcher, &["alice", "bob"]).unwrap();
    let conn = w.login("alice", Platform::Android);
    w.deliveries();
    w.try_login_as(conn, "bob", Platform::Android, "shared")
        .unwrap();
    let d = w.deliveries();
    let summary: Vec<(&str, StatusType, Vec<ConnId>)> = d
        .iter()
        .map(|d| (d.user.as_str(), d.status_type, d.conns.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("alice", StatusType::Unlogined, vec![watcher]),
            ("bob", StatusType::Online, vec![watcher, conn]),
        ]
    );
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
    assert_eq!(w.engine.session_user(conn), Some(UserKey::new(APP, "bob")));
}

#[test]
fn status_type_derives_from_all_devices() {
    // covers: L3
    let mut w = World::new();
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
    let a = w.login("alice", Platform::Android);
    let b = w.login("alice", Platform::Windows);
    assert_eq!(w.status_type("alice"), StatusType::Online);
    w.engine.close(a, w.now);
    assert_eq!(w.status_type("alice"), StatusType::Online);
    assert_eq!(w.status("alice").online_devices, vec![Platform::Windows]);
    // one device dropped, the other logged out: OFFLINE.
    w.engine.logout(b, w.now).unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    assert!(w.status("alice").online_devices.is_empty());
    // the dropped device logs out after reconnecting: nothing is left, UNLOGINED.
    let a2 = w.new_conn();
    w.try_login_as(a2, "alice", Platform::Android, "device-1")
        .unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Online);
    w.engine.logout(a2, w.now).unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
}

#[test]
fn logout_of_the_last_device_is_unlogined_at_once() {
    // covers: L4, D1
    let mut w = World::new();
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let a = w.login("alice", Platform::Android);
    let b = w.login("alice", Platform::Windows);
    w.deliveries();
    // one of two: still ONLINE, nobody told.
    w.engine.logout(a, w.now).unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Online);
    assert!(w.deliveries().is_empty());
    // the logged-out connection stays open but may not act as alice.
    assert_eq!(code(w.set(a, Some("x"))), codes::ERR_SDK_NOT_LOGGED_IN);
    // the last one: UNLOGINED right away, and bob hears it.
    w.engine.logout(b, w.now).unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
    let d = w.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status_type, StatusType::Unlogined);
    assert_eq!(d[0].conns, vec![bob]);
    // a logged-out connection may log in again.
    w.try_login_as(a, "alice", Platform::Android, "again")
        .unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Online);
}

#[test]
fn logout_while_another_device_is_offline_leaves_offline() {
    // covers: L3, L4
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let b = w.login("alice", Platform::Windows);
    w.engine.close(a, w.now);
    w.engine.logout(b, w.now).unwrap();
    assert_eq!(w.status_type("alice"), StatusType::Offline);
}

#[test]
fn offline_device_is_unlogined_after_offline_retention() {
    // covers: L5, C3
    let mut w = World::new();
    w.change_settings(|s| {
        s.offline_retention = Duration::from_millis(5000);
        s.heartbeat_timeout = Duration::from_secs(3600);
    });
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let a = w.login("alice", Platform::Android);
    w.engine.close(a, w.now);
    w.deliveries();
    w.advance(4999);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    assert!(w.deliveries().is_empty());
    w.advance(1);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
    assert!(w
        .engine
        .device_details(&UserKey::new(APP, "alice"))
        .is_empty());
    let d = w.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status_type, StatusType::Unlogined);
    assert_eq!(d[0].conns, vec![bob]);
}

#[test]
fn logging_in_again_before_retention_keeps_the_device() {
    // covers: L5
    let mut w = World::new();
    w.change_settings(|s| {
        s.offline_retention = Duration::from_millis(5000);
        s.heartbeat_timeout = Duration::from_secs(3600);
    });
    let a = w.login_device("alice", Platform::Android, "phone");
    let desk = w.login_device("alice", Platform::Windows, "desk");
    w.engine.close(a, w.now);
    w.engine.close(desk, w.now);
    w.advance(4000);
    // the phone comes back; the desk stays away.
    let a2 = w.login_device("alice", Platform::Android, "phone");
    w.advance(1000);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Online);
    assert_eq!(
        w.engine.device_details(&UserKey::new(APP, "alice")).len(),
        1,
        "only the desk expired"
    );
    // much later, the phone that came back is still there.
    w.advance(60_000);
    w.engine.touch(a2, w.now);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Online);
    w.engine.close(a2, w.now);
    w.advance(4999);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Offline);
}

/// A copy of everything a store holds, made through the `Store` trait: what a durable store
/// would hand a restarted server.
fn copy_store(from: &MemoryStore, users: &[&str]) -> MemoryStore {
    let to = MemoryStore::new();
    for app in from.apps() {
        to.put_app(&app);
    }
    for key in from.user_keys() {
        to.put_user(&key, &from.user(&key).unwrap());
    }
    for app in from.apps() {
        for user in users {
            let owner = UserKey::new(app.sdk_app_id, *user);
            for friend in from.friends_of(&owner) {
                to.add_friend(&owner, &friend);
            }
        }
    }
    to
}

#[test]
fn devices_subscriptions_and_friends_survive_a_restart() {
    // covers: L6, C3, N3
    let mut w = World::new();
    let alice = w.login("alice", Platform::Android);
    let bob = w.login("bob", Platform::Mac);
    let carol = w.login("carol", Platform::Web);
    w.subscribe(bob, &["alice"]).unwrap();
    w.friend("carol", "alice");
    w.set(alice, Some("before the restart")).unwrap();
    w.engine.logout(carol, w.now).unwrap();
    let before = w.status("alice");
    assert_eq!(before.status_type, StatusType::Online);

    let store = copy_store(w.engine.store(), &["alice", "bob", "carol"]);
    w.advance(10);
    let engine = Engine::new(store, 2, w.now);
    assert!(engine.take_effects().is_empty());
    let after = engine.status_of(&UserKey::new(APP, "alice"));
    assert_eq!(after.status_type, StatusType::Offline);
    assert_eq!(after.custom_status, "");
    assert!(after.online_devices.is_empty());
    assert!(after.version > before.version, "{after:?} vs {before:?}");
    assert_eq!(
        engine.status_of(&UserKey::new(APP, "carol")).status_type,
        StatusType::Unlogined
    );
    assert_eq!(
        engine.friends_of(&UserKey::new(APP, "carol")),
        vec!["alice".to_string()]
    );

    // everyone reconnects; the subscription and the friend still route alice's changes.
    let mut w2 = World {
        engine,
        now: w.now,
        next_conn: 100,
        next_device: 100,
    };
    let bob2 = w2.login("bob", Platform::Mac);
    let carol2 = w2.login("carol", Platform::Web);
    let alice2 = w2.login_device("alice", Platform::Android, "device-1");
    let d = w2.deliveries();
    let alice_change = d.iter().find(|d| d.user == "alice").unwrap();
    assert_eq!(alice_change.status_type, StatusType::Online);
    assert!(alice_change.version > after.version);
    assert_eq!(alice_change.conns, vec![bob2, carol2, alice2]);
}

#[test]
fn subscription_retention_runs_from_a_restart_for_users_online_before_it() {
    // covers: L6, S7
    let mut w = World::new();
    w.change_settings(|s| s.subscription_retention = Duration::from_millis(7000));
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let store = copy_store(w.engine.store(), &["alice", "bob"]);
    w.advance(60_000);
    let restarted = Engine::new(store, 2, w.now);
    let mut w = World {
        engine: restarted,
        now: w.now,
        next_conn: 100,
        next_device: 100,
    };
    w.advance(6999);
    w.tick();
    assert_eq!(subscriptions_of(&w, "bob"), vec!["alice"]);
    w.advance(1);
    w.tick();
    assert!(subscriptions_of(&w, "bob").is_empty());
}

#[test]
fn recovery_from_a_prefilled_store_is_offline_not_unlogined() {
    // covers: L6, L5, S5, N3
    let store = MemoryStore::new();
    let mut settings = ultimate(APP, KEY);
    settings.offline_retention = Duration::from_millis(5000);
    store.put_app(&settings);
    let old_version = (1u64 << 32) + 41;
    let mut record = UserRecord::default();
    record.devices.insert(
        "phone".into(),
        DeviceRecord {
            node: 0,
            platform: Platform::Android,
            logged_in_at: T0 - 60_000,
            online: true,
            offline_since: None,
        },
    );
    record.subscriptions.insert("bob".into());
    record.custom_status = "stale".into();
    record.version = old_version;
    store.put_user(&UserKey::new(APP, "alice"), &record);
    // dave logged out before the restart: no devices, one subscription.
    let mut dave = UserRecord::default();
    dave.subscriptions.insert("bob".into());
    dave.away_since = Some(T0 - 1000);
    dave.version = (1u64 << 32) + 3;
    store.put_user(&UserKey::new(APP, "dave"), &dave);

    let engine = Engine::new(store, 2, T0);
    assert!(engine.take_effects().is_empty());
    let alice = engine.status_of(&UserKey::new(APP, "alice"));
    assert_eq!(alice.status_type, StatusType::Offline);
    assert_eq!(alice.custom_status, "");
    assert!(alice.version > old_version);
    assert_eq!(
        engine.status_of(&UserKey::new(APP, "dave")).status_type,
        StatusType::Unlogined
    );
    assert_eq!(
        engine.status_of(&UserKey::new(APP, "nobody")).status_type,
        StatusType::Unlogined
    );

    let mut w = World {
        engine,
        now: T0,
        next_conn: 1,
        next_device: 1,
    };
    // the phone reconnects as the same device: nothing kicked, its subscription still works.
    w.advance(1000);
    let phone = w.login_device("alice", Platform::Android, "phone");
    let effects = w.effects();
    assert!(effects.closes.is_empty());
    assert_eq!(effects.changes.len(), 1);
    assert!(effects.changes[0].status.version > alice.version);
    let bob = w.login("bob", Platform::Web);
    let d = w.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].conns, vec![phone, bob]);
    // a device that never reconnects expires offline_retention after the restart.
    w.engine.close(phone, w.now);
    w.advance(4999);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    w.advance(1);
    w.tick();
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
}

// ---------------------------------------------------------------------------------------------
// Offline detection

#[test]
fn a_dropped_connection_is_offline_at_once_and_watchers_hear_it() {
    // covers: D1, N1
    let mut w = World::new();
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let a = w.login("alice", Platform::Android);
    let before = w.status("alice").version;
    w.deliveries();
    w.engine.close(a, w.now);
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    let d = w.deliveries();
    assert_eq!(
        d,
        vec![Delivery {
            user: "alice".into(),
            status_type: StatusType::Offline,
            custom: String::new(),
            version: d[0].version,
            conns: vec![bob],
        }]
    );
    assert!(d[0].version > before);
    // a second close of the same connection is nothing.
    w.engine.close(a, w.now);
    assert!(w.effects().is_empty());
    // so is closing a connection that never logged in.
    let idle = w.new_conn();
    w.engine.close(idle, w.now);
    assert!(w.effects().is_empty());
}

#[test]
fn silence_for_heartbeat_timeout_closes_the_connection() {
    // covers: D2, F2
    let mut w = World::new();
    w.change_settings(|s| s.heartbeat_timeout = Duration::from_millis(1000));
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let a = w.login("alice", Platform::Android);
    w.deliveries();
    w.advance(999);
    w.engine.touch(bob, w.now);
    w.tick();
    assert!(w.effects().is_empty());
    assert_eq!(w.status_type("alice"), StatusType::Online);
    w.advance(1);
    w.tick();
    let effects = w.effects();
    assert_eq!(
        effects.closes,
        vec![Close {
            conn: a,
            reason: CloseReason::TimedOut
        }]
    );
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    assert_eq!(effects.changes.len(), 1);
    assert_eq!(w.engine.route(&effects.changes[0]), vec![bob]);
    assert_eq!(code(w.set(a, Some("x"))), codes::ERR_SDK_NOT_LOGGED_IN);
}

#[test]
fn a_heartbeat_or_any_request_keeps_the_connection() {
    // covers: D2
    let mut w = World::new();
    w.change_settings(|s| s.heartbeat_timeout = Duration::from_millis(1000));
    let a = w.login("alice", Platform::Android);
    w.advance(600);
    w.engine.touch(a, w.now);
    w.advance(400);
    w.tick();
    assert!(w.effects().closes.is_empty());
    w.advance(599);
    w.tick();
    assert!(w.effects().closes.is_empty());
    // a request counts as a heartbeat too.
    w.query(a, &["alice"]).unwrap();
    w.advance(999);
    w.tick();
    assert!(w.effects().closes.is_empty());
    assert_eq!(w.status_type("alice"), StatusType::Online);
    w.advance(1);
    w.tick();
    assert_eq!(w.effects().closes.len(), 1);
    assert_eq!(w.status_type("alice"), StatusType::Offline);
    // a connection that never logs in is closed after the login timeout.
    let idle = w.new_conn();
    w.advance(imstatus_server::engine::LOGIN_TIMEOUT - 1);
    w.tick();
    assert!(w.effects().closes.is_empty());
    w.advance(1);
    w.tick();
    assert_eq!(
        w.effects().closes,
        vec![Close {
            conn: idle,
            reason: CloseReason::TimedOut
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Custom status

#[test]
fn custom_status_set_and_cleared() {
    // covers: C1
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.set(a, Some("hello")).unwrap();
    assert_eq!(w.status("alice").custom_status, "hello");
    w.set(a, None).unwrap();
    assert_eq!(w.status("alice").custom_status, "");
    w.set(a, Some("again")).unwrap();
    w.set(a, Some("")).unwrap();
    assert_eq!(w.status("alice").custom_status, "");
    let d = w.deliveries();
    let customs: Vec<&str> = d.iter().map(|d| d.custom.as_str()).collect();
    assert_eq!(customs, vec!["", "hello", "", "again", ""]);
}

#[test]
fn custom_status_is_at_most_100_bytes_of_utf8() {
    // covers: C1
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.set(a, Some("keep")).unwrap();
    w.effects();
    let e_acute_50 = "\u{e9}".repeat(50); // 100 bytes, 50 characters
    let e_acute_50_a = format!("{e_acute_50}a"); // 101 bytes, 51 characters
    let han_34 = "\u{4e2d}".repeat(34); // 102 bytes, 34 characters
    for bad in ["x".repeat(101), e_acute_50_a, han_34, "x".repeat(10_000)] {
        assert_eq!(
            code(w.set(a, Some(&bad))),
            codes::ERR_INVALID_PARAMETERS,
            "{} bytes",
            bad.len()
        );
        assert_eq!(w.status("alice").custom_status, "keep");
        assert!(w.effects().is_empty());
    }
    for good in ["y".repeat(100), e_acute_50, "\u{4e2d}".repeat(33)] {
        w.set(a, Some(&good)).unwrap();
        assert_eq!(w.status("alice").custom_status, good);
    }
}

#[test]
fn setting_custom_status_needs_no_edition_switch_or_rate() {
    // covers: C2
    let mut w = World::with(AppSettings {
        edition: Edition::Basic,
        status_enabled: false,
        friend_status_notify: false,
        ..AppSettings::new(APP, KEY)
    });
    let a = w.login("alice", Platform::Android);
    w.deliveries();
    // Far more than V2TIM's 20 calls per 5 s of Q4/S3, at a person's pace (5 a second).
    for i in 0..1000 {
        let value = if i % 2 == 0 { "even" } else { "odd" };
        w.set(a, Some(value))
            .unwrap_or_else(|e| panic!("set #{i} failed: {e}"));
        let d = w.deliveries();
        assert_eq!(d.len(), 1, "set #{i}");
        assert_eq!(d[0].custom, value);
        assert_eq!(d[0].conns, vec![a]);
        w.advance(200);
    }
}

#[test]
fn setting_custom_status_faster_than_the_abuse_cap_is_refused_and_changes_nothing() {
    // covers: C2 (ours: the abuse cap set_status_rate, default 10 a second)
    let mut w = World::new();
    assert_eq!(w.settings().set_status_rate.calls, 10);
    let a = w.login("alice", Platform::Android);
    w.deliveries();
    for i in 0..10 {
        w.set(a, Some(&format!("s{i}"))).unwrap();
    }
    assert_eq!(w.deliveries().len(), 10);
    assert_eq!(
        code(w.set(a, Some("one too many"))),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    assert!(w.deliveries().is_empty());
    assert_eq!(w.status("alice").custom_status, "s9");
    // Other users are not held back, and the window slides.
    let b = w.login("bob", Platform::Android);
    w.set(b, Some("fine")).unwrap();
    w.advance(1000);
    w.set(a, Some("later")).unwrap();
    assert_eq!(w.status("alice").custom_status, "later");
}

#[test]
fn custom_status_is_cleared_when_leaving_online() {
    // covers: C3, D1, L4, D2
    let mut w = World::new();
    w.change_settings(|s| s.heartbeat_timeout = Duration::from_millis(1000));
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let expect = |d: &[Delivery], status_type: StatusType, bob: ConnId| {
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].status_type, status_type);
        assert_eq!(d[0].custom, "");
        assert_eq!(d[0].conns, vec![bob]);
    };

    // dropped: OFFLINE and cleared.
    let a = w.login_device("alice", Platform::Android, "phone");
    w.set(a, Some("at work")).unwrap();
    w.deliveries();
    w.engine.close(a, w.now);
    expect(&w.deliveries(), StatusType::Offline, bob);
    assert_eq!(w.status("alice").custom_status, "");
    // back online: the custom status is not restored.
    let a = w.login_device("alice", Platform::Android, "phone");
    assert_eq!(w.status("alice").custom_status, "");
    // logged out: UNLOGINED and cleared.
    w.set(a, Some("lunch")).unwrap();
    w.deliveries();
    w.engine.logout(a, w.now).unwrap();
    expect(&w.deliveries(), StatusType::Unlogined, bob);
    // timed out: OFFLINE and cleared.
    let a = w.login_device("alice", Platform::Android, "phone");
    w.set(a, Some("meeting")).unwrap();
    w.deliveries();
    w.advance(1000);
    w.engine.touch(bob, w.now);
    w.tick();
    expect(&w.deliveries(), StatusType::Offline, bob);
    assert_eq!(w.status("alice").custom_status, "");
}

#[test]
fn the_same_value_again_notifies_nobody() {
    // covers: C4
    let mut w = World::new();
    let bob = w.login("bob", Platform::Mac);
    w.subscribe(bob, &["alice"]).unwrap();
    let a = w.login("alice", Platform::Android);
    w.deliveries();
    w.set(a, None).unwrap();
    w.set(a, Some("")).unwrap();
    assert!(w.effects().is_empty());
    w.set(a, Some("x")).unwrap();
    let v = w.status("alice").version;
    assert_eq!(w.deliveries().len(), 1);
    w.set(a, Some("x")).unwrap();
    assert!(w.effects().is_empty());
    assert_eq!(w.status("alice").version, v);
    // a second device logging in changes neither status type nor custom status.
    w.login("alice", Platform::Web);
    assert!(w.effects().changes.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Querying

#[test]
fn own_status_query_always_works() {
    // covers: Q1
    let mut w = World::with(AppSettings {
        edition: Edition::Basic,
        status_enabled: false,
        query_rate: RateLimit {
            calls: 1,
            window: Duration::from_secs(3600),
        },
        ..AppSettings::new(APP, KEY)
    });
    let a = w.login("alice", Platform::Android);
    w.set(a, Some("me")).unwrap();
    for i in 0..200 {
        let q = w
            .query(a, &["alice", "alice"])
            .unwrap_or_else(|e| panic!("own query #{i}: {e}"));
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].custom_status, "me");
        assert_eq!(q[0].status_type, StatusType::Online);
    }
    // pro edition too.
    w.change_settings(|s| s.edition = Edition::Pro);
    assert_eq!(w.query(a, &["alice"]).unwrap().len(), 1);
}

#[test]
fn querying_others_needs_ultimate_and_the_switch() {
    // covers: Q2, Q5, F2
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.login("bob", Platform::Android);
    for edition in [Edition::Basic, Edition::Pro] {
        w.change_settings(|s| s.edition = edition);
        assert_eq!(
            code(w.query(a, &["bob"])),
            codes::ERR_SDK_INTERFACE_NOT_SUPPORT,
            "{edition:?}"
        );
        // own ID in a mixed list is still answered.
        let q = w.query(a, &["bob", "alice"]).unwrap();
        assert_eq!(user_ids(&q), vec!["alice"]);
    }
    w.change_settings(|s| {
        s.edition = Edition::Ultimate;
        s.status_enabled = false;
    });
    assert_eq!(
        code(w.query(a, &["bob"])),
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    let q = w.query(a, &["alice", "bob"]).unwrap();
    assert_eq!(user_ids(&q), vec!["alice"]);
    w.change_settings(|s| s.status_enabled = true);
    let q = w.query(a, &["alice", "bob"]).unwrap();
    assert_eq!(user_ids(&q), vec!["alice", "bob"]);
}

#[test]
fn query_batch_sizes_and_duplicates() {
    // covers: Q3
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.login("bob", Platform::Android);
    assert_eq!(code(w.query(a, &[])), codes::ERR_INVALID_PARAMETERS);
    let many: Vec<String> = (0..501).map(|i| format!("user{i}")).collect();
    let err = w.engine.get_user_status(a, &many, w.now);
    assert_eq!(code(err), codes::ERR_INVALID_PARAMETERS);
    let q = w.engine.get_user_status(a, &many[..500], w.now).unwrap();
    assert_eq!(q.len(), 500);
    assert_eq!(q[0].user_id, "user0");
    assert_eq!(q[499].user_id, "user499");
    // 501 of only the own ID is still too many.
    let own: Vec<String> = vec!["alice".to_string(); 501];
    assert_eq!(
        code(w.engine.get_user_status(a, &own, w.now)),
        codes::ERR_INVALID_PARAMETERS
    );
    let q = w
        .query(a, &["bob", "bob", "alice", "bob", "alice"])
        .unwrap();
    assert_eq!(user_ids(&q), vec!["bob", "alice"]);
}

#[test]
fn querying_others_is_rate_limited() {
    // covers: Q4, Q1, Q5
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.login("bob", Platform::Android);
    let first = w.now;
    for _ in 0..20 {
        w.query(a, &["bob"]).unwrap();
        // own-only queries in between do not count.
        w.query(a, &["alice"]).unwrap();
        w.advance(1);
    }
    assert_eq!(
        code(w.query(a, &["bob"])),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    // the own ID of a mixed list is still answered.
    let q = w.query(a, &["bob", "alice"]).unwrap();
    assert_eq!(user_ids(&q), vec!["alice"]);
    // another user has their own budget.
    let c = w.login("carol", Platform::Web);
    w.query(c, &["bob"]).unwrap();
    // once the window of the first call has passed, one more call fits, and no more.
    w.now = first + 4999;
    assert_eq!(
        code(w.query(a, &["bob"])),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    w.now = first + 5000;
    w.query(a, &["bob"]).unwrap();
    assert_eq!(
        code(w.query(a, &["bob"])),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    w.advance(5000);
    w.tick();
    for _ in 0..20 {
        w.query(a, &["bob"]).unwrap();
    }
}

#[test]
fn a_batch_fails_only_when_every_id_failed() {
    // covers: Q5, I2
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.login("bob", Platform::Android);
    // never logged in: UNLOGINED, not a failure.
    let q = w.query(a, &["zed"]).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].status_type, StatusType::Unlogined);
    assert_eq!(q[0].custom_status, "");
    assert!(q[0].online_devices.is_empty());
    let q = w.query(a, &["", "bob", "zed"]).unwrap();
    assert_eq!(user_ids(&q), vec!["bob", "zed"]);
    // every ID failed: the first failure's error.
    w.change_settings(|s| s.edition = Edition::Basic);
    assert_eq!(
        code(w.query(a, &["bob", ""])),
        codes::ERR_SDK_INTERFACE_NOT_SUPPORT
    );
    assert_eq!(
        code(w.query(a, &["", "bob"])),
        codes::ERR_INVALID_PARAMETERS
    );
}

// ---------------------------------------------------------------------------------------------
// Subscribing

#[test]
fn subscribing_needs_ultimate_and_the_switch() {
    // covers: S1, F2
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    for edition in [Edition::Basic, Edition::Pro] {
        w.change_settings(|s| s.edition = edition);
        assert_eq!(
            code(w.subscribe(a, &["bob"])),
            codes::ERR_SDK_INTERFACE_NOT_SUPPORT
        );
        assert_eq!(
            code(w.unsubscribe(a, Some(&["bob"]))),
            codes::ERR_SDK_INTERFACE_NOT_SUPPORT
        );
        assert_eq!(
            code(w.unsubscribe(a, None)),
            codes::ERR_SDK_INTERFACE_NOT_SUPPORT
        );
    }
    w.change_settings(|s| {
        s.edition = Edition::Ultimate;
        s.status_enabled = false;
    });
    assert_eq!(
        code(w.subscribe(a, &["bob"])),
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(
        code(w.unsubscribe(a, Some(&["bob"]))),
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(
        code(w.unsubscribe(a, None)),
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    w.change_settings(|s| s.status_enabled = true);
    w.subscribe(a, &["bob"]).unwrap();
    w.unsubscribe(a, None).unwrap();
}

#[test]
fn subscribe_batch_sizes() {
    // covers: S2
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let many: Vec<String> = (0..101).map(|i| format!("user{i}")).collect();
    assert_eq!(
        code(w.engine.subscribe(a, &many, w.now)),
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(code(w.subscribe(a, &[])), codes::ERR_INVALID_PARAMETERS);
    assert_eq!(
        code(w.engine.unsubscribe(a, Some(&many), w.now)),
        codes::ERR_INVALID_PARAMETERS
    );
    let answer = w.engine.subscribe(a, &many[..100], w.now).unwrap();
    assert_eq!(answer.len(), 100);
    assert!(answer
        .iter()
        .all(|s| s.status_type == StatusType::Unlogined));
    w.engine.unsubscribe(a, Some(&many[..100]), w.now).unwrap();
    // an invalid ID in a subscribe list is refused.
    assert_eq!(
        code(w.subscribe(a, &["bob", ""])),
        codes::ERR_INVALID_PARAMETERS
    );
}

#[test]
fn subscribe_and_unsubscribe_are_rate_limited() {
    // covers: S3
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    for i in 0..20 {
        w.subscribe(a, &["bob"])
            .unwrap_or_else(|e| panic!("#{i}: {e}"));
    }
    assert_eq!(
        code(w.subscribe(a, &["bob"])),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    // unsubscribing has its own budget.
    for _ in 0..20 {
        w.unsubscribe(a, Some(&["carol"])).unwrap();
    }
    assert_eq!(
        code(w.unsubscribe(a, Some(&["carol"]))),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    w.advance(5000);
    w.subscribe(a, &["bob"]).unwrap();
    w.unsubscribe(a, None).unwrap();
}

#[test]
fn own_id_is_skipped_when_subscribing() {
    // covers: S4
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let b = w.login("bob", Platform::Android);
    let answer = w.subscribe(a, &["alice", "bob", "alice", "bob"]).unwrap();
    assert_eq!(user_ids(&answer), vec!["bob"]);
    assert_eq!(subscriptions_of(&w, "alice"), vec!["bob"]);
    assert_eq!(
        code(w.subscribe(a, &["alice"])),
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(
        code(w.subscribe(a, &["alice", "alice"])),
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(w.route_of_change_by(b), vec![a, b]);
}

fn subscriptions_of(w: &World, user: &str) -> Vec<String> {
    w.engine.subscriptions_of(&UserKey::new(APP, user))
}

#[test]
fn subscribing_past_the_limit_evicts_the_earliest() {
    // covers: S5
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let names: Vec<String> = (0..201).map(|i| format!("u{i}")).collect();
    w.engine.subscribe(a, &names[..100], w.now).unwrap();
    w.engine.subscribe(a, &names[100..200], w.now).unwrap();
    assert_eq!(subscriptions_of(&w, "alice").len(), 200);
    // u0 again keeps its place, first in line.
    w.subscribe(a, &["u0"]).unwrap();
    let answer = w.subscribe(a, &["u200"]).unwrap();
    assert_eq!(user_ids(&answer), vec!["u200"]);
    let subs = subscriptions_of(&w, "alice");
    assert_eq!(subs.len(), 200);
    assert_eq!(subs[0], "u1");
    assert_eq!(subs[199], "u200");
    assert!(!subs.contains(&"u0".to_string()));
    // behaviourally: u0's changes no longer reach alice, u1's do.
    w.deliveries();
    let u0 = w.login("u0", Platform::Web);
    let u1 = w.login("u1", Platform::Web);
    let d = w.deliveries();
    assert_eq!(d[0].conns, vec![u0]);
    assert_eq!(d[1].conns, vec![a, u1]);
}

#[test]
fn resubscribing_keeps_the_place() {
    // covers: S5, F2
    let mut w = World::new();
    w.change_settings(|s| s.subscription_limit = 3);
    let a = w.login("alice", Platform::Android);
    w.subscribe(a, &["b", "c", "d"]).unwrap();
    w.subscribe(a, &["b"]).unwrap();
    w.subscribe(a, &["e", "c"]).unwrap();
    assert_eq!(subscriptions_of(&w, "alice"), vec!["c", "d", "e"]);
    w.subscribe(a, &["f", "g"]).unwrap();
    assert_eq!(subscriptions_of(&w, "alice"), vec!["e", "f", "g"]);
}

#[test]
fn subscriptions_are_shared_by_all_devices() {
    // covers: S5, N1
    let mut w = World::new();
    let phone = w.login("alice", Platform::Android);
    let desk = w.login("alice", Platform::Windows);
    let b = w.login("bob", Platform::Mac);
    w.subscribe(phone, &["bob"]).unwrap();
    assert_eq!(w.route_of_change_by(b), vec![phone, desk, b]);
    // a device that logs in later gets them too, and sees bob in its login snapshot.
    let web = w.new_conn();
    let snapshot = w.try_login_as(web, "alice", Platform::Web, "web").unwrap();
    assert_eq!(user_ids(&snapshot), vec!["alice", "bob"]);
    assert_eq!(w.route_of_change_by(b), vec![phone, desk, b, web]);
    // unsubscribing from another device ends it for all.
    w.unsubscribe(desk, Some(&["bob"])).unwrap();
    assert_eq!(w.route_of_change_by(b), vec![b]);
}

#[test]
fn unsubscribe_all_and_unknown_ids() {
    // covers: S6
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    w.subscribe(a, &["b", "c", "d"]).unwrap();
    w.unsubscribe(a, Some(&["zz", "c", "yy"])).unwrap();
    assert_eq!(subscriptions_of(&w, "alice"), vec!["b", "d"]);
    w.unsubscribe(a, None).unwrap();
    assert!(subscriptions_of(&w, "alice").is_empty());
    w.subscribe(a, &["b", "c"]).unwrap();
    w.unsubscribe(a, Some(&[])).unwrap();
    assert!(subscriptions_of(&w, "alice").is_empty());
    // nothing to remove is fine too, and nobody hears of any of it.
    w.effects();
    w.unsubscribe(a, None).unwrap();
    w.unsubscribe(a, Some(&["nobody"])).unwrap();
    assert!(w.effects().is_empty());
}

#[test]
fn subscriptions_are_dropped_after_retention_away() {
    // covers: S7, L4
    let mut w = World::new();
    w.change_settings(|s| {
        s.subscription_retention = Duration::from_millis(7000);
        s.heartbeat_timeout = Duration::from_secs(3600);
    });
    let a = w.login_device("alice", Platform::Android, "phone");
    w.subscribe(a, &["bob"]).unwrap();
    w.engine.logout(a, w.now).unwrap();
    w.advance(6999);
    w.tick();
    assert_eq!(subscriptions_of(&w, "alice"), vec!["bob"]);
    w.advance(1);
    w.tick();
    assert!(subscriptions_of(&w, "alice").is_empty());
    let a = w.login_device("alice", Platform::Android, "phone");
    let b = w.login("bob", Platform::Mac);
    assert_eq!(w.route_of_change_by(b), vec![b]);
    let _ = a;
}

#[test]
fn subscriptions_are_kept_when_the_user_comes_back_in_time() {
    // covers: S7
    let mut w = World::new();
    w.change_settings(|s| {
        s.subscription_retention = Duration::from_millis(7000);
        s.offline_retention = Duration::from_secs(3600);
        s.heartbeat_timeout = Duration::from_secs(3600);
    });
    let a = w.login_device("alice", Platform::Android, "phone");
    w.subscribe(a, &["bob"]).unwrap();
    w.engine.close(a, w.now);
    w.advance(5000);
    w.tick();
    let a = w.login_device("alice", Platform::Android, "phone");
    w.advance(1000);
    w.engine.close(a, w.now);
    // 8 s since first leaving, but only 2 s since the last break.
    w.advance(2000);
    w.tick();
    assert_eq!(subscriptions_of(&w, "alice"), vec!["bob"]);
    w.advance(4999);
    w.tick();
    assert_eq!(subscriptions_of(&w, "alice"), vec!["bob"]);
    w.advance(1);
    w.tick();
    assert!(subscriptions_of(&w, "alice").is_empty());
    // the device itself is still OFFLINE (offline_retention is longer).
    assert_eq!(w.status_type("alice"), StatusType::Offline);
}

// ---------------------------------------------------------------------------------------------
// Notifications

#[test]
fn a_change_goes_to_own_devices_subscribers_and_friends_only() {
    // covers: N1, F2
    let mut w = World::new();
    let alice_phone = w.login("alice", Platform::Android);
    let alice_desk = w.login("alice", Platform::Windows);
    let bob = w.login("bob", Platform::Mac);
    let bob_web = w.login("bob", Platform::Web);
    let carol = w.login("carol", Platform::IPhone);
    let dave = w.login("dave", Platform::Linux);
    w.subscribe(bob, &["alice"]).unwrap();
    w.friend("carol", "alice");
    // dave has alice's friend carol as a friend, and subscribes to bob: neither makes him
    // a receiver of alice's changes.
    w.friend("dave", "carol");
    w.subscribe(dave, &["bob"]).unwrap();
    assert_eq!(
        w.route_of_change_by(alice_phone),
        vec![alice_phone, alice_desk, bob, bob_web, carol]
    );
    // friend notification off: carol no longer hears.
    w.change_settings(|s| s.friend_status_notify = false);
    assert_eq!(
        w.route_of_change_by(alice_desk),
        vec![alice_phone, alice_desk, bob, bob_web]
    );
    // status switch off: subscribers no longer hear; friends do when that switch is on.
    w.change_settings(|s| {
        s.status_enabled = false;
        s.friend_status_notify = true;
    });
    assert_eq!(
        w.route_of_change_by(alice_desk),
        vec![alice_phone, alice_desk, carol]
    );
    // basic edition: no subscription path either, but the subscription is kept.
    w.change_settings(|s| {
        s.status_enabled = true;
        s.edition = Edition::Basic;
    });
    assert_eq!(
        w.route_of_change_by(alice_desk),
        vec![alice_phone, alice_desk, carol]
    );
    w.change_settings(|s| s.edition = Edition::Ultimate);
    assert_eq!(
        w.route_of_change_by(alice_desk),
        vec![alice_phone, alice_desk, bob, bob_web, carol]
    );
    let _ = dave;
}

#[test]
fn offline_watchers_receive_nothing() {
    // covers: N1
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let b = w.login("bob", Platform::Mac);
    w.subscribe(b, &["alice"]).unwrap();
    w.engine.close(b, w.now);
    assert_eq!(w.route_of_change_by(a), vec![a]);
}

#[test]
fn no_device_gets_a_change_twice() {
    // covers: N2
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let b = w.login("bob", Platform::Mac);
    w.subscribe(b, &["alice"]).unwrap();
    w.friend("bob", "alice");
    w.friend("alice", "alice");
    assert_eq!(w.route_of_change_by(a), vec![a, b]);
}

#[test]
fn versions_only_grow() {
    // covers: N3
    let mut w = World::new();
    w.change_settings(|s| s.heartbeat_timeout = Duration::from_millis(1000));
    let mut versions = vec![];
    let mut record = |w: &mut World| {
        for d in w.deliveries() {
            if d.user == "alice" {
                versions.push(d.version);
            }
        }
    };
    let a = w.login_device("alice", Platform::Android, "p");
    record(&mut w);
    w.set(a, Some("one")).unwrap();
    w.set(a, Some("two")).unwrap();
    record(&mut w);
    w.engine.close(a, w.now);
    record(&mut w);
    let a = w.login_device("alice", Platform::Android, "p");
    w.set(a, Some("three")).unwrap();
    w.engine.logout(a, w.now).unwrap();
    record(&mut w);
    let _a = w.login_device("alice", Platform::Android, "p");
    w.advance(1000);
    w.tick();
    record(&mut w);
    assert_eq!(versions.len(), 9, "{versions:?}");
    assert!(versions.windows(2).all(|p| p[0] < p[1]), "{versions:?}");
    assert_eq!(w.status("alice").version, *versions.last().unwrap());
}

#[test]
fn login_answers_own_status_then_everyone_watched() {
    // covers: N4, N1
    let mut w = World::new();
    let b = w.login("bob", Platform::Mac);
    w.set(b, Some("bob's")).unwrap();
    let a = w.login_device("alice", Platform::Android, "p");
    w.subscribe(a, &["bob", "zed"]).unwrap();
    w.friend("alice", "carol");
    w.engine.close(a, w.now);
    let a = w.new_conn();
    let snapshot = w.try_login_as(a, "alice", Platform::Android, "p").unwrap();
    assert_eq!(user_ids(&snapshot), vec!["alice", "bob", "carol", "zed"]);
    assert_eq!(snapshot[0].status_type, StatusType::Online);
    assert_eq!(snapshot[1].custom_status, "bob's");
    assert_eq!(snapshot[2].status_type, StatusType::Unlogined);
    w.change_settings(|s| s.friend_status_notify = false);
    w.engine.close(a, w.now);
    let a = w.new_conn();
    let snapshot = w.try_login_as(a, "alice", Platform::Android, "p").unwrap();
    assert_eq!(user_ids(&snapshot), vec!["alice", "bob", "zed"]);
}

// ---------------------------------------------------------------------------------------------
// Friends and settings

#[test]
fn friends_are_one_directional() {
    // covers: F1, N1
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let b = w.login("bob", Platform::Mac);
    // alice has bob: alice hears bob, bob does not hear alice.
    assert_eq!(
        w.engine
            .add_friends(APP, "alice", &ids(&["bob", "bob", "alice"]))
            .unwrap(),
        1
    );
    assert_eq!(w.route_of_change_by(b), vec![a, b]);
    assert_eq!(w.route_of_change_by(a), vec![a]);
    assert_eq!(
        w.engine.friends_of(&UserKey::new(APP, "alice")),
        vec!["bob".to_string()]
    );
    assert!(w.engine.friends_of(&UserKey::new(APP, "bob")).is_empty());
    // removing it stops it.
    assert_eq!(
        w.engine
            .remove_friends(APP, "alice", &ids(&["bob", "carol"]))
            .unwrap(),
        1
    );
    assert_eq!(w.route_of_change_by(b), vec![b]);
    // bad input is refused.
    assert_eq!(
        code(w.engine.add_friends(APP, "alice", &ids(&[""]))),
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(
        code(w.engine.add_friends(999, "alice", &ids(&["bob"]))),
        codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID
    );
}

#[test]
fn settings_changes_apply_at_once() {
    // covers: F2, S1, N1, Q2
    let mut w = World::new();
    let a = w.login("alice", Platform::Android);
    let b = w.login("bob", Platform::Mac);
    w.subscribe(a, &["bob"]).unwrap();
    w.change_settings(|s| {
        s.status_enabled = false;
        s.friend_status_notify = false;
    });
    assert_eq!(
        code(w.subscribe(a, &["carol"])),
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(
        code(w.query(a, &["bob"])),
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(w.route_of_change_by(b), vec![b]);
    // friend notification on: alice, who has bob as a friend, hears him without subscribing.
    w.friend("alice", "bob");
    assert_eq!(w.route_of_change_by(b), vec![b]);
    w.change_settings(|s| s.friend_status_notify = true);
    assert_eq!(w.route_of_change_by(b), vec![a, b]);
    // invalid settings are refused and change nothing.
    let mut bad = w.settings();
    bad.heartbeat_timeout = Duration::ZERO;
    assert_eq!(code(w.engine.put_app(bad)), codes::ERR_INVALID_PARAMETERS);
    assert_eq!(w.settings().heartbeat_timeout, Duration::from_secs(400));
}

#[test]
fn bad_device_ids_are_refused() {
    // covers: B1
    let mut w = World::new();
    let long = "d".repeat(65);
    for bad in ["", "has space", long.as_str(), "caf\u{e9}"] {
        let conn = w.new_conn();
        let err = w.try_login_as(conn, "alice", Platform::Web, bad);
        assert_eq!(code(err), codes::ERR_INVALID_PARAMETERS, "{bad:?}");
    }
    assert_eq!(w.status_type("alice"), StatusType::Unlogined);
}
