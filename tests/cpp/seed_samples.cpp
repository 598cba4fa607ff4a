// The seed's Windows (C++) samples (its "User Status" guide), each in a namespace of
// its own, copied as the seed prints them. Changed: the one pseudo-code line of the
// setSelfStatus sample (`status.customStatus = Clear status ? {} : "listening music";`), which
// reads `clearStatus` from the function the statements are wrapped in. The samples are
// statements, so each sample's statements form the body of a function `Sample()`; the listener
// sample's object is a namespace-scope variable (the sample says to keep it valid while added).
//
// The samples observe nothing themselves (their lambdas hold comments), so this program watches
// them from below: it is linked with `-Wl,--wrap=ims_client_...`, and the __wrap_ functions
// record each C call the wrapper makes, what its callback reported and that the wrapper's
// user_data was freed, then forward to the real ones. Under valgrind a callback object the
// wrapper never completed would show up as a leak (the samples `delete` it in OnSuccess/OnError).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "V2TIMManager.h"
#include "harness.h"

// The seed's lambdas do not use their parameters (error_code, error_message, userStatusList);
// this file is otherwise held to the same -Wall -Wextra -Wpedantic -Werror as every test (and
// the headers above were compiled before this pragma).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"

// ----------------------------------------------------------------------------------------------
// "Setting the Custom Status", Windows sample.
namespace seed_set {

class Callback final : public V2TIMCallback {
public:
    using SuccessCallback = std::function<void()>;
    using ErrorCallback = std::function<void(int, const V2TIMString&)>;

    Callback() = default;
    ~Callback() override = default;

    void SetCallback(SuccessCallback success_callback, ErrorCallback error_callback) {
        success_callback_ = std::move(success_callback);
        error_callback_ = std::move(error_callback);
    }

    void OnSuccess() override {
        if (success_callback_) {
            success_callback_();
        }
    }
    void OnError(int error_code, const V2TIMString& error_message) override {
        if (error_callback_) {
            error_callback_(error_code, error_message);
        }
    }

private:
    SuccessCallback success_callback_;
    ErrorCallback error_callback_;
};

void Sample(bool clearStatus) {
V2TIMUserStatus status;
status.customStatus = clearStatus ? V2TIMString{} : "listening music";

auto callback = new Callback{};
callback->SetCallback(
    [=]() {
        // User's own status set successfully
        delete callback;
    },
    [=](int error_code, const V2TIMString& error_message) {
        // Failed to set the user's own status
        delete callback;
    });

V2TIMManager::GetInstance()->SetSelfStatus(status, callback);
}

}  // namespace seed_set

// ----------------------------------------------------------------------------------------------
// "Querying a user's own status", Windows sample.
namespace seed_get_self {

template <class T>
class ValueCallback final : public V2TIMValueCallback<T> {
public:
    using SuccessCallback = std::function<void(const T&)>;
    using ErrorCallback = std::function<void(int, const V2TIMString&)>;

    ValueCallback() = default;
    ~ValueCallback() override = default;

    void SetCallback(SuccessCallback success_callback, ErrorCallback error_callback) {
        success_callback_ = std::move(success_callback);
        error_callback_ = std::move(error_callback);
    }

    void OnSuccess(const T& value) override {
        if (success_callback_) {
            success_callback_(value);
        }
    }
    void OnError(int error_code, const V2TIMString& error_message) override {
        if (error_callback_) {
            error_callback_(error_code, error_message);
        }
    }

private:
    SuccessCallback success_callback_;
    ErrorCallback error_callback_;
};

void Sample() {
V2TIMString loginUser = V2TIMManager::GetInstance()->GetLoginUser();
if (!loginUser.Empty()) {
    V2TIMStringVector userIDList;
    userIDList.PushBack(loginUser);

    auto callback = new ValueCallback<V2TIMUserStatusVector>{};
    callback->SetCallback(
        [=](const V2TIMUserStatusVector& userStatusList) {
            // Queried the user's own status successfully
            delete callback;
        },
        [=](int error_code, const V2TIMString& error_message) {
            // Failed to query the user's own status
            delete callback;
        });

    V2TIMManager::GetInstance()->GetUserStatus(userIDList, callback);
}
}

}  // namespace seed_get_self

