// Every V2TIMManager API against a real server, with recording callbacks (each deletes itself
// inside OnSuccess/OnError, as V2TIM code does): InitSDK (twice), GetVersion, Login, GetLoginUser,
// GetLoginStatus, SetSelfStatus, GetUserStatus (self and others, with onlineDevices),
// SubscribeUserStatus, UnsubscribeUserStatus (some, then all with an empty list), Logout,
// switching users, AddSDKListener/RemoveSDKListener, UnInitSDK and InitSDK again, the log
// listener, the callback thread, GetServerTime and V2TIMSDKConfig::platform.
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <string>

#include "V2TIMManager.h"
#include "harness.h"

using test::OutcomePtr;

namespace {

class CountingLog final : public V2TIMLogListener {
 public:
  void OnLog(V2TIMLogLevel logLevel, const V2TIMString& logContent) override {
    if (logLevel < V2TIM_LOG_DEBUG || logLevel > V2TIM_LOG_ERROR || logContent.Empty()) bad++;
    lines++;
  }
  std::atomic<int> lines{0};
  std::atomic<int> bad{0};
};

bool HasDevice(const V2TIMUserStatus& s) { return !s.onlineDevices.Empty(); }

}  // namespace

int main() {
  V2TIMManager* manager = V2TIMManager::GetInstance();
  const std::string server = test::Env("IMS_TEST_SERVER");

  // Listeners may be added before InitSDK.
  test::RecListener events;
  manager->AddSDKListener(&events);
  manager->AddSDKListener(&events);  // twice: still one registration

  // GetServerTime before InitSDK: the local clock.
  CHECK(std::llabs(manager->GetServerTime() - static_cast<int64_t>(std::time(nullptr))) <= 2);

  CHECK(manager->InitSDK(test::AppId(), test::ConfigFor(server)));
  CHECK(manager->InitSDK(test::AppId(), test::ConfigFor("ignored:1")));  // already initialised
  CHECK(manager == test::ManagerSeenByHarness());
  CHECK_EQ(std::string(manager->GetVersion().CString()), std::string(IMS_VERSION_STRING));
  CHECK_EQ(manager->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
  CHECK(manager->GetLoginUser().Empty());

  // Login: connecting, then connected; the callback on the library's callback thread.
  OutcomePtr login = test::Start("login alice", [&](V2TIMCallback* cb) {
    manager->Login("alice", test::SigOf("alice").c_str(), cb);
  });
  test::ExpectSuccess(login);
  test::ExpectCallbackThread(login);
  CHECK_EQ(manager->GetLoginStatus(), V2TIM_STATUS_LOGINED);
  CHECK(manager->GetLoginUser() == "alice");
  // GetServerTime after the login: the real server's clock, which here is the local one.
  CHECK(std::llabs(manager->GetServerTime() - static_cast<int64_t>(std::time(nullptr))) <= 2);
  CHECK_WAIT(events.connect_success == 1, 5);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.connecting, 1);
    CHECK(events.first_connecting_seq < events.first_success_seq);
  }
  // Logging in again as the same user succeeds at once.
  test::LoginOk("alice", test::SigOf("alice"));

  test::Peer bob("bob", test::SigOf("bob"));
  bob.SetStatus("bob is here");

  // SetSelfStatus: the own listener hears it, GetUserStatus answers it.
  V2TIMUserStatus mine;
  mine.userID = "ignored";  // read-only fields are ignored
  mine.statusType = V2TIM_USER_STATUS_OFFLINE;
  mine.customStatus = u8"\u542c\u97f3\u4e50";  // UTF-8 passes through
  OutcomePtr set = test::Start("set", [&](V2TIMCallback* cb) { manager->SetSelfStatus(mine, cb); });
  test::ExpectSuccess(set);
  test::ExpectCallbackThread(set);
  CHECK_WAIT(events.CustomOf("alice") == u8"\u542c\u97f3\u4e50", 10);

  V2TIMUserStatusVector own = test::GetStatusOk({"alice"});
  CHECK_EQ(own.Size(), 1u);
  if (own.Size() == 1) {
    CHECK(own[0].userID == "alice");
    CHECK_EQ(own[0].statusType, V2TIM_USER_STATUS_ONLINE);
    CHECK(own[0].customStatus == u8"\u542c\u97f3\u4e50");
    CHECK(HasDevice(own[0]));
  }

  // Others: bob ONLINE with his status and device, carol (never logged in) UNLOGINED.
  V2TIMUserStatusVector others = test::GetStatusOk({"bob", "carol"});
  CHECK_EQ(others.Size(), 2u);
  int b = test::Find(others, "bob"), c = test::Find(others, "carol");
  CHECK(b >= 0 && c >= 0);
  if (b >= 0) {
    const V2TIMUserStatus& s = others[static_cast<size_t>(b)];
    CHECK_EQ(s.statusType, V2TIM_USER_STATUS_ONLINE);
    CHECK(s.customStatus == "bob is here");
    CHECK_EQ(s.onlineDevices.Size(), 1u);
    if (s.onlineDevices.Size() == 1) CHECK(s.onlineDevices[0] == "Web");
  }
  if (c >= 0) {
    const V2TIMUserStatus& s = others[static_cast<size_t>(c)];
    CHECK_EQ(s.statusType, V2TIM_USER_STATUS_UNLOGINED);
    CHECK(s.customStatus.Empty());
    CHECK(s.onlineDevices.Empty());
  }

  // Subscribe: bob's changes arrive, with his status type and devices.
  test::SubscribeOk({"bob"});
  bob.SetStatus("bob changed");
  CHECK_WAIT(events.CustomOf("bob") == "bob changed", 10);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.users["bob"].type, V2TIM_USER_STATUS_ONLINE);
    CHECK_EQ(events.users["bob"].devices.size(), 1u);
  }

  // Unsubscribe bob: no more events of his.
  test::UnsubscribeOk({"bob"});
  int bob_events;
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    bob_events = events.EventsOf("bob");
  }
  bob.SetStatus("bob unseen");
  test::SleepFor(0.8);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.EventsOf("bob"), bob_events);
  }

  // Subscribe again, then an empty list unsubscribes from everyone.
  test::SubscribeOk({"bob", "carol"});
  bob.SetStatus("bob seen again");
  CHECK_WAIT(events.CustomOf("bob") == "bob seen again", 10);
  test::UnsubscribeOk({});
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    bob_events = events.EventsOf("bob");
  }
  bob.SetStatus("bob unseen again");
  test::SleepFor(0.8);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.EventsOf("bob"), bob_events);
  }

  // nullptr callbacks are fire-and-forget: the call still happens.
  V2TIMUserStatus quiet;
  quiet.customStatus = "no callback";
  manager->SetSelfStatus(quiet, nullptr);
  CHECK_WAIT(events.CustomOf("alice") == "no callback", 10);
  manager->GetUserStatus(test::Ids({"alice"}), nullptr);
  manager->SubscribeUserStatus(test::Ids({"bob"}), nullptr);
  manager->UnsubscribeUserStatus(test::Ids({}), nullptr);

  // An empty custom status clears it.
  test::SetSelfStatusOk("");
  CHECK_WAIT(events.CustomOf("alice").empty(), 10);

  // Logout: LOGOUT, no user; bob sees alice UNLOGINED.
  test::LogoutOk();
  CHECK_EQ(manager->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
  CHECK(manager->GetLoginUser().Empty());

  // Logging in as another user while logged in switches users.
  test::LoginOk("alice", test::SigOf("alice"));
  test::LoginOk("carol", test::SigOf("carol"));
  CHECK(manager->GetLoginUser() == "carol");
  CHECK_EQ(manager->GetLoginStatus(), V2TIM_STATUS_LOGINED);

  // A removed listener hears nothing more.
  manager->RemoveSDKListener(&events);
  int before;
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    before = events.status_changed;
  }
  test::SetSelfStatusOk("unheard");
  test::SleepFor(0.5);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.status_changed, before);
    CHECK_EQ(events.wrong_thread, 0);
  }

  // UnInitSDK, then everything answers as before InitSDK; InitSDK again works, with a log
  // listener and a listener added while uninitialised.
  manager->UnInitSDK();
  CHECK_EQ(manager->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
  CHECK(manager->GetLoginUser().Empty());

  // The platform (an imstatus addition to V2TIMSDKConfig): what the server shows in
  // onlineDevices. An unknown value makes InitSDK fail.
  V2TIMSDKConfig ipad = test::ConfigFor(server);
  ipad.platform = 99;
  CHECK(!manager->InitSDK(test::AppId(), ipad));
  ipad.platform = IMS_PLATFORM_IPAD;
  CHECK(manager->InitSDK(test::AppId(), ipad));
  test::LoginOk("frank", test::SigOf("frank"));
  V2TIMUserStatusVector frank = test::GetStatusOk({"frank"});
  CHECK_EQ(frank.Size(), 1u);
  if (frank.Size() == 1) {
    CHECK_EQ(frank[0].onlineDevices.Size(), 1u);
    if (frank[0].onlineDevices.Size() == 1) CHECK(frank[0].onlineDevices[0] == "iPad");
  }
  test::LogoutOk();
  manager->UnInitSDK();

  test::RecListener again;
  manager->AddSDKListener(&again);
  CountingLog log;
  V2TIMSDKConfig config = test::ConfigFor(server);
  config.logLevel = V2TIM_LOG_DEBUG;
  config.logListener = &log;
  CHECK(manager->InitSDK(test::AppId(), config));
  test::LoginOk("dave", test::SigOf("dave"));
  CHECK(manager->GetLoginUser() == "dave");
  CHECK_WAIT(again.connect_success == 1, 5);
  test::SetSelfStatusOk("dave again");
  CHECK_WAIT(again.CustomOf("dave") == "dave again", 10);
  CHECK(log.lines.load() > 0);
  CHECK_EQ(log.bad.load(), 0);
  test::LogoutOk();
  manager->RemoveSDKListener(&again);
  manager->UnInitSDK();
  // After UnInitSDK the log listener is no longer called (it may be destroyed).
  int lines = log.lines.load();
  {
    test::Peer erin("erin", test::SigOf("erin"));  // logs, in this process
    erin.SetStatus("logging");
  }
  CHECK_EQ(log.lines.load(), lines);

  return test::Finish("api");
}
