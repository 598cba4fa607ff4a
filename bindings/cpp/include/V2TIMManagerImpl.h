// imstatus C++ V2TIM wrapper: the implementation of V2TIMManager over the C ABI (imstatus.h).
// Included by V2TIMManager.h; not meant to be included on its own.
//
// Nothing here decides a rule of the status system: every call goes to the C library, which
// (with the server) decides, and its results are translated back. What the wrapper does itself:
//
// - lifetimes: each call's V2TIM callback pointer travels in a small heap record that the C
//   library owns while the call is in flight and frees through `free_user_data`; the record is
//   cleared before OnSuccess/OnError runs, so the callback object is never touched after it
//   (V2TIM code deletes it inside OnSuccess/OnError). Listener and log listener registrations
//   work the same way (their records hold a lock so that removal waits for a running event);
// - errors are never delivered inside the call: the client is made with async refusals
//   (ims_config_set_async_refusals), so the library reports whatever it refuses through the
//   callback on its callback thread, in call order; the two errors the wrapper decides itself
//   (not initialised: 6013; a string with a NUL byte, which a C string cannot carry: 6017) go
//   through ims_callback_fail, on the library's "imstatus-errors" thread;
// - exceptions thrown by user callbacks are caught at the boundary (they must not unwind
//   through the C library) and printed to stderr.
#ifndef IMSTATUS_V2TIM_MANAGER_IMPL_H
#define IMSTATUS_V2TIM_MANAGER_IMPL_H

#include <stdint.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "V2TIMCallback.h"
#include "V2TIMCommon.h"
#include "V2TIMFriendship.h"
#include "V2TIMListener.h"
#include "V2TIMString.h"
#include "imstatus.h"

