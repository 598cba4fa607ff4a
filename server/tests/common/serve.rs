//! A real `imstatus serve` process, for tests that must kill it.
// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use imstatus_server::testing::{APP, KEY};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `imstatus serve`, and where it listens.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
}

impl Serve {
    /// Starts `imstatus serve --config config` and waits until it listens.
    pub fn start(config: &Path) -> Serve {
        let (child, addr, admin, _rest) = spawn_serve(config, Stdio::null());
        Serve { child, addr, admin }
    }
}

/// Starts `imstatus serve --config config` (its log to `stderr`) and reads its banner: answers
/// the process, where it listens for clients and for the admin API, and the rest of its stdout.
pub fn spawn_serve(
    config: &Path,
    stderr: Stdio,
) -> (Child, SocketAddr, SocketAddr, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imstatus"))
        .args(["serve", "--config"])
        .arg(config)
        .env("IMSTATUS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("imstatus serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut addr, mut admin) = (None, None);
    while addr.is_none() || admin.is_none() {
        let line = lines
            .next()
            .expect("imstatus serve prints where it listens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("imstatus listening on ") {
            addr = Some(rest.trim().parse().unwrap());
        }
        if let Some(rest) = line.strip_prefix("admin API on http://") {
            admin = Some(rest.split('/').next().unwrap().parse().unwrap());
        }
    }
    (child, addr.unwrap(), admin.unwrap(), lines)
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `dir/imstatus.toml` and answers its path: a server on free loopback ports (admin token
/// `admin-token`), its data in `dir/data`, and the test app with `app_settings` after its key
/// (TOML lines of the `[[app]]` table, then any tables that follow it).
pub fn write_config(dir: &Path, app_settings: &str) -> PathBuf {
    let config = dir.join("imstatus.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nadmin_token = \"admin-token\"\n\
             data_dir = \"{}\"\n[[app]]\nsdk_app_id = {APP}\nsecret_key = \"{KEY}\"\n{app_settings}",
            dir.join("data").display(),
        ),
    )
    .unwrap();
    config
}
