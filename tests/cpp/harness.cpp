// See harness.h. A translation unit of its own, so every test program also checks that the
// header-only wrapper links from two units into one program with one V2TIMManager.
#include "harness.h"

#include "thread_name.h"  // tests/c/: the OS's name of the thread (Linux, Windows)

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace test {

namespace {
std::atomic<int> g_failures(0);
std::mutex g_lock;
std::condition_variable g_cond;
}  // namespace

void Fail(const char* file, int line, const std::string& what) {
  if (g_failures.fetch_add(1) < 50) {
    std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what.c_str());
    std::fflush(stderr);
  }
}

int Failures() { return g_failures.load(); }

int Finish(const char* program) {
  int n = g_failures.load();
  if (n == 0) {
    std::printf("%s: all checks passed\n", program);
  } else {
    std::printf("%s: %d checks failed\n", program, n);
  }
  std::fflush(stdout);
  return n == 0 ? 0 : 1;
}

double Scaled(double seconds) {
  const char* scale = std::getenv("IMS_TEST_TIME_SCALE");
  double factor = scale ? std::atof(scale) : 1.0;
  return seconds * (factor > 0 ? factor : 1.0);
}

void SleepFor(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(Scaled(seconds)));
}

std::mutex& Lock() { return g_lock; }

void Notify() {
  std::lock_guard<std::mutex> lock(g_lock);
  g_cond.notify_all();
}

bool WaitUntil(const std::function<bool()>& cond, double seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(Scaled(seconds)));
  std::unique_lock<std::mutex> lock(g_lock);
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    g_cond.wait_for(lock, std::chrono::milliseconds(20));
  }
  return true;
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) {
    std::fprintf(stderr, "FAIL: environment variable %s is not set (run through cargo test)\n",
                 name);
    std::exit(2);
  }
  return value;
}

uint32_t AppId(const char* var) {
  return static_cast<uint32_t>(std::strtoul(Env(var).c_str(), nullptr, 10));
}

std::string SigOf(const std::string& user, const char* prefix) {
  return Env((prefix + user).c_str());
}

std::string ThreadName() {
  char name[64] = {0};
  ims_test_thread_name(name, sizeof name);
  return name;
}

bool IsCallbackThread(const std::string& name) {
  return name == "imstatus-callback" || name == std::string("imstatus-callback").substr(0, 15);
}

V2TIMSDKConfig ConfigFor(const std::string& server) {
  V2TIMSDKConfig config;
  config.serverAddress = server.c_str();
  return config;
}

// ---- recording callbacks ----

namespace {
void Record(const OutcomePtr& o, bool ok, int code, const char* desc,
            const V2TIMUserStatusVector* statuses) {
  std::lock_guard<std::mutex> lock(g_lock);
  if (ok) {
    o->successes++;
  } else {
    o->errors++;
    o->code = code;
    o->desc = desc;
  }
  if (statuses) o->statuses = *statuses;
  o->thread = ThreadName();
  if (o->in_call && o->caller == std::this_thread::get_id()) o->inline_call = true;
  g_cond.notify_all();
}
}  // namespace

void RecCallback::OnSuccess() {
  Record(outcome_, true, 0, "", nullptr);
  if (then_) then_();
  delete this;
}

void RecCallback::OnError(int error_code, const V2TIMString& error_message) {
  Record(outcome_, false, error_code, error_message.CString(), nullptr);
  if (then_) then_();
  delete this;
}

void RecStatusCallback::OnSuccess(const V2TIMUserStatusVector& value) {
  Record(outcome_, true, 0, "", &value);
  if (then_) then_();
  delete this;
}

void RecStatusCallback::OnError(int error_code, const V2TIMString& error_message) {
  Record(outcome_, false, error_code, error_message.CString(), nullptr);
  if (then_) then_();
  delete this;
}

