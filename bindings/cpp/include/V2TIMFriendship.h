// imstatus C++ V2TIM wrapper: user status types (as in V2TIM's V2TIMFriendship.h).
#ifndef IMSTATUS_V2TIM_FRIENDSHIP_H
#define IMSTATUS_V2TIM_FRIENDSHIP_H

#include <stdint.h>

#include "V2TIMCommon.h"
#include "V2TIMDefine.h"
#include "V2TIMString.h"
#include "imstatus.h"

// V2TIMUserStatus::statusType.
enum V2TIMUserStatusType {
  // A value this SDK does not know.
  V2TIM_USER_STATUS_UNKNOWN = IMS_USER_STATUS_UNKNOWN,
  // At least one device holds a live, logged-in connection.
  V2TIM_USER_STATUS_ONLINE = IMS_USER_STATUS_ONLINE,
  // No live connection, but a device went away without logging out.
  V2TIM_USER_STATUS_OFFLINE = IMS_USER_STATUS_OFFLINE,
  // Never logged in, or every device logged out.
  V2TIM_USER_STATUS_UNLOGINED = IMS_USER_STATUS_UNLOGINED,
};

// Beyond V2TIM: what a status carries past V2TIM's fields (last seen, the own switches), filled
// in by the SDK. Read it through IMStatusExtensions.h rather than directly.
struct IMStatusUserStatusExtras {
  // When the user last stopped being ONLINE, Unix milliseconds; 0 while ONLINE or never seen.
  uint64_t lastSeenMs;
  // Own status only: the user appears offline to others.
  bool invisible;
  // Own status only: one of IMS_VISIBILITY_* (imstatus.h).
  int32_t visibility;

  IMStatusUserStatusExtras() : lastSeenMs(0), invisible(false), visibility(IMS_VISIBILITY_EVERYONE) {}
};

// One user's status. SetSelfStatus reads customStatus only (empty clears it); the others are
// filled in by the SDK.
struct TIM_API V2TIMUserStatus {
  V2TIMString userID;
  V2TIMUserStatusType statusType;
  V2TIMString customStatus;
  // Platform names ("Windows", "iPhone", "Linux", ...) of the user's connected devices.
  V2TIMStringVector onlineDevices;
  // Beyond V2TIM, after V2TIM's fields (IMStatusExtensions.h reads it).
  IMStatusUserStatusExtras imstatusExtras;

  V2TIMUserStatus() : statusType(V2TIM_USER_STATUS_UNKNOWN) {}
};

DEFINE_VECTOR(V2TIMUserStatus);
typedef TXV2TIMUserStatusVector V2TIMUserStatusVector;

#endif  // IMSTATUS_V2TIM_FRIENDSHIP_H
