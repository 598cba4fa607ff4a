//! Restart time with many stored users: a data directory with `users` stored users, of whom
//! `online` were logged in when the server stopped (their device rows have no offline time, as
//! after a `kill -9`), made directly through [`DurableStore`] (`Store::put_user`). Then a real
//! `imstatus serve` on it, timed from its start until it listens and until it answers a login;
//! and until its background recovery (which loads every kept user, a slice per 100 ms tick)
//! is done, as far as it can be seen from outside: the server's CPU and RSS go quiet. Last, the
//! same recovery in process (`Engine::recover_all` over a copy of the file), whose duration is
//! the work the background recovery spreads over its ticks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imstatus::protocol::{decode_server_message, ServerMessage};
use imstatus_server::engine::{DeviceRecord, Engine, Platform, Store, UserKey, UserRecord};
use imstatus_server::{now_ms, DurableStore};
use serde_json::{json, Value};

use crate::{procfs, raw, user_id};

/// What [`restart`] is told.
#[derive(Debug, Clone)]
pub struct RestartOpts {
    /// The `imstatus` binary to start.
    pub imstatus: PathBuf,
    pub users: usize,
    pub online: usize,
    /// Subscriptions kept per user.
    pub subs: usize,
    pub port: u16,
    /// The core the server is pinned to (`taskset`), if any.
    pub core: Option<usize>,
    pub app_id: u32,
    pub key: String,
    /// A configuration file without the `[limits]` table (for builds from before it existed).
    pub legacy_config: bool,
    /// Also time the recovery in process.
    pub in_process: bool,
    pub label: String,
}

/// Writes the stored users: one Linux device each; every `users / online`-th user (up to
/// `online` of them) was logged in when the server stopped, the others logged out ten minutes
/// before. Answers the seconds it took and the file's size.
pub fn build_data(dir: &Path, o: &RestartOpts) -> Result<(f64, u64), String> {
    let start = Instant::now();
    let (store, _epoch) = DurableStore::open(dir)?;
    let now = now_ms();
    let step = o.users / o.online.max(1);
    let mut online = 0;
    for i in 0..o.users {
        let logged_in = o.online > 0 && i % step.max(1) == 0 && online < o.online;
        online += usize::from(logged_in);
        let mut record = UserRecord::default();
        record.devices.insert(
            format!("dev-u{i}"),
            DeviceRecord {
                platform: Platform::Linux,
                logged_in_at: now - 3_600_000,
                online: false,
                offline_since: (!logged_in).then_some(now - 600_000),
                // A node on its own: no cluster incarnation.
                node: 0,
            },
        );
        record.away_since = (!logged_in).then_some(now - 600_000);
        for s in 1..=o.subs {
            record
                .subscriptions
                .insert(Arc::from(user_id(((i + s) % o.users) as u32)));
        }
        store.put_user(&UserKey::new(o.app_id, user_id(i as u32)), &record);
    }
    store.flush();
    drop(store);
    let size = std::fs::metadata(dir.join("imstatus.redb")).map_or(0, |m| m.len());
    Ok((start.elapsed().as_secs_f64(), size))
}

fn config(data: &Path, o: &RestartOpts) -> String {
    let limits = if o.legacy_config {
        ""
    } else {
        "\n[limits]\nmax_unauthenticated_per_ip = 100000\n"
    };
    format!(
        r#"listen = "127.0.0.1:{port}"
admin_listen = ""
admin_token = "unused"
data_dir = "{data}"
{limits}
[[app]]
sdk_app_id = {app}
secret_key = "{key}"
edition = "ultimate"
status_enabled = true
heartbeat_timeout = "45s"
"#,
        port = o.port,
        data = data.display(),
        app = o.app_id,
        key = o.key,
    )
}

fn stop(child: &mut Child) {
    let pid = child.id() as i32;
    // SAFETY: kill has no memory-safety preconditions; pid is our child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Logs in as `user` over a blocking connection; answers when the login was answered.
fn login(addr: SocketAddr, o: &RestartOpts, user: &str) -> Result<(), String> {
    let now = now_ms() / 1000;
    let sig = imstatus_server::usersig::generate(o.app_id, &o.key, user, 3600, now);
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(600)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(&raw::ims_hello_login(o.app_id, user, &sig, "restart-probe"))
        .map_err(|e| e.to_string())?;
    // Bounded: at most a few frames before the login's answer.
    for _ in 0..100 {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).map_err(|e| e.to_string())?;
        let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut payload).map_err(|e| e.to_string())?;
        match decode_server_message(&payload)? {
            ServerMessage::Ok { id: 2, .. } => return Ok(()),
            ServerMessage::Error { code, desc, .. } => return Err(format!("{code}: {desc}")),
            _ => {}
        }
    }
    Err("no answer to the login".into())
}

