/* V2TIMSDKListener through the Objective-C API: connect events, status changes of a subscribed
 * user made by another client (the C API in this process), the own status, kicked offline,
 * UserSig expired; listeners added before initSDK and kept across unInitSDK, optional methods,
 * adding twice, and the removal guarantees (no event after removeIMSDKListener: returns, also
 * when an event runs on another thread meanwhile, and from inside an own event). Events run on
 * the SDK's callback thread here. */
#import "testkit.h"

#include <unistd.h>

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

/* Implements only one of the optional methods. */
@interface MinimalListener : NSObject <V2TIMSDKListener> {
  @public
    int changes;
}
@end

@implementation MinimalListener
- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList {
    (void)userStatusList;
    [tk_cond lock];
    changes++;
    [tk_cond broadcast];
    [tk_cond unlock];
}
@end

/* Removes itself from inside its first status event. */
@interface SelfRemovingListener : NSObject <V2TIMSDKListener> {
  @public
    int calls;
}
@end

@implementation SelfRemovingListener
- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList {
    (void)userStatusList;
    [V2TIMManager.sharedInstance removeIMSDKListener:self];
    [tk_cond lock];
    calls++;
    [tk_cond broadcast];
    [tk_cond unlock];
}
@end

/* Takes its time in each status event. */
@interface SlowListener : NSObject <V2TIMSDKListener> {
  @public
    int entered, left;
}
@end

@implementation SlowListener
- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList {
    (void)userStatusList;
    [tk_cond lock];
    entered++;
    [tk_cond broadcast];
    [tk_cond unlock];
    usleep(400 * 1000);
    [tk_cond lock];
    left++;
    [tk_cond broadcast];
    [tk_cond unlock];
}
@end

static void test_user_sig_expired(void) {
    tk_section("onUserSigExpired (a UserSig that expires within seconds)");
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    tk_init(tk_app());
    tk_login(@"judy", tk_short_sig(@"judy"));
    CHECK_WAIT(listener->sigExpired == 1, 20);
    CHECK_WAIT([manager() getLoginStatus] == V2TIM_STATUS_LOGOUT, 5);
    [tk_cond lock];
    CHECK_EQ(listener->wrongThread, 0);
    [tk_cond unlock];
    [manager() removeIMSDKListener:listener];
    [manager() unInitSDK];
}