namespace imstatus {
namespace v2tim_detail {

// Runs `f`, catching whatever it throws: a C++ exception must not unwind into the C library.
template <class F>
inline void Guarded(const char* what, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imstatus: exception thrown out of %s: %s\n", what, e.what());
  } catch (...) {
    std::fprintf(stderr, "imstatus: exception thrown out of %s\n", what);
  }
}

// The description of the last synchronous failure on this thread.
inline std::string LastError(ims_result code) {
  const char* message = ims_last_error_message();
  if (message == nullptr || *message == '\0') message = ims_error_str(code);
  return message;
}

inline bool HasNul(const V2TIMString& s) { return std::strlen(s.CString()) != s.Length(); }

// Passes the TLS settings of `config` on to `settings`; false when the library refuses one
// (ims_last_error_message() says which and why).
inline bool SetTLS(ims_config* settings, const V2TIMSDKConfig& config) {
  if (ims_config_set_tls(settings, config.useTLS) != IMS_OK) return false;
  const V2TIMString& pem = config.caCertificatesPEM;
  if (!pem.Empty() &&
      ims_config_add_ca_pem(settings, reinterpret_cast<const uint8_t*>(pem.CString()),
                            pem.Size()) != IMS_OK) {
    return false;
  }
  for (size_t i = 0; i < config.spkiPins.Size(); ++i) {
    if (HasNul(config.spkiPins[i]) ||
        ims_config_add_spki_pin(settings, config.spkiPins[i].CString()) != IMS_OK) {
      return false;
    }
  }
  return true;
}

inline V2TIMUserStatusType ToStatusType(int32_t type) {
  switch (type) {
    case IMS_USER_STATUS_ONLINE:
      return V2TIM_USER_STATUS_ONLINE;
    case IMS_USER_STATUS_OFFLINE:
      return V2TIM_USER_STATUS_OFFLINE;
    case IMS_USER_STATUS_UNLOGINED:
      return V2TIM_USER_STATUS_UNLOGINED;
    default:
      return V2TIM_USER_STATUS_UNKNOWN;
  }
}

// Copies statuses the C library lends for the duration of a callback.
inline V2TIMUserStatusVector ToStatusVector(const ims_user_status* statuses, size_t count) {
  V2TIMUserStatusVector list;
  if (statuses == nullptr) return list;
  for (size_t i = 0; i < count; ++i) {
    const ims_user_status& in = statuses[i];
    V2TIMUserStatus status;
    status.userID = in.user_id;
    status.statusType = ToStatusType(in.status_type);
    status.customStatus = in.custom_status;
    if (in.online_devices != nullptr) {
      for (size_t j = 0; j < in.online_devices_count; ++j) {
        status.onlineDevices.PushBack(V2TIMString(in.online_devices[j]));
      }
    }
    // Beyond V2TIM: the library lends these beside the struct, for the callback's duration.
    ims_status_last_seen_ms(&in, &status.imstatusExtras.lastSeenMs);
    ims_status_invisible(&in, &status.imstatusExtras.invisible);
    ims_status_visibility(&in, &status.imstatusExtras.visibility);
    list.PushBack(status);
  }
  return list;
}

// ---- calls ----

// The user_data of one call: the V2TIM callback, owned by the C library from the moment the
// call is accepted until its free_user_data (FreeCall) runs.
template <class Callback>
struct CallRecord {
  explicit CallRecord(Callback* cb) : callback(cb) {}
  // Cleared before the callback is invoked: it may delete itself there.
  Callback* callback;
};

typedef CallRecord<V2TIMCallback> PlainCall;
typedef CallRecord<V2TIMValueCallback<V2TIMUserStatusVector>> StatusCall;

template <class Record>
inline auto TakeCallback(void* user_data) -> decltype(static_cast<Record*>(user_data)->callback) {
  Record* record = static_cast<Record*>(user_data);
  auto callback = record->callback;
  record->callback = nullptr;
  return callback;
}

inline void PlainSuccess(void* user_data) noexcept {
  V2TIMCallback* callback = TakeCallback<PlainCall>(user_data);
  if (callback == nullptr) return;
  Guarded("V2TIMCallback::OnSuccess", [callback] { callback->OnSuccess(); });
}

inline void StatusSuccess(void* user_data, const ims_user_status* statuses,
                          size_t count) noexcept {
  V2TIMValueCallback<V2TIMUserStatusVector>* callback = TakeCallback<StatusCall>(user_data);
  if (callback == nullptr) return;
  Guarded("V2TIMValueCallback::OnSuccess", [&] {
    V2TIMUserStatusVector list = ToStatusVector(statuses, count);
    callback->OnSuccess(list);
  });
}

template <class Record>
inline void CallError(void* user_data, int32_t code, const char* desc) noexcept {
  auto callback = TakeCallback<Record>(user_data);
  if (callback == nullptr) return;
  Guarded("V2TIMCallback::OnError", [&] { callback->OnError(code, V2TIMString(desc)); });
}

template <class Record>
inline void FreeCall(void* user_data) noexcept {
  delete static_cast<Record*>(user_data);
}

// The C callback struct of a V2TIM callback: its record is owned by the library from the moment
// a call accepts the struct. A NULL V2TIM callback becomes a zeroed (fire-and-forget) struct.
inline ims_callback PlainCallbackOf(V2TIMCallback* callback) {
  ims_callback c = ims_callback();
  if (callback != nullptr) {
    c.user_data = new PlainCall(callback);
    c.on_success = &PlainSuccess;
    c.on_error = &CallError<PlainCall>;
    c.free_user_data = &FreeCall<PlainCall>;
  }
  return c;
}

inline ims_user_status_callback StatusCallbackOf(
    V2TIMValueCallback<V2TIMUserStatusVector>* callback) {
  ims_user_status_callback c = ims_user_status_callback();
  if (callback != nullptr) {
    c.user_data = new StatusCall(callback);
    c.on_success = &StatusSuccess;
    c.on_error = &CallError<StatusCall>;
    c.free_user_data = &FreeCall<StatusCall>;
  }
  return c;
}

// Reports an error through a C callback struct the library has not taken: later, on the
// library's error thread (ims_callback_fail). Should the library be unable to start that thread
// (the system refuses threads), the struct is still ours, and reporting it here beats losing it.
template <class C, class Fail>
inline void FailThrough(C c, int code, const std::string& message, Fail fail) {
  if (fail(nullptr, c, code, message.c_str()) == IMS_OK) return;
  if (c.on_error != nullptr) c.on_error(c.user_data, code, message.c_str());
  if (c.free_user_data != nullptr) c.free_user_data(c.user_data);
}

// A nullptr callback (fire and forget) has nothing to report.
inline void Fail(V2TIMCallback* callback, int code, const std::string& message) {
  if (callback == nullptr) return;
  FailThrough(PlainCallbackOf(callback), code, message, &ims_callback_fail);
}

inline void Fail(V2TIMValueCallback<V2TIMUserStatusVector>* callback, int code,
                 const std::string& message) {
  if (callback == nullptr) return;
  FailThrough(StatusCallbackOf(callback), code, message, &ims_user_status_callback_fail);
}

// Starts a call: `start` gets the C callback struct and returns the library's result. The client
// is made with async refusals, so the library reports its refusals through the callback; only a
// library bug (IMS_ERR_PANIC) still comes back here, with the struct still ours.
template <class Start>
inline void StartPlain(V2TIMCallback* callback, Start&& start) {
  ims_callback c = PlainCallbackOf(callback);
  ims_result result = start(c);
  if (result != IMS_OK) FailThrough(c, result, LastError(result), &ims_callback_fail);
}

template <class Start>
inline void StartStatus(V2TIMValueCallback<V2TIMUserStatusVector>* callback, Start&& start) {
  ims_user_status_callback c = StatusCallbackOf(callback);
  ims_result result = start(c);
  if (result != IMS_OK) FailThrough(c, result, LastError(result), &ims_user_status_callback_fail);
}

// ---- listeners ----

// One AddSDKListener..RemoveSDKListener span of a V2TIMSDKListener, shared by its registrations
// on successive clients (InitSDK after UnInitSDK). Events hold `mu` while they run; removal
// clears `listener` under it, so once RemoveSDKListener returns no event runs or starts, whatever
// client is being torn down meanwhile. Recursive: an event may remove its own listener.
struct ListenerState {
  explicit ListenerState(V2TIMSDKListener* l) : listener(l) {}
  std::recursive_mutex mu;
  V2TIMSDKListener* listener;
};

// The user_data of one registration, freed by the C library (FreeListener).
typedef std::shared_ptr<ListenerState> ListenerHandle;

template <class F>
inline void WithListener(void* user_data, const char* what, F&& f) noexcept {
  ListenerState& state = **static_cast<ListenerHandle*>(user_data);
  std::lock_guard<std::recursive_mutex> lock(state.mu);
  V2TIMSDKListener* listener = state.listener;
  if (listener == nullptr) return;
  Guarded(what, [&] { f(listener); });
}

inline void ListenerConnecting(void* user_data) noexcept {
  WithListener(user_data, "V2TIMSDKListener::OnConnecting",
               [](V2TIMSDKListener* l) { l->OnConnecting(); });
}

inline void ListenerConnectSuccess(void* user_data) noexcept {
  WithListener(user_data, "V2TIMSDKListener::OnConnectSuccess",
               [](V2TIMSDKListener* l) { l->OnConnectSuccess(); });
}

inline void ListenerConnectFailed(void* user_data, int32_t code, const char* desc) noexcept {
  WithListener(user_data, "V2TIMSDKListener::OnConnectFailed",
               [&](V2TIMSDKListener* l) { l->OnConnectFailed(code, V2TIMString(desc)); });
}

inline void ListenerKickedOffline(void* user_data) noexcept {
  WithListener(user_data, "V2TIMSDKListener::OnKickedOffline",
               [](V2TIMSDKListener* l) { l->OnKickedOffline(); });
}

inline void ListenerUserSigExpired(void* user_data) noexcept {
  WithListener(user_data, "V2TIMSDKListener::OnUserSigExpired",
               [](V2TIMSDKListener* l) { l->OnUserSigExpired(); });
}

inline void ListenerStatusChanged(void* user_data, const ims_user_status* statuses,
                                  size_t count) noexcept {
  WithListener(user_data, "V2TIMSDKListener::OnUserStatusChanged", [&](V2TIMSDKListener* l) {
    V2TIMUserStatusVector list = ToStatusVector(statuses, count);
    l->OnUserStatusChanged(list);
  });
}

inline void FreeListener(void* user_data) noexcept {
  delete static_cast<ListenerHandle*>(user_data);
}

// Registers `state` with `client`; returns the library's listener id, 0 if refused.
inline uint64_t RegisterListener(ims_client* client, const ListenerHandle& state) {
  ListenerHandle* handle = new ListenerHandle(state);
  ims_listener l = ims_listener();
  l.user_data = handle;
  l.on_connecting = &ListenerConnecting;
  l.on_connect_success = &ListenerConnectSuccess;
  l.on_connect_failed = &ListenerConnectFailed;
  l.on_kicked_offline = &ListenerKickedOffline;
  l.on_user_sig_expired = &ListenerUserSigExpired;
  l.on_user_status_changed = &ListenerStatusChanged;
  l.free_user_data = &FreeListener;
  uint64_t id = 0;
  if (ims_client_add_listener(client, l, &id) != IMS_OK) {
    delete handle;
    return 0;
  }
  return id;
}

// ---- log listener ----

// The user_data of the process-wide log callback while a V2TIMLogListener is configured; freed
// by the C library once replaced (Free). Stop() waits for OnLog calls running on other
// threads, so the listener may be destroyed when UnInitSDK returns.
class LogBridge {
 public:
  explicit LogBridge(V2TIMLogListener* listener) : listener_(listener), active_(0) {}

