/* The calling thread's name as the operating system reports it (for tests/c/common.c and
 * tests/cpp/harness.cpp); "" when it has none.
 *
 * Linux: pthread_getname_np, which keeps 15 bytes of a name ("imstatus-callback" reads
 * "imstatus-callba"). Windows: GetThreadDescription, which keeps the whole name (Rust's standard
 * library names its threads with SetThreadDescription). Looked up in kernel32 at run time, as the
 * library does, since not every MinGW header declares it. */
#ifndef IMS_TEST_THREAD_NAME_H
#define IMS_TEST_THREAD_NAME_H

#include <stddef.h>

#ifdef _WIN32
#include <windows.h>

static inline void ims_test_thread_name(char *buf, size_t len) {
  typedef HRESULT(WINAPI * get_thread_description_fn)(HANDLE, PWSTR *);
  buf[0] = '\0';
  HMODULE kernel32 = GetModuleHandleW(L"kernel32.dll");
  FARPROC proc = kernel32 ? GetProcAddress(kernel32, "GetThreadDescription") : NULL;
  if (proc == NULL) return;
  /* Through void (*)(void): the cast between function types that -Wcast-function-type allows. */
  get_thread_description_fn get = (get_thread_description_fn)(void (*)(void))proc;
  PWSTR wide = NULL;
  if (FAILED(get(GetCurrentThread(), &wide)) || wide == NULL) return;
  if (WideCharToMultiByte(CP_UTF8, 0, wide, -1, buf, (int)len, NULL, NULL) == 0) buf[0] = '\0';
  LocalFree(wide);
}
#else
#include <pthread.h>

static inline void ims_test_thread_name(char *buf, size_t len) {
  buf[0] = '\0';
  if (pthread_getname_np(pthread_self(), buf, len) != 0) buf[0] = '\0';
}
#endif

#endif
