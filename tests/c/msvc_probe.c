/* The header and lib/imstatus.lib as a Visual Studio project uses them, as far as this machine
 * can: tests/windows.rs compiles this file with clang for x86_64-pc-windows-msvc (MSVC's ABI,
 * _MSC_VER defined, so IMS_API is __declspec(dllimport)), links it with lld-link (rustc's
 * rust-lld, MSVC's command line) against imstatus.lib alone, and runs it under wine with
 * imstatus.dll next to it.
 *
 * No C runtime is linked (there is no MSVC one here): the entry point is probe_main, and the
 * exit code says which check failed (0: all passed). */
#include "imstatus.h"

int probe_main(void);

static int same(const char *a, const char *b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

int probe_main(void) {
  if (ims_version_number() != IMS_VERSION_NUMBER) return 10;
  if (!same(ims_version(), IMS_VERSION_STRING)) return 11;
  if (!same(ims_error_str(IMS_ERR_INVALID_PARAMETERS), "invalid parameters")) return 12;

  ims_config *config = 0;
  if (ims_config_new(1400000000u, &config) != IMS_OK || config == 0) return 20;
  if (ims_config_set_platform(config, 99) != IMS_ERR_INVALID_PARAMETERS) return 21;
  if (ims_last_error_message()[0] == '\0') return 22;
  if (ims_config_set_server_addr(config, "127.0.0.1:9") != IMS_OK) return 23;

  ims_client *client = 0;
  if (ims_client_new(config, &client) != IMS_OK || client == 0) return 30;
  ims_config_free(config);
  if (ims_client_get_login_status(client) != IMS_LOGIN_STATUS_LOGOUT) return 31;
  char user[8];
  size_t len = 99;
  if (ims_client_get_login_user(client, user, sizeof user, &len) != IMS_OK || len != 0) return 32;
  ims_client_free(client); /* stops the client's threads */
  return 0;
}
