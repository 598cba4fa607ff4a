//! The wire format shared by the imstatus SDK and server, and the V2TIM error codes both speak.
//!
//! Every frame is a 4-byte big-endian length followed by that many bytes of JSON. The length is
//! checked against [`MAX_REQUEST_FRAME_LEN`] or [`MAX_SERVER_FRAME_LEN`] before anything is allocated. The first frame a client sends
//! is [`Request::Hello`] with [`PROTOCOL_VERSION`]. See `docs/protocol.md`.

pub mod codes;
mod frame;
mod message;

pub use frame::{
    read_frame, split_frame, write_frame, FrameError, Split, MAX_REQUEST_FRAME_LEN,
    MAX_SERVER_FRAME_LEN,
};
pub use message::{
    decode_request, decode_server_message, encode, ClientFrame, Platform, Request, ServerMessage,
    StatusType, WireStatus, PROTOCOL_VERSION,
};
