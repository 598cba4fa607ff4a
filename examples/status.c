/* status.c: the imstatus C API in one small program.
 *
 *   status_c APP_ID USER USERSIG [CUSTOM_STATUS [OTHER_USER...]]
 *
 * Logs in as USER, sets its custom status, prints the statuses of USER and the OTHER_USERs as
 * "ID STATUS CUSTOM" lines, and logs out. The server is $IMSTATUS_SERVER ("host:port"), else
 * 127.0.0.1:7800 (ims_config_set_server_addr sets it explicitly). The UserSig comes from your
 * backend (or `imstatus usersig --app-id N --key KEY --user ID`). Exits 1 on an error.
 *
 * Every call is asynchronous: its callback runs later on the client's callback thread. This
 * program simply waits for each one with a lock and a condition variable: POSIX threads, or on
 * Windows an SRWLOCK and a CONDITION_VARIABLE (ims_config_set_dispatcher can instead receive
 * the callbacks on a thread of your own, such as a UI thread).
 */
#define _POSIX_C_SOURCE 200809L

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imstatus.h"

#ifdef _WIN32
typedef SRWLOCK lock_t;
typedef CONDITION_VARIABLE cond_t;
#define LOCK_INIT SRWLOCK_INIT
#define COND_INIT CONDITION_VARIABLE_INIT
static void lock(lock_t *l) { AcquireSRWLockExclusive(l); }
static void unlock(lock_t *l) { ReleaseSRWLockExclusive(l); }
static void signal_one(cond_t *c) { WakeConditionVariable(c); }
/* Milliseconds on a clock that only goes forward. */
static long long now_ms(void) { return (long long)GetTickCount64(); }
/* Waits for a signal (or a spurious wake-up) until `deadline`; 0 once it has passed. */
static int wait_until(cond_t *c, lock_t *l, long long deadline) {
  long long left = deadline - now_ms();
  if (left <= 0) return 0;
  SleepConditionVariableSRW(c, l, (DWORD)left, 0);
  return 1;
}
#else
typedef pthread_mutex_t lock_t;
typedef pthread_cond_t cond_t;
#define LOCK_INIT PTHREAD_MUTEX_INITIALIZER
#define COND_INIT PTHREAD_COND_INITIALIZER
static void lock(lock_t *l) { pthread_mutex_lock(l); }
static void unlock(lock_t *l) { pthread_mutex_unlock(l); }
static void signal_one(cond_t *c) { pthread_cond_signal(c); }
static long long now_ms(void) {
  struct timespec now;
  timespec_get(&now, TIME_UTC); /* the clock pthread_cond_timedwait uses by default */
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}
static int wait_until(cond_t *c, lock_t *l, long long deadline) {
  if (deadline - now_ms() <= 0) return 0;
  struct timespec until = {(time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L};
  pthread_cond_timedwait(c, l, &until);
  return 1;
}
#endif

/* One call in flight: its callbacks fill this in; main waits for `done`. */
typedef struct waiter {
  lock_t mu;
  cond_t cv;
  int done;
  int code;
  char desc[256];
} waiter;

/* Ready for the next call (no callback of the previous one is pending any more). */
static void waiter_reset(waiter *w) {
  lock(&w->mu);
  w->done = 0;
  w->code = 0;
  w->desc[0] = '\0';
  unlock(&w->mu);
}

static void finish(void *user_data, int code, const char *desc) {
  waiter *w = user_data;
  lock(&w->mu);
  w->code = code;
  snprintf(w->desc, sizeof w->desc, "%s", desc);
  w->done = 1;
  signal_one(&w->cv);
  unlock(&w->mu);
}

static void on_success(void *user_data) { finish(user_data, 0, ""); }

static void on_error(void *user_data, int32_t code, const char *desc) {
  finish(user_data, code, desc);
}

static const char *status_name(int32_t type) {
  switch (type) {
    case IMS_USER_STATUS_ONLINE: return "ONLINE";
    case IMS_USER_STATUS_OFFLINE: return "OFFLINE";
    case IMS_USER_STATUS_UNLOGINED: return "UNLOGINED";
    default: return "UNKNOWN";
  }
}

static void print_statuses(const char *prefix, const ims_user_status *statuses, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    printf("%s%s %s %s\n", prefix, statuses[i].user_id, status_name(statuses[i].status_type),
           statuses[i].custom_status);
  }
  fflush(stdout);
}