/// See the module's documentation.
pub fn restart(o: &RestartOpts) -> Result<Value, String> {
    let tmp = tempfile::Builder::new()
        .prefix("imstatus-restart.")
        .tempdir_in(std::env::temp_dir())
        .map_err(|e| e.to_string())?;
    let data = tmp.path().join("data");
    let (build_s, file_bytes) = build_data(&data, o)?;
    eprintln!(
        "restart: {} stored users ({} logged in) written in {build_s:.1} s, {} MB",
        o.users,
        o.online,
        file_bytes / 1_000_000
    );
    let copy = tmp.path().join("copy");
    if o.in_process {
        std::fs::create_dir_all(&copy).map_err(|e| e.to_string())?;
        std::fs::copy(data.join("imstatus.redb"), copy.join("imstatus.redb"))
            .map_err(|e| e.to_string())?;
    }
    let cfg = tmp.path().join("imstatus.toml");
    std::fs::write(&cfg, config(&data, o)).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(tmp.path().join("server.log")).map_err(|e| e.to_string())?;
    let mut command = match o.core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(&o.imstatus);
            c
        }
        None => Command::new(&o.imstatus),
    };
    command
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .env("IMSTATUS_LOG", "off")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let addr: SocketAddr = ([127, 0, 0, 1], o.port).into();
    let t0 = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let pid = child.id();
    let result = (|| {
        // Bounded: 900 s (a build that loads everything before listening takes long).
        let listen_s = loop {
            if let Ok(Some(status)) = child.try_wait() {
                let text =
                    std::fs::read_to_string(tmp.path().join("server.log")).unwrap_or_default();
                return Err(format!("the server exited ({status}): {text}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                break t0.elapsed().as_secs_f64();
            }
            if t0.elapsed() > Duration::from_secs(900) {
                return Err("the server did not listen within 900 s".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let probe_user = user_id(o.users.saturating_sub(1) as u32);
        login(addr, o, &probe_user)?;
        let login_s = t0.elapsed().as_secs_f64();
        // The background recovery: it loads every kept user (RSS grows), a slice per tick.
        // Done, as seen from outside, once RSS stops growing: no 100 ms sample grew it by
        // 128 KiB or more for 3 s (at most 600 s).
        let mut rss = procfs::rss_kib(pid);
        let at_login = (procfs::cpu_us(pid), rss);
        let mut last_growth = login_s;
        let mut cpu_at_growth = at_login.0;
        let mut rss_peak = rss;
        while t0.elapsed().as_secs_f64() - last_growth < 3.0 && t0.elapsed().as_secs() < 600 {
            std::thread::sleep(Duration::from_millis(100));
            let now = procfs::rss_kib(pid);
            if now.zip(rss).is_some_and(|(a, b)| a >= b + 128) {
                last_growth = t0.elapsed().as_secs_f64();
                cpu_at_growth = procfs::cpu_us(pid);
            }
            rss = now;
            rss_peak = rss_peak.max(now);
        }
        let quiet_window = t0.elapsed().as_secs_f64() - last_growth;
        let cpu_end = procfs::cpu_us(pid);
        let steady_cpu_pct = cpu_end
            .zip(cpu_at_growth)
            .map(|(a, b)| (a - b) as f64 / 1e6 / quiet_window * 100.0);
        Ok(json!({
            "listen_s": listen_s,
            "login_s": login_s,
            "recovered_s": last_growth,
            "recovery_cpu_s": cpu_at_growth
                .zip(at_login.0)
                .map(|(a, b)| (a - b) as f64 / 1e6),
            "steady_cpu_pct": steady_cpu_pct,
            "server_cpu_s": cpu_end.map(|us| us as f64 / 1e6),
            "rss_at_login_kib": at_login.1,
            "rss_kib": rss,
            "rss_peak_kib": rss_peak,
        }))
    })();
    stop(&mut child);
    let server = result?;
    let in_process = if o.in_process {
        let start = Instant::now();
        let (store, epoch) = DurableStore::open(&copy)?;
        let opened_s = start.elapsed().as_secs_f64();
        let rss0 = procfs::rss_kib(std::process::id());
        let engine = Engine::new(store, epoch, now_ms());
        let t = Instant::now();
        engine.recover_all();
        let recover_s = t.elapsed().as_secs_f64();
        engine.store().flush();
        let flushed_s = t.elapsed().as_secs_f64();
        let rss1 = procfs::rss_kib(std::process::id());
        Some(json!({
            "open_s": opened_s,
            "recover_all_s": recover_s,
            "recover_and_flush_s": flushed_s,
            "rss_growth_kib": rss0.zip(rss1).map(|(a, b)| b as i64 - a as i64),
        }))
    } else {
        None
    };
    let summary = format!(
        "restart with {} stored users ({} logged in): listening after {:.2} s, a login answered after {:.2} s, every kept user loaded (RSS settled) after {:.1} s, then {:.1} % CPU idle{}",
        o.users,
        o.online,
        server["listen_s"].as_f64().unwrap_or(0.0),
        server["login_s"].as_f64().unwrap_or(0.0),
        server["recovered_s"].as_f64().unwrap_or(0.0),
        server["steady_cpu_pct"].as_f64().unwrap_or(0.0),
        in_process.as_ref().map_or(String::new(), |p| format!(
            "; in process, recover_all took {:.2} s",
            p["recover_all_s"].as_f64().unwrap_or(0.0)
        )),
    );
    Ok(json!({
        "workload": "restart",
        "users": o.users,
        "online": o.online,
        "subs": o.subs,
        "label": o.label,
        "build_s": build_s,
        "file_bytes": file_bytes,
        "server": server,
        "in_process": in_process,
        "summary": summary,
    }))
}