  ims_log_callback ToC() {
    ims_log_callback c = ims_log_callback();
    c.user_data = this;
    c.on_log = &OnLog;
    c.free_user_data = &Free;
    return c;
  }

  // Turns the bridge off and hands it back to the library, which frees it.
  void Stop() {
    listener_.store(nullptr);
    {
      std::unique_lock<std::mutex> lock(mu_);
      idle_.wait(lock, [this] { return active_.load() == 0; });
    }
    ims_set_log_callback(IMS_LOG_LEVEL_NONE, ims_log_callback());
  }

 private:
  static void OnLog(void* user_data, ims_log_level level, const char* message) noexcept {
    LogBridge* self = static_cast<LogBridge*>(user_data);
    self->active_.fetch_add(1);
    V2TIMLogListener* listener = self->listener_.load();
    if (listener != nullptr) {
      Guarded("V2TIMLogListener::OnLog", [&] {
        listener->OnLog(static_cast<V2TIMLogLevel>(level), V2TIMString(message));
      });
    }
    if (self->active_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->idle_.notify_all();
    }
  }

  static void Free(void* user_data) noexcept { delete static_cast<LogBridge*>(user_data); }

  std::atomic<V2TIMLogListener*> listener_;
  std::atomic<int> active_;
  std::mutex mu_;
  std::condition_variable idle_;
};

// ---- the manager ----

// Owns one ims_client; the last owner frees it. Calls hold a reference while they use the
// handle, so it is never freed under a running call; UnInitSDK shuts it down at once
// (ims_client_shutdown), so a call still holding it only gets 6013.
class Client {
 public:
  explicit Client(ims_client* client) : client_(client) {}
  ~Client() { ims_client_free(client_); }
  ims_client* get() const { return client_; }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