// ----------------------------------------------------------------------------------------------
// "Querying the status of another user", Windows sample.
namespace seed_get_others {

template <class T>
class ValueCallback final : public V2TIMValueCallback<T> {
public:
    using SuccessCallback = std::function<void(const T&)>;
    using ErrorCallback = std::function<void(int, const V2TIMString&)>;

    ValueCallback() = default;
    ~ValueCallback() override = default;

    void SetCallback(SuccessCallback success_callback, ErrorCallback error_callback) {
        success_callback_ = std::move(success_callback);
        error_callback_ = std::move(error_callback);
    }

    void OnSuccess(const T& value) override {
        if (success_callback_) {
            success_callback_(value);
        }
    }
    void OnError(int error_code, const V2TIMString& error_message) override {
        if (error_callback_) {
            error_callback_(error_code, error_message);
        }
    }

private:
    SuccessCallback success_callback_;
    ErrorCallback error_callback_;
};

void Sample() {
V2TIMStringVector userIDList;
userIDList.PushBack(u8"userid1");
userIDList.PushBack(u8"userid2");

auto callback = new ValueCallback<V2TIMUserStatusVector>{};
callback->SetCallback(
    [=](const V2TIMUserStatusVector& userStatusList) {
        // Successfully queried the status of another user
        delete callback;
    },
    [=](int error_code, const V2TIMString& error_message) {
        // Failed to query the status of another user
        delete callback;
    });

V2TIMManager::GetInstance()->GetUserStatus(userIDList, callback);
}

}  // namespace seed_get_others

// ----------------------------------------------------------------------------------------------
// "Subscribing to the User Status", Windows sample.
namespace seed_subscribe {

class Callback final : public V2TIMCallback {
public:
    using SuccessCallback = std::function<void()>;
    using ErrorCallback = std::function<void(int, const V2TIMString&)>;

    Callback() = default;
    ~Callback() override = default;

    void SetCallback(SuccessCallback success_callback, ErrorCallback error_callback) {
        success_callback_ = std::move(success_callback);
        error_callback_ = std::move(error_callback);
    }

    void OnSuccess() override {
        if (success_callback_) {
            success_callback_();
        }
    }
    void OnError(int error_code, const V2TIMString& error_message) override {
        if (error_callback_) {
            error_callback_(error_code, error_message);
        }
    }

private:
    SuccessCallback success_callback_;
    ErrorCallback error_callback_;
};

void Sample() {
V2TIMStringVector userIDList;
userIDList.PushBack(u8"userid1");
userIDList.PushBack(u8"userid2");

auto callback = new Callback{};
callback->SetCallback(
    [=]() {
        // Subscribed to the status successfully
        delete callback;
    },
    [=](int error_code, const V2TIMString& error_message) {
        // Subscribed to the status successfully
        delete callback;
    });

V2TIMManager::GetInstance()->SubscribeUserStatus(userIDList, callback);
}

}  // namespace seed_subscribe

// ----------------------------------------------------------------------------------------------
// "Unsubscribing from the User Status", Windows sample.
namespace seed_unsubscribe {

class Callback final : public V2TIMCallback {
public:
    using SuccessCallback = std::function<void()>;
    using ErrorCallback = std::function<void(int, const V2TIMString&)>;

    Callback() = default;
    ~Callback() override = default;

    void SetCallback(SuccessCallback success_callback, ErrorCallback error_callback) {
        success_callback_ = std::move(success_callback);
        error_callback_ = std::move(error_callback);
    }

    void OnSuccess() override {
        if (success_callback_) {
            success_callback_();
        }
    }
    void OnError(int error_code, const V2TIMString& error_message) override {
        if (error_callback_) {
            error_callback_(error_code, error_message);
        }
    }

private:
    SuccessCallback success_callback_;
    ErrorCallback error_callback_;
};

void Sample() {
V2TIMStringVector userIDList;
userIDList.PushBack(u8"userid1");
userIDList.PushBack(u8"userid2");

auto callback = new Callback{};
callback->SetCallback(
    [=]() {
        // Unsubscribed from the status successfully
        delete callback;
    },
    [=](int error_code, const V2TIMString& error_message) {
        // Failed to unsubscribe from the status
        delete callback;
    });

V2TIMManager::GetInstance()->UnsubscribeUserStatus(userIDList, callback);
}

}  // namespace seed_unsubscribe

