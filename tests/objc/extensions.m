/* Presence beyond V2TIM through IMStatusExtensions.h against a real server: the manager (alice)
 * sets an expiring status and sees it clear, appears offline and hides from everyone (visibility
 * nobody) while another client (bob, through the C API) queries her OFFLINE with a frozen last
 * seen and her own device sees the truth and the switches; then bob logs out and alice reads his
 * last seen from a V2TIMUserStatus. Refusals: before initSDK, bad values, nil. */
#import "IMStatusExtensions.h"
#import "testkit.h"

#include <math.h>
#include <string.h>
#include <time.h>

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* The next status of user that the listener recorded after *cursor; moves the cursor past it. */
static V2TIMUserStatus *next_of(TKListener *l, NSUInteger *cursor, NSString *user) {
    __block V2TIMUserStatus *found = nil;
    BOOL ok = tk_wait_until(^BOOL {
        for (NSUInteger i = *cursor; i < l->all.count; i++) {
            V2TIMUserStatus *s = [l->all objectAtIndex:i];
            if ([s.userID isEqualToString:user]) {
                found = s;
                *cursor = i + 1;
                return YES;
            }
        }
        return NO;
    }, 10);
    if (!ok) tk_fail_at(__FILE__, __LINE__, [NSString stringWithFormat:@"no change of %@", user]);
    return found;
}

static void expect_error(NSString *name, int code, void (^start)(TKCall *c)) {
    TKCall *c = [TKCall named:name];
    TK_CALL(c, start(c));
    EXPECT_ERROR(c, code);
}

static void expect_success(NSString *name, void (^start)(TKCall *c)) {
    TKCall *c = [TKCall named:name];
    TK_CALL(c, start(c));
    EXPECT_SUCCESS(c);
}

