//! The Grafana dashboard (docs/grafana/imstatus.json) is built from what a real server exports:
//! every metric a panel or a variable queries is in a scrape of a server that did a bit of
//! everything (state-change callbacks to a real HTTP receiver included), and every metric such
//! a scrape holds is shown by some panel. The metrics table of docs/operations.md is checked
//! against the same scrape.

mod receiver;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hyper::StatusCode;
use imstatus_protocol::ServerMessage;
use imstatus_server::testing::{app, error_code, sig, Scrape, TestServer, Wire, APP};
use receiver::{answer, Receiver};
use serde_json::Value;

const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana/imstatus.json");
const OPERATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md");

/// Suffixes of the series of a histogram, which a query names instead of the metric itself.
const HISTOGRAM_SERIES: &[&str] = &["_bucket", "_sum", "_count"];

fn load_dashboard() -> Value {
    let text = std::fs::read_to_string(DASHBOARD)
        .unwrap_or_else(|e| panic!("cannot read {DASHBOARD}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD} is not valid JSON: {e}"))
}

/// Every panel, those inside (collapsed) rows included, rows themselves included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every query of the dashboard: the `expr` of every target of every panel, and the query of
/// every templating variable (a string, or an object with a `query`).
fn queries(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(expr.to_string());
            }
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] == "datasource" {
            continue;
        }
        for query in [&variable["query"], &variable["query"]["query"]] {
            if let Some(query) = query.as_str() {
                out.push(query.to_string());
            }
        }
    }
    out
}

/// Every `imstatus_[a-z0-9_]+` identifier in `text`.
fn identifiers(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("imstatus_").map(|i| i + from) {
        let mut end = at + "imstatus_".len();
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        // Only whole identifiers: not the tail of a longer name.
        if (at == 0 || !word(bytes[at - 1])) && end > at + "imstatus_".len() {
            out.insert(text[at..end].to_string());
        }
        from = end;
    }
    out
}

/// The metric families of a scrape and their types, from its `# TYPE` lines.
fn families(scrape: &Scrape) -> BTreeMap<String, String> {
    let names = scrape.names();
    let types: BTreeMap<String, String> = scrape
        .0
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_string(), kind.trim().to_string()))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let kind = types.get(&name).cloned().unwrap_or_default();
            (name, kind)
        })
        .collect()
}

/// The metric a query's identifier names: a histogram's `_bucket`, `_sum` and `_count` series
/// are the histogram's.
fn metric_of(identifier: &str, families: &BTreeMap<String, String>) -> String {
    for suffix in HISTOGRAM_SERIES {
        if let Some(base) = identifier.strip_suffix(suffix) {
            if families.get(base).map(String::as_str) == Some("histogram") {
                return base.to_string();
            }
        }
    }
    identifier.to_string()
}

/// Metrics a server on this platform does not export at all.
fn not_on_this_platform(name: &str) -> bool {
    // The process metrics are read from /proc.
    !cfg!(target_os = "linux") && name.starts_with("imstatus_process_")
}

