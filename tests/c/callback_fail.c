/* ims_callback_fail and ims_user_status_callback_fail: an error reported through a callback
 * where there is no client. on_error then free_user_data run once, after the call returned, on
 * the library's error thread "imstatus-errors", in the order reported; with a config, through its
 * dispatcher hook. A success code is refused synchronously and leaves the callback untouched. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char BAD_UTF8[] = {'b', 'a', 'd', ' ', (char)0xff, '\0'};

static void expect_error_thread(const call *c) {
  pthread_mutex_lock(&g_lock);
  if (strcmp(c->thread, "imstatus-errors") != 0 || c->on_caller_thread) {
    char msg[256];
    snprintf(msg, sizeof msg, "call %s: ran on '%s' (caller's thread: %d)", c->name, c->thread,
             c->on_caller_thread);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

/* A host queue for the dispatcher hook, run by main. Guarded by g_lock. */
enum { MAX_TASKS = 8 };
static ims_task_fn task_run[MAX_TASKS];
static void *task_arg[MAX_TASKS];
static char poster[MAX_TASKS][32];
static int tasks_posted;

static void post(void *ctx, ims_task_fn run, void *arg) {
  int *posts = ctx;
  pthread_mutex_lock(&g_lock);
  (*posts)++;
  if (tasks_posted < MAX_TASKS) {
    task_run[tasks_posted] = run;
    task_arg[tasks_posted] = arg;
    thread_name(poster[tasks_posted], sizeof poster[tasks_posted]);
  }
  tasks_posted++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

int main(void) {
  /* The V2TIM case: no client yet. */
  call uninit;
  call_init(&uninit, "6013 without a client");
  uninit.in_call = 1;
  CHECK_EQ(ims_callback_fail(NULL, callback_of(&uninit), IMS_ERR_SDK_NOT_INITIALIZED,
                             "the SDK is not initialised"),
           IMS_OK);
  uninit.in_call = 0;
  expect_error(&uninit, IMS_ERR_SDK_NOT_INITIALIZED);
  expect_error_thread(&uninit);
  CHECK(strcmp(uninit.desc, "the SDK is not initialised") == 0);

  /* The value callback; a NULL description is ims_error_str(code). */
  call statuses;
  call_init(&statuses, "ims_user_status_callback_fail");
  statuses.in_call = 1;
  CHECK_EQ(ims_user_status_callback_fail(NULL, status_callback_of(&statuses),
                                         IMS_ERR_INVALID_PARAMETERS, NULL),
           IMS_OK);
  statuses.in_call = 0;
  expect_error(&statuses, IMS_ERR_INVALID_PARAMETERS);
  expect_error_thread(&statuses);
  CHECK(strcmp(statuses.desc, ims_error_str(IMS_ERR_INVALID_PARAMETERS)) == 0);

  /* A description that is not UTF-8 is reported, with U+FFFD for the bad byte. */
  call bad_text;
  call_init(&bad_text, "description with invalid UTF-8");
  CHECK_EQ(ims_callback_fail(NULL, callback_of(&bad_text), 6017, BAD_UTF8), IMS_OK);
  expect_error(&bad_text, 6017);
  CHECK(strcmp(bad_text.desc, "bad \xef\xbf\xbd") == 0);

  /* In the order reported. */
  enum { MANY = 20 };
  static call many[MANY];
  for (int i = 0; i < MANY; i++) {
    call_init(&many[i], "one of many");
    CHECK_EQ(ims_callback_fail(NULL, callback_of(&many[i]), 9508, "in order"), IMS_OK);
  }
  for (int i = 0; i < MANY; i++) expect_error(&many[i], 9508);
  for (int i = 1; i < MANY; i++) CHECK(many[i - 1].seq < many[i].seq);

  /* Only errors: IMS_OK as a code is refused at once, and the callback stays the caller's. */
  call not_an_error;
  call_init(&not_an_error, "code IMS_OK");
  CHECK_EQ(ims_callback_fail(NULL, callback_of(&not_an_error), IMS_OK, "x"),
           IMS_ERR_INVALID_PARAMETERS);
  CHECK(strstr(ims_last_error_message(), "IMS_OK") != NULL);
  CHECK_EQ(ims_user_status_callback_fail(NULL, status_callback_of(&not_an_error), IMS_OK, NULL),
           IMS_ERR_INVALID_PARAMETERS);

  /* A fire-and-forget callback (all NULL) is fine. */
  ims_callback zero;
  memset(&zero, 0, sizeof zero);
  CHECK_EQ(ims_callback_fail(NULL, zero, 6013, NULL), IMS_OK);

  /* Through a config's dispatcher hook: posted by the error thread, run by the host (main); the
   * config may be freed as soon as the call returned. */
  int posts = 0;
  ims_config *config = NULL;
  CHECK_EQ(ims_config_new(1, &config), IMS_OK);
  CHECK_EQ(ims_config_set_dispatcher(config, post, &posts), IMS_OK);
  call hooked;
  call_init(&hooked, "through the dispatcher hook");
  CHECK_EQ(ims_callback_fail(config, callback_of(&hooked), 6013, "via the hook"), IMS_OK);
  ims_config_free(config);
  CHECK_WAIT(tasks_posted == 1, 10);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(hooked.frees, 0);
  CHECK(strcmp(poster[0], "imstatus-errors") == 0);
  ims_task_fn run = task_run[0];
  void *arg = task_arg[0];
  pthread_mutex_unlock(&g_lock);
  run(arg);
  expect_error(&hooked, 6013);
  CHECK_EQ(hooked.on_caller_thread, 1);
  CHECK_EQ(posts, 1);

  sleep_ms(50);
  expect_untouched(&not_an_error);
  return finish("callback_fail");
}