// ----------------------------------------------------------------------------------------------
// "Status Change Notification", Windows sample.
namespace seed_listener {

class SDKListener final : public V2TIMSDKListener {
public:
    SDKListener() = default;
    ~SDKListener() override = default;

    /**
     * User status change notification
     *
     * @note Notification receiving:
     * 1. This callback will be triggered if a subscribed user status (including online status and custom status) changes.
     * 2. This callback will be triggered when a friend's status changes after notifications of friends' statuses are enabled in the IM console, even if the status has not been subscribed to.
     * 3. This callback will be sent to all the devices when an account is logged in on them and the custom status is changed on one of them.
     */
    void OnUserStatusChanged(const V2TIMUserStatusVector& userStatusList) override {
        V2TIMString loginUser = V2TIMManager::GetInstance()->GetLoginUser();
        for (size_t i = 0; i < userStatusList.Size(); ++i) {
            if (loginUser == userStatusList[i].userID) {
                // The user's own status changed.
            } else {
                // The status of another user changed.
            }
        }
    }
    // Other members …
};

// Add an event listener. Keep `sdkListener` valid before the listener is removed to ensure event callbacks are received.
SDKListener sdkListener;

void Sample() {
V2TIMManager::GetInstance()->AddSDKListener(&sdkListener);
}

}  // namespace seed_listener

#pragma GCC diagnostic pop

// ==============================================================================================
// The observer: __wrap_ functions around the C ABI entry points the wrapper calls.

namespace spy {

struct Status {
  std::string user;
  int32_t type;
  std::string custom;
};

// One C call made by the wrapper. Written under test::Lock().
struct Call {
  std::string op;
  const ims_client* client = nullptr;
  int successes = 0, errors = 0, code = 0;
  int frees = 0;            // the spy's own record was freed (after the wrapper's)
  bool wrapper_free = false;  // the wrapper passed a free_user_data
  std::vector<Status> statuses;
};

std::vector<std::shared_ptr<Call>> calls;
// The V2TIMManager's client: the only one that adds listeners (the test's Peers use the C ABI
// directly, through the same wrapped functions).
const ims_client* manager_client = nullptr;
int listeners_added = 0;
int listeners_with_free = 0;
int status_events = 0;
int login_user_in_event = 0;  // GetLoginUser from inside OnUserStatusChanged (the seed's listener)
thread_local bool in_status_event = false;

std::shared_ptr<Call> NewCall(const char* op, const ims_client* client) {
  std::shared_ptr<Call> call = std::make_shared<Call>();
  call->op = op;
  call->client = client;
  std::lock_guard<std::mutex> lock(test::Lock());
  calls.push_back(call);
  return call;
}

bool Mine(const std::shared_ptr<Call>& call, const std::string& op) {
  return call->op == op && call->client == manager_client;
}

// The latest call of `op` by the manager (under the lock).
std::shared_ptr<Call> Last(const std::string& op) {
  for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
    if (Mine(*it, op)) return *it;
  }
  return nullptr;
}

size_t Count(const std::string& op) {  // under the lock
  size_t n = 0;
  for (const auto& call : calls) n += Mine(call, op) ? 1 : 0;
  return n;
}

void Done(const std::shared_ptr<Call>& call, bool ok, int code) {
  std::lock_guard<std::mutex> lock(test::Lock());
  if (ok) {
    call->successes++;
  } else {
    call->errors++;
    call->code = code;
  }
}

void Freed(const std::shared_ptr<Call>& call) {
  std::lock_guard<std::mutex> lock(test::Lock());
  call->frees++;
}

struct Plain {
  std::shared_ptr<Call> call;
  ims_callback inner;
};

void PlainSuccess(void* user_data) {
  Plain* p = static_cast<Plain*>(user_data);
  Done(p->call, true, 0);
  if (p->inner.on_success) p->inner.on_success(p->inner.user_data);
}

