/* The error paths through the Objective-C API: not initialised (6013), not logged in (6014), nil
 * and malformed arguments (6017), the server's limits (501 IDs, 101 subscriptions, a custom
 * status over 100 bytes: 6017), the Basic edition (7013), the status switch off (72001), bad
 * UserSigs (70003, 70013) and an unreachable server (9508). Each fail block runs once, never inside
 * the call, with the code and a description; errors the SDK decides (nil userID included) arrive
 * on its callback thread, those of calls that cannot reach it on the library's error thread. */
#import "testkit.h"

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

static NSArray *ids(int n, NSString *prefix) {
    NSMutableArray *list = [NSMutableArray arrayWithCapacity:n];
    for (int i = 0; i < n; i++) [list addObject:[NSString stringWithFormat:@"%@%d", prefix, i]];
    return list;
}

static V2TIMUserStatus *custom(NSString *text) {
    V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
    status.customStatus = text;
    return status;
}

/* A value of the wrong type or nil, hidden from the compiler's nonnull checks. */
static id hidden(id value) {
    return value;
}

static void test_not_initialized(void) {
    tk_section("not initialised: 6013 from every call");
    TKCall *login = [TKCall named:@"login"];
    TK_CALL(login, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    TKCall *logout = [TKCall named:@"logout"];
    TK_CALL(logout, [manager() logout:TK_SUCC(logout) fail:TK_FAIL(logout)]);
    TKCall *set = [TKCall named:@"setSelfStatus"];
    TK_CALL(set, [manager() setSelfStatus:custom(@"x") succ:TK_SUCC(set) fail:TK_FAIL(set)]);
    TKCall *get = [TKCall named:@"getUserStatus"];
    TK_CALL(get, [manager() getUserStatus:@[ @"alice" ] succ:TK_LIST(get) fail:TK_FAIL(get)]);
    TKCall *sub = [TKCall named:@"subscribeUserStatus"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:nil succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    TKCall *all[] = {login, logout, set, get, sub, unsub};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        EXPECT_ERROR(all[i], ERR_SDK_NOT_INITIALIZED);
        CHECK_ERROR_THREAD(all[i]);
        CHECK_EQ(all[i]->callerThreadRuns, 0);
    }
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    CHECK([manager() getLoginUser] == nil);
}

static void test_not_logged_in(void) {
    tk_section("initialised, not logged in: 6014");
    tk_init(tk_app());
    TKCall *logout = [TKCall named:@"logout"];
    TK_CALL(logout, [manager() logout:TK_SUCC(logout) fail:TK_FAIL(logout)]);
    TKCall *set = [TKCall named:@"setSelfStatus"];
    TK_CALL(set, [manager() setSelfStatus:custom(@"x") succ:TK_SUCC(set) fail:TK_FAIL(set)]);
    TKCall *get = [TKCall named:@"getUserStatus"];
    TK_CALL(get, [manager() getUserStatus:@[ @"alice" ] succ:TK_LIST(get) fail:TK_FAIL(get)]);
    TKCall *sub = [TKCall named:@"subscribeUserStatus"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    TKCall *all[] = {logout, set, get, sub, unsub};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        EXPECT_ERROR(all[i], ERR_SDK_NOT_LOGGED_IN);
        CHECK_CALLBACK_THREAD(all[i]);
    }
}

static void test_nil_and_malformed_arguments(void) {
    tk_section("nil and malformed arguments: 6017");
    /* nil userID or userSig: refused by the SDK, through the blocks, on its callback thread. */
    TKCall *noUser = [TKCall named:@"login nil userID"];
    TK_CALL(noUser, [manager() login:hidden(nil) userSig:tk_sig(@"alice") succ:TK_SUCC(noUser) fail:TK_FAIL(noUser)]);
    EXPECT_ERROR(noUser, ERR_INVALID_PARAMETERS);
    CHECK_CALLBACK_THREAD(noUser);
    CHECK([noUser->desc rangeOfString:@"user_id is NULL"].location != NSNotFound);
    TKCall *noSig = [TKCall named:@"login nil userSig"];
    TK_CALL(noSig, [manager() login:@"alice" userSig:hidden(nil) succ:TK_SUCC(noSig) fail:TK_FAIL(noSig)]);
    EXPECT_ERROR(noSig, ERR_INVALID_PARAMETERS);
    CHECK_CALLBACK_THREAD(noSig);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);

    tk_login(@"alice", tk_sig(@"alice"));

    /* A nil status cannot be expressed to the C API (NULL there means "clear"). */
    TKCall *noStatus = [TKCall named:@"setSelfStatus nil"];
    TK_CALL(noStatus, [manager() setSelfStatus:hidden(nil) succ:TK_SUCC(noStatus) fail:TK_FAIL(noStatus)]);
    EXPECT_ERROR(noStatus, ERR_INVALID_PARAMETERS);
    CHECK_ERROR_THREAD(noStatus);

    /* nil or empty lists go to the server, which refuses them. */
    TKCall *getNil = [TKCall named:@"getUserStatus nil"];
    TK_CALL(getNil, [manager() getUserStatus:hidden(nil) succ:TK_LIST(getNil) fail:TK_FAIL(getNil)]);
    EXPECT_ERROR(getNil, ERR_INVALID_PARAMETERS);
    CHECK_CALLBACK_THREAD(getNil);
    TKCall *getEmpty = [TKCall named:@"getUserStatus @[]"];
    TK_CALL(getEmpty, [manager() getUserStatus:@[] succ:TK_LIST(getEmpty) fail:TK_FAIL(getEmpty)]);
    EXPECT_ERROR(getEmpty, ERR_INVALID_PARAMETERS);
    TKCall *subNil = [TKCall named:@"subscribeUserStatus nil"];
    TK_CALL(subNil, [manager() subscribeUserStatus:hidden(nil) succ:TK_SUCC(subNil) fail:TK_FAIL(subNil)]);
    EXPECT_ERROR(subNil, ERR_INVALID_PARAMETERS);
    CHECK_CALLBACK_THREAD(subNil);

    /* Something other than strings in a list: the wrapper cannot translate it. */
    TKCall *number = [TKCall named:@"getUserStatus with a number"];
    TK_CALL(number, [manager() getUserStatus:@[ @"bob", @42 ] succ:TK_LIST(number) fail:TK_FAIL(number)]);
    EXPECT_ERROR(number, ERR_INVALID_PARAMETERS);
    CHECK_ERROR_THREAD(number);
    CHECK([number->desc rangeOfString:@"userIDList[1]"].location != NSNotFound);
    TKCall *null = [TKCall named:@"subscribeUserStatus with NSNull"];
    TK_CALL(null, [manager() subscribeUserStatus:@[ [NSNull null] ] succ:TK_SUCC(null) fail:TK_FAIL(null)]);
    EXPECT_ERROR(null, ERR_INVALID_PARAMETERS);
    TKCall *notList = [TKCall named:@"unsubscribeUserStatus with a string"];
    TK_CALL(notList, [manager() unsubscribeUserStatus:hidden(@"bob") succ:TK_SUCC(notList) fail:TK_FAIL(notList)]);
    EXPECT_ERROR(notList, ERR_INVALID_PARAMETERS);
    CHECK_ERROR_THREAD(notList);

    /* IDs the server refuses. */
    TKCall *badId = [TKCall named:@"getUserStatus with an empty ID"];
    TK_CALL(badId, [manager() getUserStatus:@[ @"" ] succ:TK_LIST(badId) fail:TK_FAIL(badId)]);
    CHECK_WAIT(badId->successes + badId->failures == 1, 10);
    CHECK_EQ(badId->failures, 1);
    CHECK_CALLBACK_THREAD(badId);

    /* nil listeners are ignored. */
    [manager() addIMSDKListener:hidden(nil)];
    [manager() removeIMSDKListener:hidden(nil)];
    /* Removing a listener that was never added does nothing. */
    [manager() removeIMSDKListener:[TKListener listener]];
}

