//! The `imstatus` command: runs the server, makes UserSigs, and sets, gets and watches statuses.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use imstatus::client::{Client, ClientConfig, ClientError, Listener, UserStatus, Visibility};
use imstatus_server::usersig;
use imstatus_server::{self as server, ClusterConfig, Config, Started, DEFAULT_SDK_APP_ID};

#[derive(Parser)]
#[command(
    name = "imstatus",
    version,
    about = "Self-hosted user status for instant messaging apps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How logs are written to stderr: lines for people, or JSON lines (one object per event,
    /// with the connection, app and user as fields where known) for a log pipeline.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How logs are written.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server. With no configuration it starts the embedded default app.
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address for SDK connections (overrides the file).
        #[arg(long)]
        listen: Option<String>,
        /// Address for the admin HTTP API (overrides the file).
        #[arg(long)]
        admin_listen: Option<String>,
        /// Directory for what must outlive a restart (overrides the file).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Runs as one node of a cluster on this Redis (`redis://host:port`); repeat it to name
        /// several seed nodes of a Redis Cluster. Overrides the file's `[cluster] redis`.
        #[arg(long, value_name = "URL")]
        redis: Vec<String>,
    },
    /// Makes a UserSig (tls-sig-api-v2).
    Usersig {
        #[arg(long)]
        app_id: u32,
        #[arg(long)]
        key: String,
        #[arg(long)]
        user: String,
        /// Validity in seconds.
        #[arg(long, default_value_t = usersig::DEFAULT_EXPIRE_SECS)]
        expire: u64,
    },
    /// Makes a certificate authority and a server certificate it signs, for development: writes
    /// ca.pem (what clients trust), cert.pem and key.pem (tls_cert and tls_key) into DIR.
    DevCert {
        /// Where to write the files.
        #[arg(long, default_value = "imstatus-dev-cert")]
        out: PathBuf,
        /// DNS names and IP addresses of the server.
        #[arg(default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        names: Vec<String>,
    },
    /// Sets your custom status (empty text clears it), then logs out.
    Set {
        #[command(flatten)]
        who: Who,
        /// The custom status; "" clears it.
        text: String,
        /// Stay logged in (ONLINE, status kept) until interrupted.
        #[arg(long)]
        hold: bool,
        /// Have the server clear the status after this long (`90s`, `30m`, `2h`); beyond V2TIM.
        #[arg(long, value_parser = humantime::parse_duration)]
        expire: Option<Duration>,
    },
    /// Appear offline to everyone else (`on`) or stop (`off`); kept after logging out. Beyond
    /// V2TIM.
    Invisible {
        #[command(flatten)]
        who: Who,
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Who may see your status: everyone, friends (your friends only) or nobody; kept after
    /// logging out. Beyond V2TIM.
    Visibility {
        #[command(flatten)]
        who: Who,
        #[arg(value_enum)]
        visibility: WhoMaySee,
    },
    /// Prints the status of users: one line each, `ID STATUS LAST_SEEN CUSTOM`.
    Get {
        #[command(flatten)]
        who: Who,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Subscribes to users, prints their statuses, then one line per change until interrupted
    /// (`ID STATUS LAST_SEEN CUSTOM`).
    Watch {
        #[command(flatten)]
        who: Who,
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

/// `imstatus invisible on|off`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

/// `imstatus visibility everyone|friends|nobody`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum WhoMaySee {
    Everyone,
    Friends,
    Nobody,
}

impl From<WhoMaySee> for Visibility {
    fn from(v: WhoMaySee) -> Visibility {
        match v {
            WhoMaySee::Everyone => Visibility::Everyone,
            WhoMaySee::Friends => Visibility::Friends,
            WhoMaySee::Nobody => Visibility::Nobody,
        }
    }
}

/// Who the command logs in as, and where.
#[derive(Args)]
struct Who {
    /// Server address, host:port, or tls://host:port for TLS; else $IMSTATUS_SERVER, else the
    /// default of `imstatus serve`.
    #[arg(long)]
    server: Option<String>,
    /// Connect over TLS also when the address has no tls://. The server's certificate is always
    /// verified: by the system's trust store and --ca, for the host of the address.
    #[arg(long)]
    tls: bool,
    /// A PEM file of CA certificates to trust beside the system's (`imstatus dev-cert` writes
    /// ca.pem); may be given more than once.
    #[arg(long = "ca", value_name = "FILE")]
    ca: Vec<PathBuf>,
    #[arg(long, default_value_t = DEFAULT_SDK_APP_ID)]
    app_id: u32,
    /// Your userID; a random one when omitted.
    #[arg(long)]
    user: Option<String>,
    /// Your UserSig.
    #[arg(long, conflicts_with = "key", required_unless_present = "key")]
    sig: Option<String>,
    /// The app's secret key, to make the UserSig here.
    #[arg(long)]
    key: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve { .. });
    init_logging(if serving { "info" } else { "warn" }, cli.log_format);
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            admin_listen,
            data_dir,
            redis,
        } => serve(config, listen, admin_listen, data_dir, redis),
        Command::Usersig {
            app_id,
            key,
            user,
            expire,
        } => {
            println!(
                "{}",
                usersig::generate(app_id, &key, &user, expire, unix_now())
            );
            Ok(())
        }
        Command::DevCert { out, names } => dev_cert(&out, &names),
        Command::Set {
            who,
            text,
            hold,
            expire,
        } => set(who, text, hold, expire),
        Command::Invisible { who, state } => switch(who, |client, done| {
            client.set_invisible(matches!(state, OnOff::On), done)
        }),
        Command::Visibility { who, visibility } => switch(who, |client, done| {
            client.set_visibility(visibility.into(), done)
        }),
        Command::Get { who, ids } => get(who, ids),
        Command::Watch { who, ids } => watch(who, ids),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imstatus: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMSTATUS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // The event's fields at the top level, beside "timestamp", "level" and "message".
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

fn dev_cert(out: &std::path::Path, names: &[String]) -> Result<(), String> {
    let ca = imstatus_server::dev_cert::DevCa::new("imstatus development CA");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let cert = ca.server_cert(&names);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok::<_, String>(path)
    };
    write("ca.pem", ca.cert_pem())?;
    write("cert.pem", &cert.cert_pem)?;
    let key = write("key.pem", &cert.key_pem)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot protect {}: {e}", key.display()))?;
    }
    println!(
        "wrote {0}/ca.pem, {0}/cert.pem and {0}/key.pem for {1}; in imstatus.toml:\n  \
         tls_listen = \"0.0.0.0:7843\"\n  tls_cert = \"{0}/cert.pem\"\n  tls_key = \"{0}/key.pem\"",
        out.display(),
        names.join(", ")
    );
    Ok(())
}

