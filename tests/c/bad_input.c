/* B1 across the C ABI: every kind of bad input gets an error code and a description, never a
 * crash. Pointer and encoding problems are rejected synchronously (no callback, the caller keeps
 * its user_data); rule violations are the server's to decide and come back through on_error. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char BAD_UTF8[] = {'a', 'l', (char)0xff, 'c', 'e', '\0'};

/* A synchronous rejection: the code, a description naming what was wrong, no callback. */
#define EXPECT_REJECTED(expr, code, needle)                                                        \
  do {                                                                                             \
    CHECK_EQ((expr), (code));                                                                      \
    if (strstr(ims_last_error_message(), (needle)) == NULL) {                                      \
      char msg_[512];                                                                              \
      snprintf(msg_, sizeof msg_, "%s: message '%s' lacks '%s'", #expr, ims_last_error_message(),  \
               (needle));                                                                          \
      fail_at(__FILE__, __LINE__, msg_);                                                           \
    }                                                                                              \
  } while (0)

static int listener_frees;
static void count_free(void *user_data) {
  (void)user_data;
  pthread_mutex_lock(&g_lock);
  listener_frees++;
  pthread_mutex_unlock(&g_lock);
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");
  call never;
  call_init(&never, "rejected call");
  ims_callback cb = callback_of(&never);
  ims_user_status_callback scb = status_callback_of(&never);
  const char *ids[] = {"bob"};
  char buf[64];
  size_t len = 0;
  uint64_t id = 0;

  CHECK(strcmp(ims_last_error_message(), "") == 0);

  /* NULL client: 6013 from every call, "SDK not initialized". */
  ims_listener nothing;
  memset(&nothing, 0, sizeof nothing);
  EXPECT_REJECTED(ims_client_login(NULL, "alice", "sig", cb), IMS_ERR_SDK_NOT_INITIALIZED,
                  "client is NULL");
  EXPECT_REJECTED(ims_client_logout(NULL, cb), IMS_ERR_SDK_NOT_INITIALIZED, "client is NULL");
  EXPECT_REJECTED(ims_client_set_self_status(NULL, "x", cb), IMS_ERR_SDK_NOT_INITIALIZED,
                  "client is NULL");
  EXPECT_REJECTED(ims_client_get_user_status(NULL, ids, 1, scb), IMS_ERR_SDK_NOT_INITIALIZED,
                  "client is NULL");
  EXPECT_REJECTED(ims_client_subscribe_user_status(NULL, ids, 1, cb),
                  IMS_ERR_SDK_NOT_INITIALIZED, "client is NULL");
  EXPECT_REJECTED(ims_client_unsubscribe_user_status(NULL, ids, 1, cb),
                  IMS_ERR_SDK_NOT_INITIALIZED, "client is NULL");
  EXPECT_REJECTED(ims_client_add_listener(NULL, nothing, &id), IMS_ERR_SDK_NOT_INITIALIZED,
                  "client is NULL");
  EXPECT_REJECTED(ims_client_remove_listener(NULL, 1), IMS_ERR_SDK_NOT_INITIALIZED,
                  "client is NULL");
  EXPECT_REJECTED(ims_client_get_login_user(NULL, buf, sizeof buf, &len),
                  IMS_ERR_SDK_NOT_INITIALIZED, "client is NULL");
  CHECK_EQ(ims_client_get_login_status(NULL), IMS_LOGIN_STATUS_LOGOUT);
  ims_client_free(NULL);
  ims_config_free(NULL);

  /* Configs: NULL pointers, bad values, invalid UTF-8; the client refuses unusable settings. */
  ims_config *config = NULL;
  EXPECT_REJECTED(ims_config_new(1, NULL), IMS_ERR_INVALID_PARAMETERS, "out is NULL");
  EXPECT_REJECTED(ims_config_set_server_addr(NULL, "x"), IMS_ERR_INVALID_PARAMETERS,
                  "config is NULL");
  EXPECT_REJECTED(ims_config_set_platform(NULL, IMS_PLATFORM_WEB), IMS_ERR_INVALID_PARAMETERS,
                  "config is NULL");
  EXPECT_REJECTED(ims_config_set_heartbeat_interval_ms(NULL, 1), IMS_ERR_INVALID_PARAMETERS,
                  "config is NULL");
  EXPECT_REJECTED(ims_config_set_request_timeout_ms(NULL, 1), IMS_ERR_INVALID_PARAMETERS,
                  "config is NULL");
  EXPECT_REJECTED(ims_config_set_reconnect_backoff_ms(NULL, 1, 2), IMS_ERR_INVALID_PARAMETERS,
                  "config is NULL");
  EXPECT_REJECTED(ims_config_set_dispatcher(NULL, NULL, NULL), IMS_ERR_INVALID_PARAMETERS,
                  "config is NULL");
  CHECK_EQ(ims_config_new((uint32_t)strtoul(env_or_die("IMS_TEST_APP_ID"), NULL, 10), &config),
           IMS_OK);
  EXPECT_REJECTED(ims_config_set_platform(config, 8), IMS_ERR_INVALID_PARAMETERS, "platform 8");
  EXPECT_REJECTED(ims_config_set_platform(config, -1), IMS_ERR_INVALID_PARAMETERS, "platform");
  EXPECT_REJECTED(ims_config_set_server_addr(config, BAD_UTF8), IMS_ERR_INVALID_PARAMETERS,
                  "server_addr is not valid UTF-8");
  ims_client *client = NULL;
  EXPECT_REJECTED(ims_client_new(NULL, &client), IMS_ERR_INVALID_PARAMETERS, "config is NULL");
  EXPECT_REJECTED(ims_client_new(config, NULL), IMS_ERR_INVALID_PARAMETERS, "out is NULL");
  CHECK_EQ(ims_config_set_heartbeat_interval_ms(config, 0), IMS_OK);
  EXPECT_REJECTED(ims_client_new(config, &client), IMS_ERR_INVALID_PARAMETERS,
                  "heartbeat_interval");
  CHECK(client == NULL);
  CHECK_EQ(ims_config_set_heartbeat_interval_ms(config, 120000), IMS_OK);
  CHECK_EQ(ims_config_set_server_addr(config, server), IMS_OK);
  CHECK_EQ(ims_client_new(config, &client), IMS_OK);
  ims_config_free(config);

  /* Logging: a level that is not a V2TIM one. */
  ims_log_callback no_log;
  memset(&no_log, 0, sizeof no_log);
  EXPECT_REJECTED(ims_set_log_callback(2, no_log), IMS_ERR_INVALID_PARAMETERS, "log level 2");
  EXPECT_REJECTED(ims_set_log_callback(7, no_log), IMS_ERR_INVALID_PARAMETERS, "log level 7");

  /* Before login: accepted, answered 6014 through on_error. */
  call early;
  call_init(&early, "get before login");
  CHECK_EQ(ims_client_get_user_status(client, ids, 1, status_callback_of(&early)), IMS_OK);
  expect_error(&early, IMS_ERR_SDK_NOT_LOGGED_IN);

  /* Login arguments. */
  EXPECT_REJECTED(ims_client_login(client, NULL, "sig", cb), IMS_ERR_INVALID_PARAMETERS,
                  "user_id is NULL");
  EXPECT_REJECTED(ims_client_login(client, "alice", NULL, cb), IMS_ERR_INVALID_PARAMETERS,
                  "user_sig is NULL");
  EXPECT_REJECTED(ims_client_login(client, BAD_UTF8, "sig", cb), IMS_ERR_INVALID_PARAMETERS,
                  "user_id is not valid UTF-8");
  EXPECT_REJECTED(ims_client_login(client, "alice", BAD_UTF8, cb), IMS_ERR_INVALID_PARAMETERS,
                  "user_sig is not valid UTF-8");
  /* The server's answers to bad logins come through on_error. */
  call bad_sig;
  call_init(&bad_sig, "login with a malformed UserSig");
  CHECK_EQ(ims_client_login(client, "alice", "not-a-usersig", callback_of(&bad_sig)), IMS_OK);
  expect_error(&bad_sig, IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
  call wrong_user;
  call_init(&wrong_user, "login with bob's UserSig");
  CHECK_EQ(ims_client_login(client, "alice", sig_of("bob"), callback_of(&wrong_user)), IMS_OK);
  expect_error(&wrong_user, IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
  call bad_id;
  call_init(&bad_id, "login with a non-printable userID");
  CHECK_EQ(ims_client_login(client, "tab\there", sig_of("alice"), callback_of(&bad_id)), IMS_OK);
  wait_done(&bad_id);
  CHECK_EQ(bad_id.errors, 1);
  CHECK(bad_id.code == IMS_ERR_SDK_COMM_INVALID_IDENTIFIER ||
        bad_id.code == IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
  login_ok(client, "alice", sig_of("alice"));

  /* Listener and getter out-pointers. */
  ims_listener owned;
  memset(&owned, 0, sizeof owned);
  owned.free_user_data = count_free;
  EXPECT_REJECTED(ims_client_add_listener(client, owned, NULL), IMS_ERR_INVALID_PARAMETERS,
                  "out_id is NULL");
  EXPECT_REJECTED(ims_client_remove_listener(client, 424242), IMS_ERR_INVALID_PARAMETERS,
                  "no listener with id 424242");
  EXPECT_REJECTED(ims_client_remove_listener(client, 0), IMS_ERR_INVALID_PARAMETERS,
                  "no listener with id 0");
  EXPECT_REJECTED(ims_client_get_login_user(client, buf, sizeof buf, NULL),
                  IMS_ERR_INVALID_PARAMETERS, "out_len is NULL");
  EXPECT_REJECTED(ims_client_get_login_user(client, NULL, 10, &len), IMS_ERR_INVALID_PARAMETERS,
                  "buf is NULL");
  /* An all-NULL listener is valid; removing it runs no free (it has none). */
  CHECK_EQ(ims_client_add_listener(client, nothing, &id), IMS_OK);
  CHECK_EQ(ims_client_remove_listener(client, id), IMS_OK);
  EXPECT_REJECTED(ims_client_remove_listener(client, id), IMS_ERR_INVALID_PARAMETERS,
                  "no listener");

  /* Custom status: invalid UTF-8 is rejected here; length is the server's rule. */
  EXPECT_REJECTED(ims_client_set_self_status(client, BAD_UTF8, cb), IMS_ERR_INVALID_PARAMETERS,
                  "custom_status is not valid UTF-8");
  char long_status[102];
  memset(long_status, 'x', 101);
  long_status[101] = '\0';
  call too_long;
  call_init(&too_long, "101-byte custom status");
  CHECK_EQ(ims_client_set_self_status(client, long_status, callback_of(&too_long)), IMS_OK);
  expect_error(&too_long, IMS_ERR_INVALID_PARAMETERS);
  long_status[100] = '\0';
  call max_len;
  call_init(&max_len, "100-byte custom status");
  CHECK_EQ(ims_client_set_self_status(client, long_status, callback_of(&max_len)), IMS_OK);
  expect_success(&max_len);
  /* UTF-8 that is not ASCII is fine. */
  call utf8;
  call_init(&utf8, "UTF-8 custom status");
  CHECK_EQ(ims_client_set_self_status(client, "\xe5\x90\x83\xe9\xa5\xad", callback_of(&utf8)),
           IMS_OK);
  expect_success(&utf8);

  /* Lists: NULL array with a count, NULL entries, invalid UTF-8 entries. */
  const char *with_null[] = {"bob", NULL};
  const char *with_bad[] = {"bob", BAD_UTF8};
  EXPECT_REJECTED(ims_client_get_user_status(client, NULL, 2, scb), IMS_ERR_INVALID_PARAMETERS,
                  "user_ids is NULL but its count is 2");
  EXPECT_REJECTED(ims_client_get_user_status(client, with_null, 2, scb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is NULL");
  EXPECT_REJECTED(ims_client_get_user_status(client, with_bad, 2, scb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is not valid UTF-8");
  EXPECT_REJECTED(ims_client_subscribe_user_status(client, NULL, 1, cb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids is NULL");
  EXPECT_REJECTED(ims_client_subscribe_user_status(client, with_null, 2, cb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is NULL");
  EXPECT_REJECTED(ims_client_subscribe_user_status(client, with_bad, 2, cb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is not valid UTF-8");
  EXPECT_REJECTED(ims_client_unsubscribe_user_status(client, NULL, 3, cb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids is NULL");
  EXPECT_REJECTED(ims_client_unsubscribe_user_status(client, with_null, 2, cb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is NULL");
  EXPECT_REJECTED(ims_client_unsubscribe_user_status(client, with_bad, 2, cb),
                  IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is not valid UTF-8");

  /* Empty and oversized lists are the server's to refuse, through on_error. */
  call empty_get;
  call_init(&empty_get, "get_user_status([])");
  CHECK_EQ(ims_client_get_user_status(client, NULL, 0, status_callback_of(&empty_get)), IMS_OK);
  expect_error(&empty_get, IMS_ERR_INVALID_PARAMETERS);
  call empty_sub;
  call_init(&empty_sub, "subscribe([])");
  CHECK_EQ(ims_client_subscribe_user_status(client, NULL, 0, callback_of(&empty_sub)), IMS_OK);
  expect_error(&empty_sub, IMS_ERR_INVALID_PARAMETERS);
  call self_sub;
  call_init(&self_sub, "subscribe([self])");
  const char *self[] = {"alice"};
  CHECK_EQ(ims_client_subscribe_user_status(client, self, 1, callback_of(&self_sub)), IMS_OK);
  expect_error(&self_sub, IMS_ERR_INVALID_PARAMETERS);

  enum { MANY = 501 };
  static char names[MANY][16];
  static const char *many[MANY];
  for (int i = 0; i < MANY; i++) {
    snprintf(names[i], sizeof names[i], "user%d", i);
    many[i] = names[i];
  }
  call get501;
  call_init(&get501, "get_user_status(501 IDs)");
  CHECK_EQ(ims_client_get_user_status(client, many, MANY, status_callback_of(&get501)), IMS_OK);
  expect_error(&get501, IMS_ERR_INVALID_PARAMETERS);
  call get500;
  call_init(&get500, "get_user_status(500 IDs)");
  CHECK_EQ(ims_client_get_user_status(client, many, 500, status_callback_of(&get500)), IMS_OK);
  expect_success(&get500);
  CHECK_EQ(get500.count, 500); /* never-logged-in users are UNLOGINED, not failures */
  call sub101;
  call_init(&sub101, "subscribe(101 IDs)");
  CHECK_EQ(ims_client_subscribe_user_status(client, many, 101, callback_of(&sub101)), IMS_OK);
  expect_error(&sub101, IMS_ERR_INVALID_PARAMETERS);
  call unsub101;
  call_init(&unsub101, "unsubscribe(101 IDs)");
  CHECK_EQ(ims_client_unsubscribe_user_status(client, many, 101, callback_of(&unsub101)),
           IMS_OK);
  expect_error(&unsub101, IMS_ERR_INVALID_PARAMETERS);

  /* NULL callback members: nothing to call, but free_user_data still runs, once. */
  call partial;
  call_init(&partial, "only free_user_data");
  ims_callback only_free = callback_of(&partial);
  only_free.on_success = NULL;
  only_free.on_error = NULL;
  CHECK_EQ(ims_client_set_self_status(client, "partial", only_free), IMS_OK);
  CHECK_WAIT(partial.frees == 1, 10);
  CHECK_EQ(partial.successes + partial.errors, 0);
  call only_error;
  call_init(&only_error, "only on_error");
  ims_callback err_only = callback_of(&only_error);
  err_only.on_success = NULL;
  err_only.free_user_data = NULL;
  CHECK_EQ(ims_client_subscribe_user_status(client, NULL, 0, err_only), IMS_OK);
  CHECK_WAIT(only_error.errors == 1, 10);
  CHECK_EQ(only_error.code, IMS_ERR_INVALID_PARAMETERS);
  ims_callback zero;
  memset(&zero, 0, sizeof zero);
  ims_user_status_callback zero_s;
  memset(&zero_s, 0, sizeof zero_s);
  CHECK_EQ(ims_client_set_self_status(client, "fire and forget", zero), IMS_OK);
  CHECK_EQ(ims_client_get_user_status(client, self, 1, zero_s), IMS_OK);

  /* Still working after all that. */
  call last;
  call_init(&last, "get after bad input");
  CHECK_EQ(ims_client_get_user_status(client, self, 1, status_callback_of(&last)), IMS_OK);
  expect_success(&last);
  CHECK_EQ(last.count, 1);
  CHECK(strcmp(last.statuses[0].custom_status, "fire and forget") == 0);

  ims_client_free(client);
  /* No rejected call ever called back, and rejected listeners were not freed by the library. */
  sleep_ms(100);
  expect_untouched(&never);
  CHECK_EQ(listener_frees, 0);
  return finish("bad_input");
}
