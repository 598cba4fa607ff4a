// Helpers shared by the C++ test programs (tests/cpp/NAME.cpp), which tests/cpp_api.rs compiles
// with g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror together with harness.cpp, links against
// the library and runs against a real server (also under valgrind).
//
// The Rust side passes everything through the environment:
//   IMS_TEST_SERVER              host:port of a real server
//   IMSTATUS_SERVER              the same, for configs that name no server
//   IMS_TEST_APP_ID              an Ultimate app, both console switches on
//   IMS_TEST_BASIC_APP_ID        a Basic edition app (switches on)
//   IMS_TEST_NOSWITCH_APP_ID     an Ultimate app with the status switch off
//   IMS_TEST_SIG_<user>          UserSigs of the first app; IMS_TEST_BASIC_SIG_<user> and
//                                IMS_TEST_NOSWITCH_SIG_<user> for the others
//   IMS_TEST_SHORT_SIG_erin      a UserSig of erin (first app) that expires within seconds
//   IMS_TEST_STALL_SERVER        a fake server that accepts hello/login, then never answers
//   IMS_TEST_DEAD_SERVER         an address where nothing listens
//   IMS_TEST_TIME_SCALE          multiplies every wait (valgrind is slow)
//   IMS_TEST_TLS_*               tls.cpp's servers, CAs and pins (listed in tests/c/common.h)
#ifndef IMS_TEST_CPP_HARNESS_H
#define IMS_TEST_CPP_HARNESS_H

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "V2TIMManager.h"
#include "imstatus.h"