void PlainError(void* user_data, int32_t code, const char* desc) {
  Plain* p = static_cast<Plain*>(user_data);
  Done(p->call, false, code);
  if (p->inner.on_error) p->inner.on_error(p->inner.user_data, code, desc);
}

void PlainFree(void* user_data) {
  Plain* p = static_cast<Plain*>(user_data);
  if (p->inner.free_user_data) p->inner.free_user_data(p->inner.user_data);
  Freed(p->call);
  delete p;
  test::Notify();
}

ims_callback Wrap(Plain* p) {
  ims_callback c = {p, PlainSuccess, PlainError, PlainFree};
  std::lock_guard<std::mutex> lock(test::Lock());
  p->call->wrapper_free = p->inner.free_user_data != nullptr;
  return c;
}

struct StatusQuery {
  std::shared_ptr<Call> call;
  ims_user_status_callback inner;
};

void QuerySuccess(void* user_data, const ims_user_status* statuses, size_t count) {
  StatusQuery* q = static_cast<StatusQuery*>(user_data);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    for (size_t i = 0; i < count; ++i) {
      q->call->statuses.push_back(
          Status{statuses[i].user_id, statuses[i].status_type, statuses[i].custom_status});
    }
  }
  Done(q->call, true, 0);
  if (q->inner.on_success) q->inner.on_success(q->inner.user_data, statuses, count);
}

void QueryError(void* user_data, int32_t code, const char* desc) {
  StatusQuery* q = static_cast<StatusQuery*>(user_data);
  Done(q->call, false, code);
  if (q->inner.on_error) q->inner.on_error(q->inner.user_data, code, desc);
}

void QueryFree(void* user_data) {
  StatusQuery* q = static_cast<StatusQuery*>(user_data);
  if (q->inner.free_user_data) q->inner.free_user_data(q->inner.user_data);
  Freed(q->call);
  delete q;
  test::Notify();
}

struct Listener {
  ims_listener inner;
};

void ListenerStatusChanged(void* user_data, const ims_user_status* statuses, size_t count) {
  Listener* l = static_cast<Listener*>(user_data);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    status_events++;
  }
  in_status_event = true;
  if (l->inner.on_user_status_changed) {
    l->inner.on_user_status_changed(l->inner.user_data, statuses, count);
  }
  in_status_event = false;
  test::Notify();
}

#define SPY_FORWARD_EVENT(name)                                                   \
  void name(void* user_data) {                                                    \
    Listener* l = static_cast<Listener*>(user_data);                              \
    if (l->inner.name) l->inner.name(l->inner.user_data);                         \
  }
SPY_FORWARD_EVENT(on_connecting)
SPY_FORWARD_EVENT(on_connect_success)
SPY_FORWARD_EVENT(on_kicked_offline)
SPY_FORWARD_EVENT(on_user_sig_expired)

void ListenerConnectFailed(void* user_data, int32_t code, const char* desc) {
  Listener* l = static_cast<Listener*>(user_data);
  if (l->inner.on_connect_failed) l->inner.on_connect_failed(l->inner.user_data, code, desc);
}

void ListenerFree(void* user_data) {
  Listener* l = static_cast<Listener*>(user_data);
  if (l->inner.free_user_data) l->inner.free_user_data(l->inner.user_data);
  delete l;
}

}  // namespace spy

