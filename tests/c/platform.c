/* What a client takes from the system it runs on: the platform it declares at login by default
 * (IMS_PLATFORM_DEFAULT: "Windows" on Windows, "Linux" on Linux), and the names of the library's
 * threads as the system reports them: the client's callback thread "imstatus-callback" (Linux
 * keeps 15 bytes of it, Windows all of it) and the error thread "imstatus-errors". Run on Linux
 * by tests/c_api.rs and on Windows (under wine) by tests/windows.rs. */
#include "common.h"

#include <string.h>

#ifdef _WIN32
#define HOST_PLATFORM "Windows"
#define CALLBACK_THREAD "imstatus-callback"
#else
#define HOST_PLATFORM "Linux"
#define CALLBACK_THREAD "imstatus-callba"
#endif

static void expect_str(const char *what, const char *got, const char *expected) {
  if (strcmp(got, expected) != 0) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s is '%s', not '%s'", what, got, expected);
    fail_at(__FILE__, __LINE__, msg);
  }
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");
  ims_client *erin = new_client(server, IMS_PLATFORM_DEFAULT);

  call login;
  call_init(&login, "login");
  CHECK_EQ(ims_client_login(erin, "erin", sig_of("erin"), callback_of(&login)), IMS_OK);
  expect_success(&login);
  expect_str("the callback thread's name", login.thread, CALLBACK_THREAD);

  /* Erin's own status lists the device she logged in with, by the platform it declared. */
  const char *self[] = {"erin"};
  call get;
  call_init(&get, "get_user_status(self)");
  CHECK_EQ(ims_client_get_user_status(erin, self, 1, status_callback_of(&get)), IMS_OK);
  expect_success(&get);
  expect_str("the callback thread's name", get.thread, CALLBACK_THREAD);
  CHECK_EQ(get.count, 1);
  CHECK_EQ(get.statuses[0].status_type, IMS_USER_STATUS_ONLINE);
  CHECK_EQ(get.statuses[0].device_count, 1);
  expect_str("the default platform", get.statuses[0].devices[0], HOST_PLATFORM);

  /* An error without a client: on the library's error thread. */
  call fail;
  call_init(&fail, "ims_callback_fail");
  CHECK_EQ(ims_callback_fail(NULL, callback_of(&fail), IMS_ERR_SDK_NOT_INITIALIZED, "no SDK"),
           IMS_OK);
  expect_error(&fail, IMS_ERR_SDK_NOT_INITIALIZED);
  expect_str("the error thread's name", fail.thread, "imstatus-errors");

  call logout;
  call_init(&logout, "logout");
  CHECK_EQ(ims_client_logout(erin, callback_of(&logout)), IMS_OK);
  expect_success(&logout);
  ims_client_free(erin);
  return finish("platform");
}
