/* ims_config_set_async_refusals: a client made with it refuses no callback-taking call
 * synchronously. Each call it would have refused returns IMS_OK, and its callback gets on_error
 * with the code and description the call would have returned, then free_user_data: after the
 * call returned, on the callback thread (or through the dispatcher hook), in call order. A NULL
 * client stays synchronous; after ims_client_shutdown every call gets 6013 this way. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char BAD_UTF8[] = {'a', 'l', (char)0xff, 'c', 'e', '\0'};

static ims_client *async_client(const char *server, ims_post_fn post, void *ctx) {
  ims_config *config = NULL;
  CHECK_EQ(ims_config_new((uint32_t)strtoul(env_or_die("IMS_TEST_APP_ID"), NULL, 10), &config),
           IMS_OK);
  CHECK_EQ(ims_config_set_server_addr(config, server), IMS_OK);
  CHECK_EQ(ims_config_set_async_refusals(config, true), IMS_OK);
  if (post) CHECK_EQ(ims_config_set_dispatcher(config, post, ctx), IMS_OK);
  ims_client *client = NULL;
  CHECK_EQ(ims_client_new(config, &client), IMS_OK);
  ims_config_free(config);
  return client;
}

/* A refusal through the callback: the code, a description naming what was wrong. */
static void expect_refused(call *c, int32_t code, const char *needle) {
  expect_error(c, code);
  expect_callback_thread(c);
  if (strstr(c->desc, needle) == NULL) {
    char msg[800];
    snprintf(msg, sizeof msg, "call %s: description '%s' lacks '%s'", c->name, c->desc, needle);
    fail_at(__FILE__, __LINE__, msg);
  }
}

/* Makes a call with in_call set around it, so a callback run inside it is caught. */
#define REFUSED_CALL(c, expr)                                                                      \
  do {                                                                                             \
    (c)->in_call = 1;                                                                              \
    CHECK_EQ((expr), IMS_OK);                                                                      \
    (c)->in_call = 0;                                                                              \
  } while (0)

/* A host queue for the dispatcher hook, run by main. Guarded by g_lock. */
enum { MAX_TASKS = 16 };
static ims_task_fn task_run[MAX_TASKS];
static void *task_arg[MAX_TASKS];
static int tasks_posted;

