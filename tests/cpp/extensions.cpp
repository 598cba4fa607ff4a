// Presence beyond V2TIM through IMStatusExtensions.h against a real server: the manager (alice)
// sets an expiring status and sees it clear, appears offline and then hides from everyone
// (visibility nobody) while a peer (bob, through the C ABI) queries her OFFLINE with a frozen
// last seen and her own device sees the truth and the switches; then bob logs out and alice
// reads his last seen from a V2TIMUserStatus. Refusals: before InitSDK, bad enum values, NULs.
#include <chrono>
#include <string>
#include <vector>

#include "IMStatusExtensions.h"
#include "V2TIMManager.h"
#include "harness.h"

using test::OutcomePtr;

namespace {

// Every status of every OnUserStatusChanged, in order (under test::Lock()).
class History final : public V2TIMSDKListener {
 public:
  void OnUserStatusChanged(const V2TIMUserStatusVector& list) override {
    {
      std::lock_guard<std::mutex> lock(test::Lock());
      for (size_t i = 0; i < list.Size(); ++i) seen.push_back(list[i]);
    }
    test::Notify();  // takes the lock itself
  }
  std::vector<V2TIMUserStatus> seen;
};

// Waits for the next status of `user` after *cursor and moves the cursor past it.
V2TIMUserStatus NextOf(History& h, size_t* cursor, const std::string& user) {
  size_t found = 0;
  auto find = [&] {
    for (size_t i = *cursor; i < h.seen.size(); ++i) {
      if (user == h.seen[i].userID.CString()) {
        found = i;
        return true;
      }
    }
    return false;
  };
  if (!test::WaitUntil(find, 10)) {
    test::Fail(__FILE__, __LINE__, "no change of " + user);
    return V2TIMUserStatus();
  }
  std::lock_guard<std::mutex> lock(test::Lock());
  *cursor = found + 1;
  return h.seen[found];
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void Ok(const std::string& name, const std::function<void(V2TIMCallback*)>& start) {
  test::ExpectSuccess(test::Start(name, start));
}

}  // namespace

int main() {
  V2TIMManager* manager = V2TIMManager::GetInstance();

  // Before InitSDK: 6013, like every V2TIMManager call.
  test::ExpectError(test::Start("invisible before init",
                                [](V2TIMCallback* cb) { IMStatusExtensions::SetInvisible(true, cb); }),
                    ERR_SDK_NOT_INITIALIZED);

  History history;
  manager->AddSDKListener(&history);
  CHECK(manager->InitSDK(test::AppId(), test::ConfigFor(test::Env("IMS_TEST_SERVER"))));
  test::LoginOk("alice", test::SigOf("alice"));
  test::Peer bob("bob", test::SigOf("bob"));
  test::SubscribeOk({"bob"});
  size_t cursor = 0;

  // Refusals: values outside the enum, Unknown, a NUL byte; a zero expiry from the server.
  test::ExpectError(test::Start("visibility 7",
                                [](V2TIMCallback* cb) {
                                  IMStatusExtensions::SetVisibility(
                                      static_cast<IMStatusVisibility>(7), cb);
                                }),
                    ERR_INVALID_PARAMETERS);
  test::ExpectError(test::Start("visibility unknown",
                                [](V2TIMCallback* cb) {
                                  IMStatusExtensions::SetVisibility(IMSTATUS_VISIBILITY_UNKNOWN, cb);
                                }),
                    ERR_INVALID_PARAMETERS);
  V2TIMUserStatus status;
  status.customStatus = V2TIMString("a\0b", 3);
  test::ExpectError(test::Start("NUL",
                                [&](V2TIMCallback* cb) {
                                  IMStatusExtensions::SetSelfStatusExpiring(status, 1000, cb);
                                }),
                    ERR_INVALID_PARAMETERS);
  status.customStatus = "x";
  test::ExpectError(test::Start("expire 0",
                                [&](V2TIMCallback* cb) {
                                  IMStatusExtensions::SetSelfStatusExpiring(status, 0, cb);
                                }),
                    ERR_INVALID_PARAMETERS);

  // 1. An expiring status clears itself: on alice's own device and for bob.
  const uint64_t expiry_ms = static_cast<uint64_t>(test::Scaled(0.4) * 1000);
  status.customStatus = "lunch";
  auto set_at = std::chrono::steady_clock::now();
  Ok("expiring", [&](V2TIMCallback* cb) {
    IMStatusExtensions::SetSelfStatusExpiring(status, expiry_ms, cb);
  });
  CHECK(NextOf(history, &cursor, "alice").customStatus == "lunch");
  V2TIMUserStatus cleared = NextOf(history, &cursor, "alice");
  CHECK(std::chrono::steady_clock::now() - set_at >= std::chrono::milliseconds(expiry_ms));
  CHECK(cleared.customStatus.Empty());
  CHECK_EQ(cleared.statusType, V2TIM_USER_STATUS_ONLINE);
  CHECK(!IMStatusExtensions::GetLastSeen(cleared, nullptr));
  CHECK(bob.Query("alice").custom.empty());

  // 2. Invisible: bob sees OFFLINE with last seen frozen at the switch; alice sees the truth.
  test::SetSelfStatusOk("busy");
  CHECK(NextOf(history, &cursor, "alice").customStatus == "busy");
  uint64_t before = NowMs();
  Ok("invisible on", [](V2TIMCallback* cb) { IMStatusExtensions::SetInvisible(true, cb); });
  uint64_t after = NowMs();
  V2TIMUserStatus own = NextOf(history, &cursor, "alice");
  CHECK(IMStatusExtensions::IsInvisible(own));
  CHECK_EQ(own.statusType, V2TIM_USER_STATUS_ONLINE);
  CHECK(own.customStatus == "busy");
  test::Peer::View seen = bob.Query("alice");
  CHECK_EQ(seen.type, IMS_USER_STATUS_OFFLINE);
  CHECK(seen.custom.empty());
  CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
  CHECK_EQ(bob.Query("alice").last_seen_ms, seen.last_seen_ms);  // frozen
  V2TIMUserStatusVector mine = test::GetStatusOk({"alice"});
  CHECK_EQ(mine.Size(), 1u);
  CHECK(IMStatusExtensions::IsInvisible(mine[0]));
  CHECK_EQ(IMStatusExtensions::GetVisibility(mine[0]), IMSTATUS_VISIBILITY_EVERYONE);
  Ok("invisible off", [](V2TIMCallback* cb) { IMStatusExtensions::SetInvisible(false, cb); });
  CHECK(!IMStatusExtensions::IsInvisible(NextOf(history, &cursor, "alice")));
  seen = bob.Query("alice");
  CHECK_EQ(seen.type, IMS_USER_STATUS_ONLINE);
  CHECK(seen.custom == "busy");
  CHECK_EQ(seen.last_seen_ms, 0u);

  // 3. Visibility nobody: the same hidden view for bob; alice's own status says nobody.
  before = NowMs();
  Ok("nobody", [](V2TIMCallback* cb) {
    IMStatusExtensions::SetVisibility(IMSTATUS_VISIBILITY_NOBODY, cb);
  });
  after = NowMs();
  own = NextOf(history, &cursor, "alice");
  CHECK_EQ(IMStatusExtensions::GetVisibility(own), IMSTATUS_VISIBILITY_NOBODY);
  CHECK(!IMStatusExtensions::IsInvisible(own));
  seen = bob.Query("alice");
  CHECK_EQ(seen.type, IMS_USER_STATUS_OFFLINE);
  CHECK(seen.custom.empty());
  CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
  Ok("everyone", [](V2TIMCallback* cb) {
    IMStatusExtensions::SetVisibility(IMSTATUS_VISIBILITY_EVERYONE, cb);
  });
  CHECK_EQ(IMStatusExtensions::GetVisibility(NextOf(history, &cursor, "alice")),
           IMSTATUS_VISIBILITY_EVERYONE);
  CHECK_EQ(bob.Query("alice").type, IMS_USER_STATUS_ONLINE);

  // 4. bob logs out: alice reads his last seen from the push and from a query.
  before = NowMs();
  bob.Logout();
  after = NowMs();
  V2TIMUserStatus gone = NextOf(history, &cursor, "bob");
  CHECK_EQ(gone.statusType, V2TIM_USER_STATUS_UNLOGINED);
  uint64_t last_seen = 0;
  CHECK(IMStatusExtensions::GetLastSeen(gone, &last_seen));
  CHECK(last_seen >= before && last_seen <= after);
  V2TIMUserStatusVector queried = test::GetStatusOk({"bob"});
  uint64_t queried_seen = 0;
  CHECK(IMStatusExtensions::GetLastSeen(queried[0], &queried_seen));
  CHECK_EQ(queried_seen, last_seen);
  CHECK(!IMStatusExtensions::IsInvisible(queried[0]));

  test::LogoutOk();
  manager->RemoveSDKListener(&history);
  manager->UnInitSDK();
  return test::Finish("extensions");
}
