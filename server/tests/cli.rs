//! The `imstatus` command as a newcomer uses it: serve, watch, set, get, usersig.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_imstatus");

/// A child process whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(args)
        .env("IMSTATUS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("imstatus runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, lines }
}

impl Running {
    fn wait_line(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the expected line before the deadline");
            if pred(&line) {
                return line;
            }
        }
    }

    /// Interrupts it (as Ctrl-C would) and answers whether it exited successfully.
    fn interrupt(mut self, signal: i32) -> bool {
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(Instant::now() < deadline, "it must exit when interrupted");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("IMSTATUS_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_custom_status_cannot_forge_lines_or_escape_the_terminal() {
    // covers: C1 (any valid UTF-8 is kept; the command line prints it escaped)
    let server = TestServer::start(vec![app()]);
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    let forged = "busy\nbob OFFLINE \u{1b}[2J\u{202e}olleh\\";
    let reply = alice.request(&format!(
        r#""op":"set_self_status","custom_status":{}"#,
        serde_json::to_string(forged).unwrap()
    ));
    assert!(
        matches!(reply, imstatus_protocol::ServerMessage::Ok { .. }),
        "{reply:?}"
    );
    let addr = server.addr().to_string();
    let app_id = APP.to_string();
    let (ok, out, err) = run(&[
        "get", "--server", &addr, "--app-id", &app_id, "--key", KEY, "--user", "carol", "alice",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "alice ONLINE busy\\u{a}bob OFFLINE \\u{1b}[2J\\u{202e}olleh\\\\\n"
    );
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn watch_sees_set_at_once() {
    // covers: N1, C1, C3
    let server = TestServer::start(vec![app()]);
    let addr = server.addr().to_string();
    let app_id = APP.to_string();
    let who = |user: &'static str| -> Vec<String> {
        [
            "--server", &addr, "--app-id", &app_id, "--key", KEY, "--user", user,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut watch_args = vec!["watch".to_string()];
    watch_args.extend(who("bob"));
    watch_args.push("alice".into());
    let watch_refs: Vec<&str> = watch_args.iter().map(String::as_str).collect();
    let watch = start(&watch_refs);
    assert_eq!(watch.wait_line(|_| true), "alice UNLOGINED ");

    let mut set_args = vec!["set".to_string()];
    set_args.extend(who("alice"));
    set_args.push("listening to music".into());
    let set_refs: Vec<&str> = set_args.iter().map(String::as_str).collect();
    let (ok, _, err) = run(&set_refs);
    assert!(ok, "{err}");
    watch.wait_line(|l| l == "alice ONLINE listening to music");
    // `set` logs out when done: the status is cleared and alice is UNLOGINED again.
    watch.wait_line(|l| l == "alice UNLOGINED ");

    let mut get_args = vec!["get".to_string()];
    get_args.extend(who("carol"));
    get_args.extend(["alice".to_string(), "carol".to_string()]);
    let get_refs: Vec<&str> = get_args.iter().map(String::as_str).collect();
    let (ok, out, err) = run(&get_refs);
    assert!(ok, "{err}");
    assert_eq!(out, "alice UNLOGINED \ncarol ONLINE \n");

    assert!(
        watch.interrupt(libc::SIGINT),
        "watch exits cleanly on Ctrl-C"
    );
}

#[test]
fn errors_exit_non_zero_with_the_v2tim_code() {
    // covers: B1, L1
    let server = TestServer::start(vec![app()]);
    let addr = server.addr().to_string();
    let (ok, _, err) = run(&[
        "get", "--server", &addr, "--app-id", "42", "--key", KEY, "--user", "a", "b",
    ]);
    assert!(!ok);
    assert!(err.contains("70014"), "{err}");
    let (ok, _, err) = run(&[
        "get",
        "--server",
        &addr,
        "--app-id",
        &APP.to_string(),
        "--key",
        "wrong",
        "--user",
        "a",
        "b",
    ]);
    assert!(!ok);
    assert!(err.contains("70003"), "{err}");
    let long = "x".repeat(101);
    let (ok, _, err) = run(&[
        "set",
        "--server",
        &addr,
        "--app-id",
        &APP.to_string(),
        "--key",
        KEY,
        "--user",
        "a",
        &long,
    ]);
    assert!(!ok);
    assert!(err.contains("6017"), "{err}");
}

#[test]
fn usersig_command_makes_a_sig_the_server_accepts() {
    // covers: L1
    let (ok, out, _) = run(&[
        "usersig",
        "--app-id",
        &APP.to_string(),
        "--key",
        KEY,
        "--user",
        "alice",
        "--expire",
        "60",
    ]);
    assert!(ok);
    let claims =
        imstatus_server::usersig::verify(out.trim(), APP, KEY, "alice", now_secs()).unwrap();
    assert_eq!(claims.expires_at - claims.issued_at, 60);
}

#[test]
fn serve_with_no_configuration_starts_the_embedded_default() {
    // covers: I1
    let data = tempfile::tempdir().unwrap();
    let serve = start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    let listening = serve.wait_line(|l| l.starts_with("imstatus listening on "));
    let addr = listening
        .trim_start_matches("imstatus listening on ")
        .to_string();
    let app_line = serve.wait_line(|l| l.starts_with("embedded default app: "));
    let words: Vec<&str> = app_line.split_whitespace().collect();
    assert_eq!(words[4], "1400000000", "{app_line}");
    let key = words[7].to_string();
    let try_line = serve.wait_line(|l| l.contains("imstatus set"));
    assert!(
        try_line.contains(&key) && try_line.contains(&addr),
        "{try_line}"
    );

    let (ok, out, err) = run(&[
        "get",
        "--server",
        &addr,
        "--app-id",
        "1400000000",
        "--key",
        &key,
        "--user",
        "n",
        "n",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out, "n ONLINE \n");
    assert!(
        serve.interrupt(libc::SIGTERM),
        "graceful shutdown on SIGTERM"
    );
}

#[test]
fn logs_can_be_json_lines_with_the_connection_as_a_field() {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--log-format",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "",
        ])
        .env("IMSTATUS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("imstatus runs");
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_json = |what: &str| -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{what} before the deadline"));
            let event: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            assert!(
                event["timestamp"].is_string() && event["level"].is_string(),
                "{line}"
            );
            if event["message"].as_str().is_some_and(|m| m.contains(what)) {
                return event;
            }
        }
    };
    let listening = next_json("imstatus server listening");
    let addr = listening["addr"].as_str().expect("the address as a field");

    // A frame that is not a request: the refusal names the connection.
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut stream, b"\0\0\0\x05hello").unwrap();
    let refusal = next_json("refusing connection");
    assert!(refusal["conn"].is_u64(), "{refusal}");
    assert!(refusal["why"].is_string(), "{refusal}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}