fn unix_now() -> u64 {
    server::now_ms() / 1000
}

fn serve(
    config_path: Option<PathBuf>,
    listen: Option<String>,
    admin_listen: Option<String>,
    data_dir: Option<PathBuf>,
    redis: Vec<String>,
) -> Result<(), String> {
    let mut config = match &config_path {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(listen) = listen {
        config.listen = listen;
    }
    if let Some(admin_listen) = admin_listen {
        config.admin_listen = admin_listen;
    }
    if !redis.is_empty() {
        match &mut config.cluster {
            Some(cluster) => cluster.redis = redis,
            None => config.cluster = Some(ClusterConfig::new(redis)),
        }
    }
    config.data_dir = match config.cluster {
        // A node of a cluster keeps everything in Redis.
        Some(_) => None,
        None => data_dir
            .or(config.data_dir)
            .or_else(|| Some(PathBuf::from("imstatus-data"))),
    };
    // One worker per core the process may run on. On one core, the single-threaded scheduler:
    // the same work without the bookkeeping that lets workers steal from each other
    // (docs/benchmarks.md: CPU per delivery).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = builder
        .enable_all()
        .thread_name("imstatus-server")
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let shutdown = {
        let _inside = runtime.enter();
        shutdown_signal()
    };
    runtime.block_on(server::run(config, shutdown, print_banner))
}

/// Installs the handlers for Ctrl-C and SIGTERM at once, and answers a future that ends at the
/// first of them. At once, not when the future is first polled: the server prints that it
/// listens before it polls it, and a signal that arrives after that must shut it down cleanly,
/// never kill it. Call it inside the runtime (`Runtime::enter`).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print_banner(started: &Started) {
    println!("imstatus listening on {}", started.addr);
    if let Some(tls) = started.tls_addr {
        println!("imstatus listening over TLS on {tls}");
    }
    if let Some(admin) = started.admin_addr {
        println!(
            "admin API on http://{admin}/v1 (Authorization: Bearer {})",
            started.admin_token
        );
    }
    if let Some(app) = &started.default_app {
        let server = if started.addr.to_string() == server::DEFAULT_LISTEN {
            String::new()
        } else {
            format!(" --server {}", started.addr)
        };
        println!(
            "embedded default app: sdkAppID {} secret key {}",
            app.sdk_app_id, app.secret_key
        );
        println!("try it, in two more terminals:");
        println!(
            "  imstatus watch{server} --app-id {} --key {} --user bob alice",
            app.sdk_app_id, app.secret_key
        );
        println!(
            "  imstatus set{server} --app-id {} --key {} --user alice --hold \"listening to music\"",
            app.sdk_app_id, app.secret_key
        );
    }
}