static void test_values_and_refusals(void) {
    tk_section("values and refusals");
    CHECK_EQ(IMSVisibilityEveryone, IMS_VISIBILITY_EVERYONE);
    CHECK_EQ(IMSVisibilityFriends, IMS_VISIBILITY_FRIENDS);
    CHECK_EQ(IMSVisibilityNobody, IMS_VISIBILITY_NOBODY);
    CHECK_EQ(IMSVisibilityUnknown, IMS_VISIBILITY_UNKNOWN);
    V2TIMUserStatus *made = [[[V2TIMUserStatus alloc] init] autorelease];
    CHECK_EQ(made.imsLastSeenMs, 0);
    CHECK(!made.imsInvisible);
    CHECK_EQ(made.imsVisibility, IMSVisibilityEveryone);

    expect_error(@"invisible before init", ERR_SDK_NOT_INITIALIZED, ^(TKCall *c) {
        [manager() setInvisible:YES succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    tk_init(tk_app());
    tk_login(@"alice", tk_sig(@"alice"));
    for (NSInteger bad = -1; bad <= 7; bad += 4) { /* -1, 3 (unknown), 7 */
        expect_error(@"bad visibility", ERR_INVALID_PARAMETERS, ^(TKCall *c) {
            [manager() setVisibility:(IMSVisibility)bad succ:TK_SUCC(c) fail:TK_FAIL(c)];
        });
    }
    V2TIMUserStatus *status = [[[V2TIMUserStatus alloc] init] autorelease];
    status.customStatus = @"x";
    expect_error(@"nil status", ERR_INVALID_PARAMETERS, ^(TKCall *c) {
        [manager() setSelfStatus:(V2TIMUserStatus *_Nonnull)nil expireAfter:1 succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    expect_error(@"negative", ERR_INVALID_PARAMETERS, ^(TKCall *c) {
        [manager() setSelfStatus:status expireAfter:-1 succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    expect_error(@"NaN", ERR_INVALID_PARAMETERS, ^(TKCall *c) {
        [manager() setSelfStatus:status expireAfter:NAN succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    expect_error(@"zero (the server's rule)", ERR_INVALID_PARAMETERS, ^(TKCall *c) {
        [manager() setSelfStatus:status expireAfter:0 succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    tk_logout();
    [manager() unInitSDK];
}

static void test_expiry_invisible_nobody_last_seen(void) {
    tk_section("expiry, invisible, nobody, last seen");
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    tk_init(tk_app());
    tk_login(@"alice", tk_sig(@"alice"));
    tk_other *bob = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(bob, @"bob", tk_sig(@"bob"));
    expect_success(@"subscribe bob", ^(TKCall *c) {
        [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    NSUInteger cursor = 0;

    /* 1. An expiring status clears itself, for alice's own device and for bob. */
    V2TIMUserStatus *lunch = [[[V2TIMUserStatus alloc] init] autorelease];
    lunch.customStatus = @"lunch";
    NSTimeInterval expiry = tk_scaled(0.4);
    NSDate *setAt = [NSDate date];
    expect_success(@"expiring", ^(TKCall *c) {
        [manager() setSelfStatus:lunch expireAfter:expiry succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    CHECK_STR(next_of(listener, &cursor, @"alice").customStatus, @"lunch");
    V2TIMUserStatus *cleared = next_of(listener, &cursor, @"alice");
    CHECK(-[setAt timeIntervalSinceNow] >= expiry - 0.001);
    CHECK_STR(cleared.customStatus, @"");
    CHECK_EQ(cleared.statusType, V2TIM_USER_STATUS_ONLINE);
    CHECK_EQ(cleared.imsLastSeenMs, 0);
    CHECK(strcmp(tk_other_get(bob, @"alice").custom, "") == 0);

    /* 2. Invisible: bob sees OFFLINE with last seen frozen at the switch; alice the truth. */
    tk_set_self(@"busy");
    CHECK_STR(next_of(listener, &cursor, @"alice").customStatus, @"busy");
    uint64_t before = now_ms();
    expect_success(@"invisible on", ^(TKCall *c) {
        [manager() setInvisible:YES succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    uint64_t after = now_ms();
    V2TIMUserStatus *own = next_of(listener, &cursor, @"alice");
    CHECK(own.imsInvisible);
    CHECK_EQ(own.statusType, V2TIM_USER_STATUS_ONLINE);
    CHECK_STR(own.customStatus, @"busy");
    tk_view seen = tk_other_get(bob, @"alice");
    CHECK_EQ(seen.type, IMS_USER_STATUS_OFFLINE);
    CHECK(strcmp(seen.custom, "") == 0);
    CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
    CHECK_EQ(tk_other_get(bob, @"alice").last_seen_ms, seen.last_seen_ms); /* frozen */
    CHECK(tk_find(tk_get(@[ @"alice" ]), @"alice").imsInvisible);
    expect_success(@"invisible off", ^(TKCall *c) {
        [manager() setInvisible:NO succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    CHECK(!next_of(listener, &cursor, @"alice").imsInvisible);
    seen = tk_other_get(bob, @"alice");
    CHECK_EQ(seen.type, IMS_USER_STATUS_ONLINE);
    CHECK(strcmp(seen.custom, "busy") == 0);
    CHECK_EQ(seen.last_seen_ms, 0);

    /* 3. Visibility nobody: the same hidden view for bob; alice's own status says nobody. */
    before = now_ms();
    expect_success(@"nobody", ^(TKCall *c) {
        [manager() setVisibility:IMSVisibilityNobody succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    after = now_ms();
    own = next_of(listener, &cursor, @"alice");
    CHECK_EQ(own.imsVisibility, IMSVisibilityNobody);
    CHECK(!own.imsInvisible);
    seen = tk_other_get(bob, @"alice");
    CHECK_EQ(seen.type, IMS_USER_STATUS_OFFLINE);
    CHECK(strcmp(seen.custom, "") == 0);
    CHECK(seen.last_seen_ms >= before && seen.last_seen_ms <= after);
    expect_success(@"everyone", ^(TKCall *c) {
        [manager() setVisibility:IMSVisibilityEveryone succ:TK_SUCC(c) fail:TK_FAIL(c)];
    });
    CHECK_EQ(next_of(listener, &cursor, @"alice").imsVisibility, IMSVisibilityEveryone);
    CHECK_EQ(tk_other_get(bob, @"alice").type, IMS_USER_STATUS_ONLINE);

    /* 4. bob logs out: alice reads his last seen from the push and from a query. */
    before = now_ms();
    tk_other_logout(bob);
    after = now_ms();
    V2TIMUserStatus *gone = next_of(listener, &cursor, @"bob");
    CHECK_EQ(gone.statusType, V2TIM_USER_STATUS_UNLOGINED);
    CHECK(gone.imsLastSeenMs >= before && gone.imsLastSeenMs <= after);
    V2TIMUserStatus *queried = tk_find(tk_get(@[ @"bob" ]), @"bob");
    CHECK_EQ(queried.imsLastSeenMs, gone.imsLastSeenMs);
    CHECK(!queried.imsInvisible);

    tk_other_free(bob);
    tk_logout();
    [manager() removeIMSDKListener:listener];
    [manager() unInitSDK];
}

int main(void) {
    tk_setup();
    @autoreleasepool {
        test_values_and_refusals();
    }
    @autoreleasepool {
        test_expiry_invisible_nobody_last_seen();
    }
    return tk_finish("extensions");
}
