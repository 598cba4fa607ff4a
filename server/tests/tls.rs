//! TLS on the server: certificates made by a CA of the test's own, a TLS listener beside the
//! plaintext one, clients of either kind seeing each other's changes, clients on the wrong port
//! failing cleanly, and the certificate reloaded on SIGHUP without dropping connections.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use imstatus_protocol::{
    decode_server_message, read_frame, write_frame, ServerMessage, MAX_SERVER_FRAME_LEN,
};
use imstatus_server::dev_cert::DevCa;
use imstatus_server::{spawn, Config, ServerHandle};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Writes the CA's server certificate for localhost into `dir`; answers (cert, key) paths.
fn write_cert(ca: &DevCa, dir: &Path, names: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = ca.server_cert(names);
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    (cert_path, key_path)
}

fn tls_server(data: &TempDir, ca: &DevCa) -> ServerHandle {
    let (cert, key) = write_cert(ca, data.path(), &["localhost", "127.0.0.1"]);
    spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        admin_token: Some("admin-token".into()),
        data_dir: Some(data.path().join("data")),
        tls_listen: "127.0.0.1:0".into(),
        tls_cert: Some(cert),
        tls_key: Some(key),
        apps: vec![app()],
        ..Config::default()
    })
    .expect("the server starts")
}

/// A TLS connection trusting only `ca`, to `addr` as `name`.
async fn tls_connect(
    addr: SocketAddr,
    ca_pem: &str,
    name: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
}

