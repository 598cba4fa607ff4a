/* Every API on the happy path, two clients (two logged-in users) in one process, callbacks on the
 * callback thread, exactly once, free_user_data last. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");

  /* Version: header and library agree. */
  CHECK(strcmp(ims_version(), IMS_VERSION_STRING) == 0);
  CHECK_EQ(ims_version_number(), IMS_VERSION_NUMBER);
  CHECK_EQ(IMS_VERSION_NUMBER,
           IMS_VERSION_MAJOR * 10000 + IMS_VERSION_MINOR * 100 + IMS_VERSION_PATCH);
  CHECK(strcmp(ims_error_str(IMS_ERR_INVALID_PARAMETERS), "invalid parameters") == 0);
  CHECK(strcmp(ims_error_str(123456), "unknown error code") == 0);
  CHECK(strlen(ims_error_str(IMS_ERR_PANIC)) > 0);
  CHECK(IMS_ERR_PANIC == -1);

  ims_client *alice = new_client(server, IMS_PLATFORM_WINDOWS);
  CHECK_EQ(ims_client_get_login_status(alice), IMS_LOGIN_STATUS_LOGOUT);
  char user[64];
  size_t len = 99;
  CHECK_EQ(ims_client_get_login_user(alice, user, sizeof user, &len), IMS_OK);
  CHECK_EQ(len, 0);
  CHECK(strcmp(user, "") == 0);

  /* Server time before the first login: the local clock. */
  uint64_t server_time = 0;
  CHECK_EQ(ims_client_get_server_time(alice, &server_time), IMS_OK);
  CHECK(llabs((long long)server_time - (long long)time(NULL)) <= 2);
  CHECK_EQ(ims_client_get_server_time(alice, NULL), IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(ims_client_get_server_time(NULL, &server_time), IMS_ERR_SDK_NOT_INITIALIZED);

  events ev;
  events_init(&ev);
  uint64_t listener_id = 0;
  CHECK_EQ(ims_client_add_listener(alice, listener_of(&ev), &listener_id), IMS_OK);
  CHECK(listener_id != 0);

  /* Login. */
  call login;
  call_init(&login, "login");
  login.in_call = 1;
  CHECK_EQ(ims_client_login(alice, "alice", sig_of("alice"), callback_of(&login)), IMS_OK);
  login.in_call = 0;
  expect_success(&login);
  expect_callback_thread(&login);
  CHECK_WAIT(ev.connect_success >= 1, 10);
  pthread_mutex_lock(&g_lock);
  CHECK(ev.connecting >= 1);
  CHECK(ev.first_connecting_seq < ev.first_connect_success_seq);
  pthread_mutex_unlock(&g_lock);

  CHECK_EQ(ims_client_get_login_status(alice), IMS_LOGIN_STATUS_LOGINED);
  CHECK_EQ(ims_client_get_login_user(alice, user, sizeof user, &len), IMS_OK);
  CHECK_EQ(len, 5);
  /* Server time after the login: the real server's clock (on this machine, the local one). */
  CHECK_EQ(ims_client_get_server_time(alice, &server_time), IMS_OK);
  CHECK(llabs((long long)server_time - (long long)time(NULL)) <= 2);
  CHECK(strcmp(user, "alice") == 0);
  /* Too small a buffer: nothing written, the needed length reported. */
  char small[5] = {'x', 'x', 'x', 'x', 'x'};
  len = 0;
  CHECK_EQ(ims_client_get_login_user(alice, small, sizeof small, &len),
           IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(len, 5);
  CHECK(small[0] == 'x' && small[4] == 'x');
  CHECK(strstr(ims_last_error_message(), "too small") != NULL);
  len = 0;
  CHECK_EQ(ims_client_get_login_user(alice, NULL, 0, &len), IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(len, 5);

  /* setSelfStatus: answered, and echoed to the own listener (multi-device sync). */
  call set;
  call_init(&set, "set_self_status");
  CHECK_EQ(ims_client_set_self_status(alice, "in a meeting", callback_of(&set)), IMS_OK);
  expect_success(&set);
  expect_callback_thread(&set);
  CHECK_WAIT(strcmp(seen_custom(&ev, "alice"), "in a meeting") == 0, 10);

  /* getUserStatus of oneself. */
  const char *self[] = {"alice"};
  call get;
  call_init(&get, "get_user_status(self)");
  CHECK_EQ(ims_client_get_user_status(alice, self, 1, status_callback_of(&get)), IMS_OK);
  expect_success(&get);
  expect_callback_thread(&get);
  CHECK_EQ(get.count, 1);
  CHECK(strcmp(get.statuses[0].user_id, "alice") == 0);
  CHECK_EQ(get.statuses[0].status_type, IMS_USER_STATUS_ONLINE);
  CHECK(strcmp(get.statuses[0].custom_status, "in a meeting") == 0);
  CHECK_EQ(get.statuses[0].device_count, 1);
  CHECK(strcmp(get.statuses[0].devices[0], "Windows") == 0);

  /* A second client in the same process, with no address set: IMSTATUS_SERVER applies. */
  ims_client *bob = new_client(NULL, IMS_PLATFORM_MAC);
  login_ok(bob, "bob", sig_of("bob"));

  /* subscribeUserStatus, then bob's change reaches alice's listener. */
  const char *bob_only[] = {"bob"};
  call sub;
  call_init(&sub, "subscribe");
  CHECK_EQ(ims_client_subscribe_user_status(alice, bob_only, 1, callback_of(&sub)), IMS_OK);
  expect_success(&sub);
  expect_callback_thread(&sub);
  call bob_set;
  call_init(&bob_set, "bob set_self_status");
  CHECK_EQ(ims_client_set_self_status(bob, "coding", callback_of(&bob_set)), IMS_OK);
  expect_success(&bob_set);
  CHECK_WAIT(strcmp(seen_custom(&ev, "bob"), "coding") == 0, 10);

  /* getUserStatus of two users. */
  const char *both[] = {"alice", "bob"};
  call get2;
  call_init(&get2, "get_user_status(both)");
  CHECK_EQ(ims_client_get_user_status(alice, both, 2, status_callback_of(&get2)), IMS_OK);
  expect_success(&get2);
  CHECK_EQ(get2.count, 2);
  int b = find_status(get2.statuses, get2.count, "bob");
  CHECK(b >= 0);
  if (b >= 0) {
    CHECK_EQ(get2.statuses[b].status_type, IMS_USER_STATUS_ONLINE);
    CHECK(strcmp(get2.statuses[b].custom_status, "coding") == 0);
    CHECK_EQ(get2.statuses[b].device_count, 1);
    CHECK(strcmp(get2.statuses[b].devices[0], "Mac") == 0);
  }

  /* unsubscribeUserStatus: one ID, then all (NULL, 0). */
  call unsub;
  call_init(&unsub, "unsubscribe(bob)");
  CHECK_EQ(ims_client_unsubscribe_user_status(alice, bob_only, 1, callback_of(&unsub)), IMS_OK);
  expect_success(&unsub);
  call unsub_all;
  call_init(&unsub_all, "unsubscribe(all)");
  CHECK_EQ(ims_client_unsubscribe_user_status(alice, NULL, 0, callback_of(&unsub_all)), IMS_OK);
  expect_success(&unsub_all);

  /* Clearing the custom status with NULL. */
  call clear;
  call_init(&clear, "set_self_status(NULL)");
  CHECK_EQ(ims_client_set_self_status(alice, NULL, callback_of(&clear)), IMS_OK);
  expect_success(&clear);
  call get3;
  call_init(&get3, "get_user_status(self, cleared)");
  CHECK_EQ(ims_client_get_user_status(alice, self, 1, status_callback_of(&get3)), IMS_OK);
  expect_success(&get3);
  CHECK_EQ(get3.count, 1);
  CHECK(strcmp(get3.statuses[0].custom_status, "") == 0);

  /* Logout, and what a logged-out client answers. */
  call logout;
  call_init(&logout, "logout");
  CHECK_EQ(ims_client_logout(alice, callback_of(&logout)), IMS_OK);
  expect_success(&logout);
  expect_callback_thread(&logout);
  CHECK_EQ(ims_client_get_login_status(alice), IMS_LOGIN_STATUS_LOGOUT);
  CHECK_EQ(ims_client_get_login_user(alice, user, sizeof user, &len), IMS_OK);
  CHECK_EQ(len, 0);
  call after;
  call_init(&after, "get_user_status after logout");
  CHECK_EQ(ims_client_get_user_status(alice, self, 1, status_callback_of(&after)), IMS_OK);
  expect_error(&after, IMS_ERR_SDK_NOT_LOGGED_IN);
  expect_callback_thread(&after);
  call logout2;
  call_init(&logout2, "logout again");
  CHECK_EQ(ims_client_logout(alice, callback_of(&logout2)), IMS_OK);
  expect_error(&logout2, IMS_ERR_SDK_NOT_LOGGED_IN);

  /* bob sees alice as UNLOGINED now. */
  const char *alice_only[] = {"alice"};
  call get4;
  call_init(&get4, "bob gets alice");
  CHECK_EQ(ims_client_get_user_status(bob, alice_only, 1, status_callback_of(&get4)), IMS_OK);
  expect_success(&get4);
  CHECK_EQ(get4.count, 1);
  CHECK_EQ(get4.statuses[0].status_type, IMS_USER_STATUS_UNLOGINED);
  CHECK_EQ(get4.statuses[0].device_count, 0);

  CHECK_EQ(ims_client_remove_listener(alice, listener_id), IMS_OK);
  CHECK_EQ(ev.frees, 1);
  CHECK_EQ(ev.wrong_thread, 0);
  ims_client_free(alice);
  ims_client_free(bob);
  CHECK_EQ(ev.frees, 1);

  return finish("api");
}