static void test_events(void) {
    tk_section("connect events, a subscribed user's changes, the own status");
    /* Added before initSDK: hears the client made by initSDK. */
    TKListener *listener = [TKListener listener];
    MinimalListener *minimal = [[[MinimalListener alloc] init] autorelease];
    [manager() addIMSDKListener:listener];
    [manager() addIMSDKListener:listener]; /* twice: still one registration */
    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = tk_server();
    CHECK([manager() initSDK:tk_app() config:config listener:minimal]);

    tk_login(@"alice", tk_sig(@"alice"));
    CHECK_WAIT(listener->connectSuccess == 1, 5);
    [tk_cond lock];
    CHECK_EQ(listener->connecting, 1);
    CHECK([[listener->order firstObject] isEqualToString:@"connecting"]);
    CHECK_EQ([listener->order indexOfObject:@"connectSuccess"], 1);
    [tk_cond unlock];

    /* The own custom status arrives as a change of the own user. */
    tk_set_self(@"coding");
    CHECK_WAIT([[listener customOf:@"alice"] isEqualToString:@"coding"], 10);
    [tk_cond lock];
    CHECK_EQ([listener typeOf:@"alice"], V2TIM_USER_STATUS_ONLINE);
    CHECK_EQ([listener countOf:@"alice"], 1); /* added twice, heard once */
    [tk_cond unlock];
    CHECK_WAIT(minimal->changes >= 1, 5);

    /* bob, subscribed, logs in on another client and sets a status, then logs out. */
    TKCall *sub = [TKCall named:@"subscribeUserStatus bob"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    EXPECT_SUCCESS(sub);
    tk_other *bob = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(bob, @"bob", tk_sig(@"bob"));
    CHECK_WAIT([listener typeOf:@"bob"] == V2TIM_USER_STATUS_ONLINE, 10);
    tk_other_set(bob, @"in a meeting");
    CHECK_WAIT([[listener customOf:@"bob"] isEqualToString:@"in a meeting"], 10);
    [tk_cond lock];
    V2TIMUserStatus *seen = [[[listener->latest objectForKey:@"bob"] retain] autorelease];
    [tk_cond unlock];
    CHECK_STR(seen.userID, @"bob");
    CHECK([seen.onlineDevices isEqualToArray:@[ @"Linux" ]]);
    tk_other_logout(bob);
    CHECK_WAIT([listener typeOf:@"bob"] == V2TIM_USER_STATUS_UNLOGINED, 10);
    [tk_cond lock];
    CHECK_STR([listener customOf:@"bob"], @"");
    CHECK_EQ([[listener->latest objectForKey:@"bob"] onlineDevices].count, 0);
    [tk_cond unlock];

    /* After unsubscribing, bob's changes no longer arrive. */
    TKCall *unsub = [TKCall named:@"unsubscribeUserStatus bob"];
    TK_CALL(unsub, [manager() unsubscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(unsub) fail:TK_FAIL(unsub)]);
    EXPECT_SUCCESS(unsub);
    [tk_cond lock];
    int bobEvents = [listener countOf:@"bob"];
    [tk_cond unlock];
    tk_other_login(bob, @"bob", tk_sig(@"bob"));
    tk_other_set(bob, @"unheard");
    /* The own status as a marker: events arrive in order, so bob's would have come first. */
    tk_set_self(@"marker");
    CHECK_WAIT([[listener customOf:@"alice"] isEqualToString:@"marker"], 10);
    [tk_cond lock];
    CHECK_EQ([listener countOf:@"bob"], bobEvents);
    CHECK_EQ(listener->wrongThread, 0);
    [tk_cond unlock];
    tk_other_logout(bob);
    tk_other_free(bob);

    /* Listeners stay across unInitSDK and hear the next client. */
    [manager() unInitSDK];
    tk_init(tk_app());
    [tk_cond lock];
    int connects = listener->connectSuccess;
    [tk_cond unlock];
    tk_login(@"alice", tk_sig(@"alice"));
    CHECK_WAIT(listener->connectSuccess == connects + 1, 5);

    /* removeIMSDKListener: nothing more arrives. */
    [manager() removeIMSDKListener:listener];
    [manager() removeIMSDKListener:minimal];
    [tk_cond lock];
    int before = (int)listener->order.count;
    int minimalBefore = minimal->changes;
    [tk_cond unlock];
    tk_set_self(@"nobody listens");
    CHECK_STAYS_FALSE(listener->order.count != (NSUInteger)before || minimal->changes != minimalBefore, 0.5);
    tk_logout();
    [manager() unInitSDK];
}

static void test_kicked(void) {
    tk_section("onKickedOffline: the same user logs in on the same platform elsewhere");
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    tk_init(tk_app());
    tk_login(@"frank", tk_sig(@"frank"));
    tk_other *other = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(other, @"frank", tk_sig(@"frank"));
    CHECK_WAIT(listener->kicked == 1, 10);
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    TKCall *after = [TKCall named:@"setSelfStatus after the kick"];
    V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
    status.customStatus = @"kicked";
    TK_CALL(after, [manager() setSelfStatus:status succ:TK_SUCC(after) fail:TK_FAIL(after)]);
    EXPECT_ERROR(after, ERR_SDK_NOT_LOGGED_IN);
    [tk_cond lock];
    CHECK_EQ(listener->wrongThread, 0);
    [tk_cond unlock];
    tk_other_free(other);
    [manager() removeIMSDKListener:listener];
    [manager() unInitSDK];
}

static void test_removal_guarantees(void) {
    tk_section("removal while an event runs elsewhere, and from inside an own event");
    tk_init(tk_app());
    tk_login(@"grace", tk_sig(@"grace"));

    /* From inside its own event: that event finishes, no other follows. */
    SelfRemovingListener *selfRemoving = [[[SelfRemovingListener alloc] init] autorelease];
    [manager() addIMSDKListener:selfRemoving];
    tk_set_self(@"one");
    CHECK_WAIT(selfRemoving->calls == 1, 10);
    TKListener *witness = [TKListener listener];
    [manager() addIMSDKListener:witness];
    tk_set_self(@"two");
    CHECK_WAIT([[witness customOf:@"grace"] isEqualToString:@"two"], 10);
    CHECK_EQ(selfRemoving->calls, 1);

    /* From another thread while an event runs: removeIMSDKListener: waits for it. */
    SlowListener *slow = [[[SlowListener alloc] init] autorelease];
    [manager() addIMSDKListener:slow];
    tk_set_self(@"three");
    CHECK_WAIT(slow->entered == 1, 10);
    [manager() removeIMSDKListener:slow];
    [tk_cond lock];
    CHECK_EQ(slow->left, 1); /* the running event had finished */
    [tk_cond unlock];
    tk_set_self(@"four");
    CHECK_WAIT([[witness customOf:@"grace"] isEqualToString:@"four"], 10);
    CHECK_EQ(slow->entered, 1);

    [manager() removeIMSDKListener:witness];
    tk_logout();
    [manager() unInitSDK];
}

int main(void) {
    tk_setup();
    @autoreleasepool {
        test_user_sig_expired(); /* first: its UserSig expires seconds after the program starts */
    }
    @autoreleasepool {
        test_events();
    }
    @autoreleasepool {
        test_kicked();
    }
    @autoreleasepool {
        test_removal_guarantees();
    }
    return tk_finish("listener");
}
