/* The dispatcher hook: a host that runs every callback on its own thread (here: main, like a UI
 * loop), including the 6013s of calls cut short by ims_client_free. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

typedef struct task {
  ims_task_fn run;
  void *arg;
  struct task *next;
} task;

/* The host's queue; guarded by g_lock. */
typedef struct host_queue {
  task *head, *tail;
  int posted, ran;
  int posts_off_callback_thread;
} host_queue;

static void post(void *ctx, ims_task_fn run, void *arg) {
  host_queue *q = ctx;
  char name[32];
  thread_name(name, sizeof name);
  task *t = malloc(sizeof *t);
  if (!t) abort();
  t->run = run;
  t->arg = arg;
  t->next = NULL;
  pthread_mutex_lock(&g_lock);
  if (!is_callback_thread_name(name)) q->posts_off_callback_thread++;
  if (q->tail) {
    q->tail->next = t;
  } else {
    q->head = t;
  }
  q->tail = t;
  q->posted++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

/* Runs queued tasks on the calling thread until `done` holds (checked under g_lock) or the
 * timeout passes. */
#define PUMP_UNTIL(q, done, seconds)                                                               \
  do {                                                                                             \
    struct timespec pump_dl_ = deadline_after(seconds);                                            \
    pthread_mutex_lock(&g_lock);                                                                   \
    for (;;) {                                                                                     \
      if (done) break;                                                                             \
      task *t_ = (q)->head;                                                                        \
      if (t_) {                                                                                    \
        (q)->head = t_->next;                                                                      \
        if (!(q)->head) (q)->tail = NULL;                                                          \
        pthread_mutex_unlock(&g_lock);                                                             \
        t_->run(t_->arg);                                                                          \
        free(t_);                                                                                  \
        pthread_mutex_lock(&g_lock);                                                               \
        (q)->ran++;                                                                                \
        continue;                                                                                  \
      }                                                                                            \
      if (!wait_step(&pump_dl_)) {                                                                 \
        fail_at(__FILE__, __LINE__, "timed out pumping until " #done);                             \
        break;                                                                                     \
      }                                                                                            \
    }                                                                                              \
    pthread_mutex_unlock(&g_lock);                                                                 \
  } while (0)

static void expect_on_main(const call *c) {
  pthread_mutex_lock(&g_lock);
  if (!c->on_caller_thread || c->inline_calls) {
    char msg[256];
    snprintf(msg, sizeof msg, "call %s: ran on '%s' (main: %d, inline: %d)", c->name, c->thread,
             c->on_caller_thread, c->inline_calls);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

int main(void) {
  host_queue q;
  memset(&q, 0, sizeof q);
  char main_name[32];
  thread_name(main_name, sizeof main_name);

  ims_config *config = NULL;
  CHECK_EQ(ims_config_new((uint32_t)atoi(env_or_die("IMS_TEST_APP_ID")), &config), IMS_OK);
  CHECK_EQ(ims_config_set_server_addr(config, env_or_die("IMS_TEST_SERVER")), IMS_OK);
  CHECK_EQ(ims_config_set_dispatcher(config, post, &q), IMS_OK);
  ims_client *client = NULL;
  CHECK_EQ(ims_client_new(config, &client), IMS_OK);
  /* A second client from the same config, and one without the hook, in the same process. */
  ims_client *second = NULL;
  CHECK_EQ(ims_client_new(config, &second), IMS_OK);
  CHECK_EQ(ims_config_set_dispatcher(config, NULL, NULL), IMS_OK);
  ims_client *plain = NULL;
  CHECK_EQ(ims_client_new(config, &plain), IMS_OK);
  ims_config_free(config);

  events ev;
  events_init(&ev);
  ev.expect_thread = main_name;
  uint64_t id;
  CHECK_EQ(ims_client_add_listener(client, listener_of(&ev), &id), IMS_OK);

  /* Nothing runs until the host runs it. */
  call login;
  call_init(&login, "login through the hook");
  login.in_call = 1;
  CHECK_EQ(ims_client_login(client, "alice", sig_of("alice"), callback_of(&login)), IMS_OK);
  login.in_call = 0;
  CHECK_WAIT(q.posted >= 3, 10); /* connecting, connect success, login */
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(login.frees, 0);
  CHECK_EQ(ev.connecting, 0);
  pthread_mutex_unlock(&g_lock);
  PUMP_UNTIL(&q, login.frees == 1, 10);
  expect_success(&login);
  expect_on_main(&login);
  CHECK_EQ(ev.connecting, 1);
  CHECK_EQ(ev.connect_success, 1);
  CHECK(ev.first_connecting_seq < ev.first_connect_success_seq);

  const char *self[] = {"alice"};
  call get;
  call_init(&get, "get through the hook");
  CHECK_EQ(ims_client_get_user_status(client, self, 1, status_callback_of(&get)), IMS_OK);
  PUMP_UNTIL(&q, get.frees == 1, 10);
  expect_success(&get);
  expect_on_main(&get);
  CHECK_EQ(get.count, 1);

  /* The other clients keep their own delivery. */
  call plain_login;
  call_init(&plain_login, "login without the hook");
  CHECK_EQ(ims_client_login(plain, "bob", sig_of("bob"), callback_of(&plain_login)), IMS_OK);
  expect_success(&plain_login);
  expect_callback_thread(&plain_login);
  call second_login;
  call_init(&second_login, "second client through the hook");
  CHECK_EQ(ims_client_login(second, "carol", sig_of("carol"), callback_of(&second_login)),
           IMS_OK);
  PUMP_UNTIL(&q, second_login.frees == 1, 10);
  expect_success(&second_login);
  expect_on_main(&second_login);

  /* Calls in flight when the client is freed: their 6013s are posted, and run when the host
   * runs them, after ims_client_free returned. Listener events are no longer delivered. */
  call pending[4];
  const char *names[4] = {"pending 1", "pending 2", "pending 3", "pending 4"};
  for (int i = 0; i < 4; i++) {
    call_init(&pending[i], names[i]);
    CHECK_EQ(ims_client_set_self_status(client, names[i], callback_of(&pending[i])), IMS_OK);
  }
  ims_client_free(client);
  ims_client_free(second);
  pthread_mutex_lock(&g_lock);
  int ev_before = ev.status_changed;
  CHECK_EQ(ev.frees, 1);
  pthread_mutex_unlock(&g_lock);
  PUMP_UNTIL(&q, pending[0].frees && pending[1].frees && pending[2].frees && pending[3].frees &&
                     q.head == NULL,
             10);
  for (int i = 0; i < 4; i++) {
    wait_done(&pending[i]);
    pthread_mutex_lock(&g_lock);
    CHECK_EQ(pending[i].successes + pending[i].errors, 1);
    CHECK_EQ(pending[i].frees, 1);
    if (pending[i].errors) CHECK_EQ(pending[i].code, IMS_ERR_SDK_NOT_INITIALIZED);
    pthread_mutex_unlock(&g_lock);
    expect_on_main(&pending[i]);
  }
  CHECK_EQ(ev.status_changed, ev_before);
  ims_client_free(plain);

  pthread_mutex_lock(&g_lock);
  CHECK(q.head == NULL);
  CHECK_EQ(q.posted, q.ran);
  CHECK_EQ(q.posts_off_callback_thread, 0);
  CHECK_EQ(ev.wrong_thread, 0);
  pthread_mutex_unlock(&g_lock);
  return finish("dispatcher");
}
