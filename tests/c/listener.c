/* Listener events across the C ABI (status changes from another client in the same process,
 * kicked offline, UserSig expired, connect failures) and the guarantees of
 * ims_client_remove_listener. */
#include "common.h"

#include <string.h>

/* A listener whose status event is slow, to remove it while the event runs. */
typedef struct slow {
  int entered, left, frees, calls_after_free;
} slow;

static void slow_status(void *user_data, const ims_user_status *statuses, size_t count) {
  (void)statuses;
  (void)count;
  slow *s = user_data;
  pthread_mutex_lock(&g_lock);
  if (s->frees) s->calls_after_free++;
  s->entered++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
  sleep_ms(300);
  pthread_mutex_lock(&g_lock);
  s->left++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void slow_free(void *user_data) {
  slow *s = user_data;
  pthread_mutex_lock(&g_lock);
  s->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

/* A listener that removes itself from inside its own event. */
typedef struct self_removing {
  ims_client *client;
  uint64_t id;
  int calls, frees, frees_seen_inside, remove_result;
} self_removing;

static void self_remove_status(void *user_data, const ims_user_status *statuses, size_t count) {
  (void)statuses;
  (void)count;
  self_removing *s = user_data;
  int result = ims_client_remove_listener(s->client, s->id);
  pthread_mutex_lock(&g_lock);
  s->calls++;
  s->remove_result = result;
  s->frees_seen_inside = s->frees; /* must still be 0: free runs after this returns */
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void self_remove_free(void *user_data) {
  self_removing *s = user_data;
  pthread_mutex_lock(&g_lock);
  s->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void set_status(ims_client *client, const char *text) {
  call c;
  call_init(&c, text);
  CHECK_EQ(ims_client_set_self_status(client, text, callback_of(&c)), IMS_OK);
  expect_success(&c);
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_SERVER");

  /* UserSig expiry first: the short UserSig was made right before this program started. */
  ims_client *dave = new_client(server, IMS_PLATFORM_LINUX);
  events dave_ev;
  events_init(&dave_ev);
  uint64_t dave_id;
  CHECK_EQ(ims_client_add_listener(dave, listener_of(&dave_ev), &dave_id), IMS_OK);
  login_ok(dave, "dave", env_or_die("IMS_TEST_SHORT_SIG_dave"));

  /* Two users in one process: alice subscribes to bob. */
  ims_client *alice = new_client(server, IMS_PLATFORM_WINDOWS);
  ims_client *bob = new_client(server, IMS_PLATFORM_MAC);
  events alice_ev, bob_ev;
  events_init(&alice_ev);
  events_init(&bob_ev);
  uint64_t alice_id, bob_id;
  CHECK_EQ(ims_client_add_listener(alice, listener_of(&alice_ev), &alice_id), IMS_OK);
  CHECK_EQ(ims_client_add_listener(bob, listener_of(&bob_ev), &bob_id), IMS_OK);
  login_ok(alice, "alice", sig_of("alice"));
  login_ok(bob, "bob", sig_of("bob"));
  CHECK_WAIT(alice_ev.connect_success == 1 && bob_ev.connect_success == 1, 10);
  const char *bob_only[] = {"bob"};
  call sub;
  call_init(&sub, "subscribe bob");
  CHECK_EQ(ims_client_subscribe_user_status(alice, bob_only, 1, callback_of(&sub)), IMS_OK);
  expect_success(&sub);

  set_status(bob, "hello");
  CHECK_WAIT(strcmp(seen_custom(&alice_ev, "bob"), "hello") == 0, 10);
  pthread_mutex_lock(&g_lock);
  int b = find_status(alice_ev.statuses, alice_ev.count, "bob");
  CHECK(b >= 0);
  if (b >= 0) {
    CHECK_EQ(alice_ev.statuses[b].status_type, IMS_USER_STATUS_ONLINE);
    CHECK_EQ(alice_ev.statuses[b].device_count, 1);
    CHECK(strcmp(alice_ev.statuses[b].devices[0], "Mac") == 0);
  }
  pthread_mutex_unlock(&g_lock);
  /* bob hears his own change too (multi-device sync), alice's listener not about herself. */
  CHECK_WAIT(strcmp(seen_custom(&bob_ev, "bob"), "hello") == 0, 10);

  /* Removing a listener while its event runs on the callback thread waits for that event. */
  slow sl;
  memset(&sl, 0, sizeof sl);
  ims_listener slow_l;
  memset(&slow_l, 0, sizeof slow_l);
  slow_l.user_data = &sl;
  slow_l.on_user_status_changed = slow_status;
  slow_l.free_user_data = slow_free;
  uint64_t slow_id;
  CHECK_EQ(ims_client_add_listener(alice, slow_l, &slow_id), IMS_OK);
  set_status(bob, "second");
  CHECK_WAIT(sl.entered == 1, 10);
  CHECK_EQ(ims_client_remove_listener(alice, slow_id), IMS_OK);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(sl.left, 1);  /* the running event had finished */
  CHECK_EQ(sl.frees, 1); /* and its user_data was freed before remove returned */
  pthread_mutex_unlock(&g_lock);

  /* A listener removing itself from inside its own event: no deadlock, the event finishes,
   * free_user_data runs right after it. */
  self_removing sr;
  memset(&sr, 0, sizeof sr);
  sr.client = alice;
  ims_listener sr_l;
  memset(&sr_l, 0, sizeof sr_l);
  sr_l.user_data = &sr;
  sr_l.on_user_status_changed = self_remove_status;
  sr_l.free_user_data = self_remove_free;
  CHECK_EQ(ims_client_add_listener(alice, sr_l, &sr.id), IMS_OK);
  set_status(bob, "third");
  CHECK_WAIT(strcmp(seen_custom(&alice_ev, "bob"), "third") == 0, 10);
  CHECK_WAIT(sr.frees == 1, 10);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(sr.calls, 1);
  CHECK_EQ(sr.remove_result, IMS_OK);
  CHECK_EQ(sr.frees_seen_inside, 0);
  pthread_mutex_unlock(&g_lock);

  /* Neither hears anything more. */
  set_status(bob, "fourth");
  CHECK_WAIT(strcmp(seen_custom(&alice_ev, "bob"), "fourth") == 0, 10);
  sleep_ms(100);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(sl.entered, 1);
  CHECK_EQ(sl.calls_after_free, 0);
  CHECK_EQ(sr.calls, 1);
  CHECK_EQ(sr.frees, 1);
  pthread_mutex_unlock(&g_lock);

  /* bob going offline reaches alice (C3: his custom status is cleared). */
  ims_client_free(bob);
  CHECK_EQ(bob_ev.frees, 1);
  CHECK_WAIT(strcmp(seen_custom(&alice_ev, "bob"), "") == 0, 10);

  /* Kicked offline: another device of alice on the same platform. */
  ims_client *alice2 = new_client(server, IMS_PLATFORM_WINDOWS);
  login_ok(alice2, "alice", sig_of("alice"));
  CHECK_WAIT(alice_ev.kicked == 1, 10);
  CHECK_WAIT(ims_client_get_login_status(alice) == IMS_LOGIN_STATUS_LOGOUT, 10);
  call after_kick;
  call_init(&after_kick, "call after being kicked");
  const char *self[] = {"alice"};
  CHECK_EQ(ims_client_get_user_status(alice, self, 1, status_callback_of(&after_kick)), IMS_OK);
  wait_done(&after_kick);
  CHECK_EQ(after_kick.errors, 1);
  CHECK(after_kick.code == IMS_ERR_SDK_NOT_LOGGED_IN ||
        after_kick.code == IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER);
  ims_client_free(alice2);

  /* Connect failures: nothing listens there. */
  ims_client *nowhere = new_client(env_or_die("IMS_TEST_DEAD_SERVER"), IMS_PLATFORM_DEFAULT);
  events nowhere_ev;
  events_init(&nowhere_ev);
  uint64_t nowhere_id;
  CHECK_EQ(ims_client_add_listener(nowhere, listener_of(&nowhere_ev), &nowhere_id), IMS_OK);
  call failed;
  call_init(&failed, "login to a dead server");
  CHECK_EQ(ims_client_login(nowhere, "erin", sig_of("erin"), callback_of(&failed)), IMS_OK);
  expect_error(&failed, IMS_ERR_SDK_NET_DISCONNECT);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(nowhere_ev.connecting, 1);
  CHECK_EQ(nowhere_ev.connect_failed, 1);
  CHECK_EQ(nowhere_ev.failed_code, IMS_ERR_SDK_NET_DISCONNECT);
  CHECK_EQ(nowhere_ev.connect_success, 0);
  pthread_mutex_unlock(&g_lock);
  ims_client_free(nowhere);
  CHECK_EQ(nowhere_ev.frees, 1);

  /* dave's UserSig has expired by now (or will shortly). */
  CHECK_WAIT(dave_ev.sig_expired == 1, 30);
  CHECK_WAIT(ims_client_get_login_status(dave) == IMS_LOGIN_STATUS_LOGOUT, 10);
  ims_client_free(dave);
  CHECK_EQ(dave_ev.frees, 1);

  ims_client_free(alice);
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(alice_ev.frees, 1);
  CHECK_EQ(alice_ev.wrong_thread + bob_ev.wrong_thread + dave_ev.wrong_thread +
               nowhere_ev.wrong_thread,
           0);
  pthread_mutex_unlock(&g_lock);
  return finish("listener");
}
