/* ims_client_shutdown: every call in flight ends with 6013 exactly once before it returns, the
 * connection closes without a logout (the server shows the device OFFLINE), and the handle stays
 * valid until ims_client_free: later calls are refused with 6013, the getters answer logged out.
 * Also: LOGINING as soon as ims_client_login returned, and shutting down from inside a callback. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static ims_client *stalling_client(void) {
  ims_client *client = NULL;
  ims_config *config = NULL;
  CHECK_EQ(ims_config_new(1, &config), IMS_OK);
  CHECK_EQ(ims_config_set_server_addr(config, env_or_die("IMS_TEST_STALL_SERVER")), IMS_OK);
  /* Nothing may time out on its own during the test. */
  CHECK_EQ(ims_config_set_request_timeout_ms(config, 600000), IMS_OK);
  CHECK_EQ(ims_client_new(config, &client), IMS_OK);
  ims_config_free(config);
  return client;
}

/* Called right after ims_client_shutdown returned: the call has ended, once, with 6013. */
static void expect_shut_down_error(call *c) {
  pthread_mutex_lock(&g_lock);
  int ok = c->errors == 1 && c->successes == 0 && c->frees == 1 && c->outcome_before_free &&
           c->code == IMS_ERR_SDK_NOT_INITIALIZED && strstr(c->desc, "shut down") != NULL;
  if (!ok) {
    char msg[800];
    snprintf(msg, sizeof msg, "call %s: successes=%d errors=%d frees=%d code=%d desc='%s'",
             c->name, c->successes, c->errors, c->frees, (int)c->code, c->desc);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

/* Shutting the client down from inside one of its callbacks. */
typedef struct inside {
  ims_client *client;
  ims_result shutdown_result, after_result;
  int returned;
} inside;

static void shut_down_inside(void *user_data) {
  inside *in = user_data;
  ims_result shut = ims_client_shutdown(in->client);
  call never;
  call_init(&never, "never");
  ims_result after = ims_client_logout(in->client, callback_of(&never));
  pthread_mutex_lock(&g_lock);
  in->shutdown_result = shut;
  in->after_result = after;
  in->returned = 1;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");

  /* 1. LOGINING as soon as login returned (this server never answers the login). */
  ims_client *silent = stalling_client();
  call login;
  call_init(&login, "login in flight");
  CHECK_EQ(ims_client_get_login_status(silent), IMS_LOGIN_STATUS_LOGOUT);
  CHECK_EQ(ims_client_login(silent, "silent-user", "any", callback_of(&login)), IMS_OK);
  CHECK_EQ(ims_client_get_login_status(silent), IMS_LOGIN_STATUS_LOGINING);
  CHECK_EQ(ims_client_shutdown(silent), IMS_OK);
  expect_shut_down_error(&login);
  CHECK_EQ(ims_client_get_login_status(silent), IMS_LOGIN_STATUS_LOGOUT);
  ims_client_free(silent);

  /* 2. Every kind of call in flight against a server that stopped answering. */
  ims_client *stalled = stalling_client();
  events ev;
  events_init(&ev);
  uint64_t id = 0;
  CHECK_EQ(ims_client_add_listener(stalled, listener_of(&ev), &id), IMS_OK);
  login_ok(stalled, "alice", "any");
  const char *ids[] = {"bob", "carol"};
  call set, get, sub, unsub, logout;
  call_init(&set, "set_self_status in flight");
  call_init(&get, "get_user_status in flight");
  call_init(&sub, "subscribe in flight");
  call_init(&unsub, "unsubscribe in flight");
  call_init(&logout, "logout in flight");
  CHECK_EQ(ims_client_set_self_status(stalled, "x", callback_of(&set)), IMS_OK);
  CHECK_EQ(ims_client_get_user_status(stalled, ids, 2, status_callback_of(&get)), IMS_OK);
  CHECK_EQ(ims_client_subscribe_user_status(stalled, ids, 2, callback_of(&sub)), IMS_OK);
  CHECK_EQ(ims_client_unsubscribe_user_status(stalled, NULL, 0, callback_of(&unsub)), IMS_OK);
  CHECK_EQ(ims_client_logout(stalled, callback_of(&logout)), IMS_OK);
  CHECK_EQ(ims_client_shutdown(stalled), IMS_OK);
  expect_shut_down_error(&set);
  expect_shut_down_error(&get);
  expect_shut_down_error(&sub);
  expect_shut_down_error(&unsub);
  expect_shut_down_error(&logout);
  expect_callback_thread(&set);

  /* The handle stays valid: later calls are refused (synchronously without async refusals). */
  call late;
  call_init(&late, "call after shutdown");
  CHECK_EQ(ims_client_set_self_status(stalled, "y", callback_of(&late)),
           IMS_ERR_SDK_NOT_INITIALIZED);
  CHECK(strstr(ims_last_error_message(), "shut down") != NULL);
  CHECK_EQ(ims_client_login(stalled, "alice", "any", callback_of(&late)),
           IMS_ERR_SDK_NOT_INITIALIZED);
  CHECK_EQ(ims_client_get_login_status(stalled), IMS_LOGIN_STATUS_LOGOUT);
  char user[16];
  size_t len = 99;
  CHECK_EQ(ims_client_get_login_user(stalled, user, sizeof user, &len), IMS_OK);
  CHECK_EQ(len, 0);
  uint64_t now = 0;
  CHECK_EQ(ims_client_get_server_time(stalled, &now), IMS_OK);
  CHECK(now > 1700000000u);
  ims_listener nothing;
  memset(&nothing, 0, sizeof nothing);
  uint64_t other = 0;
  CHECK_EQ(ims_client_add_listener(stalled, nothing, &other), IMS_ERR_SDK_NOT_INITIALIZED);
  /* Listeners stay until freed or removed, and hear nothing more. */
  CHECK_EQ(ev.frees, 0);
  CHECK_EQ(ims_client_remove_listener(stalled, id), IMS_OK);
  CHECK_EQ(ev.frees, 1);
  /* Idempotent. */
  CHECK_EQ(ims_client_shutdown(stalled), IMS_OK);
  ims_client_free(stalled);
  CHECK_EQ(ims_client_shutdown(NULL), IMS_ERR_SDK_NOT_INITIALIZED);

  /* 3. Against the real server: the device goes OFFLINE (closed without a logout). */
  ims_client *alice = new_client(server, IMS_PLATFORM_WINDOWS);
  ims_client *bob = new_client(server, IMS_PLATFORM_WINDOWS);
  login_ok(alice, "alice", sig_of("alice"));
  login_ok(bob, "bob", sig_of("bob"));
  events watch;
  events_init(&watch);
  CHECK_EQ(ims_client_add_listener(bob, listener_of(&watch), &id), IMS_OK);
  call subscribe;
  call_init(&subscribe, "bob subscribes to alice");
  const char *alice_id[] = {"alice"};
  CHECK_EQ(ims_client_subscribe_user_status(bob, alice_id, 1, callback_of(&subscribe)), IMS_OK);
  expect_success(&subscribe);
  CHECK_EQ(ims_client_shutdown(alice), IMS_OK);
  int offline;
  WAIT_FOR(offline,
           find_status(watch.statuses, watch.count, "alice") >= 0 &&
               watch.statuses[find_status(watch.statuses, watch.count, "alice")].status_type ==
                   IMS_USER_STATUS_OFFLINE,
           10);
  CHECK(offline);
  ims_client_free(alice);

  /* 4. From inside one of the client's own callbacks: no deadlock, later calls refused. */
  inside in;
  memset(&in, 0, sizeof in);
  in.client = bob;
  ims_callback cb;
  memset(&cb, 0, sizeof cb);
  cb.user_data = &in;
  cb.on_success = shut_down_inside;
  CHECK_EQ(ims_client_set_self_status(bob, "about to go", cb), IMS_OK);
  CHECK_WAIT(in.returned == 1, 20);
  CHECK_EQ(in.shutdown_result, IMS_OK);
  CHECK_EQ(in.after_result, IMS_ERR_SDK_NOT_INITIALIZED);
  ims_client_free(bob);
  CHECK_EQ(watch.frees, 1);

  return finish("shutdown");
}
