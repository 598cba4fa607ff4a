#import "testkit.h"

#include <objc/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

NSCondition *tk_cond;

/* Updated with the compiler's atomic builtins (GCC's <stdatomic.h> is the one clang finds here,
   and clang rejects it). */
static int failures;
static int checks_printed;
static pthread_t main_thread;
/* Every TKCall made, to check at the end that each had exactly one outcome. */
static NSMutableArray<TKCall *> *all_calls;

void tk_setup(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_thread = pthread_self();
    (void)[NSThread currentThread];
    tk_cond = [[NSCondition alloc] init];
    all_calls = [[NSMutableArray alloc] init];
}

void tk_section(const char *name) {
    printf("== %s\n", name);
}

void tk_fail_at(const char *file, int line, NSString *what) {
    __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
    if (__atomic_fetch_add(&checks_printed, 1, __ATOMIC_SEQ_CST) < 80) {
        const char *base = strrchr(file, '/');
        fprintf(stderr, "FAIL %s:%d: %s\n", base ? base + 1 : file, line, [what UTF8String]);
        fflush(stderr);
    }
}

int tk_failures(void) {
    return __atomic_load_n(&failures, __ATOMIC_SEQ_CST);
}

int tk_finish(const char *program) {
    @autoreleasepool {
        [tk_cond lock];
        NSArray<TKCall *> *calls = [NSArray arrayWithArray:all_calls];
        [tk_cond unlock];
        for (TKCall *call in calls) {
            int outcomes = [call outcomes];
            if (outcomes != 1) {
                tk_fail_at(__FILE__, __LINE__,
                           [NSString stringWithFormat:@"call \"%@\" had %d outcomes, not 1",
                                                      call->name, outcomes]);
            }
        }
    }
    int n = tk_failures();
    if (n == 0) {
        printf("%s: all checks passed\n", program);
    } else {
        printf("%s: %d checks failed\n", program, n);
    }
    fflush(stdout);
    return n == 0 ? 0 : 1;
}

double tk_scaled(double seconds) {
    const char *scale = getenv("IMS_TEST_TIME_SCALE");
    double factor = scale ? atof(scale) : 1.0;
    return seconds * (factor > 0 ? factor : 1.0);
}

BOOL tk_wait_until(BOOL (^pred)(void), double seconds) {
    NSDate *deadline = [NSDate dateWithTimeIntervalSinceNow:tk_scaled(seconds)];
    [tk_cond lock];
    BOOL ok = pred();
    while (!ok && [deadline timeIntervalSinceNow] > 0) {
        /* Also wakes every 20 ms, for conditions nobody broadcasts (the SDK's own state). */
        NSDate *step = [NSDate dateWithTimeIntervalSinceNow:0.02];
        [tk_cond waitUntilDate:[step earlierDate:deadline]];
        ok = pred();
    }
    [tk_cond unlock];
    return ok;
}

BOOL tk_stays_false(BOOL (^pred)(void), double seconds) {
    return !tk_wait_until(pred, seconds);
}

NSString *tk_env(const char *name) {
    const char *value = getenv(name);
    if (value == NULL || *value == 0) {
        fprintf(stderr, "missing environment variable %s (run through cargo test --test objc_api)\n",
                name);
        exit(2);
    }
    return [NSString stringWithUTF8String:value];
}

NSString *tk_server(void) {
    return tk_env("IMS_TEST_SERVER");
}

int tk_app(void) {
    return [tk_env("IMS_TEST_APP_ID") intValue];
}

int tk_basic_app(void) {
    return [tk_env("IMS_TEST_BASIC_APP_ID") intValue];
}

int tk_off_app(void) {
    return [tk_env("IMS_TEST_OFF_APP_ID") intValue];
}

static NSString *sig_from(const char *prefix, NSString *user) {
    return tk_env([[NSString stringWithFormat:@"%s%@", prefix, user] UTF8String]);
}

NSString *tk_sig(NSString *user) {
    return sig_from("IMS_TEST_SIG_", user);
}

NSString *tk_basic_sig(NSString *user) {
    return sig_from("IMS_TEST_BASIC_SIG_", user);
}

NSString *tk_off_sig(NSString *user) {
    return sig_from("IMS_TEST_OFF_SIG_", user);
}

