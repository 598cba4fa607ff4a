/* The seed's iOS and macOS samples ("User Status" guide), verbatim, whitespace included
 * (tests/objc_api.rs compares them with the seed's Objective-C code blocks, copied in
 * tests/objc/seed/seed-objc-samples.md): each statement sample is the body of a function, and the
 * listener sample is split between a method that adds the listener and the callback method of a
 * class. Nothing else in this file is the seed's.
 *
 * The samples' blocks are empty, as in the seed, so the scaffolding below checks what they do from
 * outside: each sample's call completes exactly once (the wrapper's call objects are made and
 * released), the custom status is cleared, subscribing brings the changes of userid1 to the
 * sample's onUserStatusChanged:, which tells them from the own user's with getLoginUser, and
 * unsubscribing stops them. The samples' error paths (Basic edition, status switch off) are
 * the same calls that errors.m checks with blocks that record the codes.
 *
 * This file also compiles with -fobjc-arc (tests/objc_api.rs): no manual reference counting. */
#import "V2TIMManager.h"

#import "testkit.h"

/* The samples' empty blocks ignore their arguments (Xcode's default warnings allow that; the
   tests' -Wextra does not). */
#pragma clang diagnostic ignored "-Wunused-parameter"

/* ---- The samples ---------------------------------------------------------------------------- */

/* "Setting the Custom Status" */
static void sample_set_self_status(void) {
V2TIMUserStatus *status = [[V2TIMUserStatus alloc] init];
BOOL clearStatus = YES;
if (clearStatus) {
	  status.customStatus = nil;
} else {
  	status.customStatus = @"listening music";
}
[V2TIMManager.sharedInstance setSelfStatus:status succ:^{
	
} fail:^(int code, NSString *desc) {
}];
}

/* "Querying a user's own status" */
static void sample_get_own_status(void) {
NSString *myId = V2TIMManager.sharedInstance.getLoginUser;
if (myId == nil || myId.length == 0) {
    // Log in first
    return;
}
[V2TIMManager.sharedInstance getUserStatus:@[myId] succ:^(NSArray<V2TIMUserStatus *> *result) {
    // Queried the user's own status successfully
} fail:^(int code, NSString *desc) {
    // Failed to query the user's own status
}];
}

/* "Querying the status of another user" */
static void sample_get_others_status(void) {
[V2TIMManager.sharedInstance getUserStatus:@[@"userid1", @"userid2", @"userid3"] succ:^(NSArray<V2TIMUserStatus *> *result) {
    // Queried the status successfully
} fail:^(int code, NSString *desc) {
    // Failed to query the status
}];
}

/* "Subscribing to the User Status" */
static void sample_subscribe(void) {
[V2TIMManager.sharedInstance subscribeUserStatus:@[@"userid1", @"userid2", @"userid3"] succ:^ {
		// Subscribed to the status successfully
} fail:^(int code, NSString *desc) {
		// Failed to subscribe to the status
}];
}

/* "Unsubscribing from the User Status" */
static void sample_unsubscribe(void) {
[V2TIMManager.sharedInstance unsubscribeUserStatus:@[@"userid1", @"userid2", @"userid3"] succ:^ {
		// Unsubscribed from the status successfully
} fail:^(int code, NSString *desc) {
		// Failed to unsubscribe from the status
}];
}

/* "Status Change Notification" */
@interface SeedListener : NSObject <V2TIMSDKListener>
- (void)addListener;
@end

@implementation SeedListener

- (void)addListener {
// Adding a listener
[V2TIMManager.sharedInstance addIMSDKListener:self];
}

// Notification callback
- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList {
    NSString *myID = V2TIMManager.sharedInstance.getLoginUser;
    for (V2TIMUserStatus *userStatus in userStatusList) {
        if ([userStatus.userID isEqualToString:myID]) {
            // The user's own status changed.
        } else {
            // The status of another user changed.
        }
    }
}

@end

/* ---- Scaffolding -------------------------------------------------------------------------- */

/* The sample's listener, recording what its onUserStatusChanged: receives (and how the sample
   tells the own user from others: by the ID getLoginUser gives inside the callback). */
@interface SeedProbe : SeedListener {
  @public
    NSMutableArray<V2TIMUserStatus *> *own;
    NSMutableArray<V2TIMUserStatus *> *others;
}
@end

@implementation SeedProbe
- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList {
    NSString *myID = V2TIMManager.sharedInstance.getLoginUser;
    [tk_cond lock];
    for (V2TIMUserStatus *status in userStatusList) {
        if ([status.userID isEqualToString:myID]) {
            [own addObject:status];
        } else {
            [others addObject:status];
        }
    }
    [tk_cond broadcast];
    [tk_cond unlock];
    [super onUserStatusChanged:userStatusList];
}
@end

static SeedProbe *probe;

