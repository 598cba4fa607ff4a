// Lifetimes through the wrapper: callback objects deleted inside their own OnSuccess/OnError
// (every recording callback here does that) and calling back into the SDK from there;
// exceptions thrown out of callbacks; listeners removed from inside their own events, removed
// and deleted while events are flowing, kept across UnInitSDK/InitSDK; UnInitSDK with every kind
// of call in flight (each gets OnError 6013 exactly once, before UnInitSDK returns); UnInitSDK
// from inside a callback and from inside a listener event; many calls in a row.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "V2TIMManager.h"
#include "harness.h"

using test::OutcomePtr;

namespace {

V2TIMManager* M() { return V2TIMManager::GetInstance(); }

std::string Server() { return test::Env("IMS_TEST_SERVER"); }

void InitOk(const std::string& server) { CHECK(M()->InitSDK(test::AppId(), test::ConfigFor(server))); }

OutcomePtr Set(const std::string& custom) {
  V2TIMUserStatus status;
  status.customStatus = custom.c_str();
  return test::Start("set " + custom, [&](V2TIMCallback* cb) { M()->SetSelfStatus(status, cb); });
}

OutcomePtr GetSelf(const char* user) {
  return test::StartStatus("get self", [&](V2TIMValueCallback<V2TIMUserStatusVector>* cb) {
    M()->GetUserStatus(test::Ids({user}), cb);
  });
}

// ---- calling back into the SDK from inside a callback that then deletes itself ----

void ReentrantCallbacks() {
  OutcomePtr inner = std::make_shared<test::Outcome>("get from inside OnSuccess");
  OutcomePtr outer = std::make_shared<test::Outcome>("set calling get");
  V2TIMUserStatus status;
  status.customStatus = "reentrant";
  M()->SetSelfStatus(status, new test::RecCallback(outer, [inner] {
                       M()->GetUserStatus(test::Ids({"alice"}), new test::RecStatusCallback(inner));
                       // and one that fails, from inside too
                       M()->SubscribeUserStatus(V2TIMStringVector(), new test::RecCallback(
                           std::make_shared<test::Outcome>("ignored")));
                     }));
  test::ExpectSuccess(outer);
  test::ExpectSuccess(inner);
  std::lock_guard<std::mutex> lock(test::Lock());
  CHECK_EQ(inner->statuses.Size(), 1u);
  if (inner->statuses.Size() == 1) CHECK(inner->statuses[0].customStatus == "reentrant");
}

// ---- exceptions thrown by callbacks are contained ----

class Throwing final : public V2TIMCallback {
 public:
  explicit Throwing(std::atomic<int>* calls) : calls_(calls) {}
  void OnSuccess() override {
    calls_->fetch_add(1);
    delete this;
    throw std::runtime_error("thrown from OnSuccess (expected by the test)");
  }
  void OnError(int, const V2TIMString&) override {
    calls_->fetch_add(1);
    delete this;
    throw 42;
  }

 private:
  std::atomic<int>* calls_;
};

class ThrowingListener final : public V2TIMSDKListener {
 public:
  void OnUserStatusChanged(const V2TIMUserStatusVector&) override {
    events.fetch_add(1);
    throw std::logic_error("thrown from OnUserStatusChanged (expected by the test)");
  }
  std::atomic<int> events{0};
};

void Exceptions() {
  std::atomic<int> calls(0);
  ThrowingListener listener;
  M()->AddSDKListener(&listener);
  V2TIMUserStatus status;
  status.customStatus = "throwing";
  M()->SetSelfStatus(status, new Throwing(&calls));
  M()->SubscribeUserStatus(V2TIMStringVector(), new Throwing(&calls));  // fails
  CHECK_WAIT(calls.load() == 2 && listener.events.load() >= 1, 10);
  M()->RemoveSDKListener(&listener);
  // The SDK goes on.
  test::ExpectSuccess(Set("after the exceptions"));
}

// ---- listeners ----

// Removes itself from inside its first event.
class SelfRemoving final : public V2TIMSDKListener {
 public:
  void OnUserStatusChanged(const V2TIMUserStatusVector&) override {
    int n;
    {
      std::lock_guard<std::mutex> lock(test::Lock());
      n = ++events;
    }
    if (n == 1) M()->RemoveSDKListener(this);  // inside its own event: fine
    test::Notify();
  }
  int events = 0;
};

// Slow events; counts events that start after RemoveSDKListener returned.
std::atomic<bool> g_removed(false);
std::atomic<int> g_after_removal(0);
std::atomic<int> g_slow_events(0);

class Slow final : public V2TIMSDKListener {
 public:
  void OnUserStatusChanged(const V2TIMUserStatusVector& list) override {
    if (g_removed.load()) g_after_removal.fetch_add(1);
    g_slow_events.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    size_t n = list.Size();  // touches the listener's own memory after the sleep
    seen_ += n;
  }
  size_t seen_ = 0;
};

// Calls the SDK from inside its events.
class Asking final : public V2TIMSDKListener {
 public:
  void OnUserStatusChanged(const V2TIMUserStatusVector&) override {
    V2TIMString me = M()->GetLoginUser();
    if (me.Empty()) return;
    M()->GetUserStatus(test::Ids({me.CString()}), new test::RecStatusCallback(answer));
  }
  OutcomePtr answer = std::make_shared<test::Outcome>("get from inside an event");
};

void Listeners() {
  // Removed from inside its own event: hears exactly one.
  SelfRemoving self_removing;
  M()->AddSDKListener(&self_removing);
  test::SetSelfStatusOk("one");
  CHECK_WAIT(self_removing.events == 1, 10);
  test::SetSelfStatusOk("two");
  test::SetSelfStatusOk("three");
  test::SleepFor(0.3);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(self_removing.events, 1);
  }

