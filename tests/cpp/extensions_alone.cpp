// Compiled (not run) by tests/cpp_api.rs as C++11, 14, 17 and 20 with stricter warnings than the
// tests use: `#include "IMStatusExtensions.h"` alone brings in the extensions and V2TIM's surface.
#include "IMStatusExtensions.h"
int main() {
  V2TIMUserStatus status;
  uint64_t last_seen = 0;
  bool seen = IMStatusExtensions::GetLastSeen(status, &last_seen);
  IMStatusVisibility visibility = IMStatusExtensions::GetVisibility(status);
  IMStatusExtensions::SetInvisible(IMStatusExtensions::IsInvisible(status), nullptr);
  IMStatusExtensions::SetVisibility(visibility, nullptr);
  IMStatusExtensions::SetSelfStatusExpiring(status, 60000, nullptr);
  return seen ? 1 : 0;
}
