// Presence beyond V2TIM, included by tests/extensions.rs (one node) and
// tests/extensions_cluster.rs (a cluster), which each define `start`.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use imstatus::client::{local_unix_ms, Client, ClientConfig, ClientError, Listener, UserStatus};
use imstatus::client::{Platform, StatusType, Visibility};
use imstatus::codes;

const WAIT: Duration = Duration::from_secs(5);

/// Forwards every status change to the test.
struct Changes(Mutex<Sender<Vec<UserStatus>>>);

impl Listener for Changes {
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        let _ = self.0.lock().unwrap().send(statuses.to_vec());
    }
}

/// A logged-in client and the changes it was told of.
struct Sdk {
    client: Client,
    changes: Receiver<Vec<UserStatus>>,
    user: &'static str,
}

fn sdk(server: &TestServer, user: &'static str, platform: Platform) -> Sdk {
    let mut config = ClientConfig::new(APP);
    config.server_addr = Some(server.addr().to_string());
    config.platform = platform;
    let client = Client::new(config).unwrap();
    let (tx, changes) = channel();
    client.add_listener(Arc::new(Changes(Mutex::new(tx))));
    call(|done| client.login(user, &sig(user), done)).unwrap();
    Sdk {
        client,
        changes,
        user,
    }
}

/// Runs a callback-style call and waits for its one answer.
fn call<T: Send + 'static>(
    f: impl FnOnce(Box<dyn FnOnce(Result<T, ClientError>) + Send>),
) -> Result<T, ClientError> {
    let (tx, rx) = channel();
    f(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv_timeout(WAIT).expect("every call answers")
}

impl Sdk {
    fn get(&self, user: &str) -> UserStatus {
        let mut list = call(|done| self.client.get_user_status(vec![user.into()], done)).unwrap();
        assert_eq!(list.len(), 1);
        list.remove(0)
    }

    /// The next change of `user`, which must come within [`WAIT`]; changes of others are skipped.
    fn next_change(&self, user: &str) -> UserStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let list = self
                .changes
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{}: no change of {user} within {WAIT:?}", self.user));
            if let Some(s) = list.into_iter().find(|s| s.user_id == user) {
                return s;
            }
        }
    }

    /// Nothing of `user` arrives before a change of `marker`'s user to `text`, which `marker`
    /// sets now: proof that delivery works and that `user`'s change was not sent.
    fn nothing_of_before(&self, user: &str, marker: &Sdk, text: &str) {
        call(|done| marker.client.set_self_status(Some(text), done)).unwrap();
        loop {
            let list = self.changes.recv_timeout(WAIT).expect("the marker arrives");
            assert!(list.iter().all(|s| s.user_id != user), "{list:?}");
            if list
                .iter()
                .any(|s| s.user_id == marker.user && s.custom_status == text)
            {
                return;
            }
        }
    }
}

/// The view of a hidden user (X5): OFFLINE without a custom status or devices, last seen frozen.
fn assert_hidden(status: &UserStatus, last_seen: u64) {
    assert_eq!(status.status_type, StatusType::Offline, "{status:?}");
    assert_eq!(status.custom_status, "", "{status:?}");
    assert!(status.online_devices.is_empty(), "{status:?}");
    assert_eq!(status.last_seen_ms, Some(last_seen), "{status:?}");
    assert!(!status.invisible, "others never see the switch: {status:?}");
    assert_eq!(status.visibility, Visibility::Everyone, "{status:?}");
}

