//! A webhook receiver for the tests: a real HTTP/1.1 (or HTTPS) server on loopback port 0 that
//! records every request it gets and answers as the test says. Waits have deadlines.
// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use imstatus_server::dev_cert::DevCert;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query, as sent.
    pub target: String,
    pub headers: HeaderMap,
    pub body: String,
    pub arrived: Instant,
    /// When the answer was ready (it leaves right after); `None` while the test holds it.
    pub answered: Option<Instant>,
    pub status: Option<StatusCode>,
}

impl Received {
    /// A header's value, or "" when there is none.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().expect("an ASCII header"))
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// How the receiver answers: given the request's arrival index (0 for the first) and the
/// request, a future of the status to answer with.
pub type Answer =
    Arc<dyn Fn(usize, Received) -> Pin<Box<dyn Future<Output = StatusCode> + Send>> + Send + Sync>;

/// An answer that does not depend on the request's content.
pub fn answer<F, Fut>(f: F) -> Answer
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StatusCode> + Send + 'static,
{
    Arc::new(move |index, _| Box::pin(f(index)))
}

/// An answer at once, from the request's content.
pub fn by_request(f: impl Fn(&Received) -> StatusCode + Send + Sync + 'static) -> Answer {
    Arc::new(move |_, request| {
        let status = f(&request);
        Box::pin(async move { status })
    })
}

/// Always 200 at once.
pub fn ok() -> Answer {
    answer(|_| async { StatusCode::OK })
}

/// A receiver; it stops when the test's runtime ends.
pub struct Receiver {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
    count: watch::Receiver<usize>,
    connections: Arc<AtomicUsize>,
    scheme: &'static str,
}

impl Receiver {
    /// A plain HTTP receiver.
    pub async fn start(answer: Answer) -> Receiver {
        Receiver::start_with(answer, None).await
    }

    /// An HTTPS receiver with `cert`.
    pub async fn start_tls(answer: Answer, cert: &DevCert) -> Receiver {
        let chain = vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        Receiver::start_with(answer, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(answer: Answer, tls: Option<TlsAcceptor>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (count_tx, count) = watch::channel(0);
        let count_tx = Arc::new(count_tx);
        let connections = Arc::new(AtomicUsize::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let state = (log.clone(), count_tx, connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (log, count_tx, connections) = state.clone();
                let (answer, tls) = (answer.clone(), tls.clone());
                connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(request, answer.clone(), log.clone(), count_tx.clone())
                    });
                    let http = http1::Builder::new();
                    let _ = match tls {
                        Some(tls) => match tls.accept(stream).await {
                            Ok(stream) => {
                                http.serve_connection(TokioIo::new(stream), service).await
                            }
                            Err(_) => return,
                        },
                        None => http.serve_connection(TokioIo::new(stream), service).await,
                    };
                });
            }
        });
        Receiver {
            addr,
            log,
            count,
            connections,
            scheme,
        }
    }

    /// The URL of `path_and_query` on this receiver.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}://{}{path_and_query}", self.scheme, self.addr)
    }

    /// Every request so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests have arrived; panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let mut count = self.count.clone();
        let waited = tokio::time::timeout(within, count.wait_for(|c| *c >= n)).await;
        assert!(
            waited.is_ok(),
            "{} requests within {within:?}, not {n}",
            self.received().len()
        );
        self.received()
    }
}

async fn handle(
    request: Request<Incoming>,
    answer: Answer,
    log: Arc<Mutex<Vec<Received>>>,
    count: Arc<watch::Sender<usize>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let arrived = Instant::now();
    let target = request
        .uri()
        .path_and_query()
        .map_or(String::new(), |p| p.to_string());
    let headers = request.headers().clone();
    let body = request.into_body().collect().await?.to_bytes();
    let received = Received {
        target,
        headers,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
        arrived,
        answered: None,
        status: None,
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(received.clone());
        log.len() - 1
    };
    count.send_modify(|c| *c += 1);
    let status = answer(index, received).await;
    {
        let mut log = log.lock().unwrap();
        log[index].answered = Some(Instant::now());
        log[index].status = Some(status);
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"{\"ErrorCode\":0}")));
    *response.status_mut() = status;
    Ok(response)
}