OutcomePtr Start(const std::string& name, const std::function<void(V2TIMCallback*)>& start) {
  OutcomePtr o = std::make_shared<Outcome>(name);
  {
    std::lock_guard<std::mutex> lock(g_lock);
    o->caller = std::this_thread::get_id();
    o->in_call = true;
  }
  start(new RecCallback(o));
  std::lock_guard<std::mutex> lock(g_lock);
  o->in_call = false;
  return o;
}

OutcomePtr StartStatus(
    const std::string& name,
    const std::function<void(V2TIMValueCallback<V2TIMUserStatusVector>*)>& start) {
  OutcomePtr o = std::make_shared<Outcome>(name);
  {
    std::lock_guard<std::mutex> lock(g_lock);
    o->caller = std::this_thread::get_id();
    o->in_call = true;
  }
  start(new RecStatusCallback(o));
  std::lock_guard<std::mutex> lock(g_lock);
  o->in_call = false;
  return o;
}

namespace {
void Describe(const OutcomePtr& o, const char* expected, const char* file, int line) {
  std::ostringstream msg;
  msg << "call '" << o->name << "': expected " << expected << ", got successes=" << o->successes
      << " errors=" << o->errors << " code=" << o->code << " desc='" << o->desc
      << "' inline=" << o->inline_call;
  Fail(file, line, msg.str());
}
}  // namespace

void ExpectSuccess(const OutcomePtr& o, double seconds, const char* file, int line) {
  if (!WaitUntil([&] { return o->Done(); }, seconds)) {
    Describe(o, "a success (timed out)", file, line);
    return;
  }
  SleepFor(0.01);  // a second outcome would show up here
  std::lock_guard<std::mutex> lock(g_lock);
  if (o->successes != 1 || o->errors != 0 || o->inline_call) {
    Describe(o, "exactly one success", file, line);
  }
}

void ExpectError(const OutcomePtr& o, int code, double seconds, const char* file, int line) {
  if (!WaitUntil([&] { return o->Done(); }, seconds)) {
    Describe(o, ("error " + std::to_string(code) + " (timed out)").c_str(), file, line);
    return;
  }
  SleepFor(0.01);
  std::lock_guard<std::mutex> lock(g_lock);
  if (o->errors != 1 || o->successes != 0 || o->code != code || o->inline_call ||
      o->desc.empty()) {
    Describe(o, ("exactly one error " + std::to_string(code)).c_str(), file, line);
  }
}

void ExpectCallbackThread(const OutcomePtr& o, const char* file, int line) {
  std::lock_guard<std::mutex> lock(g_lock);
  if (!IsCallbackThread(o->thread)) {
    Fail(file, line, "call '" + o->name + "' ran on thread '" + o->thread + "'");
  }
}

V2TIMStringVector Ids(const std::vector<std::string>& ids) {
  V2TIMStringVector list;
  for (const std::string& id : ids) list.PushBack(id.c_str());
  return list;
}

void LoginOk(const std::string& user, const std::string& sig) {
  OutcomePtr o = Start("login " + user, [&](V2TIMCallback* cb) {
    V2TIMManager::GetInstance()->Login(user.c_str(), sig.c_str(), cb);
  });
  ExpectSuccess(o);
}

void LogoutOk() {
  ExpectSuccess(Start("logout", [](V2TIMCallback* cb) {
    V2TIMManager::GetInstance()->Logout(cb);
  }));
}

void SetSelfStatusOk(const std::string& custom) {
  V2TIMUserStatus status;
  status.customStatus = custom.c_str();
  ExpectSuccess(Start("set " + custom, [&](V2TIMCallback* cb) {
    V2TIMManager::GetInstance()->SetSelfStatus(status, cb);
  }));
}

V2TIMUserStatusVector GetStatusOk(const std::vector<std::string>& ids) {
  V2TIMStringVector list = Ids(ids);
  OutcomePtr o = StartStatus("get", [&](V2TIMValueCallback<V2TIMUserStatusVector>* cb) {
    V2TIMManager::GetInstance()->GetUserStatus(list, cb);
  });
  ExpectSuccess(o);
  std::lock_guard<std::mutex> lock(g_lock);
  return o->statuses;
}