  // Removed (and deleted) from another thread while its events are running.
  test::Peer bob("bob", test::SigOf("bob"));
  test::SubscribeOk({"bob"});
  Slow* slow = new Slow();
  M()->AddSDKListener(slow);
  std::atomic<bool> stop(false);
  std::thread spammer([&] {
    for (int i = 0; !stop.load() && i < 200; ++i) bob.SetStatus("spam " + std::to_string(i));
  });
  CHECK_WAIT(g_slow_events.load() >= 3, 10);
  M()->RemoveSDKListener(slow);
  g_removed.store(true);
  delete slow;  // valgrind would see an event touching it now
  test::SleepFor(0.3);
  stop.store(true);
  spammer.join();
  CHECK_EQ(g_after_removal.load(), 0);
  test::UnsubscribeOk({});

  // Calls into the SDK from inside events.
  Asking asking;
  M()->AddSDKListener(&asking);
  test::SetSelfStatusOk("asked");
  CHECK_WAIT(asking.answer->Done(), 10);
  M()->RemoveSDKListener(&asking);
  test::ExpectSuccess(asking.answer);
}

// ---- UnInitSDK with calls in flight ----

void UnInitInFlight() {
  InitOk(test::Env("IMS_TEST_STALL_SERVER"));
  test::RecListener events;
  M()->AddSDKListener(&events);
  test::LoginOk("alice", "the stall server accepts any UserSig");
  std::vector<OutcomePtr> calls;
  calls.push_back(Set("in flight"));
  calls.push_back(GetSelf("alice"));
  calls.push_back(test::Start("subscribe in flight", [](V2TIMCallback* cb) {
    M()->SubscribeUserStatus(test::Ids({"bob"}), cb);
  }));
  calls.push_back(test::Start("unsubscribe in flight", [](V2TIMCallback* cb) {
    M()->UnsubscribeUserStatus(V2TIMStringVector(), cb);
  }));
  calls.push_back(test::Start("logout in flight", [](V2TIMCallback* cb) { M()->Logout(cb); }));
  test::SleepFor(0.2);  // on the wire, unanswered
  for (const OutcomePtr& o : calls) {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK(!o->Done());
  }
  M()->UnInitSDK();
  // Outside callbacks, UnInitSDK returns after every callback ran: no waiting here.
  for (const OutcomePtr& o : calls) {
    std::lock_guard<std::mutex> lock(test::Lock());
    if (o->errors != 1 || o->successes != 0 || o->code != ERR_SDK_NOT_INITIALIZED) {
      test::Fail(__FILE__, __LINE__,
                 "'" + o->name + "' after UnInitSDK: errors=" + std::to_string(o->errors) +
                     " code=" + std::to_string(o->code));
    }
    CHECK(test::IsCallbackThread(o->thread));
  }
  test::SleepFor(0.1);
  for (const OutcomePtr& o : calls) {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(o->successes + o->errors, 1);
  }

  // A login in flight (the stall server never answers users named silent*).
  InitOk(test::Env("IMS_TEST_STALL_SERVER"));
  OutcomePtr login = test::Start("login in flight", [](V2TIMCallback* cb) {
    M()->Login("silent-user", "sig", cb);
  });
  // LOGINING as soon as Login returned, not only once the SDK's thread took it up.
  CHECK_EQ(M()->GetLoginStatus(), V2TIM_STATUS_LOGINING);
  M()->UnInitSDK();
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(login->errors, 1);
    CHECK_EQ(login->code, static_cast<int>(ERR_SDK_NOT_INITIALIZED));
  }
  M()->RemoveSDKListener(&events);
}

