// imstatus C++ V2TIM wrapper: callbacks (as in V2TIM's V2TIMCallback.h).
#ifndef IMSTATUS_V2TIM_CALLBACK_H
#define IMSTATUS_V2TIM_CALLBACK_H

#include "V2TIMDefine.h"
#include "V2TIMString.h"

class TIM_API V2TIMBaseCallback {
 public:
  V2TIMBaseCallback() {}
  virtual ~V2TIMBaseCallback() {}
};

// The result of a call without a value.
//
// For every call it is passed to, exactly one of OnSuccess or OnError runs, once, later (never
// inside the call), on the SDK's callback thread "imstatus-callback" (the errors of calls that
// cannot reach the SDK's client, such as ERR_SDK_NOT_INITIALIZED, run on the library's
// "imstatus-errors" thread). The object is the caller's: it must stay alive until one of the two
// runs, and it may be deleted inside them (the SDK never touches it afterwards). nullptr means
// no callback. An exception thrown out of OnSuccess/OnError is caught and printed to stderr.
class TIM_API V2TIMCallback : public V2TIMBaseCallback {
 public:
  ~V2TIMCallback() override {}
  virtual void OnSuccess() = 0;
  virtual void OnError(int error_code, const V2TIMString& error_message) = 0;
};

// The result of a call with a value (V2TIMUserStatusVector for GetUserStatus); the value is the
// SDK's, valid during OnSuccess: copy what you keep. Same rules as V2TIMCallback.
template <class T>
class V2TIMValueCallback : public V2TIMBaseCallback {
 public:
  ~V2TIMValueCallback() override {}
  virtual void OnSuccess(const T& value) = 0;
  virtual void OnError(int error_code, const V2TIMString& error_message) = 0;
};

#endif  // IMSTATUS_V2TIM_CALLBACK_H