void SubscribeOk(const std::vector<std::string>& ids) {
  V2TIMStringVector list = Ids(ids);
  ExpectSuccess(Start("subscribe", [&](V2TIMCallback* cb) {
    V2TIMManager::GetInstance()->SubscribeUserStatus(list, cb);
  }));
}

void UnsubscribeOk(const std::vector<std::string>& ids) {
  V2TIMStringVector list = Ids(ids);
  ExpectSuccess(Start("unsubscribe", [&](V2TIMCallback* cb) {
    V2TIMManager::GetInstance()->UnsubscribeUserStatus(list, cb);
  }));
}

int Find(const V2TIMUserStatusVector& list, const std::string& user) {
  for (size_t i = 0; i < list.Size(); ++i) {
    if (user == list[i].userID.CString()) return static_cast<int>(i);
  }
  return -1;
}

// ---- recording listener ----

void RecListener::Step() {
  seq++;
  if (!IsCallbackThread(ThreadName())) wrong_thread++;
}

void RecListener::OnConnecting() {
  std::lock_guard<std::mutex> lock(g_lock);
  Step();
  if (connecting++ == 0) first_connecting_seq = seq;
  g_cond.notify_all();
}

void RecListener::OnConnectSuccess() {
  std::lock_guard<std::mutex> lock(g_lock);
  Step();
  if (connect_success++ == 0) first_success_seq = seq;
  g_cond.notify_all();
}

void RecListener::OnConnectFailed(int error_code, const V2TIMString& error_message) {
  std::lock_guard<std::mutex> lock(g_lock);
  Step();
  connect_failed++;
  failed_code = error_code;
  failed_desc = error_message.CString();
  if (error_message.Empty()) wrong_thread += 1000;  // a description is always given
  g_cond.notify_all();
}

void RecListener::OnKickedOffline() {
  std::lock_guard<std::mutex> lock(g_lock);
  Step();
  kicked++;
  g_cond.notify_all();
}

void RecListener::OnUserSigExpired() {
  std::lock_guard<std::mutex> lock(g_lock);
  Step();
  sig_expired++;
  g_cond.notify_all();
}

void RecListener::OnUserStatusChanged(const V2TIMUserStatusVector& userStatusList) {
  std::lock_guard<std::mutex> lock(g_lock);
  Step();
  status_changed++;
  for (size_t i = 0; i < userStatusList.Size(); ++i) {
    const V2TIMUserStatus& s = userStatusList[i];
    Seen& seen = users[s.userID.CString()];
    seen.type = s.statusType;
    seen.custom = s.customStatus.CString();
    seen.devices.clear();
    for (size_t j = 0; j < s.onlineDevices.Size(); ++j) {
      seen.devices.push_back(s.onlineDevices[j].CString());
    }
    seen.events++;
  }
  g_cond.notify_all();
}

int RecListener::EventsOf(const std::string& user) {
  auto it = users.find(user);
  return it == users.end() ? 0 : it->second.events;
}

std::string RecListener::CustomOf(const std::string& user) {
  auto it = users.find(user);
  return it == users.end() ? std::string() : it->second.custom;
}

// ---- Peer ----

namespace {
struct PeerCall {
  bool done = false;
  int code = 0;
};

void PeerSuccess(void* user_data) {
  std::lock_guard<std::mutex> lock(g_lock);
  static_cast<PeerCall*>(user_data)->done = true;
  g_cond.notify_all();
}

void PeerError(void* user_data, int32_t code, const char*) {
  std::lock_guard<std::mutex> lock(g_lock);
  PeerCall* call = static_cast<PeerCall*>(user_data);
  call->code = code;
  call->done = true;
  g_cond.notify_all();
}
}  // namespace