NSString *tk_short_sig(NSString *user) {
    return sig_from("IMS_TEST_SHORT_SIG_", user);
}

NSString *tk_thread_name(void) {
    char name[64] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    return [NSString stringWithUTF8String:name];
}

BOOL tk_is_callback_thread_name(NSString *name) {
    return [name isEqualToString:@"imstatus-callback"] || [name isEqualToString:@"imstatus-callba"];
}

BOOL tk_on_callback_thread(void) {
    return tk_is_callback_thread_name(tk_thread_name());
}

BOOL tk_on_error_thread(void) {
    return [tk_thread_name() isEqualToString:@"imstatus-errors"];
}

BOOL tk_on_main_thread(void) {
    return pthread_equal(pthread_self(), main_thread) != 0;
}

/* ---- TKCall ------------------------------------------------------------------------------- */

@implementation TKCall

+ (TKCall *)named:(NSString *)name {
    TKCall *call = [[[TKCall alloc] init] autorelease];
    call->name = [name copy];
    [tk_cond lock];
    [all_calls addObject:call];
    [tk_cond unlock];
    return call;
}

- (void)dealloc {
    [name release];
    [desc release];
    [list release];
    [thread release];
    [super dealloc];
}

- (void)begin {
    caller = pthread_self();
    inCall = YES;
}

- (void)end {
    inCall = NO;
}

/* Under tk_cond: notes where an outcome runs. */
- (void)noteThread {
    if (inCall && pthread_equal(pthread_self(), caller)) inlineRuns++;
    if (pthread_equal(pthread_self(), caller)) callerThreadRuns++;
    [thread release];
    thread = [tk_thread_name() retain];
    onMain = tk_on_main_thread();
}