static void test_server_limits(void) {
    tk_section("the server's limits: 501 IDs, 101 subscriptions, own ID only, long custom status");
    TKCall *get501 = [TKCall named:@"getUserStatus 501 IDs"];
    TK_CALL(get501, [manager() getUserStatus:ids(501, @"u") succ:TK_LIST(get501) fail:TK_FAIL(get501)]);
    EXPECT_ERROR(get501, ERR_INVALID_PARAMETERS);
    CHECK_CALLBACK_THREAD(get501);
    TKCall *get500 = [TKCall named:@"getUserStatus 500 IDs"];
    TK_CALL(get500, [manager() getUserStatus:ids(500, @"u") succ:TK_LIST(get500) fail:TK_FAIL(get500)]);
    EXPECT_SUCCESS(get500);
    CHECK_EQ(get500->list.count, 500);

    TKCall *sub101 = [TKCall named:@"subscribeUserStatus 101 IDs"];
    TK_CALL(sub101, [manager() subscribeUserStatus:ids(101, @"s") succ:TK_SUCC(sub101) fail:TK_FAIL(sub101)]);
    EXPECT_ERROR(sub101, ERR_INVALID_PARAMETERS);
    TKCall *unsub101 = [TKCall named:@"unsubscribeUserStatus 101 IDs"];
    TK_CALL(unsub101, [manager() unsubscribeUserStatus:ids(101, @"s") succ:TK_SUCC(unsub101) fail:TK_FAIL(unsub101)]);
    EXPECT_ERROR(unsub101, ERR_INVALID_PARAMETERS);
    TKCall *own = [TKCall named:@"subscribeUserStatus own ID"];
    TK_CALL(own, [manager() subscribeUserStatus:@[ @"alice" ] succ:TK_SUCC(own) fail:TK_FAIL(own)]);
    EXPECT_ERROR(own, ERR_INVALID_PARAMETERS);

    NSString *bytes100 = [@"" stringByPaddingToLength:100 withString:@"x" startingAtIndex:0];
    tk_set_self(bytes100);
    TKCall *long101 = [TKCall named:@"setSelfStatus 101 bytes"];
    TK_CALL(long101, [manager() setSelfStatus:custom([bytes100 stringByAppendingString:@"y"])
                                          succ:TK_SUCC(long101)
                                          fail:TK_FAIL(long101)]);
    EXPECT_ERROR(long101, ERR_INVALID_PARAMETERS);
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, bytes100);
    tk_logout();
    [manager() unInitSDK];
}

