// imstatus C++ V2TIM wrapper: listeners (as in V2TIM's V2TIMListener.h).
#ifndef IMSTATUS_V2TIM_LISTENER_H
#define IMSTATUS_V2TIM_LISTENER_H

#include "V2TIMCommon.h"
#include "V2TIMDefine.h"
#include "V2TIMFriendship.h"
#include "V2TIMString.h"

// The SDK's events; override the ones you need. Register with V2TIMManager::AddSDKListener and
// keep the object alive until RemoveSDKListener returns.
//
// Events run one at a time, in order, on the SDK's callback thread "imstatus-callback", never
// inside the call that caused them. They may call any V2TIMManager method; they should return
// quickly (later callbacks and events wait behind them). An exception thrown out of an event is
// caught and printed to stderr.
class TIM_API V2TIMSDKListener {
 public:
  V2TIMSDKListener() {}
  virtual ~V2TIMSDKListener() {}

  // The SDK starts connecting: a login, or a reconnect after a network loss.
  virtual void OnConnecting() {}
  // The connection to the server is up (the login itself may still fail).
  virtual void OnConnectSuccess() {}
  // Connecting failed (ERR_SDK_NET_DISCONNECT 9508 for network failures). While reconnecting
  // the SDK keeps retrying.
  virtual void OnConnectFailed(int /*error_code*/, const V2TIMString& /*error_message*/) {}
  // Another device logged in with this account on this platform: this one is logged out.
  virtual void OnKickedOffline() {}
  // The UserSig expired: logged out; log in again with a fresh one.
  virtual void OnUserSigExpired() {}
  // Statuses changed: subscribed users, friends (when the app's friend status notification is
  // on), and the own account (set on this or another device, or going offline).
  virtual void OnUserStatusChanged(const V2TIMUserStatusVector& /*userStatusList*/) {}
};

// Receives the SDK's log lines (V2TIMSDKConfig::logListener). OnLog runs on whichever thread
// logs (also inside V2TIMManager calls), possibly on several at once: it must be thread-safe,
// return quickly, and not call V2TIMManager methods. Lines logged by OnLog itself are dropped.
class TIM_API V2TIMLogListener {
 public:
  V2TIMLogListener() {}
  virtual ~V2TIMLogListener() {}
  virtual void OnLog(V2TIMLogLevel /*logLevel*/, const V2TIMString& /*logContent*/) {}
};

#endif  // IMSTATUS_V2TIM_LISTENER_H