/// A scrape of a server that did a bit of everything: logins (and a store commit), a
/// subscription, a custom status pushed to a watcher, a query, a refused login, a logout and a
/// close, each a state-change callback to a receiver that fails the first and accepts the rest.
fn scrape_of_a_busy_server() -> Scrape {
    // The webhook metrics exist only for an app that has sent a callback.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = rt.block_on(Receiver::start(answer(|index| async move {
        if index == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    })));
    let mut hooked = app();
    hooked.state_change_callback_url = receiver.url("/im/state");
    let server = TestServer::start(vec![hooked]);
    let ok = |reply: ServerMessage| assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");

    let (mut bob, reply) = Wire::login(server.addr(), "bob", "Linux", "b1");
    ok(reply);
    let (mut alice, reply) = Wire::login(server.addr(), "alice", "Android", "a1");
    ok(reply);
    ok(bob.request(r#""op":"subscribe","user_ids":["alice"]"#));
    ok(alice.request(r#""op":"set_self_status","custom_status":"busy""#));
    bob.wait_status("alice", Duration::from_secs(5), |s| {
        s.custom_status == "busy"
    });
    ok(alice.request(r#""op":"get_user_status","user_ids":["bob"]"#));

    // A login refused: a UserSig made for someone else.
    let mut eve = Wire::connect(server.addr());
    ok(eve.request(r#""op":"hello","version":1"#));
    let refused = eve.request(&format!(
        r#""op":"login","sdk_app_id":{APP},"user_id":"eve","user_sig":"{}","platform":"Linux","device_id":"e""#,
        sig("mallory")
    ));
    error_code(&refused);

    ok(alice.request(r#""op":"logout""#));
    drop(bob);

    let changes = |reason: &str| {
        format!("imstatus_status_changes_total{{app=\"{APP}\",reason=\"{reason}\"}}")
    };
    let webhook = |result: &str| {
        format!("imstatus_webhook_requests_total{{app=\"{APP}\",result=\"{result}\"}}")
    };
    // Two logins, a custom status, a logout and a close: five callbacks, the first of which
    // is tried twice.
    rt.block_on(receiver.wait_for(6, Duration::from_secs(10)));
    let scrape = Scrape::until(
        server.admin_addr(),
        "everything the script did is counted",
        |s| {
            s.value(&webhook("ok")) == 5.0
                && s.value(&webhook("failed")) == 1.0
                && s.value(&webhook("retried")) == 1.0
                && s.value(&format!("imstatus_webhook_queued{{app=\"{APP}\"}}")) == 0.0
                && s.value("imstatus_push_latency_seconds_count") >= 1.0
                && s.value("imstatus_store_commit_rows_count") >= 1.0
                && s.value("imstatus_store_commit_duration_seconds_count") >= 1.0
                && s.value("imstatus_command_duration_seconds_count{command=\"login\"}") >= 2.0
                && s.value(&changes("logout")) == 1.0
                && s.value(&changes("disconnect")) == 1.0
        },
    );
    // Nothing more than the script made: no callback for the refused login.
    assert_eq!(receiver.received().len(), 6);
    scrape
}

#[test]
fn the_dashboard_shows_what_the_server_exports_and_nothing_else() {
    let dashboard = load_dashboard();
    let all_panels = panels(&dashboard);
    assert!(
        all_panels.iter().any(|p| p["type"] != "row"),
        "{DASHBOARD} has no panels"
    );
    let queries = queries(&dashboard);
    assert!(!queries.is_empty(), "{DASHBOARD} has no queries");

    let scrape = scrape_of_a_busy_server();
    let exported = families(&scrape);
    assert!(
        exported.keys().all(|name| name.starts_with("imstatus_")),
        "a metric without the imstatus_ prefix:\n{}",
        scrape.0
    );

    // Every metric a query names is exported.
    let mut used = BTreeSet::new();
    let mut unknown = Vec::new();
    for query in &queries {
        for identifier in identifiers(query) {
            let metric = metric_of(&identifier, &exported);
            if !exported.contains_key(&metric) && !not_on_this_platform(&metric) {
                unknown.push(format!("{identifier} (in `{query}`)"));
            }
            used.insert(metric);
        }
    }
    assert!(
        unknown.is_empty(),
        "the dashboard queries metrics the server does not export:\n{}\n\nexported: {:?}",
        unknown.join("\n"),
        exported.keys().collect::<Vec<_>>()
    );

    // Every metric exported is shown: a dashboard that leaves one out is incomplete.
    let unused: Vec<&String> = exported.keys().filter(|m| !used.contains(*m)).collect();
    assert!(
        unused.is_empty(),
        "metrics exported but shown by no panel of the dashboard: {unused:?}"
    );
}

/// The rows of docs/operations.md's metrics table: (metric, type).
fn documented_metrics() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(OPERATIONS)
        .unwrap_or_else(|e| panic!("cannot read {OPERATIONS}: {e}"));
    text.lines()
        .filter_map(|line| line.strip_prefix("| `imstatus_"))
        .map(|rest| {
            let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
            let name = format!("imstatus_{}", cells[0].trim_end_matches('`'));
            (name, cells[1].to_string())
        })
        .collect()
}

#[test]
fn the_operations_guide_lists_every_exported_metric_with_its_type() {
    let documented = documented_metrics();
    let exported = families(&scrape_of_a_busy_server());
    for (name, kind) in &exported {
        assert_eq!(
            documented.get(name),
            Some(kind),
            "{OPERATIONS}: {name} is exported as a {kind}"
        );
    }
    let stale: Vec<&String> = documented
        .keys()
        .filter(|name| !exported.contains_key(*name) && !not_on_this_platform(name))
        .collect();
    assert!(
        stale.is_empty(),
        "{OPERATIONS} lists metrics the server does not export: {stale:?}"
    );
}

#[test]
fn the_dashboard_is_importable() {
    let dashboard = load_dashboard();
    assert!(dashboard["schemaVersion"].as_u64().unwrap_or(0) >= 36);
    assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
    // The datasource: an input asked for at import, and a variable to switch it later.
    assert!(
        dashboard["__inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|input| input["name"] == "DS_PROMETHEUS" && input["pluginId"] == "prometheus"),
        "no DS_PROMETHEUS input"
    );
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    assert!(variables
        .iter()
        .any(|v| v["type"] == "datasource" && v["name"] == "DS_PROMETHEUS"));
    let app_variable = variables
        .iter()
        .find(|v| v["name"] == "app")
        .expect("an app variable");
    let app_query = app_variable["query"]["query"]
        .as_str()
        .or(app_variable["query"].as_str())
        .unwrap_or("");
    assert_eq!(app_query, "label_values(imstatus_users_online, app)");

    let mut ids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let mut rows = Vec::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("");
        assert!(!title.is_empty(), "a panel without a title: {panel}");
        // docs/grafana/render.py finds what to draw by title.
        assert!(titles.insert(title), "two panels are titled {title}");
        assert!(
            ids.insert(panel["id"].as_u64().expect("a panel id")),
            "two panels have id {}",
            panel["id"]
        );
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: no gridPos.{key}");
        }
        if panel["type"] == "row" {
            rows.push(title.to_string());
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${DS_PROMETHEUS}",
            "{title}: another datasource"
        );
        let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
        assert!(!targets.is_empty(), "{title}: no query");
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            assert!(
                target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                "{title}: a target without an expr"
            );
            assert!(
                ref_ids.insert(target["refId"].as_str().expect("a refId")),
                "{title}: two targets with one refId"
            );
        }
    }
    assert_eq!(
        rows,
        [
            "Overview",
            "Traffic",
            "Latency",
            "Errors & abuse",
            "Store",
            "Webhook",
            "Process",
            "Cluster"
        ]
    );
}

#[test]
fn identifiers_are_found_whole() {
    let found = identifiers(
        r#"histogram_quantile(0.99, sum by (le) (rate(imstatus_push_latency_seconds_bucket{app=~"$app"}[5m]))) / x_imstatus_no + imstatus_a1"#,
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["imstatus_a1", "imstatus_push_latency_seconds_bucket"]
    );
}