static void test_basic_edition(void) {
    tk_section("Basic edition: others are 7013, the own status works");
    tk_init(tk_basic_app());
    tk_login(@"alice", tk_basic_sig(@"alice"));
    TKCall *others = [TKCall named:@"getUserStatus others (Basic)"];
    TK_CALL(others, [manager() getUserStatus:@[ @"bob" ] succ:TK_LIST(others) fail:TK_FAIL(others)]);
    EXPECT_ERROR(others, ERR_SDK_INTERFACE_NOT_SUPPORT);
    CHECK_CALLBACK_THREAD(others);
    TKCall *sub = [TKCall named:@"subscribeUserStatus (Basic)"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    EXPECT_ERROR(sub, ERR_SDK_INTERFACE_NOT_SUPPORT);
    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus (Basic)"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    EXPECT_ERROR(unsub, ERR_SDK_INTERFACE_NOT_SUPPORT);
    tk_set_self(@"basic is enough");
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"basic is enough");
    tk_logout();
    [manager() unInitSDK];
}

static void test_switch_off(void) {
    tk_section("status switch off: 72001");
    tk_init(tk_off_app());
    tk_login(@"alice", tk_off_sig(@"alice"));
    TKCall *sub = [TKCall named:@"subscribeUserStatus (switch off)"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    EXPECT_ERROR(sub, ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
    CHECK_CALLBACK_THREAD(sub);
    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus (switch off)"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    EXPECT_ERROR(unsub, ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
    TKCall *others = [TKCall named:@"getUserStatus others (switch off)"];
    TK_CALL(others, [manager() getUserStatus:@[ @"bob" ] succ:TK_LIST(others) fail:TK_FAIL(others)]);
    EXPECT_ERROR(others, ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
    tk_set_self(@"switch off");
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"switch off");
    tk_logout();
    [manager() unInitSDK];
}

static void test_bad_logins(void) {
    tk_section("bad UserSigs and an unreachable server");
    tk_init(tk_app());
    TKCall *garbage = [TKCall named:@"login with a malformed UserSig"];
    TK_CALL(garbage, [manager() login:@"alice" userSig:@"not-a-usersig" succ:TK_SUCC(garbage) fail:TK_FAIL(garbage)]);
    EXPECT_ERROR(garbage, ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
    CHECK_CALLBACK_THREAD(garbage);
    TKCall *mismatch = [TKCall named:@"login with bob's UserSig"];
    TK_CALL(mismatch, [manager() login:@"alice" userSig:tk_sig(@"bob") succ:TK_SUCC(mismatch) fail:TK_FAIL(mismatch)]);
    EXPECT_ERROR(mismatch, ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
    TKCall *otherApp = [TKCall named:@"login with a UserSig of another app"];
    TK_CALL(otherApp, [manager() login:@"alice" userSig:tk_basic_sig(@"alice") succ:TK_SUCC(otherApp) fail:TK_FAIL(otherApp)]);
    EXPECT_ERROR(otherApp, ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    CHECK([manager() getLoginUser] == nil);
    [manager() unInitSDK];

    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = tk_env("IMS_TEST_DEAD_SERVER");
    CHECK([manager() initSDK:tk_app() config:config]);
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    TKCall *dead = [TKCall named:@"login to an unreachable server"];
    TK_CALL(dead, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(dead) fail:TK_FAIL(dead)]);
    EXPECT_ERROR(dead, ERR_SDK_NET_DISCONNECT);
    CHECK_CALLBACK_THREAD(dead);
    CHECK_WAIT(listener->connectFailed >= 1, 10);
    [tk_cond lock];
    CHECK_EQ(listener->failedCode, ERR_SDK_NET_DISCONNECT);
    CHECK(listener->connecting >= 1);
    CHECK_EQ(listener->connectSuccess, 0);
    CHECK_EQ(listener->wrongThread, 0);
    [tk_cond unlock];
    [manager() removeIMSDKListener:listener];
    [manager() unInitSDK];

    /* An address that is not host:port: initSDK refuses it only if the SDK does; either way the
       login reports an error, never a success. */
    config.serverAddress = @"no port here";
    if ([manager() initSDK:tk_app() config:config]) {
        TKCall *bad = [TKCall named:@"login with a malformed server address"];
        TK_CALL(bad, [manager() login:@"alice" userSig:tk_sig(@"alice") succ:TK_SUCC(bad) fail:TK_FAIL(bad)]);
        CHECK_WAIT(bad->successes + bad->failures == 1, 15);
        CHECK_EQ(bad->failures, 1);
        [manager() unInitSDK];
    }
}

static void test_exception_in_a_block(void) {
    tk_section("an exception thrown by a block is caught; the SDK goes on");
    tk_init(tk_app());
    tk_login(@"alice", tk_sig(@"alice"));
    TKCall *thrower = [TKCall named:@"succ block that throws"];
    TK_CALL(thrower, [manager() setSelfStatus:custom(@"boom")
                                         succ:^{
                                           [thrower succeeded];
                                           [NSException raise:NSGenericException format:@"thrown by a test block"];
                                         }
                                         fail:TK_FAIL(thrower)]);
    EXPECT_SUCCESS(thrower);
    CHECK_STR(tk_find(tk_get(@[ @"alice" ]), @"alice").customStatus, @"boom");
    tk_logout();
    [manager() unInitSDK];
}

int main(void) {
    tk_setup();
    @autoreleasepool {
        test_not_initialized();
    }
    @autoreleasepool {
        test_not_logged_in();
    }
    @autoreleasepool {
        test_nil_and_malformed_arguments();
    }
    @autoreleasepool {
        test_server_limits();
    }
    @autoreleasepool {
        test_basic_edition();
    }
    @autoreleasepool {
        test_switch_off();
    }
    @autoreleasepool {
        test_bad_logins();
    }
    @autoreleasepool {
        test_exception_in_a_block();
    }
    return tk_finish("errors");
}
