/* TLS across the C ABI, with real certificates (tests/common/tls.rs makes them and the servers):
 * clients connect over TLS by name (tls://) and by IP address (ims_config_set_tls), log in and
 * see each other's changes; an untrusted certificate, a wrong name and a pin mismatch are refused
 * as connection failures (on_connect_failed and the login's on_error, 9508) whose descriptions
 * say so; a right pin, in either form, is accepted; bad TLS settings are rejected with 6017. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static uint32_t app_id(void) {
  return (uint32_t)strtoul(env_or_die("IMS_TEST_APP_ID"), NULL, 10);
}

/* A config for `server` trusting `ca_pem` (NULL: no extra CA). */
static ims_config *tls_config(const char *server, const char *ca_pem) {
  ims_config *config = NULL;
  CHECK_EQ(ims_config_new(app_id(), &config), IMS_OK);
  CHECK_EQ(ims_config_set_server_addr(config, server), IMS_OK);
  if (ca_pem) CHECK_EQ(ims_config_add_ca_pem(config, (const uint8_t *)ca_pem, strlen(ca_pem)), IMS_OK);
  return config;
}

/* Makes a client from `config` (and frees the config). */
static ims_client *client_from(ims_config *config) {
  ims_client *client = NULL;
  CHECK_EQ(ims_client_new(config, &client), IMS_OK);
  ims_config_free(config);
  return client;
}

static void check_contains(const char *what, const char *text, const char *words) {
  if (!strstr(text, words)) {
    char msg[800];
    snprintf(msg, sizeof msg, "%s '%s' does not say '%s'", what, text, words);
    fail_at(__FILE__, __LINE__, msg);
  }
}

/* Logging in with `config` fails as a connection failure saying `words`, to the login and to the
 * listener alike. */
static void expect_refused(ims_config *config, const char *words) {
  ims_client *client = client_from(config);
  events ev;
  events_init(&ev);
  uint64_t id;
  CHECK_EQ(ims_client_add_listener(client, listener_of(&ev), &id), IMS_OK);
  call login;
  call_init(&login, words);
  CHECK_EQ(ims_client_login(client, "carol", sig_of("carol"), callback_of(&login)), IMS_OK);
  expect_error(&login, IMS_ERR_SDK_NET_DISCONNECT);
  check_contains("the login's error", login.desc, words);
  check_contains("the login's error", login.desc, "TLS handshake with ");
  /* on_connect_failed runs before the login's callback, on the same thread. */
  pthread_mutex_lock(&g_lock);
  CHECK_EQ(ev.connect_failed, 1);
  CHECK_EQ(ev.failed_code, IMS_ERR_SDK_NET_DISCONNECT);
  CHECK(strcmp(ev.failed_desc, login.desc) == 0);
  pthread_mutex_unlock(&g_lock);
  CHECK_EQ(ims_client_get_login_status(client), IMS_LOGIN_STATUS_LOGOUT);
  ims_client_free(client);
}

static void set_status(ims_client *client, const char *text) {
  call c;
  call_init(&c, text);
  CHECK_EQ(ims_client_set_self_status(client, text, callback_of(&c)), IMS_OK);
  expect_success(&c);
}

static void connect_and_see_changes(const char *server, const char *ca) {
  ims_client *alice = client_from(tls_config(server, ca));
  events alice_ev;
  events_init(&alice_ev);
  uint64_t id;
  CHECK_EQ(ims_client_add_listener(alice, listener_of(&alice_ev), &id), IMS_OK);
  login_ok(alice, "alice", sig_of("alice"));

  /* Bob by IP address, "127.0.0.1:PORT", with the switch instead of the scheme. */
  const char *port = strrchr(server, ':');
  CHECK(port != NULL);
  char by_ip[64];
  snprintf(by_ip, sizeof by_ip, "127.0.0.1%s", port);
  ims_config *bob_config = tls_config(by_ip, ca);
  CHECK_EQ(ims_config_set_tls(bob_config, true), IMS_OK);
  ims_client *bob = client_from(bob_config);
  login_ok(bob, "bob", sig_of("bob"));

  const char *bob_id[] = {"bob"};
  call sub;
  call_init(&sub, "subscribe");
  CHECK_EQ(ims_client_subscribe_user_status(alice, bob_id, 1, callback_of(&sub)), IMS_OK);
  expect_success(&sub);
  set_status(bob, "over TLS");
  CHECK_WAIT(strcmp(seen_custom(&alice_ev, "bob"), "over TLS") == 0, 10);
  CHECK(alice_ev.connect_success >= 1);
  CHECK_EQ(alice_ev.connect_failed, 0);
  ims_client_free(bob);
  ims_client_free(alice);
}

