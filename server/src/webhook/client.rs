//! The HTTP(S) client callbacks go out through: hyper's pooled client (connections are kept
//! alive and reused per receiver), rustls with `ring` for `https://`, and one answer per
//! attempt that says whether to try again.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::CertificateDer;
use tokio::time::{timeout, Instant};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::wire::{DELIVERY_HEADER, SIGNATURE_HEADER};

/// How long an idle kept-alive connection waits for the next callback. Below the minute most
/// servers and load balancers keep an idle connection, so the pool rarely picks one that the
/// other side is closing.
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// How much of an answer's body is read. Only the status counts; the body is read so the
/// connection can carry the next callback.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// A 4xx answer other than 429 (or any other answer that is not 2xx, 429 or 5xx): the
    /// receiver does not want this callback, and asking again would not change its mind.
    Refused(StatusCode),
    /// Worth trying again: a 5xx or 429 answer, or no answer at all.
    Failed(Failure),
    /// The URL cannot be sent to at all.
    Unusable(String),
}

/// Why an attempt that may work later did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    Status(StatusCode),
    Connection(String),
    Timeout,
}

/// One callback as it goes on the wire.
pub(super) struct Post<'a> {
    pub url: &'a str,
    pub body: Bytes,
    pub signature: Option<String>,
    pub delivery: &'a str,
}

/// The pooled client, shared by every app.
pub(super) struct Client {
    inner: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Client {
    /// A client that trusts Mozilla's roots and `extra_roots`, and gives each attempt
    /// `timeout`, connecting included. A root that does not parse is left out, and said so.
    pub fn new(extra_roots: &[CertificateDer<'static>], timeout: Duration) -> Client {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in extra_roots {
            if let Err(e) = roots.add(root.clone()) {
                tracing::warn!(error = %e, "webhook: an extra root certificate is unusable; left out");
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        // The TLS layer above decides between http:// and https://.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .build(https);
        Client { inner, timeout }
    }

    /// POSTs one callback. The timeout covers connecting, sending and the answer's status
    /// line and headers; the status decides, so a body that comes slowly after a 2xx still
    /// counts as delivered.
    pub async fn post(&self, post: Post<'_>) -> Outcome {
        let uri: Uri = match post.url.parse() {
            Ok(uri) => uri,
            Err(e) => return Outcome::Unusable(format!("not a URL: {e}")),
        };
        let mut request = Request::post(uri)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("imstatus/", env!("CARGO_PKG_VERSION")));
        if let Some(signature) = post.signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        if let Ok(delivery) = HeaderValue::from_str(post.delivery) {
            request = request.header(DELIVERY_HEADER, delivery);
        }
        let request = match request.body(Full::new(post.body)) {
            Ok(request) => request,
            Err(e) => return Outcome::Unusable(e.to_string()),
        };
        let deadline = Instant::now() + self.timeout;
        let answer = match timeout(self.timeout, self.inner.request(request)).await {
            Err(_) => return Outcome::Failed(Failure::Timeout),
            Ok(Err(e)) => return Outcome::Failed(Failure::Connection(error_chain(&e))),
            Ok(Ok(answer)) => answer,
        };
        let status = answer.status();
        // Reading the body to its end returns the connection to the pool; what it says is not
        // needed, and a receiver that sends it slowly or too much only loses that connection.
        let rest = Limited::new(answer.into_body(), MAX_ANSWER_BYTES).collect();
        let _ = tokio::time::timeout_at(deadline, rest).await;
        classify(status)
    }
}

fn classify(status: StatusCode) -> Outcome {
    if status.is_success() {
        Outcome::Delivered
    } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Outcome::Failed(Failure::Status(status))
    } else {
        Outcome::Refused(status)
    }
}

/// An error and its causes on one line: hyper's own message alone says little ("client
/// error (Connect)"), the cause says what went wrong (refused, certificate unknown, ...).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_delivers_and_only_5xx_and_429_are_tried_again() {
        let code = |c| StatusCode::from_u16(c).unwrap();
        assert_eq!(classify(code(200)), Outcome::Delivered);
        assert_eq!(classify(code(204)), Outcome::Delivered);
        for c in [500, 502, 503, 429] {
            assert_eq!(classify(code(c)), Outcome::Failed(Failure::Status(code(c))));
        }
        for c in [301, 400, 401, 404, 410] {
            assert_eq!(classify(code(c)), Outcome::Refused(code(c)));
        }
    }
}