/// Sends `{"id":N,<fields>}` and reads until the reply, answering it and the pushes before it.
async fn request<S>(stream: &mut S, id: u64, fields: &str) -> (ServerMessage, Vec<ServerMessage>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    write_frame(stream, format!(r#"{{"id":{id},{fields}}}"#).as_bytes())
        .await
        .unwrap();
    stream.flush().await.unwrap();
    let mut pushes = Vec::new();
    loop {
        let frame = tokio::time::timeout(
            Duration::from_secs(5),
            read_frame(stream, MAX_SERVER_FRAME_LEN),
        )
        .await
        .expect("a reply in time")
        .expect("a frame");
        let message = decode_server_message(&frame).unwrap();
        match &message {
            ServerMessage::Ok { id: got, .. } | ServerMessage::Error { id: got, .. }
                if *got == id =>
            {
                return (message, pushes)
            }
            _ => pushes.push(message),
        }
    }
}

async fn log_in<S>(stream: &mut S, user: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (hello, _) = request(stream, 1, r#""op":"hello","version":1"#).await;
    assert!(matches!(hello, ServerMessage::Ok { .. }), "{hello:?}");
    let (login, _) = request(
        stream,
        2,
        &format!(
            r#""op":"login","sdk_app_id":{APP},"user_id":"{user}","user_sig":"{}","platform":"Linux","device_id":"d""#,
            sig(user)
        ),
    )
    .await;
    assert!(matches!(login, ServerMessage::Ok { .. }), "{login:?}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn tls_and_plaintext_clients_see_each_other() {
    // covers: L1, N1 (over TLS)
    let data = TempDir::new();
    let ca = DevCa::new("test CA");
    let server = tls_server(&data, &ca);
    let tls_addr = server.started().tls_addr.expect("a TLS listener");
    runtime().block_on(async {
        let mut alice = tls_connect(tls_addr, ca.cert_pem(), "localhost")
            .await
            .expect("the handshake succeeds");
        log_in(&mut alice, "alice").await;
        let (reply, _) = request(&mut alice, 3, r#""op":"subscribe","user_ids":["bob"]"#).await;
        assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");

        let (mut bob, _) = Wire::login(server.addr(), "bob", "Web", "b1");
        let set = bob.request(r#""op":"set_self_status","custom_status":"over tls""#);
        assert!(matches!(set, ServerMessage::Ok { .. }));
        // Alice hears it over TLS.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no push over TLS");
            let (_, pushes) = request(&mut alice, 4, r#""op":"heartbeat""#).await;
            let heard = pushes.iter().any(|p| {
                matches!(p, ServerMessage::StatusChanged { statuses }
                    if statuses.iter().any(|s| s.user_id == "bob" && s.custom_status == "over tls"))
            });
            if heard {
                break;
            }
        }
    });
}

#[test]
fn clients_on_the_wrong_port_fail_cleanly_and_others_are_served() {
    let data = TempDir::new();
    let ca = DevCa::new("test CA");
    let server = tls_server(&data, &ca);
    let tls_addr = server.started().tls_addr.unwrap();
    runtime().block_on(async {
        // TLS to the plaintext port: the server reads a ClientHello as a frame far too large,
        // refuses it and closes; the handshake fails.
        let wrong = tls_connect(server.addr(), ca.cert_pem(), "localhost").await;
        assert!(
            wrong.is_err(),
            "a TLS handshake with the plaintext port succeeded"
        );
        // Plaintext to the TLS port: no handshake, the server closes.
        let mut plain = TcpStream::connect(tls_addr).await.unwrap();
        write_frame(&mut plain, br#"{"id":1,"op":"hello","version":1}"#)
            .await
            .unwrap();
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            read_frame(&mut plain, MAX_SERVER_FRAME_LEN),
        )
        .await
        .expect("the server closes in time");
        assert!(
            read.is_err(),
            "plaintext got an answer on the TLS port: {read:?}"
        );
        // A certificate for another name is refused by the client.
        let other = tls_connect(tls_addr, ca.cert_pem(), "example.com").await;
        let err = other.expect_err("a wrong name must not verify");
        assert!(err.to_string().contains("not valid for name"), "{err}");
        // A CA the server's certificate does not come from.
        let stranger = DevCa::new("another CA");
        let untrusted = tls_connect(tls_addr, stranger.cert_pem(), "localhost").await;
        let err = untrusted.expect_err("an untrusted certificate must not verify");
        assert!(
            err.to_string().contains("UnknownIssuer") || err.to_string().contains("unknown issuer"),
            "{err}"
        );
        // Everyone else is served, on both ports.
        let mut fine = tls_connect(tls_addr, ca.cert_pem(), "localhost")
            .await
            .unwrap();
        log_in(&mut fine, "carol").await;
    });
    let (_dave, reply) = Wire::login(server.addr(), "dave", "Linux", "d1");
    assert!(matches!(reply, ServerMessage::Ok { .. }));
}

#[test]
fn sighup_reloads_the_certificate_without_dropping_connections() {
    let data = TempDir::new();
    let ca = DevCa::new("test CA");
    let (cert, key) = write_cert(&ca, data.path(), &["localhost"]);
    let config = data.path().join("imstatus.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nadmin_listen = \"\"\ndata_dir = \"{}\"\n\
             tls_listen = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\
             [[app]]\nsdk_app_id = {APP}\nsecret_key = \"{KEY}\"\n",
            data.path().join("data").display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_imstatus"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("IMSTATUS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let tls_addr: SocketAddr = loop {
        let line = lines
            .next()
            .expect("imstatus prints its TLS address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("imstatus listening over TLS on ") {
            break rest.trim().parse().unwrap();
        }
    };
    let outcome = runtime().block_on(async {
        let mut kept = tls_connect(tls_addr, ca.cert_pem(), "localhost")
            .await
            .unwrap();
        log_in(&mut kept, "alice").await;
        // A new certificate, from another CA, for the same name.
        let second = DevCa::new("second CA");
        write_cert(&second, data.path(), &["localhost"]);
        unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
        // New handshakes move to the new certificate...
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if tls_connect(tls_addr, second.cert_pem(), "localhost")
                .await
                .is_ok()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the new certificate was not taken"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(tls_connect(tls_addr, ca.cert_pem(), "localhost")
            .await
            .is_err());
        // ...while the connection made before goes on.
        let (reply, _) = request(
            &mut kept,
            9,
            r#""op":"get_user_status","user_ids":["alice"]"#,
        )
        .await;
        matches!(reply, ServerMessage::Ok { .. })
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(outcome, "the connection made before the reload was dropped");
}

#[test]
fn the_admin_api_speaks_tls_when_asked() {
    let data = TempDir::new();
    let ca = DevCa::new("test CA");
    let (cert, key) = write_cert(&ca, data.path(), &["localhost"]);
    let server = spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        admin_token: Some("admin-token".into()),
        data_dir: Some(data.path().join("data")),
        tls_cert: Some(cert),
        tls_key: Some(key),
        admin_tls: true,
        apps: vec![app()],
        ..Config::default()
    })
    .expect("the server starts");
    let admin = server.started().admin_addr.unwrap();
    assert!(
        server.started().tls_addr.is_none(),
        "no TLS listener was asked for"
    );
    runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut https = tls_connect(admin, ca.cert_pem(), "localhost")
            .await
            .unwrap();
        https
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        https.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"ok\":true"), "{answer}");
    });
    // Plain HTTP on that port gets nothing.
    assert_eq!(admin_plain(admin), 0);
}

/// A plaintext request to a TLS port: answers the status code, 0 when none came.
fn admin_plain(addr: SocketAddr) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let _ = stream.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}
