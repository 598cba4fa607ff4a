// The six V2TIMSDKListener events through the wrapper, on the library's callback thread:
// OnConnecting/OnConnectSuccess (login), OnUserSigExpired (a UserSig that expires),
// OnUserStatusChanged (own changes, a subscribed user going ONLINE, OFFLINE and UNLOGINED, with
// devices), OnKickedOffline (the same account logs in on the same platform elsewhere), and
// OnConnectFailed (an unreachable server; also in errors.cpp). Two listeners hear the same
// events in the order they were added.
#include <string>
#include <vector>

#include "V2TIMManager.h"
#include "harness.h"

namespace {

V2TIMManager* M() { return V2TIMManager::GetInstance(); }

// Records the order in which listeners hear OnUserStatusChanged.
std::vector<std::string> g_order;

class Ordered final : public V2TIMSDKListener {
 public:
  explicit Ordered(const char* name) : name_(name) {}
  void OnUserStatusChanged(const V2TIMUserStatusVector&) override {
    std::lock_guard<std::mutex> lock(test::Lock());
    g_order.push_back(name_);
  }

 private:
  std::string name_;
};

}  // namespace

int main() {
  const std::string server = test::Env("IMS_TEST_SERVER");
  test::RecListener events;
  Ordered first("first"), second("second");
  M()->AddSDKListener(&first);
  M()->AddSDKListener(&events);
  M()->AddSDKListener(&second);
  CHECK(M()->InitSDK(test::AppId(), test::ConfigFor(server)));

  // Connecting, then connected; then the UserSig expires while logged in. First, since the
  // short UserSig was made right before this program started.
  test::LoginOk("erin", test::Env("IMS_TEST_SHORT_SIG_erin"));
  CHECK_WAIT(events.connect_success == 1, 5);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.connecting, 1);
    CHECK(events.first_connecting_seq < events.first_success_seq);
    CHECK_EQ(events.connect_failed, 0);
  }
  CHECK_WAIT(events.sig_expired == 1, 30);
  CHECK_WAIT(M()->GetLoginStatus() == V2TIM_STATUS_LOGOUT, 5);

  test::LoginOk("alice", test::SigOf("alice"));
  CHECK_WAIT(events.connect_success == 2, 5);

  // Own changes, heard by every listener in the order they were added.
  test::SetSelfStatusOk("own change");
  CHECK_WAIT(events.CustomOf("alice") == "own change", 10);
  CHECK_WAIT(g_order.size() >= 2, 5);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(g_order[0], std::string("first"));
    CHECK_EQ(g_order[1], std::string("second"));
    CHECK_EQ(events.users["alice"].type, V2TIM_USER_STATUS_ONLINE);
  }

  // A subscribed user: ONLINE with a device, UNLOGINED after logout, ONLINE again, OFFLINE when
  // the connection drops without a logout.
  {
    test::Peer bob("bob", test::SigOf("bob"));
    test::SubscribeOk({"bob"});
    bob.SetStatus("bob online");
    CHECK_WAIT(events.CustomOf("bob") == "bob online", 10);
    {
      std::lock_guard<std::mutex> lock(test::Lock());
      CHECK_EQ(events.users["bob"].type, V2TIM_USER_STATUS_ONLINE);
      CHECK_EQ(events.users["bob"].devices.size(), 1u);
    }
    bob.Logout();
    CHECK_WAIT(events.users["bob"].type == V2TIM_USER_STATUS_UNLOGINED, 10);
    {
      std::lock_guard<std::mutex> lock(test::Lock());
      CHECK(events.users["bob"].devices.empty());
      CHECK(events.users["bob"].custom.empty());  // cleared with the logout
    }
  }
  {
    test::Peer bob("bob", test::SigOf("bob"));
    CHECK_WAIT(events.users["bob"].type == V2TIM_USER_STATUS_ONLINE, 10);
  }  // freed without logout
  CHECK_WAIT(events.users["bob"].type == V2TIM_USER_STATUS_OFFLINE, 10);

  // Kicked: the same account logs in on the same platform (this host's) elsewhere.
  test::LoginOk("dave", test::SigOf("dave"));
  {
    test::Peer dave("dave", test::SigOf("dave"), test::AppId(), server, IMS_PLATFORM_DEFAULT);
    CHECK_WAIT(events.kicked == 1, 10);
    CHECK_WAIT(M()->GetLoginStatus() == V2TIM_STATUS_LOGOUT, 5);
  }
  {
    test::OutcomePtr after = test::Start("set after kick", [](V2TIMCallback* cb) {
      V2TIMUserStatus status;
      status.customStatus = "kicked";
      M()->SetSelfStatus(status, cb);
    });
    test::ExpectError(after, ERR_SDK_NOT_LOGGED_IN);
  }

  // An unreachable server.
  M()->UnInitSDK();
  CHECK(M()->InitSDK(test::AppId(), test::ConfigFor(test::Env("IMS_TEST_DEAD_SERVER"))));
  test::OutcomePtr failed = test::Start("login nowhere", [](V2TIMCallback* cb) {
    M()->Login("alice", test::SigOf("alice").c_str(), cb);
  });
  test::ExpectError(failed, ERR_SDK_NET_DISCONNECT);
  CHECK_WAIT(events.connect_failed == 1, 5);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.failed_code, static_cast<int>(ERR_SDK_NET_DISCONNECT));
    CHECK_EQ(events.wrong_thread, 0);
  }

  M()->RemoveSDKListener(&first);
  M()->RemoveSDKListener(&events);
  M()->RemoveSDKListener(&second);
  M()->UnInitSDK();
  return test::Finish("listener");
}