static void bad_settings_are_rejected(const char *ca) {
  ims_config *config = NULL;
  CHECK_EQ(ims_config_new(app_id(), &config), IMS_OK);
  CHECK_EQ(ims_config_set_tls(NULL, true), IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(ims_config_add_ca_pem(NULL, (const uint8_t *)ca, strlen(ca)), IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(ims_config_add_ca_pem(config, NULL, 10), IMS_ERR_INVALID_PARAMETERS);
  check_contains("the rejection", ims_last_error_message(), "pem is NULL");
  const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  CHECK_EQ(ims_config_add_ca_pem(config, (const uint8_t *)junk, strlen(junk)),
           IMS_ERR_INVALID_PARAMETERS);
  check_contains("the rejection", ims_last_error_message(), "not a usable CA certificate");
  CHECK_EQ(ims_config_add_ca_pem(config, (const uint8_t *)"x", 1), IMS_ERR_INVALID_PARAMETERS);
  check_contains("the rejection", ims_last_error_message(), "no CERTIFICATE block");
  CHECK_EQ(ims_config_add_spki_pin_sha256(config, NULL), IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(ims_config_add_spki_pin_sha256(NULL, (const uint8_t *)"0123456789abcdef0123456789abcdef"),
           IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(ims_config_add_spki_pin(config, NULL), IMS_ERR_INVALID_PARAMETERS);
  CHECK_EQ(ims_config_add_spki_pin(config, "c2hvcnQ="), IMS_ERR_INVALID_PARAMETERS);
  check_contains("the rejection", ims_last_error_message(), "32 bytes");
  const char not_utf8[] = {'\xff', '\0'};
  CHECK_EQ(ims_config_add_spki_pin(config, not_utf8), IMS_ERR_INVALID_PARAMETERS);
  /* An address the client cannot use is refused when the client is made. */
  CHECK_EQ(ims_config_set_server_addr(config, "ftp://localhost:1"), IMS_OK);
  ims_client *client = NULL;
  CHECK_EQ(ims_client_new(config, &client), IMS_ERR_INVALID_PARAMETERS);
  check_contains("the rejection", ims_last_error_message(), "tls://");
  CHECK(client == NULL);
  ims_config_free(config);
}

/* IMS_TEST_TLS_PIN_HEX as 32 bytes. */
static void pin_bytes(uint8_t out[32]) {
  const char *hex = env_or_die("IMS_TEST_TLS_PIN_HEX");
  CHECK_EQ(strlen(hex), 64);
  for (int i = 0; i < 32; i++) {
    char byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
    out[i] = (uint8_t)strtoul(byte, NULL, 16);
  }
}

static void pins(const char *ca) {
  const char *pinned = env_or_die("IMS_TEST_TLS_PINNED_SERVER");
  const char *wrong_pin = env_or_die("IMS_TEST_TLS_WRONG_PIN");

  /* The right pin beside a backup pin, as text. */
  ims_config *config = tls_config(pinned, ca);
  CHECK_EQ(ims_config_add_spki_pin(config, wrong_pin), IMS_OK);
  CHECK_EQ(ims_config_add_spki_pin(config, env_or_die("IMS_TEST_TLS_PIN")), IMS_OK);
  ims_client *dave = client_from(config);
  login_ok(dave, "dave", sig_of("dave"));
  ims_client_free(dave);

  /* The right pin as bytes. */
  uint8_t pin[32];
  pin_bytes(pin);
  config = tls_config(pinned, ca);
  CHECK_EQ(ims_config_add_spki_pin_sha256(config, pin), IMS_OK);
  ims_client *erin = client_from(config);
  login_ok(erin, "erin", sig_of("erin"));
  ims_client_free(erin);

  config = tls_config(pinned, ca);
  CHECK_EQ(ims_config_add_spki_pin(config, wrong_pin), IMS_OK);
  expect_refused(config, "pin mismatch");
}

int main(void) {
  const char *server = env_or_die("IMS_TEST_TLS_SERVER");
  const char *ca = env_or_die("IMS_TEST_TLS_CA");

  bad_settings_are_rejected(ca);
  connect_and_see_changes(server, ca);
  expect_refused(tls_config(server, env_or_die("IMS_TEST_TLS_OTHER_CA")), "untrusted certificate");
  expect_refused(tls_config(env_or_die("IMS_TEST_TLS_WRONG_NAME_SERVER"), ca), "wrong name");
  pins(ca);
  return finish("tls");
}