// ---- UnInitSDK from inside a callback, and from inside an event ----

void UnInitInside() {
  InitOk(Server());
  OutcomePtr inner = std::make_shared<test::Outcome>("set made inside, before UnInitSDK");
  OutcomePtr login = std::make_shared<test::Outcome>("login that uninitialises");
  std::atomic<bool> uninit_returned(false);
  M()->Login("carol", test::SigOf("carol").c_str(), new test::RecCallback(login, [&] {
               V2TIMUserStatus status;
               status.customStatus = "made inside";
               M()->SetSelfStatus(status, new test::RecCallback(inner));
               M()->UnInitSDK();  // from the callback thread: must not deadlock
               uninit_returned.store(true);
               test::Notify();
             }));
  test::ExpectSuccess(login);
  CHECK_WAIT(uninit_returned.load(), 10);
  CHECK_WAIT(inner->Done(), 10);
  test::SleepFor(0.1);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(inner->successes + inner->errors, 1);
    if (inner->errors) CHECK_EQ(inner->code, static_cast<int>(ERR_SDK_NOT_INITIALIZED));
  }
  CHECK_EQ(M()->GetLoginStatus(), V2TIM_STATUS_LOGOUT);

  // From inside a listener event.
  class Uninit final : public V2TIMSDKListener {
   public:
    void OnConnectSuccess() override {
      M()->UnInitSDK();
      done.store(true);
      test::Notify();
    }
    std::atomic<bool> done{false};
  } uninit;
  M()->AddSDKListener(&uninit);
  InitOk(Server());
  OutcomePtr login2 = test::Start("login while a listener uninitialises", [](V2TIMCallback* cb) {
    M()->Login("carol", test::SigOf("carol").c_str(), cb);
  });
  CHECK_WAIT(uninit.done.load(), 10);
  CHECK_WAIT(login2->Done(), 10);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(login2->successes + login2->errors, 1);
  }
  M()->RemoveSDKListener(&uninit);
  // Nothing left behind: initialise again and work.
  InitOk(Server());
  test::LoginOk("carol", test::SigOf("carol"));
  test::LogoutOk();
  M()->UnInitSDK();
}

// ---- listeners stay registered across UnInitSDK/InitSDK ----

void ListenersSurviveReinit() {
  test::RecListener kept;
  M()->AddSDKListener(&kept);
  for (int round = 0; round < 2; ++round) {
    InitOk(Server());
    test::LoginOk("dave", test::SigOf("dave"));
    std::string custom = "round " + std::to_string(round);
    test::SetSelfStatusOk(custom);
    CHECK_WAIT(kept.CustomOf("dave") == custom, 10);
    M()->UnInitSDK();
  }
  // Removed while uninitialised: not registered by the next InitSDK.
  M()->RemoveSDKListener(&kept);
  int before;
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    before = kept.status_changed;
  }
  InitOk(Server());
  test::LoginOk("dave", test::SigOf("dave"));
  test::SetSelfStatusOk("not heard");
  test::SleepFor(0.3);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(kept.status_changed, before);
  }
  test::LogoutOk();
  M()->UnInitSDK();
}

// ---- many calls ----

void ManyCalls() {
  InitOk(Server());
  test::LoginOk("erin", test::SigOf("erin"));
  const int n = 300;
  std::vector<OutcomePtr> calls;
  for (int i = 0; i < n; ++i) {
    calls.push_back(i % 2 ? GetSelf("erin") : Set("many " + std::to_string(i)));
  }
  for (const OutcomePtr& o : calls) test::ExpectSuccess(o, 60);
  test::LogoutOk();
  M()->UnInitSDK();
}

}  // namespace

int main() {
  InitOk(Server());
  test::LoginOk("alice", test::SigOf("alice"));
  ReentrantCallbacks();
  Exceptions();
  Listeners();
  test::LogoutOk();
  M()->UnInitSDK();

  UnInitInFlight();
  UnInitInside();
  ListenersSurviveReinit();
  ManyCalls();
  return test::Finish("lifetimes");
}