 private:
  ims_client* client_;
};

class Manager final : public V2TIMManager {
 public:
  Manager() {}

  void AddSDKListener(V2TIMSDKListener* listener) override {
    if (listener == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (const Entry& entry : listeners_) {
      if (entry.listener == listener) return;
    }
    Entry entry;
    entry.listener = listener;
    entry.state = std::make_shared<ListenerState>(listener);
    if (client_) entry.id = RegisterListener(client_->get(), entry.state);
    listeners_.push_back(entry);
  }

  void RemoveSDKListener(V2TIMSDKListener* listener) override {
    if (listener == nullptr) return;
    Entry removed;
    std::shared_ptr<Client> client;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < listeners_.size(); ++i) {
        if (listeners_[i].listener == listener) {
          removed = listeners_[i];
          listeners_.erase(listeners_.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
      if (!removed.state) return;
      client = client_;
    }
    {
      // Waits for an event of this listener running on another thread.
      std::lock_guard<std::recursive_mutex> lock(removed.state->mu);
      removed.state->listener = nullptr;
    }
    if (client && removed.id != 0) ims_client_remove_listener(client->get(), removed.id);
  }

  bool InitSDK(uint32_t sdkAppID, const V2TIMSDKConfig& config) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (client_) return true;
    if (HasNul(config.serverAddress)) return false;
    ims_config* settings = nullptr;
    if (ims_config_new(sdkAppID, &settings) != IMS_OK) return false;
    bool ok = (config.serverAddress.Empty() ||
               ims_config_set_server_addr(settings, config.serverAddress.CString()) == IMS_OK) &&
              ims_config_set_platform(settings, config.platform) == IMS_OK &&
              SetTLS(settings, config) &&
              ims_config_set_async_refusals(settings, true) == IMS_OK;
    LogBridge* log = nullptr;
    if (ok && config.logListener != nullptr && config.logLevel != V2TIM_LOG_NONE) {
      log = new LogBridge(config.logListener);
      ims_result result = ims_set_log_callback(config.logLevel, log->ToC());
      if (result != IMS_OK) {
        delete log;  // refused: still ours
        log = nullptr;
        // Another tracing subscriber in the process (7014) only means no log lines.
        ok = result != IMS_ERR_INVALID_PARAMETERS;
      }
    }
    ims_client* client = nullptr;
    ok = ok && ims_client_new(settings, &client) == IMS_OK;
    ims_config_free(settings);
    if (!ok) {
      if (log != nullptr) log->Stop();
      return false;
    }
    client_ = std::make_shared<Client>(client);
    log_ = log;
    for (Entry& entry : listeners_) entry.id = RegisterListener(client, entry.state);
    return true;
  }

  void UnInitSDK() override {
    std::shared_ptr<Client> client;
    LogBridge* log = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client.swap(client_);
      std::swap(log, log_);
      for (Entry& entry : listeners_) entry.id = 0;
    }
    // Every call in flight ends with 6013 here, also while another thread still holds the
    // client (it is freed when the last holder lets go).
    if (client) ims_client_shutdown(client->get());
    client.reset();
    if (log != nullptr) log->Stop();
  }

