//! Blocking forms of the API calls, for the CLI and tests.
//!
//! Each one makes the callback call and waits for its callback. That wait would never end on
//! the callback thread (the callback is queued behind the caller), so there they refuse with
//! 7014 instead. They also must not run on a thread that drives something the answer depends
//! on, such as a single-threaded runtime hosting the server.

use crate::codes;

use super::dispatcher::on_callback_thread;
use super::queue;
use super::types::{ClientError, UserStatus};
use super::Client;

fn wait<T: Send + 'static>(
    start: impl FnOnce(Box<dyn FnOnce(Result<T, ClientError>) + Send>),
) -> Result<T, ClientError> {
    if on_callback_thread() {
        return Err(ClientError::new(
            codes::ERR_SDK_INVALID_OPERATION,
            "blocking calls cannot be made on the callback thread (they would deadlock); \
             use the callback form",
        ));
    }
    let (tx, rx) = queue::channel();
    start(Box::new(move |result| {
        let _ = tx.send(result);
    }));
    // Every callback fires exactly once, shutdown included, so this wait always ends.
    rx.recv().unwrap_or_else(|| Err(ClientError::shut_down()))
}

impl Client {
    /// [`login`](Client::login), waiting for the result. Not on the callback thread (7014).
    pub fn login_blocking(&self, user_id: &str, user_sig: &str) -> Result<(), ClientError> {
        wait(|done| self.login(user_id, user_sig, done))
    }

    /// [`logout`](Client::logout), waiting for the result. Not on the callback thread (7014).
    pub fn logout_blocking(&self) -> Result<(), ClientError> {
        wait(|done| self.logout(done))
    }

    /// [`set_self_status`](Client::set_self_status), waiting for the result. Not on the callback
    /// thread (7014).
    pub fn set_self_status_blocking(&self, custom_status: Option<&str>) -> Result<(), ClientError> {
        wait(|done| self.set_self_status(custom_status, done))
    }

    /// [`get_user_status`](Client::get_user_status), waiting for the result. Not on the callback
    /// thread (7014).
    pub fn get_user_status_blocking(
        &self,
        user_ids: Vec<String>,
    ) -> Result<Vec<UserStatus>, ClientError> {
        wait(|done| self.get_user_status(user_ids, done))
    }

    /// [`subscribe_user_status`](Client::subscribe_user_status), waiting for the result. Not on
    /// the callback thread (7014).
    pub fn subscribe_user_status_blocking(&self, user_ids: Vec<String>) -> Result<(), ClientError> {
        wait(|done| self.subscribe_user_status(user_ids, done))
    }

    /// [`unsubscribe_user_status`](Client::unsubscribe_user_status), waiting for the result. Not
    /// on the callback thread (7014).
    pub fn unsubscribe_user_status_blocking(
        &self,
        user_ids: Option<Vec<String>>,
    ) -> Result<(), ClientError> {
        wait(|done| self.unsubscribe_user_status(user_ids, done))
    }
}
