// imstatus C++ V2TIM wrapper: the error codes the SDK reports, with their V2TIM names. The
// numbers are libimstatus's (IMS_ERR_* in imstatus.h), which are V2TIM's.
#ifndef IMSTATUS_V2TIM_ERROR_CODE_H
#define IMSTATUS_V2TIM_ERROR_CODE_H

#include "imstatus.h"

enum V2TIMErrorCode {
  ERR_SUCC = IMS_OK,
  // The server did not answer in time.
  ERR_REQUEST_TIME_OUT = IMS_ERR_REQUEST_TIME_OUT,
  // InitSDK was not called, or UnInitSDK ran while the call was in flight.
  ERR_SDK_NOT_INITIALIZED = IMS_ERR_SDK_NOT_INITIALIZED,
  // Not logged in, or kicked offline.
  ERR_SDK_NOT_LOGGED_IN = IMS_ERR_SDK_NOT_LOGGED_IN,
  // A login or logout is already in progress (sic: the V2TIM spelling).
  ERR_IN_PROGESS = IMS_ERR_IN_PROGESS,
  // A bad argument: a string that is not UTF-8 or holds a NUL byte, an empty or oversized
  // list, a too-long custom status.
  ERR_INVALID_PARAMETERS = IMS_ERR_INVALID_PARAMETERS,
  ERR_USER_SIG_EXPIRED = IMS_ERR_USER_SIG_EXPIRED,
  ERR_LOGIN_KICKED_OFF_BY_OTHER = IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER,
  // A userID is empty, longer than 32 bytes or not printable ASCII.
  ERR_SDK_COMM_INVALID_IDENTIFIER = IMS_ERR_SDK_COMM_INVALID_IDENTIFIER,
  // Too many calls in the rate window.
  ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT = IMS_ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
  // The app's edition lacks this API (needs Ultimate).
  ERR_SDK_INTERFACE_NOT_SUPPORT = IMS_ERR_SDK_INTERFACE_NOT_SUPPORT,
  ERR_SDK_INVALID_OPERATION = IMS_ERR_SDK_INVALID_OPERATION,
  // The server cannot be reached.
  ERR_SDK_NET_DISCONNECT = IMS_ERR_SDK_NET_DISCONNECT,
  ERR_SVR_ACCOUNT_USERSIG_EXPIRED = IMS_ERR_SVR_ACCOUNT_USERSIG_EXPIRED,
  ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED = IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED,
  ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID = IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID,
  ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID = IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
  // "User status query and status change notification" is off for the app.
  ERR_SVR_ACCOUNT_USER_STATUS_DISABLED = IMS_ERR_SVR_ACCOUNT_USER_STATUS_DISABLED,
};

#endif  // IMSTATUS_V2TIM_ERROR_CODE_H
