// V2TIMString, V2TIMStringVector, V2TIMUserStatus(Vector), the enums and V2TIMSDKConfig: value
// semantics (copies are independent, assignment, self-assignment, Erase, PopBack on empty),
// and what the manager answers before InitSDK without a server.
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "V2TIMManager.h"
#include "harness.h"

static void Strings() {
  V2TIMString empty;
  CHECK(empty.Empty());
  CHECK_EQ(empty.Size(), 0u);
  CHECK(empty.CString() != nullptr);
  CHECK_EQ(std::strcmp(empty.CString(), ""), 0);

  V2TIMString null_ptr(nullptr);
  CHECK(null_ptr.Empty());
  CHECK(null_ptr.CString() != nullptr);

  V2TIMString hello("hello");
  CHECK_EQ(hello.Size(), 5u);
  CHECK_EQ(hello.Length(), 5u);
  CHECK(!hello.Empty());
  CHECK_EQ(std::string(hello.CString()), "hello");

  // (const char*, size_t) keeps exactly that many bytes, NULs included.
  V2TIMString part("hello world", 5);
  CHECK(part == hello);
  V2TIMString with_nul("a\0b", 3);
  CHECK_EQ(with_nul.Length(), 3u);
  CHECK_EQ(with_nul.CString()[1], '\0');
  CHECK(V2TIMString(nullptr, 4).Empty());

  // UTF-8 passes through untouched; Size counts bytes.
  V2TIMString chinese(u8"\u542c\u97f3\u4e50");
  CHECK_EQ(chinese.Size(), 9u);

  // Copies are independent.
  V2TIMString copy(hello);
  copy[0] = 'j';
  CHECK_EQ(std::string(copy.CString()), "jello");
  CHECK_EQ(std::string(hello.CString()), "hello");

  V2TIMString assigned;
  assigned = hello;
  assigned[4] = '!';
  CHECK_EQ(std::string(assigned.CString()), "hell!");
  CHECK_EQ(std::string(hello.CString()), "hello");

  // Self-assignment keeps the value.
  V2TIMString& alias = assigned;
  assigned = alias;
  CHECK_EQ(std::string(assigned.CString()), "hell!");

  assigned = "from char*";
  CHECK_EQ(std::string(assigned.CString()), "from char*");
  const char* no_string = nullptr;
  assigned = no_string;
  CHECK(assigned.Empty());
  assigned = {};  // the seed's "{}"
  CHECK(assigned.Empty());

  // Moves leave a valid (empty) string behind.
  V2TIMString source("moved");
  V2TIMString target(std::move(source));
  CHECK_EQ(std::string(target.CString()), "moved");
  CHECK(source.CString() != nullptr);
  source = "reused";
  CHECK_EQ(std::string(source.CString()), "reused");

  // Comparisons.
  CHECK(V2TIMString("a") == V2TIMString("a"));
  CHECK(V2TIMString("a") != V2TIMString("b"));
  CHECK(V2TIMString("a") < V2TIMString("b"));
  CHECK(!(V2TIMString("b") < V2TIMString("a")));
  CHECK(hello == "hello");
  CHECK(hello != "world");
  std::map<V2TIMString, int> ordered;
  ordered[V2TIMString("b")] = 2;
  ordered[V2TIMString("a")] = 1;
  CHECK_EQ(std::string(ordered.begin()->first.CString()), "a");

  // The seed's pseudo-code line, as the samples compile it.
  for (bool clearStatus : {true, false}) {
    V2TIMUserStatus status;
    status.customStatus = clearStatus ? V2TIMString{} : "listening music";
    CHECK_EQ(status.customStatus.Empty(), clearStatus);
  }
}

static void StringVectors() {
  V2TIMStringVector list;
  CHECK(list.Empty());
  CHECK_EQ(list.Size(), 0u);
  list.PopBack();  // on empty: nothing happens
  list.PopBack();
  list.Erase(0);  // out of range: nothing happens
  CHECK(list.Empty());

  list.PushBack(u8"userid1");
  list.PushBack(V2TIMString("userid2"));
  list.PushBack("userid3");
  CHECK_EQ(list.Size(), 3u);
  CHECK(!list.Empty());
  CHECK(list[0] == "userid1");
  const V2TIMStringVector& const_list = list;
  CHECK(const_list[2] == "userid3");

  // operator[] gives a reference into the vector.
  list[1] = "changed";
  CHECK(list[1] == "changed");

  // Copies are deep and independent.
  V2TIMStringVector copy(list);
  copy[0] = "copy";
  copy.PushBack("extra");
  CHECK(list[0] == "userid1");
  CHECK_EQ(list.Size(), 3u);
  CHECK_EQ(copy.Size(), 4u);

  V2TIMStringVector assigned;
  assigned.PushBack("old");
  assigned = list;
  CHECK_EQ(assigned.Size(), 3u);
  assigned.Clear();
  CHECK_EQ(list.Size(), 3u);
  V2TIMStringVector& alias = list;
  list = alias;  // self-assignment
  CHECK_EQ(list.Size(), 3u);
  CHECK(list[2] == "userid3");

  // Erase keeps the order of the rest; out of range does nothing.
  list.Erase(1);
  CHECK_EQ(list.Size(), 2u);
  CHECK(list[0] == "userid1");
  CHECK(list[1] == "userid3");
  list.Erase(2);
  list.Erase(static_cast<size_t>(-1));
  CHECK_EQ(list.Size(), 2u);
  list.Erase(0);
  CHECK(list[0] == "userid3");

  list.PopBack();
  CHECK(list.Empty());
  list.PopBack();
  CHECK(list.Empty());

  list.PushBack("a");
  list.PushBack("b");
  list.Clear();
  CHECK(list.Empty());
  list.PushBack("after clear");
  CHECK_EQ(list.Size(), 1u);

  // Moves.
  V2TIMStringVector moved(std::move(list));
  CHECK_EQ(moved.Size(), 1u);
  list = moved;  // the moved-from vector is usable
  CHECK_EQ(list.Size(), 1u);

  // Many elements (reallocation keeps values).
  V2TIMStringVector many;
  for (int i = 0; i < 1000; ++i) many.PushBack(std::to_string(i).c_str());
  CHECK_EQ(many.Size(), 1000u);
  CHECK(many[999] == "999");
}