/// Logs in as `who`, answering the client and the userID used.
fn connect(who: &Who, listener: Option<Arc<dyn Listener>>) -> Result<(Client, String), String> {
    let user = who
        .user
        .clone()
        .unwrap_or_else(|| format!("cli-{:08x}", rand::random::<u32>()));
    let sig = match (&who.sig, &who.key) {
        (Some(sig), _) => sig.clone(),
        (None, Some(key)) => usersig::generate(who.app_id, key, &user, 86400, unix_now()),
        (None, None) => return Err("give --sig or --key".into()),
    };
    let client = Client::new(client_config(who)?).map_err(describe)?;
    if let Some(listener) = listener {
        client.add_listener(listener);
    }
    wait(|done| client.login(&user, &sig, done))?;
    Ok((client, user))
}

/// The SDK's configuration for `who`: the address, and TLS as --tls and --ca say.
fn client_config(who: &Who) -> Result<ClientConfig, String> {
    let mut config = ClientConfig::new(who.app_id);
    config.server_addr = who.server.clone();
    config.tls.enabled = who.tls;
    for file in &who.ca {
        let pem =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        config
            .tls
            .add_ca_pem(&pem)
            .map_err(|e| format!("{}: {}", file.display(), e.desc))?;
    }
    Ok(config)
}

/// Runs a callback-style call and waits for its answer.
fn wait<T: Send + 'static>(
    call: impl FnOnce(Box<dyn FnOnce(Result<T, ClientError>) + Send>),
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    call(Box::new(move |result| {
        let _ = tx.send(result);
    }));
    rx.recv_timeout(Duration::from_secs(60))
        .map_err(|_| "no answer from the SDK within 60 s".to_string())?
        .map_err(describe)
}

fn describe(e: ClientError) -> String {
    format!("error {}: {}", e.code, e.desc)
}

/// One status as `ID STATUS LAST_SEEN CUSTOM`, with the custom status escaped: the server keeps
/// any valid UTF-8, as V2TIM does, so a custom status may hold line breaks, terminal escapes or
/// direction overrides that would forge other lines or rewrite the terminal. LAST_SEEN (beyond
/// V2TIM) is always one word, before the free text: RFC 3339 in UTC with milliseconds, or `-`
/// while ONLINE and for a user never seen.
fn line(status: &UserStatus) -> String {
    format!(
        "{} {} {} {}",
        escape(&status.user_id),
        status.status_type.name(),
        last_seen(status.last_seen_ms),
        escape(&status.custom_status)
    )
}

/// A last-seen time as one word.
fn last_seen(ms: Option<u64>) -> String {
    match ms {
        Some(ms) => {
            humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                .to_string()
        }
        None => "-".to_string(),
    }
}

/// `text` with every control or bidirectional-formatting character (and the backslash that
/// introduces an escape) written as a Rust escape, so that what is printed is one line of
/// visible characters.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn set(who: Who, text: String, hold: bool, expire: Option<Duration>) -> Result<(), String> {
    let (client, _) = connect(&who, None)?;
    let custom = (!text.is_empty()).then_some(text);
    wait(|done| client.set_self_status_expiring(custom.as_deref(), expire, done))?;
    if hold {
        eprintln!("status set; holding it until interrupted (Ctrl-C)");
        block_until_interrupted()?;
    }
    wait(|done| client.logout(done))
}

/// Logs in, flips one of the own switches (beyond V2TIM; the server keeps them), logs out.
fn switch(
    who: Who,
    flip: impl FnOnce(&Client, Box<dyn FnOnce(Result<(), ClientError>) + Send>),
) -> Result<(), String> {
    let (client, _) = connect(&who, None)?;
    wait(|done| flip(&client, done))?;
    wait(|done| client.logout(done))
}

fn get(who: Who, ids: Vec<String>) -> Result<(), String> {
    let (client, _) = connect(&who, None)?;
    let statuses = wait(|done| client.get_user_status(ids, done))?;
    for status in &statuses {
        println!("{}", line(status));
    }
    wait(|done| client.logout(done))
}