/* The latest status of user the sample's listener received, or nil. Under tk_cond. */
static V2TIMUserStatus *latest(NSArray<V2TIMUserStatus *> *list, NSString *user) {
    for (V2TIMUserStatus *status in [list reverseObjectEnumerator]) {
        if ([status.userID isEqualToString:user]) return status;
    }
    return nil;
}

/* Runs a sample and checks it made `calls` calls, each of which completed and released its
   blocks. */
static void run_sample(const char *name, void (*sample)(void), long calls) {
    long before = tk_made("IMSV2TIMCall");
    sample();
    long made = tk_made("IMSV2TIMCall") - before;
    if (made != calls) {
        tk_fail_at(__FILE__, __LINE__,
                   [NSString stringWithFormat:@"sample %s made %ld calls, not %ld", name, made, calls]);
    }
    if (!TK_WAIT(tk_live("IMSV2TIMCall") == 0, 10)) {
        tk_fail_at(__FILE__, __LINE__, [NSString stringWithFormat:@"sample %s: a call did not complete", name]);
    }
}

static void test_samples(void) {
    tk_section("the seed's samples against a real server");
    probe = [[SeedProbe alloc] init];
    probe->own = [NSMutableArray array];
    probe->others = [NSMutableArray array];
    tk_init(tk_app());

    /* "Adding a listener" */
    [probe addListener];

    /* Not logged in: the own-status sample stops at "Log in first", without a call. */
    run_sample("get own status (not logged in)", sample_get_own_status, 0);

    tk_login(@"seed-me", tk_sig(@"seed-me"));
    tk_set_self(@"listening music");
    CHECK_WAIT([latest(probe->own, @"seed-me").customStatus isEqualToString:@"listening music"], 10);

    /* clearStatus is YES in the sample: it clears the custom status, and the own change arrives
       at the sample's listener as the own user's. */
    run_sample("set self status", sample_set_self_status, 1);
    CHECK_WAIT([latest(probe->own, @"seed-me").customStatus isEqualToString:@""], 10);
    CHECK_STR(tk_find(tk_get(@[ @"seed-me" ]), @"seed-me").customStatus, @"");

    run_sample("get own status", sample_get_own_status, 1);
    run_sample("get others' status", sample_get_others_status, 1);

    /* Subscribed: userid1's changes reach the sample's listener as another user's. */
    run_sample("subscribe", sample_subscribe, 1);
    tk_other *userid1 = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(userid1, @"userid1", tk_sig(@"userid1"));
    tk_other_set(userid1, @"at work");
    CHECK_WAIT([latest(probe->others, @"userid1").customStatus isEqualToString:@"at work"], 10);
    CHECK_EQ(latest(probe->others, @"userid1").statusType, V2TIM_USER_STATUS_ONLINE);
    tk_other_logout(userid1);
    CHECK_WAIT(latest(probe->others, @"userid1").statusType == V2TIM_USER_STATUS_UNLOGINED, 10);
    tk_other_free(userid1);

    /* Unsubscribed: userid2's changes no longer arrive (the own status, set after them, is the
       marker: events arrive in order). */
    run_sample("unsubscribe", sample_unsubscribe, 1);
    tk_other *userid2 = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(userid2, @"userid2", tk_sig(@"userid2"));
    tk_other_set(userid2, @"unheard");
    tk_set_self(@"marker");
    CHECK_WAIT([latest(probe->own, @"seed-me").customStatus isEqualToString:@"marker"], 10);
    [tk_cond lock];
    CHECK(latest(probe->others, @"userid2") == nil);
    [tk_cond unlock];
    tk_other_logout(userid2);
    tk_other_free(userid2);

    [V2TIMManager.sharedInstance removeIMSDKListener:probe];
    tk_logout();
    [V2TIMManager.sharedInstance unInitSDK];
}

/* The samples' calls on the other apps complete too (their codes: errors.m). */
static void test_samples_on_other_editions(void) {
    tk_section("the samples on the Basic edition and with the status switch off");
    tk_init(tk_basic_app());
    tk_login(@"seed-me", tk_basic_sig(@"seed-me"));
    run_sample("get others' status (Basic)", sample_get_others_status, 1);
    run_sample("subscribe (Basic)", sample_subscribe, 1);
    run_sample("get own status (Basic)", sample_get_own_status, 1);
    run_sample("set self status (Basic)", sample_set_self_status, 1);
    tk_logout();
    [V2TIMManager.sharedInstance unInitSDK];

    tk_init(tk_off_app());
    tk_login(@"seed-me", tk_off_sig(@"seed-me"));
    run_sample("subscribe (switch off)", sample_subscribe, 1);
    run_sample("unsubscribe (switch off)", sample_unsubscribe, 1);
    tk_logout();
    [V2TIMManager.sharedInstance unInitSDK];
}

int main(void) {
    tk_setup();
    tk_track_class("IMSV2TIMCall", @selector(initWithSucc:listSucc:fail:), 3);
    @autoreleasepool {
        test_samples();
    }
    @autoreleasepool {
        test_samples_on_other_editions();
    }
    return tk_finish("seed_samples");
}
