/* V2TIMSDKConfig.platform: what the device declares at login, as the server shows it to others in
 * onlineDevices. On iOS the default asks UIKit which device this is, at run time; this program
 * defines a stand-in UIDevice (GNUstep has no UIKit) that says "iPad", the way UIKit's does, so
 * the default is an iPad here and the server must see "iPad", not "iPhone" or "Linux". An
 * explicit platform wins, and a value that is no platform makes initSDK fail. */
#import "testkit.h"

/* The stand-in: the selectors and values of UIKit's UIDevice (UIUserInterfaceIdiomPad is 1). */
@interface UIDevice : NSObject
+ (UIDevice *)currentDevice;
- (NSInteger)userInterfaceIdiom;
@end

static NSInteger idiom = 1;

@implementation UIDevice
+ (UIDevice *)currentDevice {
    static UIDevice *device;
    if (device == nil) device = [[UIDevice alloc] init];
    return device;
}
- (NSInteger)userInterfaceIdiom {
    return idiom;
}
@end

static V2TIMManager *manager(void) {
    return V2TIMManager.sharedInstance;
}

/* The own devices as the server reports them, after logging in with `config`. */
static NSArray<NSString *> *own_devices(V2TIMSDKConfig *config, NSString *user) {
    CHECK([manager() initSDK:tk_app() config:config]);
    tk_login(user, tk_sig(user));
    V2TIMUserStatus *me = tk_find(tk_get(@[ user ]), user);
    NSArray<NSString *> *devices = [[me.onlineDevices copy] autorelease];
    tk_logout();
    [manager() unInitSDK];
    return devices;
}

static V2TIMSDKConfig *config_for_server(void) {
    V2TIMSDKConfig *config = [[[V2TIMSDKConfig alloc] init] autorelease];
    config.serverAddress = tk_server();
    return config;
}

int main(void) {
    tk_setup();
    @autoreleasepool {
        tk_section("the default asks UIDevice: an iPad");
        V2TIMSDKConfig *config = config_for_server();
        CHECK_EQ(config.platform, IMSPlatformIPad);
        CHECK([own_devices(config, @"alice") isEqualToArray:@[ @"iPad" ]]);

        tk_section("an iPhone");
        idiom = 0;
        config = config_for_server();
        CHECK_EQ(config.platform, IMSPlatformIPhone);
        CHECK([own_devices(config, @"bob") isEqualToArray:@[ @"iPhone" ]]);

        tk_section("another idiom (a Mac running the app): the library's own platform");
        idiom = 5;
        CHECK_EQ(config_for_server().platform, IMSPlatformDefault);

        tk_section("a nil config declares the device too");
        idiom = 1;
        CHECK([own_devices(nil, @"dave") isEqualToArray:@[ @"iPad" ]]);

        tk_section("an explicit platform wins");
        config = config_for_server();
        config.platform = IMSPlatformWeb;
        CHECK([own_devices(config, @"carol") isEqualToArray:@[ @"Web" ]]);

        tk_section("no platform at all: initSDK fails");
        config = config_for_server();
        config.platform = (IMSPlatform)42;
        CHECK(![manager() initSDK:tk_app() config:config]);
        CHECK_EQ([manager() getLoginStatus], V2TIM_STATUS_LOGOUT);
    }
    return tk_finish("platform");
}
