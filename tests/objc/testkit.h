/* Helpers shared by the Objective-C test programs (tests/objc/NAME.m). tests/objc_api.rs compiles
 * them with clang against GNUstep Base and the blocks runtime (GCC Objective-C runtime, no ARC),
 * links them with the wrapper (bindings/apple) and libimstatus.a, and runs each against a real
 * server. Everything comes through the environment:
 *
 *   IMS_TEST_SERVER           host:port of the server
 *   IMS_TEST_APP_ID           an Ultimate app with both console switches on
 *   IMS_TEST_BASIC_APP_ID     a Basic app (status switch on)
 *   IMS_TEST_OFF_APP_ID       an Ultimate app with the status switch off
 *   IMS_TEST_SIG_<user>       a UserSig of <user> in the Ultimate app
 *   IMS_TEST_BASIC_SIG_<user> ... in the Basic app;  IMS_TEST_OFF_SIG_<user> ... in the off app
 *   IMS_TEST_SHORT_SIG_<user> a UserSig of <user> (Ultimate app) that expires within seconds
 *   IMS_TEST_DEAD_SERVER      an address where nothing listens
 *   IMS_TEST_TIME_SCALE       multiplies every wait
 *   IMS_TEST_TLS_*            tls.m's servers, CAs and pins (listed in tests/c/common.h)
 *
 * Waiting: all recorded state is guarded by one NSCondition, tk_cond; every callback changes it
 * under the lock and broadcasts, and waiters re-check their condition until a deadline. A failed
 * check is printed and counted; the program exits non-zero when any failed.
 *
 * This runtime's blocks do not retain the objects they capture (libBlocksRuntime has no retain
 * hooks for the GCC runtime), so the tests keep every object a block uses alive themselves, in
 * the autorelease pool of the test function, which outlives its waits.
 */
#ifndef IMS_OBJC_TESTKIT_H
#define IMS_OBJC_TESTKIT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>

#import "V2TIMManager.h"
#include "imstatus.h"

extern NSCondition *tk_cond;

/* Call first in main (on the main thread). */
void tk_setup(void);
/* Prints the summary line; returns main's exit status. */
int tk_finish(const char *program);
/* Prints a header for one test function. */
void tk_section(const char *name);

void tk_fail_at(const char *file, int line, NSString *what);
int tk_failures(void);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) tk_fail_at(__FILE__, __LINE__, @#cond);                                       \
    } while (0)
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_)                                                                  \
            tk_fail_at(__FILE__, __LINE__,                                                         \
                       [NSString stringWithFormat:@"%s == %s (%lld != %lld)", #a, #b, check_a_,    \
                                                  check_b_]);                                      \
    } while (0)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        NSString *check_a_ = (a), *check_b_ = (b);                                                 \
        if (!(check_a_ == check_b_ || [check_a_ isEqual:check_b_]))                                \
            tk_fail_at(__FILE__, __LINE__,                                                         \
                       [NSString stringWithFormat:@"%s == %s (\"%@\" != \"%@\")", #a, #b,          \
                                                  check_a_, check_b_]);                            \
    } while (0)

