//! The admin HTTP API, for the app's backend: console settings (F2), friends (F1) and the
//! online-status query of Tencent's REST API (`v4/openim/query_online_status`).
//!
//! Every endpoint but the health checks wants `Authorization: Bearer <token>`. Bodies and answers
//! are JSON; a refusal is `{"ActionStatus":"FAIL","ErrorCode":code,"ErrorInfo":"what was wrong"}`
//! with a fitting HTTP status. `ErrorCode` is a V2TIM code where one fits (6017 bad parameters,
//! 70014 unknown sdkAppID, or the engine's own code) and the HTTP status otherwise (401, 404, 405,
//! 413).
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/v1/health`, `/v1/health/live` (no token) | | liveness: `{"ok":true,"connections":N}` |
//! | GET | `/v1/health/ready` (no token) | | readiness: `{"ready":true}`, or 503 `{"ready":false,"why":..}` when the store takes no writes |
//! | GET | `/metrics` | | Prometheus text format (docs/operations.md) |
//! | GET | `/v1/apps` | | `[AppSettings, ...]` |
//! | GET | `/v1/apps/{sdk_app_id}` | | `AppSettings` (404 if unknown) |
//! | PUT | `/v1/apps/{sdk_app_id}` | full `AppSettings` | the settings; 201 when it created the app |
//! | PATCH | `/v1/apps/{sdk_app_id}` | JSON merge patch (RFC 7396) | the new settings |
//! | POST | `/v1/apps/{sdk_app_id}/friends/import` | `{"From_Account":u,"To_Account":[..]}` | `{"Added":N,..}` |
//! | POST | `/v1/apps/{sdk_app_id}/friends/delete` | `{"From_Account":u,"To_Account":[..]}` | `{"Removed":N,..}` |
//! | GET | `/v1/apps/{sdk_app_id}/friends/{user}` | | `{"Friends":[..],..}` |
//! | POST | `/v1/apps/{sdk_app_id}/query_online_status` | `{"To_Account":[..],"IsNeedDetail":0/1}` | as Tencent |
//!
//! `query_online_status` answers as Tencent's REST API does: a refused query (empty `To_Account`,
//! more than 500 IDs, `IsNeedDetail` other than 0 or 1) is HTTP 200 with `ActionStatus` "FAIL"
//! and 6017, so that a client written for Tencent handles it as usual; only a body that is not
//! the right JSON shape is HTTP 400, and an unknown app 404. IDs are answered once each, in the
//! order asked; invalid IDs go to `ErrorList` with 70107 (and, beyond Tencent, an `ErrorInfo`).
//! A user who never logged in is "Offline"; `Detail` is there only with `IsNeedDetail` 1.
//!
//! The engine decides what is valid: user IDs through [`check_user_id`] and the engine's friend
//! calls, settings through [`Engine::put_app`](crate::engine::Engine::put_app).

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::hub::{Hub, ServerEngine};
use crate::codes;
use crate::config::Limits;
use crate::engine::{check_user_id, AppSettings, EngineError, OnlineState, Platform, UserKey};

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Most friends one import or delete may name.
pub const MAX_FRIENDS_PER_CALL: usize = 1000;
/// Most IDs one `query_online_status` may name, as in Tencent's REST API.
pub const MAX_QUERY_IDS: usize = 500;
/// Tencent's code for an account that does not exist; what the REST API lists invalid IDs with.
pub const ERR_SVR_ACCOUNT_NOT_FOUND: i32 = 70107;
/// How long requests in flight may go on once the server is stopping.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long a readiness check waits for the store to take a write.
const READY_WITHIN: Duration = Duration::from_secs(2);
/// How long one request may take, from its headers to its answer (its body included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A new admin token: 16 random bytes in hex.
pub fn random_token() -> String {
    use rand::Rng as _;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone)]
struct Api {
    hub: Arc<Hub>,
    /// Held while an app's settings are read, changed and written back, so that concurrent
    /// patches do not undo each other.
    settings: Arc<std::sync::Mutex<()>>,
    /// SHA-256 of the token, so that comparing takes the same time whatever the guess.
    token_hash: Option<[u8; 32]>,
}

/// Serves the admin API on `listener` until `stop` completes; requests in flight then get a
/// short grace period to finish. An empty `token` refuses every request but the health check.
///
/// Each connection must send a request's headers within `admin_header_timeout`, also while it
/// waits between requests (a kept-alive connection idle that long is closed), and each request
/// must be answered within [`REQUEST_TIMEOUT`] (a body dripped in slowly is cut off). At most
/// `admin_max_connections` are open; more are closed at once. Admin writes take only the locks of
/// the users they change, so they never stall the status path.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    hub: Arc<Hub>,
    token: String,
    limits: Arc<Limits>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    if token.is_empty() {
        tracing::error!("the admin token is empty: the admin API refuses every request");
    }
    let router = router(hub, &token);
    let open = Arc::new(tokio::sync::Semaphore::new(limits.admin_max_connections));
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    tracing::info!(%peer, "refusing an admin connection: too many are open");
                    continue;
                };
                let router = router.clone();
                let header_timeout = limits.admin_header_timeout;
                let stopping = stopping.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    let _permit = permit;
                    match tls {
                        None => serve_connection(stream, router, header_timeout, stopping).await,
                        // The handshake is part of the wait for the first request's headers.
                        Some(tls) => match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                            Ok(Ok(stream)) => {
                                serve_connection(stream, router, header_timeout, stopping).await
                            }
                            Ok(Err(e)) => tracing::info!(%peer, error = %e, "admin TLS handshake failed"),
                            Err(_) => tracing::info!(%peer, "no admin TLS handshake in time"),
                        },
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stopping_tx.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        tracing::warn!("admin requests still open at shutdown were dropped");
    }
}

/// Serves the requests of one admin connection, plain or TLS.
async fn serve_connection<IO>(
    io: IO,
    router: Router,
    header_timeout: Duration,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let router = router.clone();
        async move {
            let answered =
                tokio::time::timeout(REQUEST_TIMEOUT, tower::ServiceExt::oneshot(router, request))
                    .await;
            Ok::<_, std::convert::Infallible>(match answered {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => ApiError::http(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request was not received and answered in time",
                )
                .into_response(),
            })
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopping.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

fn router(hub: Arc<Hub>, token: &str) -> Router {
    let api = Api {
        hub,
        settings: Arc::default(),
        token_hash: (!token.is_empty()).then(|| Sha256::digest(token.as_bytes()).into()),
    };
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/v1/apps", get(list_apps))
        .route(
            "/v1/apps/{sdk_app_id}",
            get(get_app).put(put_app).patch(patch_app),
        )
        // The static routes win over `{user}`: a user named "import" or "delete" is listed here.
        .route(
            "/v1/apps/{sdk_app_id}/friends/import",
            post(import_friends).get(|s: State<Api>, p: Result<Path<String>, PathRejection>| {
                list_friends_named(s, p, "import")
            }),
        )
        .route(
            "/v1/apps/{sdk_app_id}/friends/delete",
            post(delete_friends).get(|s: State<Api>, p: Result<Path<String>, PathRejection>| {
                list_friends_named(s, p, "delete")
            }),
        )
        .route("/v1/apps/{sdk_app_id}/friends/{user}", get(list_friends))
        .route(
            "/v1/apps/{sdk_app_id}/query_online_status",
            post(query_online_status),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(api.clone(), authenticate));
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/health/live", get(health))
        .route("/v1/health/ready", get(ready))
        .merge(protected)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(api)
}

/// A refused request.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: i32,
    info: String,
}

impl ApiError {
    fn new(status: StatusCode, code: i32, info: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            info: info.into(),
        }
    }

    fn invalid(info: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, codes::ERR_INVALID_PARAMETERS, info)
    }

    fn http(status: StatusCode, info: impl Into<String>) -> ApiError {
        ApiError::new(status, i32::from(status.as_u16()), info)
    }

    fn no_app(sdk_app_id: u32) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
            format!("no app with sdkAppID {sdk_app_id} on this server"),
        )
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let status = if e.code == codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, e.code, e.desc)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "ActionStatus": "FAIL",
            "ErrorCode": self.code,
            "ErrorInfo": self.info,
        });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult<T> = Result<T, ApiError>;

async fn authenticate(State(api): State<Api>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let Some(given) = given else {
        return ApiError::http(
            StatusCode::UNAUTHORIZED,
            "this API needs the header Authorization: Bearer <admin token>",
        )
        .into_response();
    };
    let matches = api.token_hash.is_some_and(|expected| {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        // Constant time: look at every byte whatever the first difference.
        expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    });
    if !matches {
        return ApiError::http(StatusCode::UNAUTHORIZED, "the admin token is wrong")
            .into_response();
    }
    next.run(request).await
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {}", uri.path()),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}

/// Liveness: the server answers.
async fn health(State(api): State<Api>) -> Json<Value> {
    let connections = api.hub.connection_count();
    Json(json!({ "ok": true, "connections": connections }))
}

/// Readiness: the store takes writes (a balancer sends no one to a node that would lose their
/// logins). 503 with the reason when not.
async fn ready(State(api): State<Api>) -> Response {
    match api.hub.ready(READY_WITHIN).await {
        Ok(()) => Json(json!({ "ready": true })).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "why": why })),
        )
            .into_response(),
    }
}

/// Prometheus' text format.
async fn metrics(State(api): State<Api>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        api.hub.render_metrics(),
    )
        .into_response()
}

/// The sdkAppID of a path, written the one way it is written: digits only, no sign, no
/// leading zero (so that `+1400000001` and `01400000001` name no app).
fn app_id(text: &str) -> ApiResult<u32> {
    let canonical =
        !text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u32>() {
        Ok(id) if canonical => Ok(id),
        _ => Err(ApiError::invalid(format!(
            "sdk_app_id in the path must be a number from 1 to {} in plain digits, not {text:?}",
            u32::MAX
        ))),
    }
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::invalid(format!("bad path: {}", e.body_text()))
}

/// Parses a JSON body, saying where it is wrong.
fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::http(
                status,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )
        } else {
            ApiError::http(status, format!("cannot read the body: {}", e.body_text()))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "the body is empty; it must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ApiError::invalid(format!("invalid JSON body: {}", describe(&e))))?;
    de.end()
        .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// Where a deserialisation error is, then what it is.
fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    if path == "." || path.is_empty() {
        e.inner().to_string()
    } else {
        format!("{path}: {}", e.inner())
    }
}

async fn list_apps(State(api): State<Api>) -> Json<Vec<AppSettings>> {
    Json(api.hub.engine.all_app_settings())
}

async fn get_app(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<AppSettings>> {
    let id = app_id(&path.map_err(path_error)?.0)?;
    let settings = api.hub.engine.app_settings(id);
    settings.map(Json).ok_or_else(|| ApiError::no_app(id))
}

/// Runs an engine mutation off the async workers (a friend import reads the store once per
/// friend), then waits until what it wrote is durable, so that an answered change survives a
/// crash.
async fn mutate<R: Send + 'static>(
    api: &Api,
    f: impl FnOnce(&ServerEngine, &std::sync::Mutex<()>) -> ApiResult<R> + Send + 'static,
) -> ApiResult<R> {
    let hub = api.hub.clone();
    let settings = api.settings.clone();
    let result = tokio::task::spawn_blocking(move || f(&hub.engine, &settings))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "an admin request failed inside the engine");
            Err(ApiError::http(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed inside the server; see its log",
            ))
        });
    api.hub.durable().await;
    result
}

async fn put_app(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<AppSettings>)> {
    let id = app_id(&path.map_err(path_error)?.0)?;
    let settings: AppSettings = parse_body(body)?;
    if settings.sdk_app_id != id {
        return Err(ApiError::invalid(format!(
            "sdk_app_id {} in the body does not match {id} in the path",
            settings.sdk_app_id
        )));
    }
    let answer = settings.clone();
    let created = mutate(&api, move |engine, settings_lock| {
        let _settings = settings_lock.lock().unwrap_or_else(|e| e.into_inner());
        let existed = engine.app_settings(id).is_some();
        engine.put_app(settings)?;
        Ok(!existed)
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)))
}

/// Runs every decoder of admin input on `data`: the path's app ID, and `data` as each body (a
/// full app, a settings patch applied to the default app, friends, an online-status query).
/// For the fuzz targets (`crate::fuzzing`): answers nothing, must never panic.
pub(crate) fn decode_everything(data: &[u8]) {
    let _ = app_id(&String::from_utf8_lossy(data));
    let body = || Ok(Bytes::copy_from_slice(data));
    if let Ok(settings) = parse_body::<AppSettings>(body()) {
        let _ = settings.validate();
    }
    let _ = friends_body(body());
    let _ = parse_body::<QueryBody>(body());
    if let Ok(patch) = parse_body::<Value>(body()) {
        let mut doc = serde_json::to_value(AppSettings::new(1, "k")).expect("settings serialise");
        merge_patch(&mut doc, &patch);
        if let Ok(settings) = serde_json::from_value::<AppSettings>(doc) {
            let _ = settings.validate();
        }
    }
}

/// Applies a JSON merge patch (RFC 7396): objects merge key by key, `null` removes a key (which
/// puts that setting back to its default), anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

async fn patch_app(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<AppSettings>> {
    let id = app_id(&path.map_err(path_error)?.0)?;
    let patch: Value = parse_body(body)?;
    if !patch.is_object() {
        return Err(ApiError::invalid(
            "the body must be a JSON object of the settings to change",
        ));
    }
    let settings = mutate(&api, move |engine, settings_lock| {
        // Read, merge and write under one lock, so that concurrent patches do not undo each other.
        let _settings = settings_lock.lock().unwrap_or_else(|e| e.into_inner());
        let current = engine
            .app_settings(id)
            .ok_or_else(|| ApiError::no_app(id))?;
        let mut doc = serde_json::to_value(&current)
            .map_err(|e| ApiError::http(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        merge_patch(&mut doc, &patch);
        let settings: AppSettings = serde_path_to_error::deserialize(doc)
            .map_err(|e| ApiError::invalid(format!("invalid settings: {}", describe(&e))))?;
        if settings.sdk_app_id != id {
            return Err(ApiError::invalid(format!(
                "sdk_app_id cannot be changed (from {id} to {})",
                settings.sdk_app_id
            )));
        }
        engine.put_app(settings.clone())?;
        Ok(settings)
    })
    .await?;
    Ok(Json(settings))
}

/// The body of the friend import and delete calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FriendsBody {
    #[serde(rename = "From_Account")]
    from: String,
    #[serde(rename = "To_Account")]
    to: Vec<String>,
}

fn friends_body(body: Result<Bytes, BytesRejection>) -> ApiResult<FriendsBody> {
    let body: FriendsBody = parse_body(body)?;
    if body.to.is_empty() {
        return Err(ApiError::invalid("To_Account is empty"));
    }
    if body.to.len() > MAX_FRIENDS_PER_CALL {
        return Err(ApiError::invalid(format!(
            "To_Account holds {} IDs, more than {MAX_FRIENDS_PER_CALL} a call",
            body.to.len()
        )));
    }
    Ok(body)
}

async fn import_friends(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    change_friends(api, path, body, "Added", ServerEngine::add_friends).await
}

async fn delete_friends(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    change_friends(api, path, body, "Removed", ServerEngine::remove_friends).await
}

/// Imports or deletes friends (F1) and answers how many relations changed under `count_key`.
async fn change_friends(
    api: Api,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
    count_key: &str,
    change: fn(&ServerEngine, u32, &str, &[String]) -> Result<usize, EngineError>,
) -> ApiResult<Json<Value>> {
    let id = app_id(&path.map_err(path_error)?.0)?;
    let body = friends_body(body)?;
    let changed = mutate(&api, move |engine, _| {
        Ok(change(engine, id, &body.from, &body.to)?)
    })
    .await?;
    Ok(Json(
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, count_key: changed}),
    ))
}

fn friends_answer(api: &Api, id: u32, user: &str) -> ApiResult<Json<Value>> {
    check_user_id(user).map_err(ApiError::invalid)?;
    let engine = &api.hub.engine;
    if engine.app_settings(id).is_none() {
        return Err(ApiError::no_app(id));
    }
    let friends = engine.friends_of(&UserKey::new(id, user));
    Ok(Json(
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "Friends": friends}),
    ))
}

async fn list_friends(
    State(api): State<Api>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let (id, user) = path.map_err(path_error)?.0;
    friends_answer(&api, app_id(&id)?, &user)
}

async fn list_friends_named(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
    user: &'static str,
) -> ApiResult<Json<Value>> {
    let id = app_id(&path.map_err(path_error)?.0)?;
    friends_answer(&api, id, user)
}

/// The body of `query_online_status`. Other fields of Tencent's body (`IsReturnInstid`,
/// `IsReturnCustomStatus`) are accepted and ignored.
#[derive(Debug, Deserialize)]
struct QueryBody {
    #[serde(rename = "To_Account")]
    to: Vec<String>,
    #[serde(rename = "IsNeedDetail", default)]
    need_detail: u32,
}

#[derive(Debug, Serialize)]
struct QueryAnswer {
    #[serde(rename = "ActionStatus")]
    action_status: &'static str,
    #[serde(rename = "ErrorInfo")]
    error_info: String,
    #[serde(rename = "ErrorCode")]
    error_code: i32,
    #[serde(rename = "QueryResult")]
    query_result: Vec<QueryResult>,
    #[serde(rename = "ErrorList")]
    error_list: Vec<QueryError>,
}

#[derive(Debug, Serialize)]
struct QueryResult {
    #[serde(rename = "To_Account")]
    to_account: String,
    #[serde(rename = "Status")]
    status: OnlineState,
    #[serde(rename = "Detail", skip_serializing_if = "Option::is_none")]
    detail: Option<Vec<QueryDetail>>,
}

#[derive(Debug, Serialize)]
struct QueryDetail {
    #[serde(rename = "Platform")]
    platform: Platform,
    #[serde(rename = "Status")]
    status: OnlineState,
}

#[derive(Debug, Serialize)]
struct QueryError {
    #[serde(rename = "To_Account")]
    to_account: String,
    #[serde(rename = "ErrorCode")]
    error_code: i32,
    /// Not in Tencent's answer: why the ID was refused (B1).
    #[serde(rename = "ErrorInfo")]
    error_info: String,
}

impl QueryAnswer {
    /// A refused query, answered as Tencent does: HTTP 200 with ActionStatus FAIL.
    fn fail(code: i32, info: String) -> QueryAnswer {
        QueryAnswer {
            action_status: "FAIL",
            error_info: info,
            error_code: code,
            query_result: Vec::new(),
            error_list: Vec::new(),
        }
    }
}

async fn query_online_status(
    State(api): State<Api>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<QueryAnswer>> {
    let id = app_id(&path.map_err(path_error)?.0)?;
    let body: QueryBody = parse_body(body)?;
    let invalid = |info: String| Ok(Json(QueryAnswer::fail(codes::ERR_INVALID_PARAMETERS, info)));
    if body.to.is_empty() {
        return invalid("To_Account is empty".into());
    }
    if body.to.len() > MAX_QUERY_IDS {
        return invalid(format!(
            "To_Account holds {} IDs, more than {MAX_QUERY_IDS} a call",
            body.to.len()
        ));
    }
    let need_detail = match body.need_detail {
        0 => false,
        1 => true,
        n => return invalid(format!("IsNeedDetail must be 0 or 1, not {n}")),
    };
    let engine = &api.hub.engine;
    if engine.app_settings(id).is_none() {
        return Err(ApiError::no_app(id));
    }
    let mut seen = HashSet::new();
    let mut answer = QueryAnswer {
        action_status: "OK",
        error_info: String::new(),
        error_code: 0,
        query_result: Vec::new(),
        error_list: Vec::new(),
    };
    for user in body.to {
        if !seen.insert(user.clone()) {
            continue;
        }
        if let Err(why) = check_user_id(&user) {
            answer.error_list.push(QueryError {
                to_account: user,
                error_code: ERR_SVR_ACCOUNT_NOT_FOUND,
                error_info: why,
            });
            continue;
        }
        let key = UserKey::new(id, user);
        let status = OnlineState::from(engine.status_of(&key).status_type);
        let detail = need_detail.then(|| {
            engine
                .device_details(&key)
                .into_iter()
                .map(|d| QueryDetail {
                    platform: d.platform,
                    status: d.state,
                })
                .collect()
        });
        answer.query_result.push(QueryResult {
            to_account: key.user.to_string(),
            status,
            detail,
        });
    }
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(
            &mut doc,
            &json!({"a": null, "b": {"c": 5}, "e": [2], "f": true}),
        );
        assert_eq!(doc, json!({"b": {"c": 5, "d": 3}, "e": [2], "f": true}));
    }

    #[test]
    fn random_tokens_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