#[test]
fn an_expiring_status_clears_itself_for_everyone() {
    // covers: X9, N1
    let server = start(vec![app()]);
    let alice = sdk(&server, "alice", Platform::Windows);
    let bob = sdk(&server, "bob", Platform::Android);
    call(|done| bob.client.subscribe_user_status(vec!["alice".into()], done)).unwrap();

    let set_at = Instant::now();
    call(|done| {
        alice
            .client
            .set_self_status_expiring(Some("lunch"), Some(Duration::from_millis(400)), done)
    })
    .unwrap();
    assert_eq!(bob.next_change("alice").custom_status, "lunch");
    assert_eq!(alice.next_change("alice").custom_status, "lunch");
    let cleared = bob.next_change("alice");
    assert!(
        set_at.elapsed() >= Duration::from_millis(400),
        "not before its time"
    );
    assert_eq!(cleared.status_type, StatusType::Online);
    assert_eq!(cleared.custom_status, "");
    assert_eq!(cleared.last_seen_ms, None, "not while ONLINE");
    assert_eq!(
        alice.next_change("alice").custom_status,
        "",
        "own devices too"
    );
    assert_eq!(bob.get("alice").custom_status, "");

    // A new status replaces the expiry: a plain one then stays.
    let expiry = Duration::from_millis(200);
    let set_at = Instant::now();
    call(|done| {
        alice
            .client
            .set_self_status_expiring(Some("brb"), Some(expiry), done)
    })
    .unwrap();
    assert_eq!(bob.next_change("alice").custom_status, "brb");
    call(|done| alice.client.set_self_status(Some("back"), done)).unwrap();
    assert_eq!(bob.next_change("alice").custom_status, "back");
    // Absence can only be seen by waiting: past the replaced expiry and two of the server's
    // 100 ms ticks, then a marker proves that nothing of alice was sent meanwhile.
    std::thread::sleep(
        (set_at + expiry + Duration::from_millis(200)).saturating_duration_since(Instant::now()),
    );
    bob.nothing_of_before("alice", &bob, "marker");
    assert_eq!(bob.get("alice").custom_status, "back");

    // The server decides what is an expiry: none of zero ms.
    let zero = call(|done| {
        alice
            .client
            .set_self_status_expiring(Some("x"), Some(Duration::ZERO), done)
    });
    assert_eq!(zero.unwrap_err().code, codes::ERR_INVALID_PARAMETERS);
}

#[test]
fn invisible_others_see_offline_with_frozen_last_seen_own_devices_the_truth() {
    // covers: X4, X5, X6, X7
    let server = start(vec![app()]);
    let alice = sdk(&server, "alice", Platform::Windows);
    let bob = sdk(&server, "bob", Platform::Android);
    call(|done| bob.client.subscribe_user_status(vec!["alice".into()], done)).unwrap();
    call(|done| alice.client.set_self_status(Some("busy"), done)).unwrap();
    assert_eq!(bob.next_change("alice").custom_status, "busy");
    assert_eq!(alice.next_change("alice").custom_status, "busy");

    let before = local_unix_ms();
    call(|done| alice.client.set_invisible(true, done)).unwrap();
    let after = local_unix_ms();
    let seen = bob.next_change("alice");
    let frozen = seen.last_seen_ms.expect("a last seen");
    assert!(
        (before..=after).contains(&frozen),
        "{before} <= {frozen} <= {after}"
    );
    assert_hidden(&seen, frozen);
    let own = alice.next_change("alice");
    assert_eq!(own.status_type, StatusType::Online);
    assert_eq!(own.custom_status, "busy");
    assert_eq!(own.online_devices, vec!["Windows"]);
    assert!(own.invisible);
    assert_eq!(own.last_seen_ms, None);
    assert_eq!(alice.client.cached_status("alice").unwrap(), own);
    assert_hidden(&bob.client.cached_status("alice").unwrap(), frozen);

    // What alice does meanwhile reaches her devices only; queries see the frozen view.
    call(|done| alice.client.set_self_status(Some("secret"), done)).unwrap();
    assert_eq!(alice.next_change("alice").custom_status, "secret");
    bob.nothing_of_before("alice", &bob, "marker");
    assert_hidden(&bob.get("alice"), frozen);
    assert!(alice.get("alice").invisible);

    // Off: the truth at once, as one change.
    call(|done| alice.client.set_invisible(false, done)).unwrap();
    let back = bob.next_change("alice");
    assert_eq!(back.status_type, StatusType::Online);
    assert_eq!(back.custom_status, "secret");
    assert_eq!(back.last_seen_ms, None);
    assert!(!alice.next_change("alice").invisible);
    bob.nothing_of_before("alice", &bob, "marker 2");
}

