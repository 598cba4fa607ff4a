/* Every method of the Objective-C V2TIM API against a real server, the types and values of the
 * header, where the blocks run (the SDK's callback thread here; never inside the call), and that
 * the wrapper releases what it holds: every call's blocks, every client, every log listener.
 * Also getLoginStatus LOGINING as soon as login returned, getServerTime, and the platform. */
#import "testkit.h"

#include <stdlib.h>
#include <time.h>

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

static void test_types_and_values(void) {
    tk_section("types and values");
    CHECK(V2TIMManager.sharedInstance != nil);
    CHECK(V2TIMManager.sharedInstance == [V2TIMManager sharedInstance]);
    CHECK_STR([manager() getVersion], [NSString stringWithUTF8String:IMS_VERSION_STRING]);

    CHECK_EQ(V2TIM_USER_STATUS_UNKNOWN, 0);
    CHECK_EQ(V2TIM_USER_STATUS_ONLINE, 1);
    CHECK_EQ(V2TIM_USER_STATUS_OFFLINE, 2);
    CHECK_EQ(V2TIM_USER_STATUS_UNLOGINED, 3);
    CHECK_EQ(V2TIM_STATUS_LOGINED, 1);
    CHECK_EQ(V2TIM_STATUS_LOGINING, 2);
    CHECK_EQ(V2TIM_STATUS_LOGOUT, 3);
    CHECK_EQ(V2TIM_LOG_NONE, IMS_LOG_LEVEL_NONE);
    CHECK_EQ(V2TIM_LOG_DEBUG, IMS_LOG_LEVEL_DEBUG);
    CHECK_EQ(V2TIM_LOG_INFO, IMS_LOG_LEVEL_INFO);
    CHECK_EQ(V2TIM_LOG_WARN, IMS_LOG_LEVEL_WARN);
    CHECK_EQ(V2TIM_LOG_ERROR, IMS_LOG_LEVEL_ERROR);
    CHECK_EQ(ERR_SUCC, IMS_OK);
    CHECK_EQ(ERR_REQUEST_TIME_OUT, IMS_ERR_REQUEST_TIME_OUT);
    CHECK_EQ(ERR_SDK_NOT_INITIALIZED, IMS_ERR_SDK_NOT_INITIALIZED);
    CHECK_EQ(ERR_SDK_NOT_LOGGED_IN, IMS_ERR_SDK_NOT_LOGGED_IN);
    CHECK_EQ(ERR_IN_PROGESS, IMS_ERR_IN_PROGESS);
    CHECK_EQ(ERR_INVALID_PARAMETERS, IMS_ERR_INVALID_PARAMETERS);
    CHECK_EQ(ERR_USER_SIG_EXPIRED, IMS_ERR_USER_SIG_EXPIRED);
    CHECK_EQ(ERR_LOGIN_KICKED_OFF_BY_OTHER, IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER);
    CHECK_EQ(ERR_SDK_COMM_INVALID_IDENTIFIER, IMS_ERR_SDK_COMM_INVALID_IDENTIFIER);
    CHECK_EQ(ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT, IMS_ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT);
    CHECK_EQ(ERR_SDK_INTERFACE_NOT_SUPPORT, IMS_ERR_SDK_INTERFACE_NOT_SUPPORT);
    CHECK_EQ(ERR_SDK_INVALID_OPERATION, IMS_ERR_SDK_INVALID_OPERATION);
    CHECK_EQ(ERR_SDK_NET_DISCONNECT, IMS_ERR_SDK_NET_DISCONNECT);
    CHECK_EQ(ERR_SVR_ACCOUNT_USERSIG_EXPIRED, IMS_ERR_SVR_ACCOUNT_USERSIG_EXPIRED);
    CHECK_EQ(ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED, IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
    CHECK_EQ(ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID, IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
    CHECK_EQ(ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID, IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID);
    CHECK_EQ(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED, IMS_ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);

    V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
    CHECK(status.userID == nil);
    CHECK_EQ(status.statusType, V2TIM_USER_STATUS_UNKNOWN);
    CHECK(status.customStatus == nil);
    CHECK(status.onlineDevices != nil);
    CHECK_EQ(status.onlineDevices.count, 0);
    NSMutableString *text = [NSMutableString stringWithString:@"reading"];
    status.customStatus = text;
    [text appendString:@" a book"];
    CHECK_STR(status.customStatus, @"reading"); /* copied */
    status.customStatus = nil;
    CHECK(status.customStatus == nil);

    CHECK_EQ(IMSPlatformDefault, IMS_PLATFORM_DEFAULT);
    CHECK_EQ(IMSPlatformIPhone, IMS_PLATFORM_IPHONE);
    CHECK_EQ(IMSPlatformIPad, IMS_PLATFORM_IPAD);
    CHECK_EQ(IMSPlatformWeb, IMS_PLATFORM_WEB);

    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    /* No UIDevice here (tests/objc/platform.m has one): the library's own platform. */
    CHECK_EQ(config.platform, IMSPlatformDefault);
    CHECK_EQ(config.logLevel, V2TIM_LOG_NONE);
    CHECK(config.logListener == nil);
    CHECK(config.serverAddress == nil);
    config.serverAddress = @"example.invalid:7800";
    CHECK_STR(config.serverAddress, @"example.invalid:7800");
    config.logLevel = V2TIM_LOG_WARN;
    CHECK_EQ(config.logLevel, V2TIM_LOG_WARN);
    config.logListener = ^(V2TIMLogLevel level, NSString *line) {
        (void)level;
        (void)line;
    };
    CHECK(config.logListener != nil);
    config.logListener = nil;
    CHECK(config.logListener == nil);
}

static void test_before_init(void) {
    tk_section("before initSDK");
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    CHECK([manager() getLoginUser] == nil);
    TKCall *login = [TKCall named:@"login before init"];
    TK_CALL(login, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    EXPECT_ERROR(login, ERR_SDK_NOT_INITIALIZED);
    CHECK_ERROR_THREAD(login);
    /* unInitSDK without initSDK does nothing. */
    [manager() unInitSDK];
}

/* A server that never answers the login keeps it in flight. */
static void test_logining_and_server_time(void) {
    tk_section("LOGINING as soon as login returned; getServerTime");
    /* Not initialised: the local clock. */
    CHECK(llabs([manager() getServerTime] - (int64_t)time(NULL)) <= 2);
    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = tk_env("IMS_TEST_STALL_SERVER");
    CHECK([manager() initSDK:tk_app() config:config]);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    TKCall *login = [TKCall named:@"login never answered"];
    TK_CALL(login, [manager() login:@"silent-user" userSig:@"any" succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGINING);
    /* Before any login: the local clock. */
    CHECK(llabs([manager() getServerTime] - (int64_t)time(NULL)) <= 2);
    [manager() unInitSDK];
    /* unInitSDK ended the login before it returned. */
    [tk_cond lock];
    CHECK_EQ(login->failures, 1);
    CHECK_EQ(login->code, ERR_SDK_NOT_INITIALIZED);
    [tk_cond unlock];
    EXPECT_ERROR(login, ERR_SDK_NOT_INITIALIZED);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
}

static void test_login(void) {
    tk_section("initSDK, login, getLoginUser, getLoginStatus");
    tk_init(tk_app());
    /* Already initialised: YES, settings kept (this address would not work). */
    V2TIMSDKConfig *other = [[[V2TIMSDKConfig alloc] init] autorelease];
    other.serverAddress = tk_env("IMS_TEST_DEAD_SERVER");
    CHECK([manager() initSDK:tk_app() config:other]);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);

    TKCall *login = [TKCall named:@"login alice"];
    TK_CALL(login, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    EXPECT_SUCCESS(login);
    CHECK_CALLBACK_THREAD(login);
    CHECK_EQ(login->callerThreadRuns, 0);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGINED);
    CHECK_STR([manager() getLoginUser], @"alice");
    CHECK_STR(V2TIMManager.sharedInstance.getLoginUser, @"alice");
    /* The real server's clock, which here is the local one. */
    CHECK(llabs([manager() getServerTime] - (int64_t)time(NULL)) <= 2);

    /* Again as the same user: succeeds at once. */
    tk_login(@"alice", tk_sig(@"alice"));
    CHECK_STR([manager() getLoginUser], @"alice");
}

static void test_status_calls(void) {
    tk_section("setSelfStatus, getUserStatus, subscribeUserStatus, unsubscribeUserStatus");
    TKCall *set = [TKCall named:@"setSelfStatus"];
    V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
    status.customStatus = @"at work";
    TK_CALL(set, [manager() setSelfStatus:status succ:TK_SUCC(set) fail:TK_FAIL(set)]);
    EXPECT_SUCCESS(set);
    CHECK_CALLBACK_THREAD(set);

    TKCall *get = [TKCall named:@"getUserStatus alice"];
    TK_CALL(get, [manager() getUserStatus:@[ @"alice" ] succ:TK_LIST(get) fail:TK_FAIL(get)]);
    EXPECT_SUCCESS(get);
    CHECK_CALLBACK_THREAD(get);
    CHECK_EQ(get->list.count, 1);
    V2TIMUserStatus *me = tk_find(get->list, @"alice");
    CHECK(me != nil);
    CHECK_EQ(me.statusType, V2TIM_USER_STATUS_ONLINE);
    CHECK_STR(me.customStatus, @"at work");
    CHECK([me.onlineDevices isKindOfClass:[NSMutableArray class]]);
    CHECK([me.onlineDevices isEqualToArray:@[ @"Linux" ]]);
    CHECK([[me description] rangeOfString:@"userID=alice"].location != NSNotFound);

    /* Others (Ultimate app, switch on): never logged in is UNLOGINED. */
    NSArray<V2TIMUserStatus *> *three = tk_get(@[ @"alice", @"bob", @"carol" ]);
    CHECK_EQ(three.count, 3);
    V2TIMUserStatus *bob = tk_find(three, @"bob");
    CHECK_EQ(bob.statusType, V2TIM_USER_STATUS_UNLOGINED);
    CHECK_STR(bob.customStatus, @"");
    CHECK_EQ(bob.onlineDevices.count, 0);
    CHECK_EQ(tk_find(three, @"carol").statusType, V2TIM_USER_STATUS_UNLOGINED);

    TKCall *sub = [TKCall named:@"subscribeUserStatus"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob", @"carol" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    EXPECT_SUCCESS(sub);
    CHECK_CALLBACK_THREAD(sub);

    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus bob"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    EXPECT_SUCCESS(unsub);
    CHECK_CALLBACK_THREAD(unsub);

    /* nil and an empty list remove every subscription. */
    TKCall *all = [TKCall named:@"unsubscribeUserStatus nil"];
    TK_CALL(all, [manager() unsubscribeUserStatus:nil succ:TK_SUCC(all) fail:TK_FAIL(all)]);
    EXPECT_SUCCESS(all);
    TKCall *empty = [TKCall named:@"unsubscribeUserStatus @[]"];
    TK_CALL(empty, [manager() unsubscribeUserStatus:@[] succ:TK_SUCC(empty) fail:TK_FAIL(empty)]);
    EXPECT_SUCCESS(empty);

    /* A nil custom status clears it; so does @"". */
    tk_set_self(nil);
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"");
    tk_set_self(@"back");
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"back");
    tk_set_self(@"");
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"");

    /* Non-ASCII custom statuses arrive intact. */
    tk_set_self(@"在开会 \u2615");
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"在开会 \u2615");

    /* nil blocks are allowed; a later call's completion shows the earlier one finished. */
    [manager() setSelfStatus:status succ:nil fail:nil];
    [manager() getUserStatus:@[ @"alice" ] succ:nil fail:nil];
    [manager() subscribeUserStatus:@[ @"bob" ] succ:nil fail:nil];
    [manager() unsubscribeUserStatus:nil succ:nil fail:nil];
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"at work");
}