- (void)succeeded {
    [tk_cond lock];
    [self noteThread];
    successes++;
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)failed:(int)failCode desc:(NSString *)failDesc {
    [tk_cond lock];
    [self noteThread];
    failures++;
    code = failCode;
    [desc release];
    desc = [failDesc copy];
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)gotList:(NSArray<V2TIMUserStatus *> *)result {
    [tk_cond lock];
    [self noteThread];
    successes++;
    [list release];
    list = [result retain];
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (int)outcomes {
    [tk_cond lock];
    int n = successes + failures;
    [tk_cond unlock];
    return n;
}

@end

static void expect_outcome(const char *file, int line, TKCall *call, BOOL success, int code) {
    if (!TK_WAIT(call->successes + call->failures > 0, 15)) {
        tk_fail_at(file, line, [NSString stringWithFormat:@"%@: no outcome", call->name]);
        return;
    }
    [tk_cond lock];
    if (success && call->failures > 0) {
        tk_fail_at(file, line,
                   [NSString stringWithFormat:@"%@ failed: %d %@", call->name, call->code, call->desc]);
    } else if (!success && call->successes > 0) {
        tk_fail_at(file, line,
                   [NSString stringWithFormat:@"%@ succeeded, expected error %d", call->name, code]);
    } else if (!success && call->code != code) {
        tk_fail_at(file, line,
                   [NSString stringWithFormat:@"%@ failed with %d (%@), expected %d", call->name,
                                              call->code, call->desc, code]);
    } else if (!success && [call->desc length] == 0) {
        tk_fail_at(file, line, [NSString stringWithFormat:@"%@: empty error description", call->name]);
    }
    if (call->successes + call->failures != 1) {
        tk_fail_at(file, line, [NSString stringWithFormat:@"%@: %d outcomes", call->name,
                                                          call->successes + call->failures]);
    }
    if (call->inlineRuns != 0) {
        tk_fail_at(file, line, [NSString stringWithFormat:@"%@: a block ran inside the call", call->name]);
    }
    [tk_cond unlock];
}

void tk_expect_success_at(const char *file, int line, TKCall *call) {
    expect_outcome(file, line, call, YES, 0);
}

void tk_expect_error_at(const char *file, int line, TKCall *call, int code) {
    expect_outcome(file, line, call, NO, code);
}

V2TIMUserStatus *tk_find(NSArray<V2TIMUserStatus *> *list, NSString *user) {
    for (V2TIMUserStatus *status in list) {
        if ([status.userID isEqualToString:user]) return status;
    }
    return nil;
}

void tk_init(int app) {
    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = tk_server();
    CHECK([[V2TIMManager sharedInstance] initSDK:app config:config]);
}

void tk_login(NSString *user, NSString *sig) {
    TKCall *c = [TKCall named:[NSString stringWithFormat:@"login %@", user]];
    TK_CALL(c, [[V2TIMManager sharedInstance] login:user userSig:sig succ:TK_SUCC(c) fail:TK_FAIL(c)]);
    EXPECT_SUCCESS(c);
}

void tk_logout(void) {
    TKCall *c = [TKCall named:@"logout"];
    TK_CALL(c, [[V2TIMManager sharedInstance] logout:TK_SUCC(c) fail:TK_FAIL(c)]);
    EXPECT_SUCCESS(c);
}

void tk_set_self(NSString *custom) {
    V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
    status.customStatus = custom;
    TKCall *c = [TKCall named:@"setSelfStatus"];
    TK_CALL(c, [[V2TIMManager sharedInstance] setSelfStatus:status succ:TK_SUCC(c) fail:TK_FAIL(c)]);
    EXPECT_SUCCESS(c);
}

NSArray<V2TIMUserStatus *> *tk_get(NSArray *ids) {
    TKCall *c = [TKCall named:@"getUserStatus"];
    TK_CALL(c, [[V2TIMManager sharedInstance] getUserStatus:ids succ:TK_LIST(c) fail:TK_FAIL(c)]);
    EXPECT_SUCCESS(c);
    [tk_cond lock];
    NSArray<V2TIMUserStatus *> *list = [[c->list retain] autorelease];
    [tk_cond unlock];
    return list;
}

/* ---- TKListener --------------------------------------------------------------------------- */

@implementation TKListener

+ (TKListener *)listener {
    TKListener *l = [[[TKListener alloc] init] autorelease];
    l->order = [[NSMutableArray alloc] init];
    l->latest = [[NSMutableDictionary alloc] init];
    l->all = [[NSMutableArray alloc] init];
    return l;
}

- (void)dealloc {
    [order release];
    [latest release];
    [all release];
    [failedDesc release];
    [super dealloc];
}

/* Under tk_cond. */
- (void)note:(NSString *)event {
    [order addObject:event];
    BOOL right = expectMainThread ? tk_on_main_thread() : tk_on_callback_thread();
    if (!right) {
        wrongThread++;
        fprintf(stderr, "event %s ran on thread \"%s\"\n", [event UTF8String],
                [tk_thread_name() UTF8String]);
    }
}

- (void)onConnecting {
    [tk_cond lock];
    [self note:@"connecting"];
    connecting++;
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)onConnectSuccess {
    [tk_cond lock];
    [self note:@"connectSuccess"];
    connectSuccess++;
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)onConnectFailed:(int)code err:(NSString *)err {
    [tk_cond lock];
    [self note:@"connectFailed"];
    connectFailed++;
    failedCode = code;
    [failedDesc release];
    failedDesc = [err copy];
    if ([err length] == 0) wrongThread += 1000; /* a description is always given */
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)onKickedOffline {
    [tk_cond lock];
    [self note:@"kicked"];
    kicked++;
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)onUserSigExpired {
    [tk_cond lock];
    [self note:@"sigExpired"];
    sigExpired++;
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList {
    [tk_cond lock];
    [self note:@"statusChanged"];
    statusChanged++;
    for (V2TIMUserStatus *status in userStatusList) {
        [latest setObject:status forKey:status.userID];
        [all addObject:status];
    }
    [tk_cond broadcast];
    [tk_cond unlock];
}

- (NSString *)customOf:(NSString *)user {
    return [[latest objectForKey:user] customStatus];
}

- (V2TIMUserStatusType)typeOf:(NSString *)user {
    V2TIMUserStatus *status = [latest objectForKey:user];
    return status != nil ? status.statusType : V2TIM_USER_STATUS_UNKNOWN;
}

- (int)countOf:(NSString *)user {
    int n = 0;
    for (V2TIMUserStatus *status in all) {
        if ([status.userID isEqualToString:user]) n++;
    }
    return n;
}

@end

/* ---- Another client through the C API ----------------------------------------------------- */

struct tk_other {
    ims_client *client;
};

typedef struct other_call {
    int done, code;
} other_call;

static void other_success(void *user_data) {
    other_call *c = user_data;
    [tk_cond lock];
    c->done = 1;
    c->code = 0;
    [tk_cond broadcast];
    [tk_cond unlock];
}

static void other_error(void *user_data, int32_t code, const char *desc) {
    other_call *c = user_data;
    fprintf(stderr, "other client: %d %s\n", (int)code, desc);
    [tk_cond lock];
    c->done = 1;
    c->code = code;
    [tk_cond broadcast];
    [tk_cond unlock];
}

static ims_callback other_callback(other_call *c) {
    ims_callback cb;
    memset(&cb, 0, sizeof cb);
    cb.user_data = c;
    cb.on_success = other_success;
    cb.on_error = other_error;
    return cb;
}

static void other_wait(other_call *c, const char *what) {
    if (!TK_WAIT(c->done, 15)) {
        tk_fail_at(__FILE__, __LINE__, [NSString stringWithFormat:@"other client: no answer to %s", what]);
    } else if (c->code != 0) {
        tk_fail_at(__FILE__, __LINE__,
                   [NSString stringWithFormat:@"other client: %s failed with %d", what, c->code]);
    }
}

tk_other *tk_other_new(int app, const char *server) {
    tk_other *other = calloc(1, sizeof *other);
    ims_config *config = NULL;
    CHECK_EQ(ims_config_new((uint32_t)app, &config), IMS_OK);
    CHECK_EQ(ims_config_set_server_addr(config, server), IMS_OK);
    CHECK_EQ(ims_client_new(config, &other->client), IMS_OK);
    ims_config_free(config);
    return other;
}

void tk_other_login(tk_other *other, NSString *user, NSString *sig) {
    other_call c = {0, 0};
    CHECK_EQ(ims_client_login(other->client, [user UTF8String], [sig UTF8String], other_callback(&c)),
             IMS_OK);
    other_wait(&c, "login");
}

void tk_other_set(tk_other *other, NSString *custom) {
    other_call c = {0, 0};
    CHECK_EQ(ims_client_set_self_status(other->client, [custom UTF8String], other_callback(&c)), IMS_OK);
    other_wait(&c, "setSelfStatus");
}

void tk_other_logout(tk_other *other) {
    other_call c = {0, 0};
    CHECK_EQ(ims_client_logout(other->client, other_callback(&c)), IMS_OK);
    other_wait(&c, "logout");
}

typedef struct other_query {
    int done, code, count;
    tk_view view;
} other_query;

static void other_statuses(void *user_data, const ims_user_status *statuses, size_t count) {
    other_query *q = user_data;
    [tk_cond lock];
    q->count = (int)count;
    if (count > 0) {
        q->view.type = statuses[0].status_type;
        snprintf(q->view.custom, sizeof q->view.custom, "%s", statuses[0].custom_status);
        if (ims_status_last_seen_ms(&statuses[0], &q->view.last_seen_ms) != IMS_OK) q->code = -1;
    }
    q->done = 1;
    [tk_cond broadcast];
    [tk_cond unlock];
}

static void other_query_error(void *user_data, int32_t code, const char *desc) {
    other_query *q = user_data;
    fprintf(stderr, "other client query: %d %s\n", (int)code, desc);
    [tk_cond lock];
    q->done = 1;
    q->code = code;
    [tk_cond broadcast];
    [tk_cond unlock];
}

tk_view tk_other_get(tk_other *other, NSString *user) {
    other_query q;
    memset(&q, 0, sizeof q);
    const char *ids[] = {[user UTF8String]};
    ims_user_status_callback cb = {&q, other_statuses, other_query_error, NULL};
    CHECK_EQ(ims_client_get_user_status(other->client, ids, 1, cb), IMS_OK);
    other_query *qp = &q; /* a block would copy the struct itself */
    if (!TK_WAIT(qp->done, 10)) {
        tk_fail_at(__FILE__, __LINE__, @"the other client's query never finished");
        abort(); /* the library still holds &q */
    }
    CHECK_EQ(q.code, 0);
    CHECK_EQ(q.count, 1);
    return q.view;
}

void tk_other_free(tk_other *other) {
    ims_client_free(other->client);
    free(other);
}

/* ---- Counting instances of the wrapper's classes ------------------------------------------ */

#define TK_TRACKED_MAX 8
typedef struct tracked {
    Class cls;
    const char *name;
    IMP init;
    IMP dealloc;
    long made, deallocs;
} tracked;
static tracked tracked_classes[TK_TRACKED_MAX];
static int tracked_count;

static tracked *tracked_of_class(Class cls) {
    for (int i = 0; i < tracked_count; i++) {
        if (tracked_classes[i].cls == cls) return &tracked_classes[i];
    }
    return NULL;
}

/* Counts an instance when its initialiser runs (GCC's runtime ignores methods added to a
   metaclass, so +alloc cannot be hooked). */
static id tk_init0(id self, SEL cmd) {
    tracked *t = tracked_of_class(object_getClass(self));
    __atomic_fetch_add(&t->made, 1, __ATOMIC_SEQ_CST);
    return ((id(*)(id, SEL))t->init)(self, cmd);
}

static id tk_init3(id self, SEL cmd, id a, id b, id c) {
    tracked *t = tracked_of_class(object_getClass(self));
    __atomic_fetch_add(&t->made, 1, __ATOMIC_SEQ_CST);
    return ((id(*)(id, SEL, id, id, id))t->init)(self, cmd, a, b, c);
}

static void tk_dealloc(id self, SEL cmd) {
    tracked *t = tracked_of_class(object_getClass(self));
    __atomic_fetch_add(&t->deallocs, 1, __ATOMIC_SEQ_CST);
    ((void (*)(id, SEL))t->dealloc)(self, cmd);
}

/* Points selector of cls (not of its superclasses: GCC's class_replaceMethod would change the
   inherited method) to imp. */
static void hook(Class cls, SEL selector, IMP imp, Method inherited) {
    if (!class_addMethod(cls, selector, imp, method_getTypeEncoding(inherited))) {
        /* cls has its own: class_getInstanceMethod finds that one first. */
        method_setImplementation(class_getInstanceMethod(cls, selector), imp);
    }
}

void tk_track_class(const char *class_name, SEL init, int init_arguments) {
    Class cls = objc_getClass(class_name);
    if (cls == Nil || tracked_count == TK_TRACKED_MAX || (init_arguments != 0 && init_arguments != 3)) {
        tk_fail_at(__FILE__, __LINE__, [NSString stringWithFormat:@"cannot track class %s", class_name]);
        return;
    }
    /* Set up the class's dispatch tables first: GCC's runtime crashes when a class gets methods
       added before its first message. */
    (void)[cls class];
    tracked *t = &tracked_classes[tracked_count++];
    t->cls = cls;
    t->name = class_name;
    Method initializer = class_getInstanceMethod(cls, init);
    Method dealloc = class_getInstanceMethod(cls, @selector(dealloc));
    t->init = method_getImplementation(initializer);
    t->dealloc = method_getImplementation(dealloc);
    hook(cls, init, init_arguments == 0 ? (IMP)tk_init0 : (IMP)tk_init3, initializer);
    hook(cls, @selector(dealloc), (IMP)tk_dealloc, dealloc);
}

static tracked *tracked_named(const char *class_name) {
    for (int i = 0; i < tracked_count; i++) {
        if (strcmp(tracked_classes[i].name, class_name) == 0) return &tracked_classes[i];
    }
    tk_fail_at(__FILE__, __LINE__, [NSString stringWithFormat:@"class %s is not tracked", class_name]);
    return NULL;
}

long tk_made(const char *class_name) {
    tracked *t = tracked_named(class_name);
    return t ? __atomic_load_n(&t->made, __ATOMIC_SEQ_CST) : -1;
}

long tk_live(const char *class_name) {
    tracked *t = tracked_named(class_name);
    return t ? __atomic_load_n(&t->made, __ATOMIC_SEQ_CST) - __atomic_load_n(&t->deallocs, __ATOMIC_SEQ_CST)
             : -1;
}
