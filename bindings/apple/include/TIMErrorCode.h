/*
 * imstatus: the V2TIM error codes the user-status API reports, with the names and values of the
 * V2TIM SDK's TIMErrorCode.h (the same numbers as the IMS_ERR_* macros of imstatus.h).
 *
 * Every `V2TIMFail` block gets one of these, or another code the server sent.
 */
#ifndef IMSTATUS_TIM_ERROR_CODE_H
#define IMSTATUS_TIM_ERROR_CODE_H

enum ERROR_CODE {
    /** Success. */
    ERR_SUCC = 0,
    /** The server did not answer in time. */
    ERR_REQUEST_TIME_OUT = 6012,
    /** The SDK is not initialised (initSDK:config: not called, or unInitSDK called meanwhile). */
    ERR_SDK_NOT_INITIALIZED = 6013,
    /** Not logged in, or kicked offline. */
    ERR_SDK_NOT_LOGGED_IN = 6014,
    /** A login or logout is already in progress (the V2TIM spelling). */
    ERR_IN_PROGESS = 6015,
    /** An argument is nil or invalid; or, from the server, an empty or oversized list or a
        too-long custom status. */
    ERR_INVALID_PARAMETERS = 6017,
    /** The UserSig expired (noticed by the SDK). */
    ERR_USER_SIG_EXPIRED = 6206,
    /** Another device logged in with this account on this platform. */
    ERR_LOGIN_KICKED_OFF_BY_OTHER = 6208,
    /** A userID is empty, longer than 32 bytes or not printable ASCII. */
    ERR_SDK_COMM_INVALID_IDENTIFIER = 7003,
    /** Too many calls in the rate window. */
    ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT = 7008,
    /** The app's edition lacks this API (needs Ultimate). */
    ERR_SDK_INTERFACE_NOT_SUPPORT = 7013,
    /** The call is not allowed in this state. */
    ERR_SDK_INVALID_OPERATION = 7014,
    /** The server cannot be reached. */
    ERR_SDK_NET_DISCONNECT = 9508,
    /** The server says the UserSig expired. */
    ERR_SVR_ACCOUNT_USERSIG_EXPIRED = 70001,
    /** The UserSig is malformed or its signature is wrong. */
    ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED = 70003,
    /** The UserSig was made for another userID. */
    ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID = 70013,
    /** The UserSig was made for another SDKAppID. */
    ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID = 70014,
    /** "User status query and status change notification" is off for the app. */
    ERR_SVR_ACCOUNT_USER_STATUS_DISABLED = 72001,
};

#endif /* IMSTATUS_TIM_ERROR_CODE_H */