static void test_logout_and_uninit(void) {
    tk_section("logout, unInitSDK");
    TKCall *logout = [TKCall named:@"logout"];
    TK_CALL(logout, [manager() logout:TK_SUCC(logout) fail:TK_FAIL(logout)]);
    EXPECT_SUCCESS(logout);
    CHECK_CALLBACK_THREAD(logout);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    CHECK([manager() getLoginUser] == nil);

    [manager() unInitSDK];
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    CHECK([manager() getLoginUser] == nil);
    TKCall *after = [TKCall named:@"getUserStatus after unInitSDK"];
    TK_CALL(after, [manager() getUserStatus:@[ @"alice" ] succ:TK_LIST(after) fail:TK_FAIL(after)]);
    EXPECT_ERROR(after, ERR_SDK_NOT_INITIALIZED);
    CHECK_ERROR_THREAD(after);
    [manager() unInitSDK]; /* again: nothing */

    /* A new client: bob logs in, then unInitSDK closes the connection without logging out, so
       the server sees bob's device go away: OFFLINE, not UNLOGINED. */
    tk_init(tk_app());
    tk_login(@"bob", tk_sig(@"bob"));
    CHECK_STR([manager() getLoginUser], @"bob");
    [manager() unInitSDK];
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    tk_init(tk_app());
    tk_login(@"alice", tk_sig(@"alice"));
    __block V2TIMUserStatusType bobType = V2TIM_USER_STATUS_UNKNOWN;
    for (int i = 0; i < 100 && bobType != V2TIM_USER_STATUS_OFFLINE; i++) {
        bobType = tk_find(tk_get(@[ @"bob" ]), @"bob").statusType;
        if (bobType != V2TIM_USER_STATUS_OFFLINE) tk_wait_until(^BOOL { return NO; }, 0.05);
    }
    CHECK_EQ(bobType, V2TIM_USER_STATUS_OFFLINE);

    /* Calls still in flight when unInitSDK runs end exactly once: done, or 6013. */
    NSMutableArray<TKCall *> *calls = [NSMutableArray array];
    for (int i = 0; i < 20; i++) {
        TKCall *c = [TKCall named:[NSString stringWithFormat:@"in flight %d", i]];
        [calls addObject:c];
        V2TIMUserStatus *s = [[[V2TIMUserStatus alloc] init] autorelease];
        s.customStatus = [NSString stringWithFormat:@"n%d", i];
        TK_CALL(c, [manager() setSelfStatus:s succ:TK_SUCC(c) fail:TK_FAIL(c)]);
    }
    [manager() unInitSDK];
    for (TKCall *c in calls) {
        CHECK_WAIT(c->successes + c->failures == 1, 15);
        CHECK(c->successes == 1 || c->code == ERR_SDK_NOT_INITIALIZED);
    }
}