/// Prints every change as one line, as soon as it arrives.
struct PrintChanges;

impl Listener for PrintChanges {
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for status in statuses {
            let _ = writeln!(out, "{}", line(status));
        }
        let _ = out.flush();
    }

    fn on_connecting(&self) {
        eprintln!("connecting…");
    }

    fn on_connect_failed(&self, code: i32, desc: &str) {
        eprintln!("connection failed: error {code}: {desc}");
    }

    fn on_kicked_offline(&self) {
        eprintln!("kicked offline: another device logged in as this user on this platform");
        std::process::exit(1);
    }

    fn on_user_sig_expired(&self) {
        eprintln!("the UserSig expired");
        std::process::exit(1);
    }
}

fn watch(who: Who, ids: Vec<String>) -> Result<(), String> {
    let (client, _) = connect(&who, Some(Arc::new(PrintChanges)))?;
    wait(|done| client.subscribe_user_status(ids.clone(), done))?;
    for status in wait(|done| client.get_user_status(ids, done))? {
        println!("{}", line(&status));
    }
    block_until_interrupted()?;
    wait(|done| client.logout(done))
}

fn block_until_interrupted() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let interrupted = {
        let _inside = runtime.enter();
        shutdown_signal()
    };
    runtime.block_on(interrupted);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use imstatus_server::dev_cert::DevCa;
    use imstatus_server::testing::{app, sig, TempDir, TestServer, APP};

    fn who(args: &[&str]) -> Who {
        let mut argv = vec!["imstatus", "get", "--app-id", "1400000123", "--sig", "s"];
        argv.extend_from_slice(args);
        argv.push("alice");
        match Cli::try_parse_from(argv).expect("the flags parse").command {
            Command::Get { who, .. } => who,
            _ => unreachable!(),
        }
    }

    #[test]
    fn tls_flags_reach_the_client_config() {
        let dir = TempDir::new();
        let (a, b) = (dir.path().join("a.pem"), dir.path().join("b.pem"));
        std::fs::write(&a, DevCa::new("a").cert_pem()).unwrap();
        let two = format!(
            "{}{}",
            DevCa::new("b").cert_pem(),
            DevCa::new("c").cert_pem()
        );
        std::fs::write(&b, two).unwrap();
        let ca = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        let config = client_config(&who(&["--tls", "--ca", &ca(&a), "--ca", &ca(&b)])).unwrap();
        assert!(config.tls.enabled);
        assert_eq!(config.tls.ca_certificates().len(), 3);

        let config = client_config(&who(&["--server", "tls://localhost:7843"])).unwrap();
        assert!(
            !config.tls.enabled,
            "the scheme alone turns TLS on, in the SDK"
        );
        assert_eq!(config.server_addr.as_deref(), Some("tls://localhost:7843"));

        std::fs::write(&a, "not a certificate").unwrap();
        let e = client_config(&who(&["--ca", &ca(&a)])).unwrap_err();
        assert!(e.contains("a.pem") && e.contains("no CERTIFICATE"), "{e}");
        let e = client_config(&who(&["--ca", "/nonexistent/ca.pem"])).unwrap_err();
        assert!(e.contains("cannot read /nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn connects_over_tls_with_ca_and_refuses_without() {
        let server = TestServer::start_tls(vec![app()]);
        let dir = TempDir::new();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, server.tls_ca_pem()).unwrap();
        let tls = format!("tls://localhost:{}", server.tls_addr().port());
        let login = |args: &[&str]| {
            let mut argv = vec!["imstatus", "get", "--app-id"];
            let (app_id, sig) = (APP.to_string(), sig("alice"));
            argv.extend_from_slice(&[&app_id, "--user", "alice", "--sig", &sig]);
            argv.extend_from_slice(args);
            argv.push("alice");
            let Command::Get { who, .. } = Cli::try_parse_from(argv).unwrap().command else {
                unreachable!()
            };
            connect(&who, None).map(|(client, user)| {
                client.shutdown();
                user
            })
        };
        assert_eq!(
            login(&["--server", &tls, "--ca", ca.to_str().unwrap()]),
            Ok("alice".into())
        );
        let by_ip = server.tls_addr().to_string();
        let with_switch = ["--server", &by_ip, "--tls", "--ca", ca.to_str().unwrap()];
        assert_eq!(login(&with_switch), Ok("alice".into()));
        let e = login(&["--server", &tls]).unwrap_err();
        assert!(
            e.contains("error 9508") && e.contains("untrusted certificate"),
            "{e}"
        );
    }
}
