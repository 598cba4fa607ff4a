// status.cpp: the imstatus C++ V2TIM API in one small program.
//
//   status_cpp APP_ID USER USERSIG [CUSTOM_STATUS [OTHER_USER...]]
//
// Logs in as USER, sets its custom status, prints the statuses of USER and the OTHER_USERs as
// "ID STATUS CUSTOM" lines, and logs out. The server is $IMSTATUS_SERVER ("host:port"), else
// 127.0.0.1:7800; set V2TIMSDKConfig::serverAddress to name it in code. The UserSig comes from
// your backend (or `imstatus usersig --app-id N --key KEY --user ID`). Exits 1 on an error.
//
// The API is V2TIM's: code written for the V2TIM (Windows) user-status API compiles against
// "V2TIMManager.h". Every call is asynchronous; its callback object runs on the SDK's callback
// thread. This program turns each callback into a std::future to wait for it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>

#include "V2TIMManager.h"

namespace {

const char* StatusName(V2TIMUserStatusType type) {
  switch (type) {
    case V2TIM_USER_STATUS_ONLINE: return "ONLINE";
    case V2TIM_USER_STATUS_OFFLINE: return "OFFLINE";
    case V2TIM_USER_STATUS_UNLOGINED: return "UNLOGINED";
    default: return "UNKNOWN";
  }
}

void Print(const char* prefix, const V2TIMUserStatusVector& list) {
  for (size_t i = 0; i < list.Size(); ++i) {
    std::printf("%s%s %s %s\n", prefix, list[i].userID.CString(), StatusName(list[i].statusType),
                list[i].customStatus.CString());
  }
  std::fflush(stdout);
}

// The outcome of one call: 0 or a V2TIM error code, and its description.
struct Result {
  int code = 0;
  std::string desc;
};

// A V2TIMCallback that fulfils a promise, then deletes itself (the SDK never touches a callback
// object after calling OnSuccess or OnError).
class PromiseCallback final : public V2TIMCallback {
 public:
  std::future<Result> Future() { return promise_.get_future(); }
  void OnSuccess() override {
    promise_.set_value(Result());
    delete this;
  }
  void OnError(int error_code, const V2TIMString& error_message) override {
    promise_.set_value(Result{error_code, error_message.CString()});
    delete this;
  }

 private:
  std::promise<Result> promise_;
};

// The same for GetUserStatus, printing the statuses it gets.
class PrintStatuses final : public V2TIMValueCallback<V2TIMUserStatusVector> {
 public:
  std::future<Result> Future() { return promise_.get_future(); }
  void OnSuccess(const V2TIMUserStatusVector& list) override {
    Print("", list);
    promise_.set_value(Result());
    delete this;
  }
  void OnError(int error_code, const V2TIMString& error_message) override {
    promise_.set_value(Result{error_code, error_message.CString()});
    delete this;
  }

 private:
  std::promise<Result> promise_;
};

// Prints status changes: subscribed users, friends, and the own account.
class Listener final : public V2TIMSDKListener {
 public:
  void OnUserStatusChanged(const V2TIMUserStatusVector& userStatusList) override {
    Print("changed: ", userStatusList);
  }
  void OnKickedOffline() override { std::fprintf(stderr, "kicked offline\n"); }
  void OnConnectFailed(int error_code, const V2TIMString& error_message) override {
    std::fprintf(stderr, "cannot connect: %d %s\n", error_code, error_message.CString());
  }
};

// Waits for a call's outcome; true when it succeeded.
bool Succeeded(std::future<Result> future, const char* what) {
  if (future.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
    std::fprintf(stderr, "%s: no answer within 15 s\n", what);
    return false;
  }
  Result result = future.get();
  if (result.code != 0) {
    std::fprintf(stderr, "%s failed: %d %s\n", what, result.code, result.desc.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s APP_ID USER USERSIG [CUSTOM_STATUS [OTHER_USER...]]\n",
                 argv[0]);
    return 2;
  }
  uint32_t app_id = static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10));
  V2TIMString user = argv[2];
  V2TIMString sig = argv[3];

  V2TIMManager* manager = V2TIMManager::GetInstance();
  Listener listener;  // kept alive until removed
  manager->AddSDKListener(&listener);

  V2TIMSDKConfig config;  // config.serverAddress = "host:7800"; empty: $IMSTATUS_SERVER
  if (!manager->InitSDK(app_id, config)) {
    std::fprintf(stderr, "InitSDK failed\n");
    return 1;
  }

  bool ok;
  {
    auto* callback = new PromiseCallback();
    std::future<Result> done = callback->Future();
    manager->Login(user, sig, callback);
    ok = Succeeded(std::move(done), "Login");
  }

  if (ok) {
    V2TIMUserStatus status;
    status.customStatus = argc > 4 ? argv[4] : "";  // empty clears it
    auto* callback = new PromiseCallback();
    std::future<Result> done = callback->Future();
    manager->SetSelfStatus(status, callback);
    ok = Succeeded(std::move(done), "SetSelfStatus");
  }

  if (ok) {
    // USER and the OTHER_USERs; querying others needs the Ultimate edition and the status
    // switch of the app.
    V2TIMStringVector ids;
    ids.PushBack(user);
    for (int i = 5; i < argc; ++i) ids.PushBack(argv[i]);
    auto* callback = new PrintStatuses();
    std::future<Result> done = callback->Future();
    manager->GetUserStatus(ids, callback);
    ok = Succeeded(std::move(done), "GetUserStatus");
  }

  if (ok) {
    auto* callback = new PromiseCallback();
    std::future<Result> done = callback->Future();
    manager->Logout(callback);
    ok = Succeeded(std::move(done), "Logout");
  }

  manager->RemoveSDKListener(&listener);
  manager->UnInitSDK();  // calls still in flight get OnError(6013) before this returns
  return ok ? 0 : 1;
}