static int log_lines;
static int log_below_level;


static void test_log_listener(void) {
    tk_section("V2TIMSDKConfig.logLevel and logListener");
    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = tk_server();
    config.logLevel = V2TIM_LOG_INFO;
    config.logListener = ^(V2TIMLogLevel level, NSString *line) {
        (void)line;
        [tk_cond lock];
        log_lines++;
        if (level < V2TIM_LOG_INFO) log_below_level++;
        [tk_cond broadcast];
        [tk_cond unlock];
    };
    CHECK([manager() initSDK:tk_app() config:config]);
    tk_login(@"carol", tk_sig(@"carol"));
    CHECK_WAIT(log_lines > 0, 10);
    CHECK_EQ(log_below_level, 0);
    tk_logout();
    [manager() unInitSDK];
    /* Logging is off after unInitSDK: another client's login logs nothing here. */
    [tk_cond lock];
    int before = log_lines;
    [tk_cond unlock];
    tk_other *other = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(other, @"dave", tk_sig(@"dave"));
    tk_other_free(other);
    CHECK_STAYS_FALSE(log_lines != before, 0.3);
}

static void test_no_leaks(void) {
    tk_section("every call, client and listener entry is released exactly once");
    /* Everything made so far has been released (frees run after the blocks: wait). */
    CHECK_WAIT(tk_live("IMSV2TIMCall") == 0, 10);
    CHECK_EQ(tk_live("IMSV2TIMClient"), 0);
    CHECK_WAIT(tk_live("IMSV2TIMLog") == 0, 10);

    tk_init(tk_app());
    tk_login(@"erin", tk_sig(@"erin"));
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    CHECK_EQ(tk_live("IMSV2TIMListenerEntry"), 1);
    NSMutableArray<TKCall *> *calls = [NSMutableArray array];
    for (int i = 0; i < 300; i++) {
        TKCall *c = [TKCall named:@"repeated getUserStatus"];
        [calls addObject:c];
        TK_CALL(c, [manager() getUserStatus:@[ @"erin" ] succ:TK_LIST(c) fail:TK_FAIL(c)]);
    }
    for (TKCall *c in calls) EXPECT_SUCCESS(c);
    CHECK_WAIT(tk_live("IMSV2TIMCall") == 0, 10);
    CHECK_EQ(tk_live("IMSV2TIMClient"), 1);

    [manager() unInitSDK];
    CHECK_EQ(tk_live("IMSV2TIMClient"), 0);
    /* The entry stays with the manager (listeners survive unInitSDK) until removed. */
    CHECK_EQ(tk_live("IMSV2TIMListenerEntry"), 1);
    [manager() removeIMSDKListener:listener];
    CHECK_EQ(tk_live("IMSV2TIMListenerEntry"), 0);
}

int main(void) {
    tk_setup();
    tk_track_class("IMSV2TIMCall", @selector(initWithSucc:listSucc:fail:), 3);
    tk_track_class("IMSV2TIMClient", @selector(init), 0);
    tk_track_class("IMSV2TIMListenerEntry", @selector(init), 0);
    tk_track_class("IMSV2TIMLog", @selector(init), 0);
    @autoreleasepool {
        test_types_and_values();
    }
    @autoreleasepool {
        test_before_init();
    }
    @autoreleasepool {
        test_logining_and_server_time();
    }
    @autoreleasepool {
        test_login();
    }
    @autoreleasepool {
        test_status_calls();
    }
    @autoreleasepool {
        test_logout_and_uninit();
    }
    @autoreleasepool {
        test_log_listener();
    }
    @autoreleasepool {
        test_no_leaks();
    }
    return tk_finish("api");
}
