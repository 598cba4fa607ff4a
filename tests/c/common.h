/* Helpers shared by the C test programs (tests/c/NAME.c), which tests/c_api.rs compiles with
 * -std=c11 -Wall -Wextra -Wpedantic -Werror, links against the library and runs against a real
 * server. Include this first: it asks for the GNU extensions (pthread_getname_np).
 *
 * The Rust side passes everything through the environment:
 *   IMS_TEST_SERVER         host:port of a real server (an Ultimate app, both switches on)
 *   IMS_TEST_APP_ID         its sdkAppID
 *   IMS_TEST_SIG_<user>     a UserSig for alice, bob, carol, dave, erin
 *   IMS_TEST_SHORT_SIG_dave a UserSig for dave that expires in a few seconds
 *   IMS_TEST_STALL_SERVER   a fake server that accepts hello/login and then never answers
 *   IMS_TEST_DEAD_SERVER    an address where nothing listens
 *   IMS_TEST_TIME_SCALE     multiplies every wait (valgrind is slow)
 *   IMSTATUS_SERVER         same as IMS_TEST_SERVER, for clients that set no address
 * and to tls.c (tests/common/tls.rs makes them):
 *   IMS_TEST_TLS_SERVER     tls://localhost:PORT of a server whose certificate names localhost
 *                           and 127.0.0.1, signed by IMS_TEST_TLS_CA
 *   IMS_TEST_TLS_CA         that CA's certificate, PEM
 *   IMS_TEST_TLS_OTHER_CA   a CA that signed no certificate here, PEM
 *   IMS_TEST_TLS_WRONG_NAME_SERVER  tls://localhost:PORT whose certificate names wrong.example
 *   IMS_TEST_TLS_PINNED_SERVER      tls://localhost:PORT whose key is IMS_TEST_TLS_PIN
 *   IMS_TEST_TLS_PIN        base64 SPKI SHA-256 of that key; IMS_TEST_TLS_PIN_HEX the same in hex
 *   IMS_TEST_TLS_WRONG_PIN  "sha256/" and the base64 of a key no server here has
 *
 * The same programs run on Windows (tests/windows.rs: built with mingw-w64, whose winpthreads
 * gives them the same POSIX threads, and run under wine); thread_name.h has the one Windows
 * branch.
 */
#ifndef IMS_TEST_COMMON_H
#define IMS_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "imstatus.h"

/* One lock and one condition for all test state: every callback changes state under it and
 * broadcasts; waiters re-check their condition. */
extern pthread_mutex_t g_lock;
extern pthread_cond_t g_cond;

void fail_at(const char *file, int line, const char *what);
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) fail_at(__FILE__, __LINE__, #cond);                                               \
  } while (0)
#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                \
    if (check_a_ != check_b_) {                                                                    \
      char check_msg_[256];                                                                        \
      snprintf(check_msg_, sizeof check_msg_, "%s == %s (%lld != %lld)", #a, #b, check_a_,         \
               check_b_);                                                                          \
      fail_at(__FILE__, __LINE__, check_msg_);                                                     \
    }                                                                                              \
  } while (0)

/* Prints the summary line and returns the exit status of main. */
int finish(const char *program);

/* Seconds to wait, scaled by IMS_TEST_TIME_SCALE. */
double scaled(double seconds);
struct timespec deadline_after(double seconds);

/* Waits (under g_lock) until expr holds or the scaled timeout passes; ok_var gets the outcome.
 * Wakes on every broadcast, and every 20 ms for conditions nobody broadcasts (client state). */
int wait_step(const struct timespec *deadline); /* 0 once the deadline has passed */
#define WAIT_FOR(ok_var, expr, seconds)                                                            \
  do {                                                                                             \
    struct timespec wait_dl_ = deadline_after(seconds);                                            \
    pthread_mutex_lock(&g_lock);                                                                   \
    while (!(expr)) {                                                                              \
      if (!wait_step(&wait_dl_)) break;                                                            \
    }                                                                                              \
    (ok_var) = (expr) ? 1 : 0;                                                                     \
    pthread_mutex_unlock(&g_lock);                                                                 \
  } while (0)