namespace test {

// ---- checks ----

void Fail(const char* file, int line, const std::string& what);
int Finish(const char* program);  // the exit status of main
int Failures();

#define CHECK(cond)                                         \
  do {                                                      \
    if (!(cond)) ::test::Fail(__FILE__, __LINE__, #cond);   \
  } while (0)

#define CHECK_EQ(a, b)                                                                  \
  do {                                                                                  \
    const auto& check_a_ = (a);                                                         \
    const auto& check_b_ = (b);                                                         \
    if (!(check_a_ == check_b_)) {                                                      \
      std::ostringstream check_msg_;                                                    \
      check_msg_ << #a << " == " << #b << " (" << ::test::Show(check_a_) << " != "     \
                 << ::test::Show(check_b_) << ")";                                      \
      ::test::Fail(__FILE__, __LINE__, check_msg_.str());                               \
    }                                                                                   \
  } while (0)

// Waits (polling every 20 ms, and on every Notify) until `cond` holds, scaled seconds at most.
#define CHECK_WAIT(cond, seconds)                                                          \
  do {                                                                                     \
    if (!::test::WaitUntil([&] { return static_cast<bool>(cond); }, (seconds)))            \
      ::test::Fail(__FILE__, __LINE__, "timed out waiting for " #cond);                    \
  } while (0)

inline std::string Show(const V2TIMString& s) { return "\"" + std::string(s.CString()) + "\""; }
inline std::string Show(const std::string& s) { return "\"" + s + "\""; }
inline std::string Show(const char* s) { return s ? "\"" + std::string(s) + "\"" : "NULL"; }
template <class T>
std::string Show(const T& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// ---- time and waiting ----

double Scaled(double seconds);
void SleepFor(double seconds);  // scaled

// One lock for all test state that callbacks write; Notify() after changing it.
std::mutex& Lock();
void Notify();
// Evaluates `cond` under Lock() until it holds or the scaled timeout passes.
bool WaitUntil(const std::function<bool()>& cond, double seconds);

// ---- environment ----

std::string Env(const char* name);  // fails the program when unset
uint32_t AppId(const char* var = "IMS_TEST_APP_ID");
std::string SigOf(const std::string& user, const char* prefix = "IMS_TEST_SIG_");
std::string ThreadName();
// The OS's name of the library's callback thread ("imstatus-callback" cut to 15 bytes).
bool IsCallbackThread(const std::string& name);
V2TIMSDKConfig ConfigFor(const std::string& server);

// ---- recording callbacks ----

// What one call's callback saw. Written under Lock().
struct Outcome {
  explicit Outcome(const std::string& n) : name(n) {}
  std::string name;
  int successes = 0;
  int errors = 0;
  int code = 0;
  std::string desc;
  std::string thread;
  std::thread::id caller;
  bool inline_call = false;  // ran inside the V2TIMManager call that started it
  bool in_call = false;      // set by Start() around that call
  V2TIMUserStatusVector statuses;
  bool Done() const { return successes + errors > 0; }
};

typedef std::shared_ptr<Outcome> OutcomePtr;

// Heap callbacks that record into an Outcome and then delete themselves inside OnSuccess /
// OnError, as V2TIM's samples do. `then` (optional) runs after recording, before the delete.
class RecCallback final : public V2TIMCallback {
 public:
  explicit RecCallback(OutcomePtr o, std::function<void()> then = nullptr)
      : outcome_(std::move(o)), then_(std::move(then)) {}
  void OnSuccess() override;
  void OnError(int error_code, const V2TIMString& error_message) override;

 private:
  OutcomePtr outcome_;
  std::function<void()> then_;
};

class RecStatusCallback final : public V2TIMValueCallback<V2TIMUserStatusVector> {
 public:
  explicit RecStatusCallback(OutcomePtr o, std::function<void()> then = nullptr)
      : outcome_(std::move(o)), then_(std::move(then)) {}
  void OnSuccess(const V2TIMUserStatusVector& value) override;
  void OnError(int error_code, const V2TIMString& error_message) override;

 private:
  OutcomePtr outcome_;
  std::function<void()> then_;
};

// Runs `start(callback)` for a new RecCallback / RecStatusCallback, marking the Outcome as "in
// the call" meanwhile (a callback that runs inline is reported).
OutcomePtr Start(const std::string& name, const std::function<void(V2TIMCallback*)>& start);
OutcomePtr StartStatus(const std::string& name,
                       const std::function<void(V2TIMValueCallback<V2TIMUserStatusVector>*)>& start);

// Waits for the outcome, then checks one success (or one error with `code`), never inline.
// Failures name the caller's line (GCC's __builtin_FILE/__builtin_LINE).
void ExpectSuccess(const OutcomePtr& o, double seconds = 15, const char* file = __builtin_FILE(),
                   int line = __builtin_LINE());
void ExpectError(const OutcomePtr& o, int code, double seconds = 15,
                 const char* file = __builtin_FILE(), int line = __builtin_LINE());
// The outcome ran on the library's callback thread.
void ExpectCallbackThread(const OutcomePtr& o, const char* file = __builtin_FILE(),
                          int line = __builtin_LINE());

// Blocking helpers over the singleton, checking success.
void LoginOk(const std::string& user, const std::string& sig);
void LogoutOk();
void SetSelfStatusOk(const std::string& custom);
V2TIMUserStatusVector GetStatusOk(const std::vector<std::string>& ids);
void SubscribeOk(const std::vector<std::string>& ids);
void UnsubscribeOk(const std::vector<std::string>& ids);
V2TIMStringVector Ids(const std::vector<std::string>& ids);
// Index of `user` in `list`, or -1.
int Find(const V2TIMUserStatusVector& list, const std::string& user);

// ---- recording listener ----

struct Seen {
  V2TIMUserStatusType type = V2TIM_USER_STATUS_UNKNOWN;
  std::string custom;
  std::vector<std::string> devices;
  int events = 0;  // OnUserStatusChanged entries for this user
};

class RecListener : public V2TIMSDKListener {
 public:
  void OnConnecting() override;
  void OnConnectSuccess() override;
  void OnConnectFailed(int error_code, const V2TIMString& error_message) override;
  void OnKickedOffline() override;
  void OnUserSigExpired() override;
  void OnUserStatusChanged(const V2TIMUserStatusVector& userStatusList) override;

  // All under Lock().
  int connecting = 0, connect_success = 0, connect_failed = 0, kicked = 0, sig_expired = 0;
  int status_changed = 0;
  int failed_code = 0;
  std::string failed_desc;  // the latest OnConnectFailed's message
  int seq = 0, first_connecting_seq = 0, first_success_seq = 0;
  int wrong_thread = 0;
  std::map<std::string, Seen> users;
  // Reads under Lock().
  int EventsOf(const std::string& user);
  std::string CustomOf(const std::string& user);

 private:
  void Step();
};

// ---- another user, through the C ABI (the manager is a singleton) ----

class Peer {
 public:
  // A client of `app` at `server`, logged in as `user` (waits for it).
  Peer(const std::string& user, const std::string& sig, uint32_t app = AppId(),
       const std::string& server = Env("IMS_TEST_SERVER"), ims_platform platform = IMS_PLATFORM_WEB);
  ~Peer();
  void SetStatus(const std::string& custom);  // waits for success
  void Logout();                              // waits for success
  // What this peer's query of `user` answers (waits for success), with last seen read through
  // ims_status_last_seen_ms (0: none).
  struct View {
    int32_t type = 0;
    std::string custom;
    uint64_t last_seen_ms = 0;
  };
  View Query(const std::string& user);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

 private:
  int Wait(const std::function<ims_result(ims_callback)>& start, const char* what);
  ims_client* client_ = nullptr;
  std::string user_;
};

// The manager of harness.cpp's translation unit (must be the same as everyone's).
V2TIMManager* ManagerSeenByHarness();

}  // namespace test

#endif
