//! The C ABI: `include/imstatus.h` is generated from this module (and only this module) by
//! `build.rs` with cbindgen; `tests/c_header.rs` checks that the checked-in header matches.
//!
//! Only `extern "C"` items and the `#[repr(C)]` types and constants they use live here. Every
//! entry point runs inside the panic boundary ([`boundary`]), checks every pointer and every
//! string's UTF-8, and translates to and from [`crate::client`]; it never re-implements a rule of
//! `behaviour.md` (the server decides those, and the client reports them through callbacks).
//!
//! The rules every function shares (ownership, threads, results) are written once, at the top of
//! the header (`cbindgen.toml`, `header`); each function's doc comment says the rest.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod boundary;
mod callback;
mod client;
mod config;
mod dispatcher;
mod error;
mod extensions;
mod lent;
mod listener;
mod log;
mod refusal;
mod server_time;
mod shutdown;
mod status;
mod strings;
mod tls;
mod version;

pub use callback::{ims_callback, ims_error_fn, ims_free_fn, ims_user_status_callback};
pub use client::*;
pub use config::*;
pub use dispatcher::{ims_post_fn, ims_task_fn};
pub use error::{ims_error_str, ims_last_error_message, ims_result};
pub use error::{
    IMS_ERR_INVALID_PARAMETERS, IMS_ERR_IN_PROGESS, IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER,
    IMS_ERR_PANIC, IMS_ERR_REQUEST_TIME_OUT, IMS_ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
    IMS_ERR_SDK_COMM_INVALID_IDENTIFIER, IMS_ERR_SDK_INTERFACE_NOT_SUPPORT,
    IMS_ERR_SDK_INVALID_OPERATION, IMS_ERR_SDK_NET_DISCONNECT, IMS_ERR_SDK_NOT_INITIALIZED,
    IMS_ERR_SDK_NOT_LOGGED_IN, IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED,
    IMS_ERR_SVR_ACCOUNT_USERSIG_EXPIRED, IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID,
    IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID, IMS_ERR_SVR_ACCOUNT_USER_STATUS_DISABLED,
    IMS_ERR_USER_SIG_EXPIRED, IMS_OK,
};
pub use extensions::*;
pub use listener::{ims_event_fn, ims_listener};
pub use log::*;
pub use refusal::{ims_callback_fail, ims_user_status_callback_fail};
pub use server_time::ims_client_get_server_time;
pub use shutdown::ims_client_shutdown;
pub use status::*;
pub use tls::*;
pub use version::*;