#define CHECK_WAIT(expr, seconds)                                                                  \
  do {                                                                                             \
    int check_wait_ok_;                                                                            \
    WAIT_FOR(check_wait_ok_, expr, seconds);                                                       \
    if (!check_wait_ok_) fail_at(__FILE__, __LINE__, "timed out waiting for " #expr);              \
  } while (0)

void sleep_ms(int ms);
const char *env_or_die(const char *name);
const char *sig_of(const char *user);
/* A client of IMS_TEST_APP_ID at `server` (NULL: none set, so IMSTATUS_SERVER applies). */
ims_client *new_client(const char *server, ims_platform platform);
/* Logs in and waits for success. */
void login_ok(ims_client *client, const char *user, const char *sig);
/* The current thread's name as the OS reports it ("" if unknown; see thread_name.h). */
void thread_name(char *buf, size_t len);
/* Whether a thread name is the client's callback thread's (as the OS reports it). */
int is_callback_thread_name(const char *name);

#define MAX_STATUSES 8
typedef struct status_copy {
  char user_id[64];
  int32_t status_type;
  char custom_status[256];
  size_t device_count;
  char devices[4][32];
  /* Beyond V2TIM, read with ims_status_last_seen_ms, ims_status_invisible and
   * ims_status_visibility inside the callback (each must answer IMS_OK there). */
  uint64_t last_seen_ms;
  int invisible;
  int32_t visibility;
} status_copy;

void copy_statuses(status_copy *out, size_t *out_count, const ims_user_status *in, size_t count);
/* Index of user in a copied list, or -1. */
int find_status(const status_copy *list, size_t count, const char *user);

/* The user_data of one asynchronous call: what its callback saw. Fields are written under
 * g_lock. */
typedef struct call {
  const char *name;
  pthread_t caller;
  volatile int in_call; /* set by the test around the ims_ call (inline detection) */
  int successes, errors, frees;
  int outcome_before_free; /* 1 when on_success/on_error ran before free_user_data */
  int inline_calls;        /* callbacks that ran while in_call was set on the caller thread */
  int on_caller_thread;
  int seq; /* when its on_success/on_error ran, counted across all calls (call order checks) */
  char thread[32];
  int32_t code;
  char desc[512];
  size_t count;
  status_copy statuses[MAX_STATUSES];
} call;

void call_init(call *c, const char *name);
ims_callback callback_of(call *c);
ims_user_status_callback status_callback_of(call *c);
/* Waits until free_user_data ran (it runs last). */
void wait_done(call *c);
/* Waits, then checks exactly one success, one free, in that order. */
void expect_success(call *c);
/* Waits, then checks exactly one error with `code`, then one free. */
void expect_error(call *c, int32_t code);
/* Checks that no callback of a synchronously rejected call ever ran. */
void expect_untouched(const call *c);
/* Checks the callbacks ran on the client's callback thread, not the caller's. */
void expect_callback_thread(const call *c);

/* The user_data of a listener: counts of each event. */
typedef struct events {
  int seq;
  int connecting, connect_success, connect_failed, kicked, sig_expired, status_changed;
  int first_connecting_seq, first_connect_success_seq;
  int32_t failed_code;
  char failed_desc[512]; /* the latest on_connect_failed's description */
  int frees;
  int wrong_thread;
  size_t count;
  status_copy statuses[MAX_STATUSES]; /* the latest on_user_status_changed */
  char last_custom[64][256];          /* custom status of last_user[i], latest first seen */
  char last_user[64][64];
  int users;
  const char *expect_thread; /* thread name events must run on; NULL: not checked */
} events;

void events_init(events *e);
ims_listener listener_of(events *e);
/* The latest custom status seen for `user` in any event ("" if none), under g_lock. */
const char *seen_custom(const events *e, const char *user);

#endif