extern "C" {
ims_result __real_ims_client_set_self_status(ims_client*, const char*, ims_callback);
ims_result __real_ims_client_get_user_status(ims_client*, const char* const*, size_t,
                                             ims_user_status_callback);
ims_result __real_ims_client_subscribe_user_status(ims_client*, const char* const*, size_t,
                                                   ims_callback);
ims_result __real_ims_client_unsubscribe_user_status(ims_client*, const char* const*, size_t,
                                                     ims_callback);
ims_result __real_ims_client_add_listener(ims_client*, ims_listener, uint64_t*);
ims_result __real_ims_client_get_login_user(const ims_client*, char*, size_t, size_t*);

static ims_result PlainCall(const char* op, const ims_client* client, ims_callback callback,
                            const std::function<ims_result(ims_callback)>& real) {
  spy::Plain* p = new spy::Plain{spy::NewCall(op, client), callback};
  ims_result result = real(spy::Wrap(p));
  if (result != IMS_OK) delete p;
  return result;
}

ims_result __wrap_ims_client_set_self_status(ims_client* client, const char* custom,
                                             ims_callback callback) {
  return PlainCall("set", client, callback, [&](ims_callback c) {
    return __real_ims_client_set_self_status(client, custom, c);
  });
}

ims_result __wrap_ims_client_subscribe_user_status(ims_client* client, const char* const* ids,
                                                   size_t count, ims_callback callback) {
  return PlainCall("subscribe", client, callback, [&](ims_callback c) {
    return __real_ims_client_subscribe_user_status(client, ids, count, c);
  });
}

ims_result __wrap_ims_client_unsubscribe_user_status(ims_client* client, const char* const* ids,
                                                     size_t count, ims_callback callback) {
  return PlainCall("unsubscribe", client, callback, [&](ims_callback c) {
    return __real_ims_client_unsubscribe_user_status(client, ids, count, c);
  });
}

ims_result __wrap_ims_client_get_user_status(ims_client* client, const char* const* ids,
                                             size_t count, ims_user_status_callback callback) {
  spy::StatusQuery* q = new spy::StatusQuery{spy::NewCall("get", client), callback};
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    q->call->wrapper_free = callback.free_user_data != nullptr;
  }
  ims_user_status_callback c = {q, spy::QuerySuccess, spy::QueryError, spy::QueryFree};
  ims_result result = __real_ims_client_get_user_status(client, ids, count, c);
  if (result != IMS_OK) delete q;
  return result;
}

ims_result __wrap_ims_client_add_listener(ims_client* client, ims_listener listener,
                                          uint64_t* out_id) {
  spy::Listener* l = new spy::Listener{listener};
  ims_listener mine = {l,
                       spy::on_connecting,
                       spy::on_connect_success,
                       spy::ListenerConnectFailed,
                       spy::on_kicked_offline,
                       spy::on_user_sig_expired,
                       spy::ListenerStatusChanged,
                       spy::ListenerFree};
  ims_result result = __real_ims_client_add_listener(client, mine, out_id);
  if (result != IMS_OK) {
    delete l;
  } else {
    std::lock_guard<std::mutex> lock(test::Lock());
    spy::manager_client = client;
    spy::listeners_added++;
    if (listener.free_user_data) spy::listeners_with_free++;
  }
  return result;
}

ims_result __wrap_ims_client_get_login_user(const ims_client* client, char* buf, size_t len,
                                            size_t* out_len) {
  if (spy::in_status_event) {
    std::lock_guard<std::mutex> lock(test::Lock());
    spy::login_user_in_event++;
  }
  return __real_ims_client_get_login_user(client, buf, len, out_len);
}
}  // extern "C"

// ==============================================================================================

// Waits until the `nth` call of `op` has completed and its user_data was freed, then checks
// that it succeeded exactly once and that the wrapper had handed over a free_user_data.
static std::shared_ptr<spy::Call> ExpectSpiedSuccess(const std::string& op, size_t nth) {
  CHECK_WAIT(spy::Count(op) >= nth && spy::Last(op)->frees == 1, 15);
  test::SleepFor(0.05);  // a second outcome or free would show up here
  std::lock_guard<std::mutex> lock(test::Lock());
  CHECK_EQ(spy::Count(op), nth);
  std::shared_ptr<spy::Call> call = spy::Last(op);
  if (!call) return std::make_shared<spy::Call>();
  CHECK_EQ(call->successes, 1);
  CHECK_EQ(call->errors, 0);
  CHECK_EQ(call->frees, 1);
  CHECK(call->wrapper_free);
  return call;
}

static const spy::Status* FindSpied(const std::shared_ptr<spy::Call>& call, const char* user) {
  for (const spy::Status& s : call->statuses) {
    if (s.user == user) return &s;
  }
  return nullptr;
}