#[test]
fn visibility_nobody_hides_the_user_and_friends_lets_friends_see() {
    // covers: X10, X11, X4, X5
    let server = start(vec![app()]);
    let (code, _) = admin(
        server.admin_addr(),
        "POST",
        &format!("/v1/apps/{APP}/friends/import"),
        Some(r#"{"From_Account":"alice","To_Account":["bob"]}"#),
    );
    assert_eq!(code, 200);
    let alice = sdk(&server, "alice", Platform::Windows);
    let bob = sdk(&server, "bob", Platform::Android);
    let carol = sdk(&server, "carol", Platform::Mac);
    for watcher in [&bob, &carol] {
        call(|done| {
            watcher
                .client
                .subscribe_user_status(vec!["alice".into()], done)
        })
        .unwrap();
    }
    call(|done| alice.client.set_self_status(Some("hi"), done)).unwrap();
    for watcher in [&bob, &carol] {
        assert_eq!(watcher.next_change("alice").custom_status, "hi");
    }
    assert_eq!(alice.next_change("alice").custom_status, "hi");

    let before = local_unix_ms();
    call(|done| alice.client.set_visibility(Visibility::Nobody, done)).unwrap();
    let after = local_unix_ms();
    let own = alice.next_change("alice");
    assert_eq!(own.visibility, Visibility::Nobody);
    assert_eq!(
        (own.status_type, own.custom_status.as_str()),
        (StatusType::Online, "hi")
    );
    for watcher in [&bob, &carol] {
        let seen = watcher.next_change("alice");
        let frozen = seen.last_seen_ms.unwrap();
        assert!((before..=after).contains(&frozen));
        assert_hidden(&seen, frozen);
        assert_hidden(&watcher.get("alice"), frozen);
    }

    // Friends: bob, alice's friend, sees the truth again; carol does not.
    call(|done| alice.client.set_visibility(Visibility::Friends, done)).unwrap();
    assert_eq!(alice.next_change("alice").visibility, Visibility::Friends);
    let truth = bob.next_change("alice");
    assert_eq!(
        (truth.status_type, truth.custom_status.as_str()),
        (StatusType::Online, "hi")
    );
    assert_eq!(
        truth.visibility,
        Visibility::Everyone,
        "the switch is alice's own"
    );
    carol.nothing_of_before("alice", &carol, "marker");
    assert_eq!(carol.get("alice").status_type, StatusType::Offline);

    // Only the three names; Unknown is refused before it leaves.
    let unknown = call(|done| alice.client.set_visibility(Visibility::Unknown, done));
    assert_eq!(unknown.unwrap_err().code, codes::ERR_INVALID_PARAMETERS);
    call(|done| alice.client.set_visibility(Visibility::Everyone, done)).unwrap();
    assert_eq!(alice.next_change("alice").visibility, Visibility::Everyone);
    assert_eq!(carol.next_change("alice").custom_status, "hi");
}

#[test]
fn last_seen_after_the_other_user_logs_out() {
    // covers: X1, X2, X3
    let server = start(vec![app()]);
    let alice = sdk(&server, "alice", Platform::Windows);
    let bob = sdk(&server, "bob", Platform::Android);
    call(|done| bob.client.subscribe_user_status(vec!["alice".into()], done)).unwrap();
    assert_eq!(bob.get("alice").last_seen_ms, None, "not while ONLINE");
    assert_eq!(bob.get("nobody-yet").last_seen_ms, None, "never seen");

    let before = local_unix_ms();
    call(|done| alice.client.logout(done)).unwrap();
    let after = local_unix_ms();
    let seen = bob.next_change("alice");
    assert_eq!(seen.status_type, StatusType::Unlogined);
    let last = seen.last_seen_ms.expect("a last seen");
    assert!(
        (before..=after).contains(&last),
        "{before} <= {last} <= {after}"
    );
    assert_eq!(bob.get("alice").last_seen_ms, Some(last));
    assert_eq!(
        bob.client.cached_status("alice").unwrap().last_seen_ms,
        Some(last)
    );

    // Back ONLINE it is not shown.
    call(|done| alice.client.login("alice", &sig("alice"), done)).unwrap();
    let online = bob.next_change("alice");
    assert_eq!(online.status_type, StatusType::Online);
    assert_eq!(online.last_seen_ms, None);
}