  V2TIMString GetVersion() override { return V2TIMString(ims_version()); }

  void Login(const V2TIMString& userID, const V2TIMString& userSig,
             V2TIMCallback* callback) override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return NotInitialised(callback);
    if (HasNul(userID) || HasNul(userSig)) {
      return Fail(callback, IMS_ERR_INVALID_PARAMETERS, "userID or userSig contains a NUL byte");
    }
    StartPlain(callback, [&](ims_callback c) {
      return ims_client_login(client->get(), userID.CString(), userSig.CString(), c);
    });
  }

  void Logout(V2TIMCallback* callback) override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return NotInitialised(callback);
    StartPlain(callback, [&](ims_callback c) { return ims_client_logout(client->get(), c); });
  }

  V2TIMString GetLoginUser() override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return V2TIMString();
    std::vector<char> buf(64);
    for (int attempt = 0; attempt < 4; ++attempt) {
      size_t len = 0;
      if (ims_client_get_login_user(client->get(), buf.data(), buf.size(), &len) == IMS_OK) {
        return V2TIMString(buf.data(), len);
      }
      if (len < buf.size()) break;  // refused for another reason
      buf.resize(len + 1);          // the user changed meanwhile: retry with room for it
    }
    return V2TIMString();
  }

  int64_t GetServerTime() override {
    std::shared_ptr<Client> client = CurrentClient();
    uint64_t seconds = 0;
    if (client && ims_client_get_server_time(client->get(), &seconds) == IMS_OK) {
      return static_cast<int64_t>(seconds);
    }
    // Not initialised: the local clock, as the library answers before its first login.
    return static_cast<int64_t>(std::time(nullptr));
  }

  V2TIMLoginStatus GetLoginStatus() override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return V2TIM_STATUS_LOGOUT;
    switch (ims_client_get_login_status(client->get())) {
      case IMS_LOGIN_STATUS_LOGINED:
        return V2TIM_STATUS_LOGINED;
      case IMS_LOGIN_STATUS_LOGINING:
        return V2TIM_STATUS_LOGINING;
      default:
        return V2TIM_STATUS_LOGOUT;
    }
  }

  void GetUserStatus(const V2TIMStringVector& userIDList,
                     V2TIMValueCallback<V2TIMUserStatusVector>* callback) override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return NotInitialised(callback);
    std::vector<const char*> ids;
    if (!Ids(userIDList, &ids)) return BadIds(callback);
    StartStatus(callback, [&](ims_user_status_callback c) {
      return ims_client_get_user_status(client->get(), ids.empty() ? nullptr : ids.data(),
                                        ids.size(), c);
    });
  }

  void SetSelfStatus(const V2TIMUserStatus& status, V2TIMCallback* callback) override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return NotInitialised(callback);
    if (HasNul(status.customStatus)) {
      return Fail(callback, IMS_ERR_INVALID_PARAMETERS, "customStatus contains a NUL byte");
    }
    StartPlain(callback, [&](ims_callback c) {
      return ims_client_set_self_status(client->get(), status.customStatus.CString(), c);
    });
  }

  void SubscribeUserStatus(const V2TIMStringVector& userIDList,
                           V2TIMCallback* callback) override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return NotInitialised(callback);
    std::vector<const char*> ids;
    if (!Ids(userIDList, &ids)) return BadIds(callback);
    StartPlain(callback, [&](ims_callback c) {
      return ims_client_subscribe_user_status(client->get(), ids.empty() ? nullptr : ids.data(),
                                              ids.size(), c);
    });
  }

  // The current client, or none before InitSDK: for the calls of IMStatusExtensions.h, which
  // live beside V2TIMManager rather than in it.
  std::shared_ptr<Client> CurrentClient() {
    std::lock_guard<std::mutex> lock(mu_);
    return client_;
  }

  void UnsubscribeUserStatus(const V2TIMStringVector& userIDList,
                             V2TIMCallback* callback) override {
    std::shared_ptr<Client> client = CurrentClient();
    if (!client) return NotInitialised(callback);
    std::vector<const char*> ids;
    if (!Ids(userIDList, &ids)) return BadIds(callback);
    StartPlain(callback, [&](ims_callback c) {
      return ims_client_unsubscribe_user_status(
          client->get(), ids.empty() ? nullptr : ids.data(), ids.size(), c);
    });
  }

 private:
  struct Entry {
    V2TIMSDKListener* listener = nullptr;
    std::shared_ptr<ListenerState> state;
    uint64_t id = 0;  // registration with client_, 0 when none
  };

  template <class Callback>
  static void NotInitialised(Callback* callback) {
    Fail(callback, IMS_ERR_SDK_NOT_INITIALIZED, "the SDK is not initialised: call InitSDK first");
  }

  template <class Callback>
  static void BadIds(Callback* callback) {
    Fail(callback, IMS_ERR_INVALID_PARAMETERS, "userIDList holds an ID with a NUL byte");
  }

  // The IDs as C strings (borrowed from `list`); false if one holds a NUL byte.
  static bool Ids(const V2TIMStringVector& list, std::vector<const char*>* out) {
    out->reserve(list.Size());
    for (size_t i = 0; i < list.Size(); ++i) {
      if (HasNul(list[i])) return false;
      out->push_back(list[i].CString());
    }
    return true;
  }

  std::mutex mu_;
  std::shared_ptr<Client> client_;
  std::vector<Entry> listeners_;
  LogBridge* log_ = nullptr;
};

}  // namespace v2tim_detail
}  // namespace imstatus

inline V2TIMManager* V2TIMManager::GetInstance() {
  // Never destroyed: callbacks may still arrive while the process exits.
  static V2TIMManager* instance = new imstatus::v2tim_detail::Manager();
  return instance;
}

#endif  // IMSTATUS_V2TIM_MANAGER_IMPL_H
