//! A real `imstatus serve` process, for tests that must kill it.
// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `imstatus serve`, and where it listens.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
}

impl Serve {
    /// Starts `imstatus serve --config config` and waits until it listens.
    pub fn start(config: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imstatus"))
            .args(["serve", "--config"])
            .arg(config)
            .env("IMSTATUS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("imstatus serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = None;
        let mut admin = None;
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
        Serve {
            child,
            addr: addr.unwrap(),
            admin: admin.unwrap(),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
