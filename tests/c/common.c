#include "common.h"
#include "thread_name.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;

static atomic_int failures;
static atomic_int checks_failed_printed;

void fail_at(const char *file, int line, const char *what) {
  atomic_fetch_add(&failures, 1);
  if (atomic_fetch_add(&checks_failed_printed, 1) < 50) {
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    fflush(stderr);
  }
}

int finish(const char *program) {
  int n = atomic_load(&failures);
  if (n == 0) {
    printf("%s: all checks passed\n", program);
  } else {
    printf("%s: %d checks failed\n", program, n);
  }
  fflush(stdout);
  return n == 0 ? 0 : 1;
}

double scaled(double seconds) {
  const char *scale = getenv("IMS_TEST_TIME_SCALE");
  double factor = scale ? atof(scale) : 1.0;
  return seconds * (factor > 0 ? factor : 1.0);
}

struct timespec deadline_after(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double s = scaled(seconds);
  time_t whole = (time_t)s;
  long nanos = (long)((s - (double)whole) * 1e9);
  ts.tv_sec += whole;
  ts.tv_nsec += nanos;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

int wait_step(const struct timespec *deadline) {
  struct timespec now, step;
  clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec > deadline->tv_sec ||
      (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec)) {
    return 0;
  }
  step = now;
  step.tv_nsec += 20 * 1000000L;
  if (step.tv_nsec >= 1000000000L) {
    step.tv_sec += 1;
    step.tv_nsec -= 1000000000L;
  }
  if (step.tv_sec > deadline->tv_sec ||
      (step.tv_sec == deadline->tv_sec && step.tv_nsec > deadline->tv_nsec)) {
    step = *deadline;
  }
  pthread_cond_timedwait(&g_cond, &g_lock, &step);
  return 1;
}

void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

const char *env_or_die(const char *name) {
  const char *value = getenv(name);
  if (!value || !*value) {
    fprintf(stderr, "missing environment variable %s (run through cargo test --test c_api)\n",
            name);
    exit(2);
  }
  return value;
}

const char *sig_of(const char *user) {
  char name[128];
  snprintf(name, sizeof name, "IMS_TEST_SIG_%s", user);
  return env_or_die(name);
}

ims_client *new_client(const char *server, ims_platform platform) {
  ims_config *config = NULL;
  CHECK_EQ(ims_config_new((uint32_t)strtoul(env_or_die("IMS_TEST_APP_ID"), NULL, 10), &config),
           IMS_OK);
  if (server) CHECK_EQ(ims_config_set_server_addr(config, server), IMS_OK);
  CHECK_EQ(ims_config_set_platform(config, platform), IMS_OK);
  ims_client *client = NULL;
  CHECK_EQ(ims_client_new(config, &client), IMS_OK);
  CHECK(client != NULL);
  ims_config_free(config);
  return client;
}

void login_ok(ims_client *client, const char *user, const char *sig) {
  call c;
  call_init(&c, "login");
  CHECK_EQ(ims_client_login(client, user, sig, callback_of(&c)), IMS_OK);
  expect_success(&c);
  if (c.errors) fprintf(stderr, "login of %s failed: %d %s\n", user, (int)c.code, c.desc);
}

int is_callback_thread_name(const char *name) {
  /* Linux keeps 15 bytes of a thread's name: "imstatus-callback" reads "imstatus-callba";
   * Windows keeps all of it. */
  return strlen(name) >= 15 && strncmp(name, "imstatus-callback", strlen(name)) == 0;
}

void thread_name(char *buf, size_t len) { ims_test_thread_name(buf, len); }

static void copy_str(char *dst, size_t cap, const char *src) {
  if (!src) {
    snprintf(dst, cap, "<NULL>");
    return;
  }
  snprintf(dst, cap, "%s", src);
}

