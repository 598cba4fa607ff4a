// imstatus C++ V2TIM wrapper: common types (as in V2TIM's V2TIMCommon.h).
#ifndef IMSTATUS_V2TIM_COMMON_H
#define IMSTATUS_V2TIM_COMMON_H

#include "V2TIMDefine.h"
#include "V2TIMString.h"
#include "imstatus.h"

DEFINE_VECTOR(V2TIMString);
typedef TXV2TIMStringVector V2TIMStringVector;

// V2TIMManager::GetLoginStatus().
enum V2TIMLoginStatus {
  // Logged in (also while reconnecting after a network loss).
  V2TIM_STATUS_LOGINED = IMS_LOGIN_STATUS_LOGINED,
  // A login is running.
  V2TIM_STATUS_LOGINING = IMS_LOGIN_STATUS_LOGINING,
  // Not logged in (never, logged out, kicked offline, UserSig expired, or not initialised).
  V2TIM_STATUS_LOGOUT = IMS_LOGIN_STATUS_LOGOUT,
};

// V2TIMSDKConfig::logLevel.
enum V2TIMLogLevel {
  V2TIM_LOG_NONE = IMS_LOG_LEVEL_NONE,
  V2TIM_LOG_DEBUG = IMS_LOG_LEVEL_DEBUG,
  V2TIM_LOG_INFO = IMS_LOG_LEVEL_INFO,
  V2TIM_LOG_WARN = IMS_LOG_LEVEL_WARN,
  V2TIM_LOG_ERROR = IMS_LOG_LEVEL_ERROR,
};

class V2TIMLogListener;

// Settings for V2TIMManager::InitSDK; copied by InitSDK.
struct TIM_API V2TIMSDKConfig {
  // Accepted for source compatibility; unused (imstatus keeps no local files).
  V2TIMString initPath;
  // Accepted for source compatibility; unused (log lines go to logListener only).
  V2TIMString logPath;
  // Lines at this level or above go to logListener. V2TIM_LOG_NONE: no logging.
  V2TIMLogLevel logLevel;
  // Receives the SDK's log lines, on any thread (see V2TIMLogListener). The caller keeps it alive
  // until UnInitSDK returns. nullptr: no logging. Logging is process-wide in libimstatus: only
  // one listener at a time.
  V2TIMLogListener* logListener;
  // imstatus addition: the server, "host:port", or "tls://host:port" for TLS. Empty: the
  // environment variable IMSTATUS_SERVER names it, else 127.0.0.1:7800 (read at every connect).
  V2TIMString serverAddress;
  // imstatus addition: TLS also for a serverAddress without "tls://" (default false). Over TLS
  // the server's certificate is always verified: by the platform's trust store plus
  // caCertificatesPEM, for the host of serverAddress, then against spkiPins. A failed handshake
  // is a connection failure (OnConnectFailed and the login's OnError, ERR_SDK_NET_DISCONNECT)
  // whose message starts with the reason: "untrusted certificate", "wrong name", "pin mismatch".
  bool useTLS;
  // imstatus addition: CA certificates trusted beside the system's, as PEM bytes (one or more
  // "-----BEGIN CERTIFICATE-----" blocks; a mobile app reads them from its bundle). Empty: none.
  // A PEM without a usable certificate makes InitSDK return false (ims_last_error_message() says
  // why).
  V2TIMString caCertificatesPEM;
  // imstatus addition: SPKI SHA-256 pins, each the base64 of the SHA-256 of a DER
  // SubjectPublicKeyInfo, optionally after "sha256/" (as OkHttp writes them). With pins, a
  // certificate chain that verified must also hold a pinned key (the server's or an
  // intermediate's); pin a backup key too. Anything else makes InitSDK return false.
  V2TIMStringVector spkiPins;
  // imstatus addition: the platform this device declares at login (the server's multi-device
  // rules, and what others see in onlineDevices), one of IMS_PLATFORM_* (imstatus.h). The
  // default, IMS_PLATFORM_DEFAULT, is the platform the library was built for (Windows, Mac,
  // Linux, ...); another value makes InitSDK return false.
  ims_platform platform;

  V2TIMSDKConfig()
      : logLevel(V2TIM_LOG_INFO),
        logListener(nullptr),
        useTLS(false),
        platform(IMS_PLATFORM_DEFAULT) {}
};

#endif  // IMSTATUS_V2TIM_COMMON_H
