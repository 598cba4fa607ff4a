// Compiled (not run) by tests/cpp_api.rs with g++ and by tests/windows.rs with MinGW g++, as
// C++11, 14, 17 and 20 with stricter warnings than the tests use: `#include "V2TIMManager.h"`
// alone brings in the whole surface.
#include "V2TIMManager.h"
class L : public V2TIMSDKListener {};
class C : public V2TIMCallback {
 public:
  void OnSuccess() override {}
  void OnError(int, const V2TIMString&) override {}
};
class V : public V2TIMValueCallback<V2TIMUserStatusVector> {
 public:
  void OnSuccess(const V2TIMUserStatusVector&) override {}
  void OnError(int, const V2TIMString&) override {}
};
class G : public V2TIMLogListener {};
int main() {
  V2TIMSDKConfig config;
  V2TIMStringVector ids;
  ids.PushBack(u8"userid1");
  V2TIMUserStatus status;
  status.customStatus = "x";
  V2TIMUserStatusVector list;
  list.PushBack(status);
  V2TIMLoginStatus login = V2TIMManager::GetInstance()->GetLoginStatus();
  V2TIMUserStatusType type = V2TIM_USER_STATUS_ONLINE;
  V2TIMLogLevel level = V2TIM_LOG_INFO;
  (void)config; (void)login; (void)type; (void)level;
  return static_cast<int>(list.Size() + ids.Size()) - 2;
}
