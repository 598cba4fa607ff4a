/* Presence beyond V2TIM through the C ABI against a real server: an expiring custom status,
 * appearing offline, who may see me (nobody), last seen after a logout; the extension fields of
 * lent statuses; NULL, bad UTF-8 and bad enum values. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* Every status of every on_user_status_changed of one client, in order (under g_lock). */
#define MAX_SEEN 64
typedef struct history {
  status_copy seen[MAX_SEEN];
  int n;
  int null_out_rejected; /* the accessors refused a NULL out inside the callback */
  int frees;
} history;

static void on_changed(void *user_data, const ims_user_status *statuses, size_t count) {
  history *h = user_data;
  status_copy copies[MAX_STATUSES];
  size_t n = 0;
  copy_statuses(copies, &n, statuses, count);
  int null_out = count > 0 && ims_status_last_seen_ms(&statuses[0], NULL) ==
                                  IMS_ERR_INVALID_PARAMETERS &&
                 ims_status_invisible(&statuses[0], NULL) == IMS_ERR_INVALID_PARAMETERS &&
                 ims_status_visibility(&statuses[0], NULL) == IMS_ERR_INVALID_PARAMETERS;
  pthread_mutex_lock(&g_lock);
  if (null_out) h->null_out_rejected++;
  for (size_t i = 0; i < n && i < MAX_STATUSES && h->n < MAX_SEEN; i++) h->seen[h->n++] = copies[i];
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void on_free(void *user_data) {
  history *h = user_data;
  pthread_mutex_lock(&g_lock);
  h->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static ims_client *logged_in(const char *server, const char *user, ims_platform platform,
                             history *h) {
  ims_client *client = new_client(server, platform);
  memset(h, 0, sizeof *h);
  ims_listener l;
  memset(&l, 0, sizeof l);
  l.user_data = h;
  l.on_user_status_changed = on_changed;
  l.free_user_data = on_free;
  uint64_t id = 0;
  CHECK_EQ(ims_client_add_listener(client, l, &id), IMS_OK);
  login_ok(client, user, sig_of(user));
  return client;
}

/* Index in h->seen, at or after `from`, of the first status of `user` (under g_lock), or -1. */
static int next_of(const history *h, int from, const char *user) {
  for (int i = from; i < h->n; i++) {
    if (strcmp(h->seen[i].user_id, user) == 0) return i;
  }
  return -1;
}

/* Waits for the next status of `user` after `*cursor`, copies it and moves the cursor past it. */
static status_copy next_change(history *h, int *cursor, const char *user) {
  int ok;
  WAIT_FOR(ok, next_of(h, *cursor, user) >= 0, 10);
  if (!ok) fail_at(__FILE__, __LINE__, "no change of the user arrived");
  pthread_mutex_lock(&g_lock);
  int i = next_of(h, *cursor, user);
  status_copy s;
  memset(&s, 0, sizeof s);
  if (i >= 0) {
    s = h->seen[i];
    *cursor = i + 1;
  }
  pthread_mutex_unlock(&g_lock);
  return s;
}

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static double monotonic_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void ok_call(const char *name, ims_result (*start)(ims_client *, ims_callback, const void *),
                    ims_client *client, const void *arg) {
  call c;
  call_init(&c, name);
  CHECK_EQ(start(client, callback_of(&c), arg), IMS_OK);
  expect_success(&c);
}

static ims_result do_invisible(ims_client *client, ims_callback cb, const void *on) {
  return ims_client_set_invisible(client, *(const bool *)on, cb);
}

static ims_result do_visibility(ims_client *client, ims_callback cb, const void *v) {
  return ims_client_set_visibility(client, *(const int32_t *)v, cb);
}

static ims_result do_set(ims_client *client, ims_callback cb, const void *text) {
  return ims_client_set_self_status(client, text, cb);
}

static ims_result do_logout(ims_client *client, ims_callback cb, const void *unused) {
  (void)unused;
  return ims_client_logout(client, cb);
}

/* bob's query of alice: exactly one status. */
static status_copy query(ims_client *client, const char *user) {
  call c;
  call_init(&c, "get_user_status");
  const char *ids[] = {user};
  CHECK_EQ(ims_client_get_user_status(client, ids, 1, status_callback_of(&c)), IMS_OK);
  expect_success(&c);
  CHECK_EQ(c.count, 1);
  return c.statuses[0];
}

/* The view of a hidden user: OFFLINE or UNLOGINED, nothing else, last seen `last_seen`. */
static void check_hidden(const status_copy *s, int32_t type, uint64_t last_seen) {
  CHECK_EQ(s->status_type, type);
  CHECK(strcmp(s->custom_status, "") == 0);
  CHECK_EQ(s->device_count, 0);
  CHECK_EQ(s->last_seen_ms, last_seen);
  CHECK_EQ(s->invisible, 0);
  CHECK_EQ(s->visibility, IMS_VISIBILITY_EVERYONE);
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");
  history ah, bh;
  ims_client *alice = logged_in(server, "alice", IMS_PLATFORM_WINDOWS, &ah);
  ims_client *bob = logged_in(server, "bob", IMS_PLATFORM_ANDROID, &bh);
  int ac = 0, bc = 0; /* cursors into ah.seen, bh.seen */
  {
    call c;
    call_init(&c, "subscribe");
    const char *ids[] = {"alice"};
    CHECK_EQ(ims_client_subscribe_user_status(bob, ids, 1, callback_of(&c)), IMS_OK);
    expect_success(&c);
  }

  /* Values of the enum, and synchronous refusals: nothing runs, user_data stays ours. */
  CHECK_EQ(IMS_VISIBILITY_EVERYONE, 0);
  CHECK_EQ(IMS_VISIBILITY_FRIENDS, 1);
  CHECK_EQ(IMS_VISIBILITY_NOBODY, 2);
  CHECK_EQ(IMS_VISIBILITY_UNKNOWN, 3);
  {
    call c;
    call_init(&c, "refused");
    CHECK_EQ(ims_client_set_visibility(alice, 7, callback_of(&c)), IMS_ERR_INVALID_PARAMETERS);
    CHECK(strstr(ims_last_error_message(), "visibility 7") != NULL);
    CHECK_EQ(ims_client_set_visibility(alice, -1, callback_of(&c)), IMS_ERR_INVALID_PARAMETERS);
    CHECK_EQ(ims_client_set_visibility(alice, IMS_VISIBILITY_UNKNOWN, callback_of(&c)),
             IMS_ERR_INVALID_PARAMETERS);
    CHECK_EQ(ims_client_set_visibility(NULL, IMS_VISIBILITY_NOBODY, callback_of(&c)),
             IMS_ERR_SDK_NOT_INITIALIZED);
    CHECK_EQ(ims_client_set_invisible(NULL, true, callback_of(&c)), IMS_ERR_SDK_NOT_INITIALIZED);
    CHECK_EQ(ims_client_set_self_status_expiring(NULL, "x", 1000, callback_of(&c)),
             IMS_ERR_SDK_NOT_INITIALIZED);
    CHECK_EQ(ims_client_set_self_status_expiring(alice, "bad \xff", 1000, callback_of(&c)),
             IMS_ERR_INVALID_PARAMETERS);
    CHECK(strstr(ims_last_error_message(), "UTF-8") != NULL);
    expect_untouched(&c);
    /* A status the library did not lend, and NULLs. */
    ims_user_status fake;
    memset(&fake, 0, sizeof fake);
    uint64_t ms = 5;
    bool flag = true;
    int32_t v = 9;
    CHECK_EQ(ims_status_last_seen_ms(&fake, &ms), IMS_ERR_INVALID_PARAMETERS);
    CHECK_EQ(ims_status_invisible(&fake, &flag), IMS_ERR_INVALID_PARAMETERS);
    CHECK_EQ(ims_status_visibility(&fake, &v), IMS_ERR_INVALID_PARAMETERS);
    CHECK_EQ(ims_status_last_seen_ms(NULL, &ms), IMS_ERR_INVALID_PARAMETERS);
    CHECK(strstr(ims_last_error_message(), "status is NULL") != NULL);
    CHECK_EQ(ms, 5);
    CHECK_EQ(flag, true);
    CHECK_EQ(v, 9);
  }
  /* The server decides the expiry's range: 0 ms is 6017 through on_error. */
  {
    call c;
    call_init(&c, "expire 0");
    CHECK_EQ(ims_client_set_self_status_expiring(alice, "x", 0, callback_of(&c)), IMS_OK);
    expect_error(&c, IMS_ERR_INVALID_PARAMETERS);
  }

  /* 1. An expiring custom status clears itself, for bob and for alice's own device. */
  uint64_t expiry_ms = (uint64_t)(scaled(0.4) * 1000);
  {
    call c;
    call_init(&c, "set_self_status_expiring");
    double set_at = monotonic_s();
    CHECK_EQ(ims_client_set_self_status_expiring(alice, "lunch", expiry_ms, callback_of(&c)),
             IMS_OK);
    expect_success(&c);
    status_copy s = next_change(&bh, &bc, "alice");
    CHECK(strcmp(s.custom_status, "lunch") == 0);
    CHECK_EQ(s.status_type, IMS_USER_STATUS_ONLINE);
    CHECK_EQ(s.last_seen_ms, 0);
    s = next_change(&bh, &bc, "alice");
    CHECK(monotonic_s() - set_at >= (double)expiry_ms / 1000.0);
    CHECK(strcmp(s.custom_status, "") == 0);
    CHECK_EQ(s.status_type, IMS_USER_STATUS_ONLINE);
    CHECK(strcmp(next_change(&ah, &ac, "alice").custom_status, "lunch") == 0);
    CHECK(strcmp(next_change(&ah, &ac, "alice").custom_status, "") == 0);
  }

  /* 2. Invisible: bob sees OFFLINE with last seen frozen at the switch; alice the truth. */
  ok_call("set busy", do_set, alice, "busy");
  CHECK(strcmp(next_change(&bh, &bc, "alice").custom_status, "busy") == 0);
  CHECK(strcmp(next_change(&ah, &ac, "alice").custom_status, "busy") == 0);
  bool on = true, off = false;
  uint64_t before = now_ms();
  ok_call("invisible on", do_invisible, alice, &on);
  uint64_t after = now_ms();
  status_copy seen = next_change(&bh, &bc, "alice");
  CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
  uint64_t frozen = seen.last_seen_ms;
  check_hidden(&seen, IMS_USER_STATUS_OFFLINE, frozen);
  status_copy own = next_change(&ah, &ac, "alice");
  CHECK_EQ(own.status_type, IMS_USER_STATUS_ONLINE);
  CHECK(strcmp(own.custom_status, "busy") == 0);
  CHECK_EQ(own.invisible, 1);
  CHECK_EQ(own.last_seen_ms, 0);
  status_copy q = query(bob, "alice");
  check_hidden(&q, IMS_USER_STATUS_OFFLINE, frozen);
  CHECK_EQ(query(alice, "alice").invisible, 1);
  ok_call("invisible off", do_invisible, alice, &off);
  seen = next_change(&bh, &bc, "alice");
  CHECK_EQ(seen.status_type, IMS_USER_STATUS_ONLINE);
  CHECK(strcmp(seen.custom_status, "busy") == 0);
  CHECK_EQ(seen.last_seen_ms, 0);
  CHECK_EQ(next_change(&ah, &ac, "alice").invisible, 0);

  /* 3. Visibility nobody: the same hidden view; alice's own status carries the setting. */
  int32_t nobody = IMS_VISIBILITY_NOBODY, everyone = IMS_VISIBILITY_EVERYONE;
  before = now_ms();
  ok_call("visibility nobody", do_visibility, alice, &nobody);
  after = now_ms();
  seen = next_change(&bh, &bc, "alice");
  CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
  check_hidden(&seen, IMS_USER_STATUS_OFFLINE, seen.last_seen_ms);
  q = query(bob, "alice");
  check_hidden(&q, IMS_USER_STATUS_OFFLINE, seen.last_seen_ms);
  own = next_change(&ah, &ac, "alice");
  CHECK_EQ(own.visibility, IMS_VISIBILITY_NOBODY);
  CHECK_EQ(own.status_type, IMS_USER_STATUS_ONLINE);
  ok_call("visibility everyone", do_visibility, alice, &everyone);
  CHECK_EQ(next_change(&bh, &bc, "alice").status_type, IMS_USER_STATUS_ONLINE);
  CHECK_EQ(next_change(&ah, &ac, "alice").visibility, IMS_VISIBILITY_EVERYONE);

  /* 4. Last seen after alice logs out: in the push and in a query. */
  before = now_ms();
  ok_call("logout", do_logout, alice, NULL);
  after = now_ms();
  seen = next_change(&bh, &bc, "alice");
  CHECK_EQ(seen.status_type, IMS_USER_STATUS_UNLOGINED);
  CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
  CHECK_EQ(query(bob, "alice").last_seen_ms, seen.last_seen_ms);

  pthread_mutex_lock(&g_lock);
  CHECK(bh.null_out_rejected > 0);
  pthread_mutex_unlock(&g_lock);
  ims_client_free(alice);
  ims_client_free(bob);
  CHECK_EQ(ah.frees, 1);
  CHECK_EQ(bh.frees, 1);
  return finish("extensions");
}