static void UserStatuses() {
  V2TIMUserStatus status;
  CHECK_EQ(status.statusType, V2TIM_USER_STATUS_UNKNOWN);
  CHECK(status.userID.Empty());
  CHECK(status.customStatus.Empty());
  CHECK(status.onlineDevices.Empty());

  status.userID = "alice";
  status.statusType = V2TIM_USER_STATUS_ONLINE;
  status.customStatus = "busy";
  status.onlineDevices.PushBack("Windows");
  status.onlineDevices.PushBack("iPhone");

  V2TIMUserStatusVector list;
  list.PopBack();  // safe on empty
  list.PushBack(status);
  status.customStatus = "changed after PushBack";
  CHECK(list[0].customStatus == "busy");  // PushBack copies

  V2TIMUserStatusVector copy = list;
  copy[0].onlineDevices.Erase(0);
  copy[0].userID = "bob";
  CHECK_EQ(list[0].onlineDevices.Size(), 2u);
  CHECK(list[0].onlineDevices[0] == "Windows");
  CHECK(list[0].userID == "alice");
  CHECK_EQ(copy[0].onlineDevices.Size(), 1u);
  CHECK(copy[0].onlineDevices[0] == "iPhone");

  V2TIMUserStatus copied_status = list[0];
  CHECK(copied_status.userID == "alice");
  CHECK_EQ(copied_status.statusType, V2TIM_USER_STATUS_ONLINE);

  list.PushBack(copied_status);
  list.Erase(0);
  CHECK_EQ(list.Size(), 1u);
  list.PopBack();
  list.PopBack();
  CHECK(list.Empty());
}

static void Constants() {
  CHECK_EQ(static_cast<int>(V2TIM_USER_STATUS_UNKNOWN), 0);
  CHECK_EQ(static_cast<int>(V2TIM_USER_STATUS_ONLINE), 1);
  CHECK_EQ(static_cast<int>(V2TIM_USER_STATUS_OFFLINE), 2);
  CHECK_EQ(static_cast<int>(V2TIM_USER_STATUS_UNLOGINED), 3);
  CHECK_EQ(static_cast<int>(V2TIM_STATUS_LOGINED), 1);
  CHECK_EQ(static_cast<int>(V2TIM_STATUS_LOGINING), 2);
  CHECK_EQ(static_cast<int>(V2TIM_STATUS_LOGOUT), 3);
  CHECK_EQ(static_cast<int>(V2TIM_LOG_NONE), 0);
  CHECK_EQ(static_cast<int>(V2TIM_LOG_DEBUG), 3);
  CHECK_EQ(static_cast<int>(V2TIM_LOG_INFO), 4);
  CHECK_EQ(static_cast<int>(V2TIM_LOG_WARN), 5);
  CHECK_EQ(static_cast<int>(V2TIM_LOG_ERROR), 6);
  CHECK_EQ(static_cast<int>(ERR_SUCC), 0);
  CHECK_EQ(static_cast<int>(ERR_SDK_NOT_INITIALIZED), 6013);
  CHECK_EQ(static_cast<int>(ERR_SDK_NOT_LOGGED_IN), 6014);
  CHECK_EQ(static_cast<int>(ERR_INVALID_PARAMETERS), 6017);
  CHECK_EQ(static_cast<int>(ERR_SDK_INTERFACE_NOT_SUPPORT), 7013);
  CHECK_EQ(static_cast<int>(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED), 72001);

  V2TIMSDKConfig config;
  CHECK(config.serverAddress.Empty());
  CHECK(config.logListener == nullptr);
  CHECK_EQ(config.logLevel, V2TIM_LOG_INFO);
  CHECK_EQ(config.platform, IMS_PLATFORM_DEFAULT);
  V2TIMSDKConfig copy = config;
  copy.serverAddress = "example:1";
  CHECK(config.serverAddress.Empty());
}

static void BeforeInit() {
  V2TIMManager* manager = V2TIMManager::GetInstance();
  CHECK(manager != nullptr);
  CHECK(manager == V2TIMManager::GetInstance());
  CHECK(manager == test::ManagerSeenByHarness());  // one instance across translation units
  CHECK_EQ(manager->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
  CHECK(manager->GetLoginUser().Empty());
  CHECK_EQ(std::string(manager->GetVersion().CString()), std::string(IMS_VERSION_STRING));
  CHECK_EQ(std::string(manager->GetVersion().CString()), std::string(ims_version()));
  manager->UnInitSDK();  // not initialised: nothing happens
  manager->UnInitSDK();
  manager->RemoveSDKListener(nullptr);
  manager->AddSDKListener(nullptr);
  test::RecListener never_added;
  manager->RemoveSDKListener(&never_added);
}

int main() {
  Strings();
  StringVectors();
  UserStatuses();
  Constants();
  BeforeInit();
  return test::Finish("values");
}
