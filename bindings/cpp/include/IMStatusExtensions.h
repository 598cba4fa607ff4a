// imstatus C++ extensions: presence beyond V2TIM, beside V2TIMManager (docs/behaviour-extensions.md).
// A custom status that expires, appearing offline, who may see the user, and reading last seen and
// the own switches from a V2TIMUserStatus. V2TIM code is unchanged: these are new names only.
//
// Header-only, C++11 or later, over the C ABI (imstatus.h) like V2TIMManager.h. Every call works
// like V2TIMManager's: through V2TIMManager::GetInstance()'s client, callbacks on the SDK's
// callback thread, never inside the call; ERR_SDK_NOT_INITIALIZED before InitSDK; the server's
// V2TIM codes through OnError.
#ifndef IMSTATUS_EXTENSIONS_H
#define IMSTATUS_EXTENSIONS_H

#include <stdint.h>

#include "V2TIMManager.h"

// Who may see the user's status (X10).
enum IMStatusVisibility {
  // Everyone who may see statuses at all (the default).
  IMSTATUS_VISIBILITY_EVERYONE = IMS_VISIBILITY_EVERYONE,
  // Only the user's friends; everyone else sees the user as if appearing offline.
  IMSTATUS_VISIBILITY_FRIENDS = IMS_VISIBILITY_FRIENDS,
  // Nobody but the user's own devices.
  IMSTATUS_VISIBILITY_NOBODY = IMS_VISIBILITY_NOBODY,
  // Read only: a value this SDK predates, sent by a newer server.
  IMSTATUS_VISIBILITY_UNKNOWN = IMS_VISIBILITY_UNKNOWN,
};

class IMStatusExtensions {
 public:
  // SetSelfStatus with an expiry: the server clears status.customStatus expireAfterMs
  // milliseconds later, as an ordinary change everyone sees (X9). Setting a status again
  // replaces the expiry. 0 or more than a year is ERR_INVALID_PARAMETERS from the server.
  static void SetSelfStatusExpiring(const V2TIMUserStatus& status, uint64_t expireAfterMs,
                                    V2TIMCallback* callback) {
    std::shared_ptr<Detail::Client> client = Detail::Current();
    if (!client) return Detail::NotInitialised(callback);
    if (Detail::HasNul(status.customStatus)) {
      return Detail::Fail(callback, IMS_ERR_INVALID_PARAMETERS, "customStatus contains a NUL byte");
    }
    Detail::StartPlain(callback, [&](ims_callback c) {
      return ims_client_set_self_status_expiring(client->get(), status.customStatus.CString(),
                                                 expireAfterMs, c);
    });
  }

  // Appears offline to everyone else, or stops (X6). Others then see the user OFFLINE without a
  // custom status, last seen frozen at this moment; the user's own devices see the truth, and
  // IsInvisible of the own status says true. Kept across logouts.
  static void SetInvisible(bool on, V2TIMCallback* callback) {
    std::shared_ptr<Detail::Client> client = Detail::Current();
    if (!client) return Detail::NotInitialised(callback);
    Detail::StartPlain(callback,
                       [&](ims_callback c) { return ims_client_set_invisible(client->get(), on, c); });
  }

  // Who may see the user (X10). A watcher who may not sees what they would see if the user
  // appeared offline. IMSTATUS_VISIBILITY_UNKNOWN (or any other value) is ERR_INVALID_PARAMETERS.
  static void SetVisibility(IMStatusVisibility visibility, V2TIMCallback* callback) {
    std::shared_ptr<Detail::Client> client = Detail::Current();
    if (!client) return Detail::NotInitialised(callback);
    Detail::StartPlain(callback, [&](ims_callback c) {
      return ims_client_set_visibility(client->get(), static_cast<int32_t>(visibility), c);
    });
  }

  // Whether the status says when the user was last seen: true with *lastSeenMs (Unix
  // milliseconds) set when the user stopped being ONLINE (frozen while the user hides); false
  // while ONLINE, for a user never seen, and for statuses made by the app (X1, X2).
  static bool GetLastSeen(const V2TIMUserStatus& status, uint64_t* lastSeenMs) {
    if (status.imstatusExtras.lastSeenMs == 0) return false;
    if (lastSeenMs != nullptr) *lastSeenMs = status.imstatusExtras.lastSeenMs;
    return true;
  }

  // The own status only: whether the user appears offline to others (X6). False for anyone else.
  static bool IsInvisible(const V2TIMUserStatus& status) { return status.imstatusExtras.invisible; }

  // The own status only: who may see the user (X10). IMSTATUS_VISIBILITY_EVERYONE for anyone
  // else.
  static IMStatusVisibility GetVisibility(const V2TIMUserStatus& status) {
    switch (status.imstatusExtras.visibility) {
      case IMS_VISIBILITY_EVERYONE:
        return IMSTATUS_VISIBILITY_EVERYONE;
      case IMS_VISIBILITY_FRIENDS:
        return IMSTATUS_VISIBILITY_FRIENDS;
      case IMS_VISIBILITY_NOBODY:
        return IMSTATUS_VISIBILITY_NOBODY;
      default:
        return IMSTATUS_VISIBILITY_UNKNOWN;
    }
  }

 private:
  // The wrapper's own helpers (V2TIMManagerImpl.h), under short names.
  struct Detail {
    typedef imstatus::v2tim_detail::Client Client;

    static std::shared_ptr<Client> Current() {
      return static_cast<imstatus::v2tim_detail::Manager*>(V2TIMManager::GetInstance())
          ->CurrentClient();
    }
    static bool HasNul(const V2TIMString& s) { return imstatus::v2tim_detail::HasNul(s); }
    static void Fail(V2TIMCallback* callback, int code, const std::string& message) {
      imstatus::v2tim_detail::Fail(callback, code, message);
    }
    static void NotInitialised(V2TIMCallback* callback) {
      Fail(callback, IMS_ERR_SDK_NOT_INITIALIZED, "the SDK is not initialised: call InitSDK first");
    }
    template <class Start>
    static void StartPlain(V2TIMCallback* callback, Start&& start) {
      imstatus::v2tim_detail::StartPlain(callback, std::forward<Start>(start));
    }
  };
};

#endif  // IMSTATUS_EXTENSIONS_H
