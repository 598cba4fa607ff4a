// imstatus C++ V2TIM wrapper: the SDK entry point (as in V2TIM's V2TIMManager.h). Including this
// header brings in the whole wrapper: V2TIMString, V2TIMStringVector, V2TIMUserStatus,
// V2TIMUserStatusVector, V2TIMUserStatusType, V2TIMCallback, V2TIMValueCallback<T>,
// V2TIMSDKListener, V2TIMLogListener, V2TIMSDKConfig, V2TIMLoginStatus, V2TIMLogLevel,
// V2TIMErrorCode and V2TIMManager.
//
// Header-only, C++11 or later. It translates every call to the C ABI of libimstatus
// (imstatus.h): link with libimstatus (CMake: imstatus::cpp; pkg-config: imstatus-cpp).
#ifndef IMSTATUS_V2TIM_MANAGER_H
#define IMSTATUS_V2TIM_MANAGER_H

#include <stdint.h>

#include "V2TIMCallback.h"
#include "V2TIMCommon.h"
#include "V2TIMDefine.h"
#include "V2TIMErrorCode.h"
#include "V2TIMFriendship.h"
#include "V2TIMListener.h"
#include "V2TIMString.h"

// The SDK: one instance per process (GetInstance), one logged-in user at a time.
//
// Threads: every method may be called from any thread, including from inside callbacks and
// listener events (but not from V2TIMLogListener::OnLog). Callbacks and events run
// on the SDK's callback thread "imstatus-callback", one at a time, in order, never inside the
// call that caused them; the errors of calls that cannot reach the SDK's client (not
// initialised, a string with a NUL byte) run on the library's "imstatus-errors" thread.
//
// Rules (limits, editions, console switches, ID validity) are decided by the server; this class
// only translates, and reports the server's V2TIM codes through OnError.
class TIM_API V2TIMManager {
 public:
  // The SDK instance (created on first use; never destroyed).
  static V2TIMManager* GetInstance();

  // Adds a listener; its events start with the next one the SDK decides. May be called before
  // InitSDK; listeners stay registered across UnInitSDK/InitSDK. Adding one twice does nothing.
  // The caller keeps `listener` alive until RemoveSDKListener returns.
  virtual void AddSDKListener(V2TIMSDKListener* listener) = 0;
  // Removes a listener. When this returns, none of its events is running or will start (unless
  // called from inside one of its own events: that one finishes normally), so it may be deleted.
  // Do not call it while holding a lock the listener's events take.
  virtual void RemoveSDKListener(V2TIMSDKListener* listener) = 0;

  // Initialises the SDK: creates the client (it connects at Login). Returns true on success,
  // also when already initialised (the new config is then ignored: UnInitSDK first).
  virtual bool InitSDK(uint32_t sdkAppID, const V2TIMSDKConfig& config) = 0;
  // Closes the connection without logging out (the server sees this device go OFFLINE). Every
  // call still in flight gets OnError(ERR_SDK_NOT_INITIALIZED) exactly once, also one another
  // thread is making at that very moment. Called outside the SDK's callbacks, it returns once
  // every callback has run; listeners stay registered. Does nothing when not initialised.
  virtual void UnInitSDK() = 0;
  // The library's version, "MAJOR.MINOR.PATCH".
  virtual V2TIMString GetVersion() = 0;

  // Logs in with a UserSig made by the app's backend. Logging in again as the logged-in user
  // succeeds at once; as another user, the current one is logged out first.
  virtual void Login(const V2TIMString& userID, const V2TIMString& userSig,
                     V2TIMCallback* callback) = 0;
  // Logs out; the SDK ends logged out whatever the server answers.
  virtual void Logout(V2TIMCallback* callback) = 0;
  // The logged-in user (also while reconnecting); empty when not logged in.
  virtual V2TIMString GetLoginUser() = 0;
  // V2TIM_STATUS_LOGINING as soon as Login returned, until its callback; V2TIM_STATUS_LOGINED
  // also while reconnecting.
  virtual V2TIMLoginStatus GetLoginStatus() = 0;
  // The server's current time, in Unix seconds, from the server's clock as the login and
  // heartbeat replies carry it (allowing for the round trip); changing the device's clock does
  // not move it. Before the first successful login since InitSDK: the local clock.
  virtual int64_t GetServerTime() = 0;

  // Queries statuses. The own ID always works; others need the Ultimate edition
  // (ERR_SDK_INTERFACE_NOT_SUPPORT) and the status switch (72001); at most 500 IDs. Only the IDs
  // that succeeded are answered; the call fails only when every ID failed.
  virtual void GetUserStatus(const V2TIMStringVector& userIDList,
                             V2TIMValueCallback<V2TIMUserStatusVector>* callback) = 0;
  // Sets the own custom status from status.customStatus (empty clears it); the other fields are
  // ignored. The change also arrives as OnUserStatusChanged for the own user.
  virtual void SetSelfStatus(const V2TIMUserStatus& status, V2TIMCallback* callback) = 0;
  // Subscribes to users' status changes (at most 100 IDs per call, not the own ID); changes
  // then arrive as OnUserStatusChanged.
  virtual void SubscribeUserStatus(const V2TIMStringVector& userIDList,
                                   V2TIMCallback* callback) = 0;
  // Unsubscribes; an empty list unsubscribes from everyone.
  virtual void UnsubscribeUserStatus(const V2TIMStringVector& userIDList,
                                     V2TIMCallback* callback) = 0;

 protected:
  V2TIMManager() {}
  virtual ~V2TIMManager() {}

 public:
  V2TIMManager(const V2TIMManager&) = delete;
  V2TIMManager& operator=(const V2TIMManager&) = delete;
};

#include "V2TIMManagerImpl.h"

#endif  // IMSTATUS_V2TIM_MANAGER_H
