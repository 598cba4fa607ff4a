//! Device events: what the engine tells the app's backend (Tencent's `State.StateChange`
//! callback, and the metrics) for every login, logout, drop, heartbeat timeout, kick, custom
//! status change and restart, decided once, in the engine.

use std::sync::Arc;
use std::time::Duration;

use imstatus_server::engine::{
    Action, AppSettings, DeviceEvent, Engine, Login, MemoryStore, Millis, Platform, Reason,
};
use imstatus_server::usersig;

const APP: u32 = 1_400_000_001;
const KEY: &str = "the-secret-key-of-app-one";
const T0: Millis = 1_700_000_000_000;

type TestEngine = Engine<Arc<MemoryStore>>;

fn engine(store: &Arc<MemoryStore>, epoch: u32, now: Millis) -> TestEngine {
    let engine = Engine::new(store.clone(), epoch, now);
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = true;
    app.heartbeat_timeout = Duration::from_secs(10);
    engine.put_app(app).unwrap();
    engine
}

fn login(engine: &TestEngine, conn: u64, user: &str, platform: Platform, device: &str) {
    login_for(engine, conn, user, platform, device, 86_400, T0);
}

fn login_for(
    engine: &TestEngine,
    conn: u64,
    user: &str,
    platform: Platform,
    device: &str,
    valid_secs: u64,
    now: Millis,
) {
    let sig = usersig::generate(APP, KEY, user, valid_secs, now / 1000);
    engine.open(conn, now);
    engine
        .login(
            conn,
            &Login {
                sdk_app_id: APP,
                user_id: user,
                user_sig: &sig,
                platform,
                device_id: device,
            },
            now,
        )
        .unwrap();
}

fn events(engine: &TestEngine) -> Vec<DeviceEvent> {
    engine.take_effects().events
}

/// An event as expected: the fields that vary, the rest as the engine fills them.
fn event(
    user: &str,
    action: Action,
    reason: Reason,
    platform: Platform,
    conn: Option<u64>,
    at: Millis,
) -> DeviceEvent {
    DeviceEvent {
        app: APP,
        user: user.to_string(),
        action,
        reason,
        platform,
        conn,
        kicked: Vec::new(),
        custom_status: String::new(),
        at,
        recovered: false,
    }
}

#[test]
fn login_logout_and_custom_status_are_told_once_each() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&store, 1, T0);
    login(&engine, 1, "alice", Platform::Android, "phone");
    assert_eq!(
        events(&engine),
        [event(
            "alice",
            Action::Login,
            Reason::Register,
            Platform::Android,
            Some(1),
            T0
        )]
    );

    engine.set_self_status(1, Some("busy"), T0).unwrap();
    // The same status again changes nothing: nothing to tell.
    engine.set_self_status(1, Some("busy"), T0).unwrap();
    engine.set_self_status(1, None, T0).unwrap();
    let busy = DeviceEvent {
        custom_status: "busy".into(),
        ..event(
            "alice",
            Action::CustomStatusChange,
            Reason::SetCustomStatus,
            Platform::Android,
            Some(1),
            T0,
        )
    };
    let cleared = DeviceEvent {
        custom_status: String::new(),
        ..busy.clone()
    };
    assert_eq!(events(&engine), [busy, cleared]);

    engine.logout(1, T0 + 5).unwrap();
    assert_eq!(
        events(&engine),
        [event(
            "alice",
            Action::Logout,
            Reason::Unregister,
            Platform::Android,
            Some(1),
            T0 + 5
        )]
    );
}

#[test]
fn a_login_that_kicks_names_the_kicked_devices_and_nothing_else_is_told() {
    // One instance per platform (L2): a second Android device kicks the first.
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&store, 1, T0);
    login(&engine, 1, "alice", Platform::Android, "old-phone");
    engine.set_self_status(1, Some("here"), T0).unwrap();
    events(&engine);
    login(&engine, 2, "alice", Platform::Android, "new-phone");
    let told = events(&engine);
    assert_eq!(
        told,
        [DeviceEvent {
            kicked: vec![Platform::Android],
            custom_status: "here".into(),
            ..event(
                "alice",
                Action::Login,
                Reason::Register,
                Platform::Android,
                Some(2),
                T0
            )
        }]
    );
    // The kicked connection closing later is not a second event: its session already ended.
    engine.close(1, T0 + 1);
    assert_eq!(events(&engine), []);
}

#[test]
fn a_drop_a_heartbeat_timeout_and_an_expired_usersig_are_disconnects() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&store, 1, T0);
    login(&engine, 1, "alice", Platform::Windows, "pc");
    login(&engine, 2, "bob", Platform::IPhone, "phone");
    login_for(&engine, 3, "carol", Platform::Mac, "mac", 5, T0);
    events(&engine);

    // D1: the socket closes.
    engine.close(1, T0 + 1_000);
    assert_eq!(
        events(&engine),
        [event(
            "alice",
            Action::Disconnect,
            Reason::LinkClose,
            Platform::Windows,
            Some(1),
            T0 + 1_000
        )]
    );

    // Carol's UserSig expires after 5 s; bob heartbeats until then, then falls silent and
    // times out 10 s after his last heartbeat (D2).
    engine.touch(2, T0 + 6_000);
    engine.tick(T0 + 6_000);
    assert_eq!(
        events(&engine),
        [event(
            "carol",
            Action::Disconnect,
            Reason::LinkClose,
            Platform::Mac,
            Some(3),
            T0 + 6_000
        )]
    );
    engine.tick(T0 + 15_999);
    assert_eq!(events(&engine), []);
    engine.tick(T0 + 16_000);
    assert_eq!(
        events(&engine),
        [event(
            "bob",
            Action::Disconnect,
            Reason::TimeOut,
            Platform::IPhone,
            Some(2),
            T0 + 16_000
        )]
    );
}

#[test]
fn a_restart_tells_each_device_that_was_online_once_marked_as_recovered() {
    let store = Arc::new(MemoryStore::new());
    let before = engine(&store, 1, T0);
    login(&before, 1, "alice", Platform::Android, "phone");
    login(&before, 2, "alice", Platform::Web, "browser");
    login(&before, 3, "bob", Platform::Linux, "laptop");
    // Bob's device was already OFFLINE when the server stopped: nothing new to tell.
    before.close(3, T0 + 1);
    drop(before);

    let boot = T0 + 60_000;
    let after = Engine::new(store.clone(), 2, boot);
    after.recover_all();
    let mut told = events(&after);
    told.sort_by_key(|e| e.platform as u8);
    let recovered = |platform| DeviceEvent {
        recovered: true,
        ..event(
            "alice",
            Action::Disconnect,
            Reason::LinkClose,
            platform,
            None,
            boot,
        )
    };
    assert_eq!(
        told,
        [recovered(Platform::Android), recovered(Platform::Web)]
    );
    // Loading alice again (a login) tells nothing more about the earlier run.
    login_for(&after, 9, "alice", Platform::Android, "phone", 86_400, boot);
    assert_eq!(
        events(&after)
            .iter()
            .map(|e| (e.action, e.recovered))
            .collect::<Vec<_>>(),
        [(Action::Login, false)]
    );
}
