/* The process-wide log callback: lines at or above the level, replaced callbacks freed once. */
#include "common.h"

#include <string.h>

typedef struct sink {
  int lines, bad_level, empty, frees, logging_in;
  int by_level[7];
} sink;

static void on_log(void *user_data, ims_log_level level, const char *message) {
  sink *s = user_data;
  /* Calling into the library from the log callback is allowed (whatever it logs is dropped). */
  (void)ims_client_get_login_status(NULL);
  pthread_mutex_lock(&g_lock);
  s->lines++;
  if (level < IMS_LOG_LEVEL_DEBUG || level > IMS_LOG_LEVEL_ERROR) {
    s->bad_level++;
  } else {
    s->by_level[level]++;
  }
  if (!message || !*message) s->empty++;
  if (message && strstr(message, "logging in")) s->logging_in++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

static void on_free(void *user_data) {
  sink *s = user_data;
  pthread_mutex_lock(&g_lock);
  s->frees++;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

int main(void) {
  sink verbose, quiet;
  memset(&verbose, 0, sizeof verbose);
  memset(&quiet, 0, sizeof quiet);
  ims_log_callback first = {&verbose, on_log, on_free};
  CHECK_EQ(ims_set_log_callback(IMS_LOG_LEVEL_DEBUG, first), IMS_OK);

  ims_client *client = new_client(env_or_die("IMS_TEST_SERVER"), IMS_PLATFORM_DEFAULT);
  login_ok(client, "alice", sig_of("alice"));
  CHECK_WAIT(verbose.logging_in >= 1, 10);
  pthread_mutex_lock(&g_lock);
  CHECK(verbose.by_level[IMS_LOG_LEVEL_DEBUG] > 0);
  CHECK(verbose.by_level[IMS_LOG_LEVEL_INFO] > 0);
  CHECK_EQ(verbose.bad_level, 0);
  CHECK_EQ(verbose.empty, 0);
  pthread_mutex_unlock(&g_lock);

  /* Replacing the callback frees the previous one once; the new level filters. */
  ims_log_callback second = {&quiet, on_log, on_free};
  CHECK_EQ(ims_set_log_callback(IMS_LOG_LEVEL_ERROR, second), IMS_OK);
  CHECK_WAIT(verbose.frees == 1, 10);
  pthread_mutex_lock(&g_lock);
  int verbose_lines = verbose.lines;
  pthread_mutex_unlock(&g_lock);
  call logout;
  call_init(&logout, "logout");
  CHECK_EQ(ims_client_logout(client, callback_of(&logout)), IMS_OK);
  expect_success(&logout);
  login_ok(client, "alice", sig_of("alice"));
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(verbose.lines, verbose_lines);
  CHECK_EQ(quiet.by_level[IMS_LOG_LEVEL_DEBUG] + quiet.by_level[IMS_LOG_LEVEL_INFO] +
               quiet.by_level[IMS_LOG_LEVEL_WARN],
           0);
  pthread_mutex_unlock(&g_lock);

  /* Turning logging off. */
  ims_log_callback off;
  memset(&off, 0, sizeof off);
  CHECK_EQ(ims_set_log_callback(IMS_LOG_LEVEL_NONE, off), IMS_OK);
  CHECK_WAIT(quiet.frees == 1, 10);
  ims_client_free(client);
  CHECK_EQ(verbose.frees, 1);
  CHECK_EQ(quiet.frees, 1);
  return finish("log");
}