static void post(void *ctx, ims_task_fn run, void *arg) {
  (void)ctx;
  pthread_mutex_lock(&g_lock);
  if (tasks_posted < MAX_TASKS) {
    task_run[tasks_posted] = run;
    task_arg[tasks_posted] = arg;
  }
  tasks_posted++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");
  ims_client *client = async_client(server, NULL, NULL);
  login_ok(client, "alice", sig_of("alice"));

  /* Every argument the library cannot take: IMS_OK, then on_error through the callback. */
  const char *with_null[] = {"bob", NULL};
  const char *with_bad[] = {"bob", BAD_UTF8};
  call null_id, bad_sig, bad_status, null_list, null_entry, bad_entry;
  call_init(&null_id, "login(NULL user_id)");
  call_init(&bad_sig, "login(invalid UTF-8 user_sig)");
  call_init(&bad_status, "set_self_status(invalid UTF-8)");
  call_init(&null_list, "get_user_status(NULL, 2)");
  call_init(&null_entry, "subscribe(NULL entry)");
  call_init(&bad_entry, "unsubscribe(invalid UTF-8 entry)");
  REFUSED_CALL(&null_id, ims_client_login(client, NULL, "sig", callback_of(&null_id)));
  REFUSED_CALL(&bad_sig, ims_client_login(client, "alice", BAD_UTF8, callback_of(&bad_sig)));
  REFUSED_CALL(&bad_status,
               ims_client_set_self_status(client, BAD_UTF8, callback_of(&bad_status)));
  REFUSED_CALL(&null_list,
               ims_client_get_user_status(client, NULL, 2, status_callback_of(&null_list)));
  REFUSED_CALL(&null_entry, ims_client_subscribe_user_status(client, with_null, 2,
                                                             callback_of(&null_entry)));
  REFUSED_CALL(&bad_entry, ims_client_unsubscribe_user_status(client, with_bad, 2,
                                                              callback_of(&bad_entry)));
  expect_refused(&null_id, IMS_ERR_INVALID_PARAMETERS, "user_id is NULL");
  expect_refused(&bad_sig, IMS_ERR_INVALID_PARAMETERS, "user_sig is not valid UTF-8");
  expect_refused(&bad_status, IMS_ERR_INVALID_PARAMETERS, "custom_status is not valid UTF-8");
  expect_refused(&null_list, IMS_ERR_INVALID_PARAMETERS, "user_ids is NULL but its count is 2");
  expect_refused(&null_entry, IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is NULL");
  expect_refused(&bad_entry, IMS_ERR_INVALID_PARAMETERS, "user_ids[1] is not valid UTF-8");
  /* In call order. */
  CHECK(null_id.seq < bad_sig.seq && bad_sig.seq < bad_status.seq &&
        bad_status.seq < null_list.seq && null_list.seq < null_entry.seq &&
        null_entry.seq < bad_entry.seq);

  /* The client is unharmed: valid calls still work. */
  call ok;
  call_init(&ok, "set_self_status after refusals");
  CHECK_EQ(ims_client_set_self_status(client, "fine", callback_of(&ok)), IMS_OK);
  expect_success(&ok);

  /* In call order with the answers the client decides at once (not logged in: 6014). */
  ims_client *idle = async_client(server, NULL, NULL);
  call first, second, third;
  call_init(&first, "logout while logged out");
  call_init(&second, "login(NULL user_sig)");
  call_init(&third, "set_self_status while logged out");
  CHECK_EQ(ims_client_logout(idle, callback_of(&first)), IMS_OK);
  CHECK_EQ(ims_client_login(idle, "bob", NULL, callback_of(&second)), IMS_OK);
  CHECK_EQ(ims_client_set_self_status(idle, "x", callback_of(&third)), IMS_OK);
  expect_error(&first, IMS_ERR_SDK_NOT_LOGGED_IN);
  expect_refused(&second, IMS_ERR_INVALID_PARAMETERS, "user_sig is NULL");
  expect_error(&third, IMS_ERR_SDK_NOT_LOGGED_IN);
  CHECK(first.seq < second.seq && second.seq < third.seq);

  /* A NULL client has no config to ask: still refused synchronously, callback untouched. */
  call null_client;
  call_init(&null_client, "login on a NULL client");
  CHECK_EQ(ims_client_login(NULL, "a", "b", callback_of(&null_client)),
           IMS_ERR_SDK_NOT_INITIALIZED);

  /* After ims_client_shutdown: 6013 through the callback, whatever the arguments. */
  CHECK_EQ(ims_client_shutdown(idle), IMS_OK);
  call after, after_bad;
  call_init(&after, "login after shutdown");
  call_init(&after_bad, "get_user_status(NULL, 1) after shutdown");
  REFUSED_CALL(&after, ims_client_login(idle, "bob", sig_of("bob"), callback_of(&after)));
  REFUSED_CALL(&after_bad,
               ims_client_get_user_status(idle, NULL, 1, status_callback_of(&after_bad)));
  expect_refused(&after, IMS_ERR_SDK_NOT_INITIALIZED, "shut down");
  expect_refused(&after_bad, IMS_ERR_SDK_NOT_INITIALIZED, "shut down");
  ims_client_free(idle);

  /* Through the dispatcher hook: posted by the callback thread, run when the host runs it. */
  ims_client *hooked = async_client(server, post, NULL);
  call hooked_refusal;
  call_init(&hooked_refusal, "refusal through the dispatcher hook");
  REFUSED_CALL(&hooked_refusal,
               ims_client_subscribe_user_status(hooked, NULL, 3, callback_of(&hooked_refusal)));
  CHECK_WAIT(tasks_posted == 1, 10);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(hooked_refusal.frees, 0); /* not before the host runs it */
  ims_task_fn run = task_run[0];
  void *arg = task_arg[0];
  pthread_mutex_unlock(&g_lock);
  run(arg);
  expect_error(&hooked_refusal, IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(hooked_refusal.on_caller_thread, 1); /* the host's thread: main */
  CHECK(strstr(hooked_refusal.desc, "user_ids is NULL") != NULL);
  ims_client_free(hooked);

  ims_client_free(client);
  sleep_ms(50);
  expect_untouched(&null_client);
  return finish("async_refusals");
}
