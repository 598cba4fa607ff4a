//! V2TIM error codes, shared by every layer so that a code means the same thing on the wire,
//! in the C header and in Java.

/// Success.
pub const ERR_SUCC: i32 = 0;
/// The SDK (client) was not initialised, or was uninitialised while the call was in flight.
pub const ERR_SDK_NOT_INITIALIZED: i32 = 6013;
/// Not logged in, or kicked offline by another device.
pub const ERR_SDK_NOT_LOGGED_IN: i32 = 6014;
/// A call of the same kind is already in progress.
pub const ERR_IN_PROGESS: i32 = 6015;
/// Invalid parameters: empty or oversized lists, bad values.
pub const ERR_INVALID_PARAMETERS: i32 = 6017;
/// The request did not get an answer in time.
pub const ERR_REQUEST_TIME_OUT: i32 = 6012;
/// The UserSig expired (noticed by the SDK).
pub const ERR_USER_SIG_EXPIRED: i32 = 6206;
/// Another device logged in with the same account on the same platform.
pub const ERR_LOGIN_KICKED_OFF_BY_OTHER: i32 = 6208;
/// A userID is empty, longer than 32 bytes, or not printable ASCII.
pub const ERR_SDK_COMM_INVALID_IDENTIFIER: i32 = 7003;
/// More than the allowed number of calls in the rate window.
pub const ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT: i32 = 7008;
/// The app's edition does not include this API (needs Ultimate).
pub const ERR_SDK_INTERFACE_NOT_SUPPORT: i32 = 7013;
/// Illegal request (e.g. a request before login, or an unknown operation).
pub const ERR_SDK_INVALID_OPERATION: i32 = 7014;
/// The network is not connected.
pub const ERR_SDK_NET_DISCONNECT: i32 = 9508;
/// The server says the UserSig has expired.
pub const ERR_SVR_ACCOUNT_USERSIG_EXPIRED: i32 = 70001;
/// The UserSig failed verification (malformed or bad signature).
pub const ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED: i32 = 70003;
/// The UserSig was signed for another userID.
pub const ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID: i32 = 70013;
/// The UserSig was signed for another sdkAppID (or the sdkAppID is unknown).
pub const ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID: i32 = 70014;
/// The "user status query and status change notification" switch is off.
pub const ERR_SVR_ACCOUNT_USER_STATUS_DISABLED: i32 = 72001;