void copy_statuses(status_copy *out, size_t *out_count, const ims_user_status *in, size_t count) {
  *out_count = count;
  if (count > 0 && in == NULL) {
    fail_at(__FILE__, __LINE__, "statuses is NULL with a non-zero count");
    *out_count = 0;
    return;
  }
  for (size_t i = 0; i < count && i < MAX_STATUSES; i++) {
    copy_str(out[i].user_id, sizeof out[i].user_id, in[i].user_id);
    out[i].status_type = in[i].status_type;
    copy_str(out[i].custom_status, sizeof out[i].custom_status, in[i].custom_status);
    out[i].device_count = in[i].online_devices_count;
    if (in[i].online_devices_count > 0 && in[i].online_devices == NULL) {
      fail_at(__FILE__, __LINE__, "online_devices is NULL with a non-zero count");
      out[i].device_count = 0;
    }
    for (size_t d = 0; d < out[i].device_count && d < 4; d++) {
      copy_str(out[i].devices[d], sizeof out[i].devices[d], in[i].online_devices[d]);
    }
    bool invisible = true;
    out[i].last_seen_ms = UINT64_MAX;
    out[i].visibility = -1;
    if (ims_status_last_seen_ms(&in[i], &out[i].last_seen_ms) != IMS_OK ||
        ims_status_invisible(&in[i], &invisible) != IMS_OK ||
        ims_status_visibility(&in[i], &out[i].visibility) != IMS_OK) {
      fail_at(__FILE__, __LINE__, "a lent status has no extension fields");
    }
    out[i].invisible = invisible ? 1 : 0;
  }
}

int find_status(const status_copy *list, size_t count, const char *user) {
  for (size_t i = 0; i < count && i < MAX_STATUSES; i++) {
    if (strcmp(list[i].user_id, user) == 0) return (int)i;
  }
  return -1;
}

/* ---- calls ------------------------------------------------------------------------------- */

void call_init(call *c, const char *name) {
  memset(c, 0, sizeof *c);
  c->name = name;
  c->caller = pthread_self();
}

/* Under g_lock. */
static int g_seq;

static void note_thread(call *c) {
  c->seq = ++g_seq;
  thread_name(c->thread, sizeof c->thread);
  c->on_caller_thread = pthread_equal(pthread_self(), c->caller) ? 1 : 0;
  if (c->on_caller_thread && c->in_call) c->inline_calls++;
}

