//! The Rust client over TLS with real certificates: it connects, logs in and sees changes; an
//! untrusted certificate, a wrong name and a pin mismatch are refused with descriptions that say
//! so, both to the login and to `on_connect_failed`; a right pin is accepted.

mod common;

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::tls::TlsWorld;
use common::*;
use imstatus::client::{Client, ClientConfig, ClientError, Listener, UserStatus};
use imstatus::codes;

/// Generous: a handshake on a machine whose other core is busy building.
const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug)]
enum Event {
    ConnectFailed(i32, String),
    Changed(Vec<UserStatus>),
}

struct Recorder(Mutex<Sender<Event>>);

impl Listener for Recorder {
    fn on_connect_failed(&self, code: i32, desc: &str) {
        let _ = self
            .0
            .lock()
            .unwrap()
            .send(Event::ConnectFailed(code, desc.to_owned()));
    }
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        let _ = self
            .0
            .lock()
            .unwrap()
            .send(Event::Changed(statuses.to_vec()));
    }
}

fn config(address: &str, ca_pem: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig::new(APP);
    config.server_addr = Some(address.to_owned());
    if let Some(pem) = ca_pem {
        assert_eq!(config.tls.add_ca_pem(pem.as_bytes()).unwrap(), 1);
    }
    config
}

fn call<T: Send + 'static>(
    f: impl FnOnce(Box<dyn FnOnce(Result<T, ClientError>) + Send>),
) -> Result<T, ClientError> {
    let (tx, rx) = channel();
    f(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv_timeout(WAIT).expect("every call answers")
}

fn client(config: ClientConfig) -> (Client, Receiver<Event>) {
    let client = Client::new(config).expect("the config is valid");
    let (tx, events) = channel();
    client.add_listener(Arc::new(Recorder(Mutex::new(tx))));
    (client, events)
}

fn login(config: ClientConfig, user: &str) -> (Result<(), ClientError>, Client, Receiver<Event>) {
    let (client, events) = client(config);
    let result = call(|done| client.login(user, &sig(user), done));
    (result, client, events)
}

/// The login fails with 9508, and `on_connect_failed` says the same, with `words` in it.
fn assert_refused(config: ClientConfig, words: &str) {
    let (result, client, events) = login(config, "alice");
    let error = result.expect_err("the handshake is refused");
    assert_eq!(error.code, codes::ERR_SDK_NET_DISCONNECT, "{error}");
    assert!(
        error.desc.contains(words),
        "{words:?} not in {:?}",
        error.desc
    );
    assert!(
        error.desc.starts_with("TLS handshake with "),
        "{}",
        error.desc
    );
    match events.recv_timeout(WAIT).expect("on_connect_failed") {
        Event::ConnectFailed(code, desc) => {
            assert_eq!((code, desc), (error.code, error.desc));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(client.login_user(), None);
}

#[test]
fn logs_in_and_sees_changes_over_tls() {
    let world = TlsWorld::start();
    // One by name with the scheme, one by IP address with the switch.
    let (result, alice, alice_events) =
        login(config(&world.address(), Some(world.ca_pem())), "alice");
    result.expect("alice logs in over TLS");
    let mut bob_config = config(&world.server.tls_addr().to_string(), Some(world.ca_pem()));
    bob_config.tls.enabled = true;
    let (result, bob, _) = login(bob_config, "bob");
    result.expect("bob logs in over TLS, by IP address");

    call(|done| alice.subscribe_user_status(vec!["bob".into()], done)).unwrap();
    call(|done| bob.set_self_status(Some("over TLS"), done)).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match alice_events
            .recv_timeout(left)
            .expect("alice sees bob's change")
        {
            Event::Changed(statuses)
                if statuses
                    .iter()
                    .any(|s| s.user_id == "bob" && s.custom_status == "over TLS") =>
            {
                break
            }
            _ => {}
        }
    }
    let got = call(|done| alice.get_user_status(vec!["bob".into()], done)).unwrap();
    assert_eq!(got[0].custom_status, "over TLS");
    call(|done| alice.logout(done)).unwrap();
}

#[test]
fn untrusted_certificates_are_refused() {
    let world = TlsWorld::start();
    // Another CA given: the platform's store (which does not hold the test CA either) and it.
    assert_refused(
        config(&world.address(), Some(world.other_ca.cert_pem())),
        "untrusted certificate",
    );
    // No extra CA: the system's store alone (or none at all, in a bare container).
    assert_refused(config(&world.address(), None), "untrusted certificate");
}

#[test]
fn a_wrong_name_is_refused() {
    let world = TlsWorld::start();
    assert_refused(
        config(&world.wrong_name.address(), Some(world.ca_pem())),
        "wrong name: the server's certificate is not valid for localhost",
    );
}

#[test]
fn pins_are_checked_after_verification() {
    let world = TlsWorld::start();
    let address = world.pinned.address();

    let mut right = config(&address, Some(world.ca_pem()));
    right.tls.add_spki_pin(&world.wrong_pin()).unwrap();
    right.tls.add_spki_pin(&world.pin()).unwrap();
    let (result, _client, _) = login(right, "alice");
    result.expect("a right pin (beside a backup pin) is accepted");

    let mut raw = config(&address, Some(world.ca_pem()));
    raw.tls.add_spki_pin_sha256(world.pin_sha256());
    let (result, _client, _) = login(raw, "bob");
    result.expect("the raw form of the right pin is accepted");

    let mut wrong = config(&address, Some(world.ca_pem()));
    wrong.tls.add_spki_pin(&world.wrong_pin()).unwrap();
    assert_refused(wrong, "pin mismatch");

    // The right pin does not make an untrusted chain acceptable.
    let mut untrusted = config(&address, Some(world.other_ca.cert_pem()));
    untrusted.tls.add_spki_pin(&world.pin()).unwrap();
    assert_refused(untrusted, "untrusted certificate");
}

#[test]
fn pins_refuse_a_plaintext_address() {
    let world = TlsWorld::start();
    let mut config = config(&world.server.addr().to_string(), None);
    config.tls.add_spki_pin(&world.pin()).unwrap();
    let (result, _client, _) = login(config, "alice");
    let error = result.unwrap_err();
    assert_eq!(error.code, codes::ERR_SDK_NET_DISCONNECT);
    assert!(error.desc.contains("pins are set but"), "{}", error.desc);
}

#[test]
fn tls_to_the_plaintext_port_fails_cleanly() {
    let world = TlsWorld::start();
    let address = format!("tls://localhost:{}", world.server.addr().port());
    let (result, _client, _) = login(config(&address, Some(world.ca_pem())), "alice");
    let error = result.unwrap_err();
    assert_eq!(error.code, codes::ERR_SDK_NET_DISCONNECT);
    assert!(
        error.desc.starts_with("TLS handshake with "),
        "{}",
        error.desc
    );
    // The server still serves everyone else.
    let (result, _client, _) = login(config(&world.address(), Some(world.ca_pem())), "bob");
    result.expect("bob logs in over TLS");
}