Peer::Peer(const std::string& user, const std::string& sig, uint32_t app,
           const std::string& server, ims_platform platform)
    : user_(user) {
  ims_config* config = nullptr;
  CHECK_EQ(ims_config_new(app, &config), IMS_OK);
  CHECK_EQ(ims_config_set_server_addr(config, server.c_str()), IMS_OK);
  CHECK_EQ(ims_config_set_platform(config, platform), IMS_OK);
  CHECK_EQ(ims_client_new(config, &client_), IMS_OK);
  ims_config_free(config);
  int code = Wait(
      [&](ims_callback cb) { return ims_client_login(client_, user.c_str(), sig.c_str(), cb); },
      "peer login");
  if (code != 0) Fail(__FILE__, __LINE__, "peer " + user + " login: " + std::to_string(code));
}

Peer::~Peer() { ims_client_free(client_); }

void Peer::SetStatus(const std::string& custom) {
  int code = Wait(
      [&](ims_callback cb) { return ims_client_set_self_status(client_, custom.c_str(), cb); },
      "peer set status");
  if (code != 0) Fail(__FILE__, __LINE__, "peer " + user_ + " set: " + std::to_string(code));
}

void Peer::Logout() {
  int code = Wait([&](ims_callback cb) { return ims_client_logout(client_, cb); }, "peer logout");
  if (code != 0) Fail(__FILE__, __LINE__, "peer " + user_ + " logout: " + std::to_string(code));
}

namespace {
struct PeerQuery {
  bool done = false;
  int code = 0;
  std::vector<Peer::View> views;
};

void PeerStatuses(void* user_data, const ims_user_status* statuses, size_t count) {
  std::lock_guard<std::mutex> lock(g_lock);
  PeerQuery* query = static_cast<PeerQuery*>(user_data);
  for (size_t i = 0; i < count; ++i) {
    Peer::View view;
    view.type = statuses[i].status_type;
    view.custom = statuses[i].custom_status;
    if (ims_status_last_seen_ms(&statuses[i], &view.last_seen_ms) != IMS_OK) query->code = -3;
    query->views.push_back(view);
  }
  query->done = true;
  g_cond.notify_all();
}

void PeerQueryError(void* user_data, int32_t code, const char*) {
  std::lock_guard<std::mutex> lock(g_lock);
  PeerQuery* query = static_cast<PeerQuery*>(user_data);
  query->code = code;
  query->done = true;
  g_cond.notify_all();
}
}  // namespace

Peer::View Peer::Query(const std::string& user) {
  PeerQuery query;  // outlives the call: waited for below (no free_user_data)
  ims_user_status_callback cb = {&query, PeerStatuses, PeerQueryError, nullptr};
  const char* ids[] = {user.c_str()};
  if (ims_client_get_user_status(client_, ids, 1, cb) != IMS_OK) {
    Fail(__FILE__, __LINE__, std::string("peer query refused: ") + ims_last_error_message());
    return View();
  }
  if (!WaitUntil([&] { return query.done; }, 15)) {
    Fail(__FILE__, __LINE__, "peer query timed out");
    std::abort();  // the library still holds &query
  }
  std::lock_guard<std::mutex> lock(g_lock);
  if (query.code != 0 || query.views.size() != 1) {
    Fail(__FILE__, __LINE__, "peer query of " + user + ": " + std::to_string(query.code));
    return View();
  }
  return query.views[0];
}

int Peer::Wait(const std::function<ims_result(ims_callback)>& start, const char* what) {
  // Ours, not the library's (no free_user_data): read after the outcome, then deleted.
  PeerCall* call = new PeerCall();
  ims_callback cb = {call, PeerSuccess, PeerError, nullptr};
  ims_result result = start(cb);
  if (result != IMS_OK) {
    delete call;
    Fail(__FILE__, __LINE__, std::string(what) + " refused: " + ims_last_error_message());
    return result;
  }
  if (!WaitUntil([&] { return call->done; }, 15)) {
    Fail(__FILE__, __LINE__, std::string(what) + " timed out");
    return -2;  // leaks the record; the program fails anyway
  }
  int code;
  {
    std::lock_guard<std::mutex> lock(g_lock);
    code = call->code;
  }
  delete call;
  return code;
}

V2TIMManager* ManagerSeenByHarness() { return V2TIMManager::GetInstance(); }

}  // namespace test
