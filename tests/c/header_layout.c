/* Compiled (not run) by tests/c_header.rs as C11 and as C++17, with -Wall -Wextra -Wpedantic
 * -Werror: the header alone must be enough, and the layouts a binding relies on are pinned. */
#include "imstatus.h"

#ifdef __cplusplus
#define IMS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#include <cstddef>
#else
#define IMS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#include <stddef.h>
#endif

#define PTR sizeof(void *)

/* Callback structs: user_data first, then function pointers, free_user_data last. */
IMS_STATIC_ASSERT(sizeof(ims_callback) == 4 * PTR, "ims_callback is four pointers");
IMS_STATIC_ASSERT(offsetof(ims_callback, user_data) == 0, "user_data first");
IMS_STATIC_ASSERT(offsetof(ims_callback, on_success) == 1 * PTR, "on_success second");
IMS_STATIC_ASSERT(offsetof(ims_callback, on_error) == 2 * PTR, "on_error third");
IMS_STATIC_ASSERT(offsetof(ims_callback, free_user_data) == 3 * PTR, "free_user_data last");

IMS_STATIC_ASSERT(sizeof(ims_user_status_callback) == 4 * PTR, "four pointers");
IMS_STATIC_ASSERT(offsetof(ims_user_status_callback, on_success) == 1 * PTR, "on_success");
IMS_STATIC_ASSERT(offsetof(ims_user_status_callback, on_error) == 2 * PTR, "on_error");
IMS_STATIC_ASSERT(offsetof(ims_user_status_callback, free_user_data) == 3 * PTR, "free");

IMS_STATIC_ASSERT(sizeof(ims_listener) == 8 * PTR, "ims_listener is eight pointers");
IMS_STATIC_ASSERT(offsetof(ims_listener, user_data) == 0, "user_data first");
IMS_STATIC_ASSERT(offsetof(ims_listener, on_connecting) == 1 * PTR, "on_connecting");
IMS_STATIC_ASSERT(offsetof(ims_listener, on_connect_success) == 2 * PTR, "on_connect_success");
IMS_STATIC_ASSERT(offsetof(ims_listener, on_connect_failed) == 3 * PTR, "on_connect_failed");
IMS_STATIC_ASSERT(offsetof(ims_listener, on_kicked_offline) == 4 * PTR, "on_kicked_offline");
IMS_STATIC_ASSERT(offsetof(ims_listener, on_user_sig_expired) == 5 * PTR, "on_user_sig_expired");
IMS_STATIC_ASSERT(offsetof(ims_listener, on_user_status_changed) == 6 * PTR, "status changed");
IMS_STATIC_ASSERT(offsetof(ims_listener, free_user_data) == 7 * PTR, "free_user_data last");

IMS_STATIC_ASSERT(sizeof(ims_log_callback) == 3 * PTR, "ims_log_callback is three pointers");
IMS_STATIC_ASSERT(offsetof(ims_log_callback, on_log) == 1 * PTR, "on_log");
IMS_STATIC_ASSERT(offsetof(ims_log_callback, free_user_data) == 2 * PTR, "free_user_data");

IMS_STATIC_ASSERT(offsetof(ims_user_status, user_id) == 0, "user_id first");
IMS_STATIC_ASSERT(offsetof(ims_user_status, status_type) == PTR, "status_type");
IMS_STATIC_ASSERT(offsetof(ims_user_status, custom_status) == 2 * PTR, "custom_status");
IMS_STATIC_ASSERT(offsetof(ims_user_status, online_devices) == 3 * PTR, "online_devices");
IMS_STATIC_ASSERT(offsetof(ims_user_status, online_devices_count) == 4 * PTR, "count");
IMS_STATIC_ASSERT(sizeof(ims_user_status) == 5 * PTR, "ims_user_status is five words");

/* Fixed-width integers where V2TIM has ints. */
IMS_STATIC_ASSERT(sizeof(ims_result) == 4, "ims_result is int32_t");
IMS_STATIC_ASSERT(sizeof(ims_platform) == 4, "ims_platform is int32_t");
IMS_STATIC_ASSERT(sizeof(ims_log_level) == 4, "ims_log_level is int32_t");

/* V2TIM values. */
IMS_STATIC_ASSERT(IMS_USER_STATUS_UNKNOWN == 0 && IMS_USER_STATUS_ONLINE == 1 &&
                      IMS_USER_STATUS_OFFLINE == 2 && IMS_USER_STATUS_UNLOGINED == 3,
                  "V2TIMUserStatusType");
IMS_STATIC_ASSERT(IMS_LOGIN_STATUS_LOGINED == 1 && IMS_LOGIN_STATUS_LOGINING == 2 &&
                      IMS_LOGIN_STATUS_LOGOUT == 3,
                  "V2TIMLoginStatus");
IMS_STATIC_ASSERT(IMS_LOG_LEVEL_NONE == 0 && IMS_LOG_LEVEL_DEBUG == 3 && IMS_LOG_LEVEL_INFO == 4 &&
                      IMS_LOG_LEVEL_WARN == 5 && IMS_LOG_LEVEL_ERROR == 6,
                  "V2TIMLogLevel");
IMS_STATIC_ASSERT(IMS_ERR_SDK_NOT_INITIALIZED == 6013 && IMS_ERR_SDK_NOT_LOGGED_IN == 6014 &&
                      IMS_ERR_INVALID_PARAMETERS == 6017 && IMS_ERR_REQUEST_TIME_OUT == 6012,
                  "V2TIMErrorCode");
IMS_STATIC_ASSERT(10 - IMS_ERR_PANIC == 11, "IMS_ERR_PANIC is one operand");

/* Every function is declared with the expected type. */
typedef ims_result (*login_fn)(ims_client *, const char *, const char *, ims_callback);
typedef ims_result (*get_fn)(ims_client *, const char *const *, size_t, ims_user_status_callback);
typedef int32_t (*status_fn)(const ims_client *);

int ims_header_layout_check(void);
int ims_header_layout_check(void) {
  login_fn login = ims_client_login;
  get_fn get = ims_client_get_user_status;
  status_fn status = ims_client_get_login_status;
  return login != 0 && get != 0 && status != 0;
}
