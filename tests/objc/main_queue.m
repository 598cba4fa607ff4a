/* The wrapper as built for Apple platforms, where blocks and listener methods run on the main
 * queue: compiled with IMS_V2TIM_MAIN_QUEUE against tests/objc/stub/dispatch/dispatch.h, whose
 * dispatch_get_main_queue and dispatch_async_f this program implements with a queue that its
 * main thread drains (what the main run loop does in an app). The tests run on another thread and
 * check that every block and listener method runs on the main thread, in the order of the calls,
 * including errors the wrapper reports itself, and calls cut short by unInitSDK. */
#import "testkit.h"

#include <dispatch/dispatch.h>

/* ---- The stand-in main queue -------------------------------------------------------------- */

typedef struct main_task {
    dispatch_function_t work;
    void *context;
    struct main_task *next;
} main_task;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static main_task *queue_head, *queue_tail;
static int queue_done;
static long tasks_run;
static struct ims_test_dispatch_queue {
    int unused;
} main_queue_object;

dispatch_queue_t dispatch_get_main_queue(void) {
    return &main_queue_object;
}

void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work) {
    if (queue != &main_queue_object) abort();
    main_task *task = malloc(sizeof *task);
    task->work = work;
    task->context = context;
    task->next = NULL;
    pthread_mutex_lock(&queue_lock);
    if (queue_tail) {
        queue_tail->next = task;
    } else {
        queue_head = task;
    }
    queue_tail = task;
    pthread_cond_signal(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
}

/* The main thread: runs queued tasks one at a time until the tests are done and the queue empty. */
static void drain_main_queue(void) {
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (queue_head == NULL && !queue_done) pthread_cond_wait(&queue_cond, &queue_lock);
        main_task *task = queue_head;
        if (task == NULL) {
            pthread_mutex_unlock(&queue_lock);
            return;
        }
        queue_head = task->next;
        if (queue_head == NULL) queue_tail = NULL;
        pthread_mutex_unlock(&queue_lock);
        @autoreleasepool {
            task->work(task->context);
        }
        free(task);
        __atomic_fetch_add(&tasks_run, 1, __ATOMIC_SEQ_CST);
    }
}

/* ---- Tests (on a thread of their own) ----------------------------------------------------- */

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

#define CHECK_MAIN(c) CHECK((c)->onMain)

