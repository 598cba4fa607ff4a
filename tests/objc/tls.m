/* TLS through the Objective-C API, with real certificates (tests/common/tls.rs makes them and
 * the servers): V2TIMSDKConfig's serverAddress "tls://...", useTLS, caCertificatesPEM and
 * spkiPins. A client over TLS logs in and sees a change made by another device; an untrusted
 * certificate, a wrong name and a pin mismatch reach onConnectFailed:err: and the login's fail
 * block as 9508 with messages that say so; a right pin is accepted; settings the library refuses
 * make initSDK:config: return NO. */
#import "testkit.h"

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

static NSData *pem(const char *variable) {
    return [tk_env(variable) dataUsingEncoding:NSUTF8StringEncoding];
}

static V2TIMSDKConfig *tls_config(NSString *server, NSData *ca) {
    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = server;
    config.caCertificatesPEM = ca;
    return config;
}

static void test_sees_changes(void) {
    tk_section("over TLS: log in, see a change");
    NSString *server = tk_env("IMS_TEST_TLS_SERVER");
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    CHECK([manager() initSDK:tk_app() config:tls_config(server, pem("IMS_TEST_TLS_CA"))]);
    tk_login(@"alice", tk_sig(@"alice"));
    TKCall *sub = [TKCall named:@"subscribe"];
    TK_CALL(sub, [manager() subscribeUserStatus:@[ @"bob" ] succ:TK_SUCC(sub) fail:TK_FAIL(sub)]);
    EXPECT_SUCCESS(sub);
    tk_other *bob = tk_other_new(tk_app(), [tk_server() UTF8String]);
    tk_other_login(bob, @"bob", tk_sig(@"bob"));
    tk_other_set(bob, @"over TLS");
    CHECK_WAIT([[listener customOf:@"bob"] isEqualToString:@"over TLS"], 10);
    tk_other_logout(bob);
    tk_other_free(bob);
    tk_logout();
    [manager() unInitSDK];
    [manager() removeIMSDKListener:listener];
    [tk_cond lock];
    CHECK_EQ(listener->connectFailed, 0);
    CHECK(listener->connectSuccess >= 1);
    [tk_cond unlock];

    tk_section("over TLS by IP address, with useTLS");
    NSRange colon = [server rangeOfString:@":" options:NSBackwardsSearch];
    NSString *byIP = [@"127.0.0.1" stringByAppendingString:[server substringFromIndex:colon.location]];
    V2TIMSDKConfig *config = tls_config(byIP, pem("IMS_TEST_TLS_CA"));
    config.useTLS = YES;
    CHECK([manager() initSDK:tk_app() config:config]);
    tk_login(@"dave", tk_sig(@"dave"));
    tk_logout();
    [manager() unInitSDK];
}

/* Logging in with config fails as a connection failure whose message holds words. */
static void expect_refused(V2TIMSDKConfig *config, NSString *words) {
    tk_section([[NSString stringWithFormat:@"refused: %@", words] UTF8String]);
    TKListener *listener = [TKListener listener];
    [manager() addIMSDKListener:listener];
    CHECK([manager() initSDK:tk_app() config:config]);
    TKCall *login = [TKCall named:@"login"];
    TK_CALL(login, [manager() login:@"carol" userSig:tk_sig(@"carol") succ:TK_SUCC(login) fail:TK_FAIL(login)]);
    EXPECT_ERROR(login, ERR_SDK_NET_DISCONNECT);
    CHECK_WAIT(listener->connectFailed == 1, 10);
    [tk_cond lock];
    if ([login->desc rangeOfString:words].location == NSNotFound)
        tk_fail_at(__FILE__, __LINE__, [NSString stringWithFormat:@"'%@' does not say '%@'", login->desc, words]);
    CHECK([login->desc hasPrefix:@"TLS handshake with "]);
    CHECK_EQ(listener->failedCode, ERR_SDK_NET_DISCONNECT);
    CHECK([listener->failedDesc isEqualToString:login->desc]);
    [tk_cond unlock];
    CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    [manager() unInitSDK];
    [manager() removeIMSDKListener:listener];
}

static void test_pins(void) {
    NSString *pinned = tk_env("IMS_TEST_TLS_PINNED_SERVER");
    tk_section("a right pin, beside a backup pin");
    V2TIMSDKConfig *right = tls_config(pinned, pem("IMS_TEST_TLS_CA"));
    right.spkiPins = @[ tk_env("IMS_TEST_TLS_WRONG_PIN"), tk_env("IMS_TEST_TLS_PIN") ];
    CHECK([manager() initSDK:tk_app() config:right]);
    tk_login(@"erin", tk_sig(@"erin"));
    tk_logout();
    [manager() unInitSDK];

    V2TIMSDKConfig *wrong = tls_config(pinned, pem("IMS_TEST_TLS_CA"));
    wrong.spkiPins = @[ tk_env("IMS_TEST_TLS_WRONG_PIN") ];
    expect_refused(wrong, @"pin mismatch");
}

static void test_bad_settings(void) {
    tk_section("settings the library refuses: initSDK:config: says NO");
    NSString *server = tk_env("IMS_TEST_TLS_SERVER");
    NSData *junk = [@"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        dataUsingEncoding:NSUTF8StringEncoding];
    CHECK(![manager() initSDK:tk_app() config:tls_config(server, junk)]);
    V2TIMSDKConfig *config = tls_config(server, pem("IMS_TEST_TLS_CA"));
    config.spkiPins = @[ @"not a pin" ];
    CHECK(![manager() initSDK:tk_app() config:config]);
    config.spkiPins = @[ tk_env("IMS_TEST_TLS_PIN"), (NSString *)[NSNull null] ];
    CHECK(![manager() initSDK:tk_app() config:config]);
    NSString *withNul = [[[NSString alloc] initWithBytes:"sha256/\0AAAA" length:11
                                                encoding:NSUTF8StringEncoding] autorelease];
    config.spkiPins = @[ withNul ];
    CHECK(![manager() initSDK:tk_app() config:config]);
    CHECK(![manager() initSDK:tk_app() config:tls_config(@"ftp://localhost:1", nil)]);
    /* A good config still works after them. */
    CHECK([manager() initSDK:tk_app() config:tls_config(server, pem("IMS_TEST_TLS_CA"))]);
    tk_login(@"frank", tk_sig(@"frank"));
    tk_logout();
    [manager() unInitSDK];
}

int main(void) {
    @autoreleasepool {
        test_bad_settings();
        test_sees_changes();
        expect_refused(tls_config(tk_env("IMS_TEST_TLS_SERVER"), pem("IMS_TEST_TLS_OTHER_CA")),
                       @"untrusted certificate");
        expect_refused(tls_config(tk_env("IMS_TEST_TLS_WRONG_NAME_SERVER"), pem("IMS_TEST_TLS_CA")),
                       @"wrong name");
        test_pins();
    }
    return tk_finish("tls");
}