static void on_success(void *user_data) {
  call *c = user_data;
  pthread_mutex_lock(&g_lock);
  note_thread(c);
  c->successes++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void on_statuses(void *user_data, const ims_user_status *statuses, size_t count) {
  call *c = user_data;
  pthread_mutex_lock(&g_lock);
  note_thread(c);
  copy_statuses(c->statuses, &c->count, statuses, count);
  c->successes++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void on_error(void *user_data, int32_t code, const char *desc) {
  call *c = user_data;
  pthread_mutex_lock(&g_lock);
  note_thread(c);
  c->errors++;
  c->code = code;
  copy_str(c->desc, sizeof c->desc, desc);
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void on_free(void *user_data) {
  call *c = user_data;
  pthread_mutex_lock(&g_lock);
  c->outcome_before_free = (c->successes + c->errors) == 1;
  c->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

ims_callback callback_of(call *c) {
  ims_callback cb = {c, on_success, on_error, on_free};
  return cb;
}

ims_user_status_callback status_callback_of(call *c) {
  ims_user_status_callback cb = {c, on_statuses, on_error, on_free};
  return cb;
}

void wait_done(call *c) {
  int ok;
  WAIT_FOR(ok, c->frees > 0, 20);
  if (!ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "call %s never finished", c->name);
    fail_at(__FILE__, __LINE__, msg);
  }
}

static void expect_once(call *c) {
  pthread_mutex_lock(&g_lock);
  if (c->successes + c->errors != 1 || c->frees != 1 || !c->outcome_before_free ||
      c->inline_calls != 0) {
    char msg[700];
    snprintf(msg, sizeof msg,
             "call %s: successes=%d errors=%d frees=%d outcome_before_free=%d inline=%d "
             "(code %d: %s)",
             c->name, c->successes, c->errors, c->frees, c->outcome_before_free, c->inline_calls,
             (int)c->code, c->desc);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

void expect_success(call *c) {
  wait_done(c);
  expect_once(c);
  if (c->successes != 1) {
    char msg[700];
    snprintf(msg, sizeof msg, "call %s failed: %d %s", c->name, (int)c->code, c->desc);
    fail_at(__FILE__, __LINE__, msg);
  }
}

void expect_error(call *c, int32_t code) {
  wait_done(c);
  expect_once(c);
  if (c->errors != 1 || c->code != code || c->desc[0] == '\0') {
    char msg[700];
    snprintf(msg, sizeof msg, "call %s: expected error %d, got successes=%d code %d: '%s'",
             c->name, (int)code, c->successes, (int)c->code, c->desc);
    fail_at(__FILE__, __LINE__, msg);
  }
}

void expect_untouched(const call *c) {
  pthread_mutex_lock(&g_lock);
  if (c->successes || c->errors || c->frees) {
    char msg[256];
    snprintf(msg, sizeof msg, "rejected call %s still called back (%d/%d/%d)", c->name,
             c->successes, c->errors, c->frees);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

void expect_callback_thread(const call *c) {
  pthread_mutex_lock(&g_lock);
  if (!is_callback_thread_name(c->thread) || c->on_caller_thread) {
    char msg[256];
    snprintf(msg, sizeof msg, "call %s: callback ran on '%s' (caller's thread: %d)", c->name,
             c->thread, c->on_caller_thread);
    fail_at(__FILE__, __LINE__, msg);
  }
  pthread_mutex_unlock(&g_lock);
}

/* ---- listeners --------------------------------------------------------------------------- */

void events_init(events *e) {
  memset(e, 0, sizeof *e);
  e->expect_thread = "imstatus-callback";
}

static void event_thread_check(events *e) {
  if (!e->expect_thread) return;
  char name[32];
  thread_name(name, sizeof name);
  int ok = strcmp(e->expect_thread, "imstatus-callback") == 0 ? is_callback_thread_name(name)
                                                               : strcmp(name, e->expect_thread) == 0;
  if (!ok) e->wrong_thread++;
}

static void ev_connecting(void *user_data) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  event_thread_check(e);
  if (!e->connecting) e->first_connecting_seq = ++e->seq;
  e->connecting++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void ev_connect_success(void *user_data) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  event_thread_check(e);
  if (!e->connect_success) e->first_connect_success_seq = ++e->seq;
  e->connect_success++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void ev_connect_failed(void *user_data, int32_t code, const char *desc) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  event_thread_check(e);
  e->connect_failed++;
  e->failed_code = code;
  if (!desc || !*desc) fail_at(__FILE__, __LINE__, "on_connect_failed without a description");
  copy_str(e->failed_desc, sizeof e->failed_desc, desc);
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void ev_kicked(void *user_data) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  event_thread_check(e);
  e->kicked++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void ev_sig_expired(void *user_data) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  event_thread_check(e);
  e->sig_expired++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void remember(events *e, const status_copy *s) {
  for (int i = 0; i < e->users; i++) {
    if (strcmp(e->last_user[i], s->user_id) == 0) {
      snprintf(e->last_custom[i], sizeof e->last_custom[i], "%s", s->custom_status);
      return;
    }
  }
  if (e->users < 64) {
    snprintf(e->last_user[e->users], sizeof e->last_user[e->users], "%s", s->user_id);
    snprintf(e->last_custom[e->users], sizeof e->last_custom[e->users], "%s", s->custom_status);
    e->users++;
  }
}

static void ev_status_changed(void *user_data, const ims_user_status *statuses, size_t count) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  event_thread_check(e);
  e->status_changed++;
  copy_statuses(e->statuses, &e->count, statuses, count);
  for (size_t i = 0; i < e->count && i < MAX_STATUSES; i++) remember(e, &e->statuses[i]);
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void ev_free(void *user_data) {
  events *e = user_data;
  pthread_mutex_lock(&g_lock);
  e->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

ims_listener listener_of(events *e) {
  ims_listener l = {e,         ev_connecting,  ev_connect_success, ev_connect_failed,
                    ev_kicked, ev_sig_expired, ev_status_changed,  ev_free};
  return l;
}

const char *seen_custom(const events *e, const char *user) {
  for (int i = 0; i < e->users; i++) {
    if (strcmp(e->last_user[i], user) == 0) return e->last_custom[i];
  }
  return "";
}