static void test_refusals_on_main(void) {
    tk_section("errors of calls that never reach the SDK, and refusals, run on the main queue");
    TKCall *login = [TKCall named:@"login before initSDK"];
    TK_CALL(login, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    EXPECT_ERROR(login, ERR_SDK_NOT_INITIALIZED);
    CHECK_MAIN(login);
    tk_init(tk_app());
    id nothing = nil;
    TKCall *nilStatus = [TKCall named:@"setSelfStatus nil"];
    TK_CALL(nilStatus, [manager() setSelfStatus:nothing succ:TK_SUCC(nilStatus) fail:TK_FAIL(nilStatus)]);
    EXPECT_ERROR(nilStatus, ERR_INVALID_PARAMETERS);
    CHECK_MAIN(nilStatus);
    TKCall *number = [TKCall named:@"getUserStatus with a number"];
    TK_CALL(number, [manager() getUserStatus:@[ @1 ] succ:TK_LIST(number) fail:TK_FAIL(number)]);
    EXPECT_ERROR(number, ERR_INVALID_PARAMETERS);
    CHECK_MAIN(number);
    /* Refused by the SDK itself (async refusals): through the dispatcher hook. */
    TKCall *noUser = [TKCall named:@"login nil userID"];
    TK_CALL(noUser, [manager() login:nothing userSig:@"sig" succ:TK_SUCC(noUser) fail:TK_FAIL(noUser)]);
    EXPECT_ERROR(noUser, ERR_INVALID_PARAMETERS);
    CHECK_MAIN(noUser);
}

static void test_sdk_callbacks_on_main(void) {
    tk_section("blocks and listener methods run on the main queue, in order");
    TKListener *listener = [TKListener listener];
    listener->expectMainThread = YES;
    [manager() addIMSDKListener:listener];

    TKCall *login = [TKCall named:@"login"];
    TK_CALL(login, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    EXPECT_SUCCESS(login);
    CHECK_MAIN(login);
    CHECK_WAIT(listener->connectSuccess == 1, 5);

    /* Twenty calls: their blocks run in the order of the calls. */
    __block int next = 0;
    __block int outOfOrder = 0;
    NSMutableArray<TKCall *> *calls = [NSMutableArray array];
    for (int i = 0; i < 20; i++) {
        TKCall *c = [TKCall named:[NSString stringWithFormat:@"setSelfStatus %d", i]];
        [calls addObject:c];
        V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
        status.customStatus = [NSString stringWithFormat:@"s%d", i];
        TK_CALL(c, [manager() setSelfStatus:status
                                       succ:^{
                                         if (next++ != i) outOfOrder++;
                                         [c succeeded];
                                       }
                                       fail:TK_FAIL(c)]);
    }
    for (TKCall *c in calls) {
        EXPECT_SUCCESS(c);
        CHECK_MAIN(c);
    }
    CHECK_EQ(outOfOrder, 0);
    CHECK_WAIT([[listener customOf:@"alice"] isEqualToString:@"s19"], 10);

    TKCall *get = [TKCall named:@"getUserStatus"];
    TK_CALL(get, [manager() getUserStatus:@[ @"alice", @"bob" ] succ:TK_LIST(get) fail:TK_FAIL(get)]);
    EXPECT_SUCCESS(get);
    CHECK_MAIN(get);
    CHECK_STR(tk_find(get->list, @"alice").customStatus, @"s19");

    /* A subscribed user's change. */
    TKCall *sub = [TKCall named:@"subscribeUserStatus"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    EXPECT_SUCCESS(sub);
    CHECK_MAIN(sub);
    tk_other *bob = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(bob, @"bob", tk_sig(@"bob"));
    tk_other_set(bob, @"on the main queue");
    CHECK_WAIT([[listener customOf:@"bob"] isEqualToString:@"on the main queue"], 10);
    tk_other_logout(bob);
    tk_other_free(bob);

    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:nil succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    EXPECT_SUCCESS(unsub);
    CHECK_MAIN(unsub);

    /* Kicked: the event runs on the main queue too. */
    tk_other *alice = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(alice, @"alice", tk_sig(@"alice"));
    CHECK_WAIT(listener->kicked == 1, 10);
    tk_other_free(alice);
    [tk_cond lock];
    CHECK_EQ(listener->wrongThread, 0);
    [tk_cond unlock];
    [manager() removeIMSDKListener:listener];

    /* Calls cut short by unInitSDK report 6013, also on the main queue (the tasks may still be
       queued when unInitSDK returns). */
    tk_login(@"alice", tk_sig(@"alice"));
    NSMutableArray<TKCall *> *pending = [NSMutableArray array];
    for (int i = 0; i < 10; i++) {
        TKCall *c = [TKCall named:[NSString stringWithFormat:@"in flight %d", i]];
        [pending addObject:c];
        TK_CALL(c, [manager() getUserStatus:@[ @"alice" ] succ:TK_LIST(c) fail:TK_FAIL(c)]);
    }
    [manager() unInitSDK];
    for (TKCall *c in pending) {
        CHECK_WAIT(c->successes + c->failures == 1, 10);
        CHECK(c->successes == 1 || c->code == ERR_SDK_NOT_INITIALIZED);
        CHECK_MAIN(c);
    }
    CHECK_WAIT(tk_live("IMSV2TIMCall") == 0, 10);
    CHECK_EQ(tk_live("IMSV2TIMClient"), 0);
}

@interface TestThread : NSObject
+ (void)run:(id)unused;
@end

@implementation TestThread
+ (void)run:(id)unused {
    (void)unused;
    @autoreleasepool {
        test_refusals_on_main();
    }
    @autoreleasepool {
        test_sdk_callbacks_on_main();
    }
    pthread_mutex_lock(&queue_lock);
    queue_done = 1;
    pthread_cond_signal(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
}
@end

int main(void) {
    tk_setup();
    tk_track_class("IMSV2TIMCall", @selector(initWithSucc:listSucc:fail:), 3);
    tk_track_class("IMSV2TIMClient", @selector(init), 0);
    [NSThread detachNewThreadSelector:@selector(run:) toTarget:[TestThread class] withObject:nil];
    drain_main_queue();
    CHECK(tasks_run > 0);
    printf("%ld tasks ran on the main queue\n", tasks_run);
    return tk_finish("main_queue");
}
