/* ims_client_free with calls in flight: each fires exactly once with on_error 6013, then
 * free_user_data; also when freed from inside the client's own callbacks (no deadlock). */
#include "common.h"

#include <string.h>

static void expect_freed_error(call *c) {
  /* Called right after ims_client_free returned (outside callbacks): everything has fired. */
  pthread_mutex_lock(&g_lock);
  int ok = c->errors == 1 && c->successes == 0 && c->frees == 1 && c->outcome_before_free &&
           c->code == IMS_ERR_SDK_NOT_INITIALIZED && strstr(c->desc, "freed") != NULL;
  if (!ok) {
    char msg[800];
    snprintf(msg, sizeof msg, "call %s: successes=%d errors=%d frees=%d code=%d desc='%s'",
             c->name, c->successes, c->errors, c->frees, (int)c->code, c->desc);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

/* Exactly one outcome: success, 6013, or `also_ok`. */
static void expect_exactly_once(call *c, int32_t also_ok) {
  wait_done(c);
  pthread_mutex_lock(&g_lock);
  if (c->successes + c->errors != 1 || c->frees != 1 || !c->outcome_before_free) {
    char msg[800];
    snprintf(msg, sizeof msg, "call %s: successes=%d errors=%d frees=%d", c->name,
             c->successes, c->errors, c->frees);
    fail_at(__FILE__, __LINE__, msg);
  }
  if (c->errors && c->code != IMS_ERR_SDK_NOT_INITIALIZED && c->code != also_ok) {
    char msg[800];
    snprintf(msg, sizeof msg, "call %s: unexpected error %d %s", c->name, (int)c->code, c->desc);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

/* Freeing the client from inside a callback of that client. */
typedef struct freeing {
  ims_client *client;
  call inner;        /* a call made from inside the callback, before the free */
  int inner_result;
  int free_returned; /* ims_client_free returned inside the callback */
  int successes, errors, frees;
} freeing;

static void free_inside(freeing *f) {
  const char *self[] = {"bob"};
  f->inner_result =
      ims_client_get_user_status(f->client, self, 1, status_callback_of(&f->inner));
  ims_client_free(f->client);
  pthread_mutex_lock(&g_lock);
  f->free_returned = 1;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void freeing_success(void *user_data) {
  freeing *f = user_data;
  pthread_mutex_lock(&g_lock);
  f->successes++;
  pthread_mutex_unlock(&g_lock);
  free_inside(f);
}

static void freeing_error(void *user_data, int32_t code, const char *desc) {
  (void)code;
  (void)desc;
  freeing *f = user_data;
  pthread_mutex_lock(&g_lock);
  f->errors++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void freeing_free(void *user_data) {
  freeing *f = user_data;
  pthread_mutex_lock(&g_lock);
  f->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void free_on_connect(void *user_data) { free_inside(user_data); }

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

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");

  /* 1. Every kind of call in flight against a server that stopped answering. */
  ims_client *stalled = stalling_client();
  events ev;
  events_init(&ev);
  uint64_t id;
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
  sleep_ms(200); /* let them reach the wire */
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(set.frees + get.frees + sub.frees + unsub.frees + logout.frees, 0);
  pthread_mutex_unlock(&g_lock);
  ims_client_free(stalled);
  expect_freed_error(&set);
  expect_freed_error(&get);
  expect_freed_error(&sub);
  expect_freed_error(&unsub);
  expect_freed_error(&logout);
  CHECK_EQ(ev.frees, 1);
  expect_callback_thread(&set);

  /* 2. A login in flight (the server never answers it). */
  ims_client *silent = stalling_client();
  call login;
  call_init(&login, "login in flight");
  CHECK_EQ(ims_client_login(silent, "silent-user", "any", callback_of(&login)), IMS_OK);
  CHECK_WAIT(ims_client_get_login_status(silent) == IMS_LOGIN_STATUS_LOGINING, 5);
  sleep_ms(200);
  ims_client_free(silent);
  expect_freed_error(&login);

  /* 3. Freed from inside a call's callback on the callback thread: no deadlock; the call made
   *    just before the free still fires exactly once. */
  freeing f;
  memset(&f, 0, sizeof f);
  call_init(&f.inner, "call made inside a callback, then freed");
  f.client = new_client(server, IMS_PLATFORM_DEFAULT);
  events fev;
  events_init(&fev);
  CHECK_EQ(ims_client_add_listener(f.client, listener_of(&fev), &id), IMS_OK);
  ims_callback cb = {&f, freeing_success, freeing_error, freeing_free};
  CHECK_EQ(ims_client_login(f.client, "bob", sig_of("bob"), cb), IMS_OK);
  CHECK_WAIT(f.free_returned == 1, 20);
  CHECK_WAIT(f.frees == 1, 10);
  CHECK_EQ(f.successes, 1);
  CHECK_EQ(f.inner_result, IMS_OK);
  expect_exactly_once(&f.inner, 0);
  CHECK_WAIT(fev.frees == 1, 10);

  /* 4. Freed from inside a listener event, with the login still in flight. */
  freeing g;
  memset(&g, 0, sizeof g);
  call_init(&g.inner, "call made inside a listener event, then freed");
  g.client = new_client(server, IMS_PLATFORM_DEFAULT);
  ims_listener l;
  memset(&l, 0, sizeof l);
  l.user_data = &g;
  l.on_connect_success = free_on_connect;
  CHECK_EQ(ims_client_add_listener(g.client, l, &id), IMS_OK);
  call glogin;
  call_init(&glogin, "login while the listener frees the client");
  CHECK_EQ(ims_client_login(g.client, "carol", sig_of("carol"), callback_of(&glogin)), IMS_OK);
  CHECK_WAIT(g.free_returned == 1, 20);
  expect_exactly_once(&glogin, 0);
  /* made while the login was still running */
  expect_exactly_once(&g.inner, IMS_ERR_SDK_NOT_LOGGED_IN);

  /* Let the callback threads of the clients freed from inside themselves run out. */
  sleep_ms(300);
  return finish("free_in_flight");
}