int main() {
  V2TIMManager* manager = V2TIMManager::GetInstance();
  test::RecListener watch;
  manager->AddSDKListener(&watch);
  seed_listener::Sample();  // added before InitSDK, as apps often do

  // No server address: IMSTATUS_SERVER names it.
  V2TIMSDKConfig config;
  CHECK(manager->InitSDK(test::AppId(), config));
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(spy::listeners_added, 2);
    CHECK_EQ(spy::listeners_with_free, 2);
  }
  test::LoginOk("alice", test::SigOf("alice"));
  test::Peer userid1("userid1", test::SigOf("userid1"));
  test::Peer userid2("userid2", test::SigOf("userid2"));
  userid1.SetStatus("p1");
  userid2.SetStatus("p2");

  // Setting the custom status: OnUserStatusChanged reports it to the own user's listeners.
  seed_set::Sample(false);
  ExpectSpiedSuccess("set", 1);
  CHECK_WAIT(watch.CustomOf("alice") == "listening music", 10);
  // The seed's listener heard it too (it asks GetLoginUser inside OnUserStatusChanged).
  CHECK_WAIT(spy::login_user_in_event >= 1, 10);
  V2TIMUserStatusVector own = test::GetStatusOk({"alice"});
  CHECK_EQ(own.Size(), 1u);
  if (own.Size() == 1) CHECK(own[0].customStatus == "listening music");

  // Clearing it.
  seed_set::Sample(true);
  ExpectSpiedSuccess("set", 2);
  CHECK_WAIT(watch.CustomOf("alice").empty(), 10);
  own = test::GetStatusOk({"alice"});
  if (own.Size() == 1) CHECK(own[0].customStatus.Empty());

  // Querying the own status (no Ultimate edition needed): alice, ONLINE.
  size_t gets = 2;  // test::GetStatusOk's two
  seed_get_self::Sample();
  std::shared_ptr<spy::Call> get_self = ExpectSpiedSuccess("get", ++gets);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(get_self->statuses.size(), 1u);
    const spy::Status* alice = FindSpied(get_self, "alice");
    CHECK(alice != nullptr);
    if (alice) CHECK_EQ(alice->type, IMS_USER_STATUS_ONLINE);
  }

  // Querying others: userid1 and userid2, ONLINE with their custom statuses.
  seed_get_others::Sample();
  std::shared_ptr<spy::Call> get_others = ExpectSpiedSuccess("get", ++gets);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(get_others->statuses.size(), 2u);
    const spy::Status* u1 = FindSpied(get_others, "userid1");
    const spy::Status* u2 = FindSpied(get_others, "userid2");
    CHECK(u1 != nullptr && u2 != nullptr);
    if (u1) CHECK_EQ(u1->custom, std::string("p1"));
    if (u1) CHECK_EQ(u1->type, IMS_USER_STATUS_ONLINE);
    if (u2) CHECK_EQ(u2->custom, std::string("p2"));
  }

  // Subscribing: userid1's changes now arrive.
  seed_subscribe::Sample();
  ExpectSpiedSuccess("subscribe", 1);
  userid1.SetStatus("p1 changed");
  CHECK_WAIT(watch.CustomOf("userid1") == "p1 changed", 10);
  int login_user_calls;
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    login_user_calls = spy::login_user_in_event;
  }
  CHECK(login_user_calls >= 2);

  // Unsubscribing: they stop.
  seed_unsubscribe::Sample();
  ExpectSpiedSuccess("unsubscribe", 1);
  int events_before;
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    events_before = watch.EventsOf("userid1");
  }
  userid1.SetStatus("p1 after unsubscribe");
  userid2.SetStatus("p2 after unsubscribe");
  test::SleepFor(1.0);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(watch.EventsOf("userid1"), events_before);
    CHECK_EQ(watch.CustomOf("userid1"), std::string("p1 changed"));
    CHECK_EQ(watch.wrong_thread, 0);
  }

  manager->RemoveSDKListener(&seed_listener::sdkListener);
  manager->RemoveSDKListener(&watch);
  test::LogoutOk();
  manager->UnInitSDK();
  {
    // Every call the samples made was completed, and its wrapper record freed, exactly once.
    std::lock_guard<std::mutex> lock(test::Lock());
    for (const auto& call : spy::calls) {
      if (call->client != spy::manager_client) continue;
      if (call->successes + call->errors != 1 || call->frees != 1) {
        test::Fail(__FILE__, __LINE__, "spied call " + call->op + " not completed exactly once");
      }
    }
  }
  return test::Finish("seed_samples");
}