/* GetUserStatus's result: the statuses are lent for the duration of the callback. */
static void on_statuses(void *user_data, const ims_user_status *statuses, size_t count) {
  print_statuses("", statuses, count);
  finish(user_data, 0, "");
}

/* V2TIMSDKListener::OnUserStatusChanged. */
static void on_status_changed(void *user_data, const ims_user_status *statuses, size_t count) {
  (void)user_data;
  print_statuses("changed: ", statuses, count);
}

/* Waits for the call that returned `result`; 0 when it succeeded. */
static int wait_for(waiter *w, ims_result result, const char *what) {
  if (result != IMS_OK) { /* refused at once: no callback will run */
    fprintf(stderr, "%s refused: %d %s\n", what, (int)result, ims_last_error_message());
    return 1;
  }
  long long deadline = now_ms() + 15000;
  lock(&w->mu);
  while (!w->done && wait_until(&w->cv, &w->mu, deadline)) {
  }
  int done = w->done, code = w->code;
  unlock(&w->mu);
  if (!done) {
    fprintf(stderr, "%s: no answer within 15 s\n", what);
    return 1;
  }
  if (code != 0) {
    fprintf(stderr, "%s failed: %d %s\n", what, code, w->desc);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s APP_ID USER USERSIG [CUSTOM_STATUS [OTHER_USER...]]\n", argv[0]);
    return 2;
  }
  uint32_t app_id = (uint32_t)strtoul(argv[1], NULL, 10);
  const char *user = argv[2], *sig = argv[3];
  const char *custom = argc > 4 ? argv[4] : "";

  ims_config *config = NULL;
  ims_client *client = NULL;
  if (ims_config_new(app_id, &config) != IMS_OK || ims_client_new(config, &client) != IMS_OK) {
    fprintf(stderr, "cannot create the client: %s\n", ims_last_error_message());
    ims_config_free(config);
    return 1;
  }
  ims_config_free(config); /* the client copied it */

  ims_listener listener;
  memset(&listener, 0, sizeof listener); /* every event NULL: ignored */
  listener.on_user_status_changed = on_status_changed;
  uint64_t listener_id = 0;
  ims_client_add_listener(client, listener, &listener_id);

  /* user_data of every call: the waiter, which outlives them (no free_user_data needed). */
  static waiter w = {LOCK_INIT, COND_INIT, 0, 0, ""};
  ims_callback cb = {&w, on_success, on_error, NULL};
  int failed = wait_for(&w, ims_client_login(client, user, sig, cb), "login");

  if (!failed) {
    waiter_reset(&w);
    failed = wait_for(&w, ims_client_set_self_status(client, custom, cb), "setSelfStatus");
  }

  if (!failed) {
    /* USER and the OTHER_USERs; querying others needs the Ultimate edition and the status
     * switch of the app. */
    size_t count = 1 + (size_t)(argc > 5 ? argc - 5 : 0);
    const char **ids = malloc(count * sizeof *ids);
    if (ids == NULL) return 1;
    ids[0] = user;
    for (size_t i = 1; i < count; ++i) ids[i] = argv[4 + i];
    waiter_reset(&w);
    ims_user_status_callback scb = {&w, on_statuses, on_error, NULL};
    failed = wait_for(&w, ims_client_get_user_status(client, ids, count, scb), "getUserStatus");
    free(ids); /* the library copied the IDs */
  }

  if (!failed) {
    waiter_reset(&w);
    failed = wait_for(&w, ims_client_logout(client, cb), "logout");
  }

  ims_client_remove_listener(client, listener_id);
  ims_client_free(client); /* also completes any call still in flight (with error 6013) */
  return failed;
}