/* Seconds scaled by IMS_TEST_TIME_SCALE. */
double tk_scaled(double seconds);
/* Waits until pred() holds (evaluated under tk_cond) or the scaled timeout passes. */
BOOL tk_wait_until(BOOL (^pred)(void), double seconds);
#define TK_WAIT(expr, seconds) tk_wait_until(^BOOL { return (expr) ? YES : NO; }, (seconds))
#define CHECK_WAIT(expr, seconds)                                                                  \
    do {                                                                                           \
        if (!TK_WAIT(expr, seconds))                                                               \
            tk_fail_at(__FILE__, __LINE__, @"timed out waiting for " #expr);                       \
    } while (0)
/* Holds for the scaled time while pred() stays false; NO if it became true. */
BOOL tk_stays_false(BOOL (^pred)(void), double seconds);
#define CHECK_STAYS_FALSE(expr, seconds)                                                           \
    do {                                                                                           \
        if (!tk_stays_false(^BOOL { return (expr) ? YES : NO; }, (seconds)))                       \
            tk_fail_at(__FILE__, __LINE__, @"became true: " #expr);                                \
    } while (0)

/* The environment. */
NSString *tk_env(const char *name);
NSString *tk_server(void);
int tk_app(void);
int tk_basic_app(void);
int tk_off_app(void);
NSString *tk_sig(NSString *user);       /* Ultimate app */
NSString *tk_basic_sig(NSString *user); /* Basic app */
NSString *tk_off_sig(NSString *user);   /* status switch off */
NSString *tk_short_sig(NSString *user); /* Ultimate app, expires within seconds */

/* The current thread's name as the OS reports it. */
NSString *tk_thread_name(void);
/* Whether the current thread is the SDK's callback thread ("imstatus-callback", of which Linux
   reports 15 bytes). */
BOOL tk_on_callback_thread(void);
BOOL tk_on_error_thread(void); /* the library's "imstatus-errors" */
BOOL tk_on_main_thread(void);
BOOL tk_is_callback_thread_name(NSString *name);
/* Where a call's outcome ran: the SDK's callback thread, or, for a call that never reached the
   SDK's client, the library's error thread. */
#define CHECK_CALLBACK_THREAD(c) CHECK(tk_is_callback_thread_name((c)->thread))
#define CHECK_ERROR_THREAD(c) CHECK([(c)->thread isEqualToString:@"imstatus-errors"])

/* One asynchronous call: what its blocks saw. Create with +named:, wrap the V2TIM call in
   TK_CALL so that a block running inside the call is noticed, and pass TK_SUCC, TK_FAIL or
   TK_LIST as its blocks. Every TKCall must end with exactly one outcome: tk_finish checks. */
@interface TKCall : NSObject {
  @public
    NSString *name;
    pthread_t caller;
    volatile BOOL inCall;
    int successes, failures, inlineRuns, callerThreadRuns;
    int code;
    NSString *desc;
    NSArray<V2TIMUserStatus *> *list;
    NSString *thread;
    BOOL onMain;
}
+ (TKCall *)named:(NSString *)name;
- (void)begin;
- (void)end;
- (void)succeeded;
- (void)failed:(int)code desc:(NSString *)desc;
- (void)gotList:(NSArray<V2TIMUserStatus *> *)list;
/* Outcomes so far (under tk_cond). */
- (int)outcomes;
@end

#define TK_CALL(c, ...)                                                                            \
    do {                                                                                           \
        [(c) begin];                                                                               \
        __VA_ARGS__;                                                                               \
        [(c) end];                                                                                 \
    } while (0)
#define TK_SUCC(c) ^{ [(c) succeeded]; }
#define TK_FAIL(c) ^(int tk_code_, NSString *tk_desc_) { [(c) failed:tk_code_ desc:tk_desc_]; }
#define TK_LIST(c) ^(NSArray<V2TIMUserStatus *> *tk_list_) { [(c) gotList:tk_list_]; }

/* Waits for the outcome, then checks it was a success (the list for getUserStatus), exactly one,
   not run inside the call nor on the caller's thread. */
void tk_expect_success_at(const char *file, int line, TKCall *call);
/* Same for a failure with code. */
void tk_expect_error_at(const char *file, int line, TKCall *call, int code);
#define EXPECT_SUCCESS(c) tk_expect_success_at(__FILE__, __LINE__, (c))
#define EXPECT_ERROR(c, code) tk_expect_error_at(__FILE__, __LINE__, (c), (code))

/* The status of user in a list, or nil. */
V2TIMUserStatus *tk_find(NSArray<V2TIMUserStatus *> *list, NSString *user);

/* Convenience wrappers that wait and check. */
void tk_init(int app);                 /* initSDK with the test server */
void tk_login(NSString *user, NSString *sig);
void tk_logout(void);
void tk_set_self(NSString *custom);
NSArray<V2TIMUserStatus *> *tk_get(NSArray *ids);

/* A listener that records every event. */
@interface TKListener : NSObject <V2TIMSDKListener> {
  @public
    int connecting, connectSuccess, connectFailed, kicked, sigExpired, statusChanged;
    int failedCode;
    NSString *failedDesc;   /* the latest onConnectFailed's message */
    int wrongThread;        /* events not where they should run */
    BOOL expectMainThread;  /* events must run on the main thread (else: the callback thread) */
    NSMutableArray<NSString *> *order; /* event names in order */
    NSMutableDictionary<NSString *, V2TIMUserStatus *> *latest; /* per user */
    NSMutableArray<V2TIMUserStatus *> *all; /* every status received, in order */
}
+ (TKListener *)listener;
/* The latest custom status seen for user, or nil. Under tk_cond. */
- (NSString *)customOf:(NSString *)user;
- (V2TIMUserStatusType)typeOf:(NSString *)user;
/* How many statuses of user arrived. Under tk_cond. */
- (int)countOf:(NSString *)user;
@end

/* Another client, through the C API, to change statuses or kick. Waits for each call. */
typedef struct tk_other tk_other;
tk_other *tk_other_new(int app, const char *server);
void tk_other_login(tk_other *other, NSString *user, NSString *sig);
void tk_other_set(tk_other *other, NSString *custom);
void tk_other_logout(tk_other *other);
/* The other client's query of user: its status type, custom status and last seen (Unix ms, 0 for
   none, read with ims_status_last_seen_ms). */
typedef struct tk_view {
    int32_t type;
    char custom[128];
    uint64_t last_seen_ms;
} tk_view;
tk_view tk_other_get(tk_other *other, NSString *user);
void tk_other_free(tk_other *other);

/* Instances of a class of the wrapper alive now (initialisations minus deallocations, counted
   from tk_track_class on), to check that nothing is leaked or released twice. init is the
   initialiser the wrapper uses for that class, with 0 or 3 object arguments. */
void tk_track_class(const char *class_name, SEL init, int init_arguments);
long tk_live(const char *class_name);
/* Instances made so far (initialisations counted from tk_track_class on). */
long tk_made(const char *class_name);

#endif
