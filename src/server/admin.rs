//! Admin HTTP API: placeholder until the real one lands.
use std::sync::Arc;
use tokio::net::TcpListener;
use super::hub::Hub;
pub fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
pub async fn serve(_l: TcpListener, _hub: Arc<Hub>, _token: String, stop: impl std::future::Future<Output = ()>) {
    stop.await
}
