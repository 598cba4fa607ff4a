// Errors through the wrapper, each reported exactly once through OnError (never inside the
// call), with the V2TIM code: not initialised (6013, decided by the wrapper, on the library's
// "imstatus-errors" thread); not logged in (6014); bad UserSigs (70003, 70013); bad IDs (7003);
// strings the library refuses (invalid UTF-8: on the callback thread, in call order) or a C
// string cannot carry (NUL bytes: on the "imstatus-errors" thread) (6017);
// empty and oversized lists and a too-long custom status (6017); the Basic edition (7013); the
// status switch off (72001); the rate limit (7008); an unreachable server (9508).
#include <string>
#include <vector>

#include "V2TIMManager.h"
#include "harness.h"

using test::OutcomePtr;

namespace {

V2TIMManager* M() { return V2TIMManager::GetInstance(); }

OutcomePtr Login(const std::string& user, const std::string& sig) {
  return test::Start("login " + user, [&](V2TIMCallback* cb) {
    M()->Login(V2TIMString(user.data(), user.size()), V2TIMString(sig.data(), sig.size()), cb);
  });
}

OutcomePtr Set(const std::string& custom) {
  V2TIMUserStatus status;
  status.customStatus = V2TIMString(custom.data(), custom.size());
  return test::Start("set", [&](V2TIMCallback* cb) { M()->SetSelfStatus(status, cb); });
}

OutcomePtr Get(const V2TIMStringVector& ids) {
  return test::StartStatus("get", [&](V2TIMValueCallback<V2TIMUserStatusVector>* cb) {
    M()->GetUserStatus(ids, cb);
  });
}

OutcomePtr Subscribe(const V2TIMStringVector& ids) {
  return test::Start("subscribe", [&](V2TIMCallback* cb) { M()->SubscribeUserStatus(ids, cb); });
}

OutcomePtr Unsubscribe(const V2TIMStringVector& ids) {
  return test::Start("unsubscribe",
                     [&](V2TIMCallback* cb) { M()->UnsubscribeUserStatus(ids, cb); });
}

OutcomePtr Logout() {
  return test::Start("logout", [&](V2TIMCallback* cb) { M()->Logout(cb); });
}

V2TIMStringVector Many(size_t n) {
  V2TIMStringVector ids;
  for (size_t i = 0; i < n; ++i) ids.PushBack(("user" + std::to_string(i)).c_str());
  return ids;
}

// An error of a call that never reached the SDK's client: on the library's error thread.
void ExpectErrorThreadError(const OutcomePtr& o, int code, const char* file = __builtin_FILE(),
                            int line = __builtin_LINE()) {
  test::ExpectError(o, code, 15, file, line);
  std::lock_guard<std::mutex> lock(test::Lock());
  if (o->thread != "imstatus-errors") {
    test::Fail(file, line, "call '" + o->name + "' ran on thread '" + o->thread + "'");
  }
}

// An error the SDK's client decided: on its callback thread.
void ExpectClientError(const OutcomePtr& o, int code, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
  test::ExpectError(o, code, 15, file, line);
  test::ExpectCallbackThread(o, file, line);
}

void NotInitialised() {
  ExpectErrorThreadError(Login("alice", test::SigOf("alice")), ERR_SDK_NOT_INITIALIZED);
  ExpectErrorThreadError(Logout(), ERR_SDK_NOT_INITIALIZED);
  ExpectErrorThreadError(Set("x"), ERR_SDK_NOT_INITIALIZED);
  ExpectErrorThreadError(Get(test::Ids({"alice"})), ERR_SDK_NOT_INITIALIZED);
  ExpectErrorThreadError(Subscribe(test::Ids({"bob"})), ERR_SDK_NOT_INITIALIZED);
  ExpectErrorThreadError(Unsubscribe(test::Ids({})), ERR_SDK_NOT_INITIALIZED);
  // Many at once, and nullptr callbacks: nothing to report, nothing breaks.
  std::vector<OutcomePtr> burst;
  for (int i = 0; i < 50; ++i) burst.push_back(Set("burst"));
  for (const OutcomePtr& o : burst) ExpectErrorThreadError(o, ERR_SDK_NOT_INITIALIZED);
  V2TIMUserStatus status;
  M()->Login("alice", "sig", nullptr);
  M()->Logout(nullptr);
  M()->SetSelfStatus(status, nullptr);
  M()->GetUserStatus(test::Ids({"a"}), nullptr);
  M()->SubscribeUserStatus(test::Ids({"a"}), nullptr);
  M()->UnsubscribeUserStatus(test::Ids({"a"}), nullptr);
}

void NotLoggedIn() {
  test::ExpectError(Set("x"), ERR_SDK_NOT_LOGGED_IN);
  test::ExpectError(Get(test::Ids({"alice"})), ERR_SDK_NOT_LOGGED_IN);
  test::ExpectError(Subscribe(test::Ids({"bob"})), ERR_SDK_NOT_LOGGED_IN);
  test::ExpectError(Unsubscribe(test::Ids({"bob"})), ERR_SDK_NOT_LOGGED_IN);
  test::ExpectError(Logout(), ERR_SDK_NOT_LOGGED_IN);
}

void BadLogins() {
  test::ExpectError(Login("alice", "not-a-usersig"), ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
  test::ExpectError(Login("alice", test::SigOf("bob")), ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
  test::ExpectError(Login("tab\there", test::SigOf("alice")), ERR_SDK_COMM_INVALID_IDENTIFIER);
  // Not UTF-8: the library refuses it, through the callback (async refusals).
  ExpectClientError(Login("\xff\xfe", test::SigOf("alice")), ERR_INVALID_PARAMETERS);
  // A NUL byte cannot cross the C ABI: the wrapper reports it through the library.
  ExpectErrorThreadError(Login(std::string("ali\0ce", 6), test::SigOf("alice")),
                         ERR_INVALID_PARAMETERS);
  CHECK_EQ(M()->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
}

void BadArguments() {
  // Strings.
  ExpectClientError(Set("\xc3\x28"), ERR_INVALID_PARAMETERS);
  ExpectErrorThreadError(Set(std::string("a\0b", 3)), ERR_INVALID_PARAMETERS);
  test::ExpectError(Set(std::string(101, 'x')), ERR_INVALID_PARAMETERS);
  test::ExpectSuccess(Set(std::string(100, 'x')));
  V2TIMStringVector with_nul;
  with_nul.PushBack(V2TIMString("b\0b", 3));
  ExpectErrorThreadError(Get(with_nul), ERR_INVALID_PARAMETERS);
  ExpectErrorThreadError(Subscribe(with_nul), ERR_INVALID_PARAMETERS);
  ExpectErrorThreadError(Unsubscribe(with_nul), ERR_INVALID_PARAMETERS);
  V2TIMStringVector not_utf8;
  not_utf8.PushBack("\xff");
  ExpectClientError(Get(not_utf8), ERR_INVALID_PARAMETERS);


  // Lists.
  test::ExpectError(Get(V2TIMStringVector()), ERR_INVALID_PARAMETERS);
  test::ExpectError(Get(Many(501)), ERR_INVALID_PARAMETERS);
  OutcomePtr get500 = Get(Many(500));
  test::ExpectSuccess(get500);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(get500->statuses.Size(), 500u);
  }
  test::ExpectError(Subscribe(V2TIMStringVector()), ERR_INVALID_PARAMETERS);
  test::ExpectError(Subscribe(Many(101)), ERR_INVALID_PARAMETERS);
  test::ExpectError(Subscribe(test::Ids({"alice"})), ERR_INVALID_PARAMETERS);  // only self
  test::ExpectError(Unsubscribe(Many(101)), ERR_INVALID_PARAMETERS);
  // A bad ID among good ones: only the good ones are answered.
  OutcomePtr mixed = Get(test::Ids({"alice", "tab\there"}));
  test::ExpectSuccess(mixed);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(mixed->statuses.Size(), 1u);
  }
}

void RateLimit() {
  // subscribe: 20 calls per 5 s (a few were used above; 25 more surely hit the limit).
  std::vector<OutcomePtr> calls;
  for (int i = 0; i < 25; ++i) calls.push_back(Subscribe(test::Ids({"bob"})));
  int limited = 0;
  for (const OutcomePtr& o : calls) {
    CHECK_WAIT(o->Done(), 15);
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(o->successes + o->errors, 1);
    if (o->errors) {
      CHECK_EQ(o->code, static_cast<int>(ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT));
      limited++;
    }
  }
  CHECK(limited >= 5);
}

// An app without the Ultimate edition or without the status switch.
void OtherApp(const char* app_var, const char* sig_prefix, int code) {
  CHECK(M()->InitSDK(test::AppId(app_var), test::ConfigFor(test::Env("IMS_TEST_SERVER"))));
  test::LoginOk("frank", test::SigOf("frank", sig_prefix));
  // Always allowed: setting and querying the own status.
  test::ExpectSuccess(Set("basic is enough"));
  OutcomePtr self = Get(test::Ids({"frank"}));
  test::ExpectSuccess(self);
  // Other users, subscriptions: refused with `code`.
  test::ExpectError(Get(test::Ids({"bob"})), code);
  // With the own ID too: only the own status is answered (the call fails only when every ID
  // fails).
  OutcomePtr both = Get(test::Ids({"frank", "bob"}));
  test::ExpectSuccess(both);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(both->statuses.Size(), 1u);
    if (both->statuses.Size() == 1) CHECK(both->statuses[0].userID == "frank");
  }
  test::ExpectError(Subscribe(test::Ids({"bob"})), code);
  test::ExpectError(Unsubscribe(test::Ids({"bob"})), code);
  test::LogoutOk();
  M()->UnInitSDK();
}

void Unreachable() {
  test::RecListener events;
  M()->AddSDKListener(&events);
  CHECK(M()->InitSDK(test::AppId(), test::ConfigFor(test::Env("IMS_TEST_DEAD_SERVER"))));
  test::ExpectError(Login("alice", test::SigOf("alice")), ERR_SDK_NET_DISCONNECT);
  CHECK_WAIT(events.connect_failed >= 1, 10);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    CHECK_EQ(events.failed_code, static_cast<int>(ERR_SDK_NET_DISCONNECT));
    CHECK(events.connecting >= 1);
    CHECK_EQ(events.connect_success, 0);
    CHECK_EQ(events.wrong_thread, 0);
  }
  CHECK_EQ(M()->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
  M()->RemoveSDKListener(&events);
  M()->UnInitSDK();
}

}  // namespace

int main() {
  NotInitialised();

  CHECK(M()->InitSDK(test::AppId(), test::ConfigFor(test::Env("IMS_TEST_SERVER"))));
  NotLoggedIn();
  BadLogins();
  test::LoginOk("alice", test::SigOf("alice"));
  BadArguments();
  RateLimit();
  test::LogoutOk();
  M()->UnInitSDK();

  OtherApp("IMS_TEST_BASIC_APP_ID", "IMS_TEST_BASIC_SIG_", ERR_SDK_INTERFACE_NOT_SUPPORT);
  OtherApp("IMS_TEST_NOSWITCH_APP_ID", "IMS_TEST_NOSWITCH_SIG_",
           ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
  Unreachable();

  // After UnInitSDK: back to 6013.
  ExpectErrorThreadError(Set("x"), ERR_SDK_NOT_INITIALIZED);
  return test::Finish("errors");
}
