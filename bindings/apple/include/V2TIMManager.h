/*
 * imstatus: the Objective-C V2TIM user-status API (iOS, macOS), over the C API of imstatus.h.
 *
 * The names, types and values are those of the V2TIM SDK's V2TIMManager.h, so code written for
 * the V2TIM user-status API compiles after changing only its import:
 *
 *     #import "V2TIMManager.h"        // or #import <imstatus/V2TIMManager.h>, or @import imstatus;
 *
 * Callbacks. Every method that takes `succ`/`fail` calls exactly one of them, exactly once, and
 * never inside the call itself. On Apple platforms the blocks (errors included) and the listener
 * methods run on the main queue, in the order the SDK decided them, so they may touch the UI.
 * Where there is no main queue (GNUstep on Linux, used by the tests) they run on the SDK's
 * callback thread ("imstatus-callback"), one at a time, in order, errors included (a nil userID
 * is refused there like any other error); there, the errors of calls that cannot reach the SDK
 * (not initialised, a nil status, a list that holds something other than strings) run on the
 * library's "imstatus-errors" thread.
 * Either block may be nil. Blocks are copied, and released once they have run (or when the SDK
 * no longer needs them). An exception thrown out of a block or listener method is caught and
 * logged.
 *
 * Rules. The wrapper only translates: which IDs are valid, the list limits, the editions, the
 * console switches and the rate limits are decided by the server, and come back through `fail`
 * with the V2TIM code (TIMErrorCode.h) and a description.
 *
 * Threads. Every method may be called from any thread, including from inside a block or a
 * listener method.
 */
#import <Foundation/Foundation.h>

#import "TIMErrorCode.h"

NS_ASSUME_NONNULL_BEGIN

/** The general status of a user. */
typedef NS_ENUM(NSInteger, V2TIMUserStatusType) {
    /** A value this SDK does not know. */
    V2TIM_USER_STATUS_UNKNOWN = 0,
    /** At least one device holds a live, logged-in connection. */
    V2TIM_USER_STATUS_ONLINE = 1,
    /** No live connection, but a device went away without logging out. */
    V2TIM_USER_STATUS_OFFLINE = 2,
    /** Never logged in, or every device logged out. */
    V2TIM_USER_STATUS_UNLOGINED = 3,
};

/** The login status of this SDK instance. */
typedef NS_ENUM(NSInteger, V2TIMLoginStatus) {
    /** Logged in (also while reconnecting after a network loss). */
    V2TIM_STATUS_LOGINED = 1,
    /** A login is running. */
    V2TIM_STATUS_LOGINING = 2,
    /** Not logged in (never, logged out, kicked, UserSig expired). */
    V2TIM_STATUS_LOGOUT = 3,
};

/** imstatus: the platform a device declares at login (V2TIMSDKConfig.platform), with the values
    of IMS_PLATFORM_* in imstatus.h. The server applies its multi-device rules per platform, and
    others see it in onlineDevices. */
typedef NS_ENUM(NSInteger, IMSPlatform) {
    /** The platform the library was built for: iPhone on iOS, Mac on macOS. */
    IMSPlatformDefault = 0,
    IMSPlatformAndroid = 1,
    IMSPlatformIPhone = 2,
    IMSPlatformIPad = 3,
    IMSPlatformWindows = 4,
    IMSPlatformMac = 5,
    IMSPlatformLinux = 6,
    IMSPlatformWeb = 7,
};

/** Log levels (V2TIMSDKConfig.logLevel). */
typedef NS_ENUM(NSInteger, V2TIMLogLevel) {
    /** No logging. */
    V2TIM_LOG_NONE = 0,
    /** Everything, including details of the protocol. */
    V2TIM_LOG_DEBUG = 3,
    /** Logins, logouts, reconnects. */
    V2TIM_LOG_INFO = 4,
    /** Something went wrong and was handled. */
    V2TIM_LOG_WARN = 5,
    /** Something went wrong and could not be handled. */
    V2TIM_LOG_ERROR = 6,
};

@class V2TIMUserStatus;

/** The call succeeded. */
typedef void (^V2TIMSucc)(void);
/** The call failed: a V2TIM error code (TIMErrorCode.h) and a description. */
typedef void (^V2TIMFail)(int code, NSString *desc);
/** getUserStatus:succ:fail: succeeded with these statuses (only the IDs that succeeded). */
typedef void (^V2TIMUserStatusListSucc)(NSArray<V2TIMUserStatus *> *result);
/** Receives one log line (see V2TIMSDKConfig.logListener). */
typedef void (^V2TIMLogListener)(V2TIMLogLevel logLevel, NSString *logContent);

/* The instance variables below are private; they are declared in this header because the GCC
   Objective-C runtime (GNUstep on Linux) cannot add them in the implementation. */

/** One user's status. */
@interface V2TIMUserStatus : NSObject {
  @private
    NSString *_userID;
    V2TIMUserStatusType _statusType;
    NSString *_customStatus;
    NSMutableArray<NSString *> *_onlineDevices;
    /* Beyond V2TIM, read through IMStatusExtensions.h. */
    uint64_t _imsLastSeenMs;
    BOOL _imsInvisible;
    NSInteger _imsVisibility;
}
/** The user (read-only; nil in a status made with init). */
@property (nonatomic, copy, readonly, nullable) NSString *userID;
/** The general status (read-only; V2TIM_USER_STATUS_UNKNOWN in a status made with init). */
@property (nonatomic, assign, readonly) V2TIMUserStatusType statusType;
/** The custom status, at most 100 bytes (the server checks). nil or @"" clears it in
    setSelfStatus:succ:fail:; statuses the SDK reports carry @"" when none is set. */
@property (nonatomic, copy, nullable) NSString *customStatus;
/** Platform names ("iPhone", "Mac", "Windows", ...) of the user's connected devices
    (read-only; empty when none). */
@property (nonatomic, strong, readonly, nullable) NSMutableArray<NSString *> *onlineDevices;
@end

/** Settings for initSDK:config:. */
@interface V2TIMSDKConfig : NSObject {
  @private
    V2TIMLogLevel _logLevel;
    V2TIMLogListener _logListener;
    NSString *_serverAddress;
    IMSPlatform _platform;
    BOOL _useTLS;
    NSData *_caCertificatesPEM;
    NSArray<NSString *> *_spkiPins;
}
/** Lines at this level or above go to logListener (default V2TIM_LOG_NONE). */
@property (nonatomic, assign) V2TIMLogLevel logLevel;
/** Receives the SDK's log lines at logLevel or above; without it nothing is logged. It runs on
    whichever thread logs, possibly several at once, so it must be thread-safe and quick, and it
    must not call V2TIMManager. Logging is process-wide: it is set by initSDK:config: and turned
    off by unInitSDK. */
@property (nonatomic, copy, nullable) V2TIMLogListener logListener;
/** imstatus: the server, "host:port", or "tls://host:port" for TLS. nil or @"" means
    $IMSTATUS_SERVER, else 127.0.0.1:7800. */
@property (nonatomic, copy, nullable) NSString *serverAddress;
/** imstatus: TLS also for a serverAddress without "tls://" (default NO). Over TLS the server's
    certificate is always verified: by the system's trust store (Apple's trust evaluation) and
    caCertificatesPEM, for the host of serverAddress, then against spkiPins. A failed handshake is
    a connection failure (onConnectFailed:err: and the login's fail block, 9508) whose message
    starts with the reason: "untrusted certificate", "wrong name", "pin mismatch". */
@property (nonatomic, assign) BOOL useTLS;
/** imstatus: CA certificates trusted beside the system's, as PEM bytes (one or more
    "-----BEGIN CERTIFICATE-----" blocks), e.g. read from the app bundle. nil: none. A PEM
    without a usable certificate makes initSDK:config: return NO. */
@property (nonatomic, copy, nullable) NSData *caCertificatesPEM;
/** imstatus: SPKI SHA-256 pins, each the base64 of the SHA-256 of a DER SubjectPublicKeyInfo,
    optionally after "sha256/". With pins, a chain that verified must also hold a pinned key (the
    server's or an intermediate's); pin a backup key too. Anything else makes initSDK:config:
    return NO. nil: no pin. */
@property (nonatomic, copy, nullable) NSArray<NSString *> *spkiPins;
/** imstatus: the platform this device declares at login. The default asks UIKit at run time: an
    iPad is IMSPlatformIPad, an iPhone or iPod touch IMSPlatformIPhone; where there is no UIDevice
    (macOS) IMSPlatformDefault, the platform the library was built for. A value that is not an
    IMSPlatform makes initSDK:config: return NO. */
@property (nonatomic, assign) IMSPlatform platform;
@end

/** The SDK's events. Every method is optional. They run where the blocks run (see above). */
@protocol V2TIMSDKListener <NSObject>
@optional
/** The SDK starts connecting: a login, or a reconnect after a network loss. */
- (void)onConnecting;
/** The connection to the server is up (the login itself may still fail). */
- (void)onConnectSuccess;
/** Connecting failed (9508 for network failures); while reconnecting the SDK keeps retrying. */
- (void)onConnectFailed:(int)code err:(NSString *)err;
/** Another device logged in with this account on this platform: this SDK is logged out and does
    not reconnect. */
- (void)onKickedOffline;
/** The UserSig expired: this SDK is logged out; log in with a fresh one. */
- (void)onUserSigExpired;
/** Statuses changed: subscribed users, friends (when the console's friend status notification is
    on), the own account on other devices, and the own custom status after setSelfStatus. */
- (void)onUserStatusChanged:(NSArray<V2TIMUserStatus *> *)userStatusList;
@end

/** The SDK entry point. Use sharedInstance; do not create others. */
@interface V2TIMManager : NSObject

/** The SDK instance. */
+ (V2TIMManager *)sharedInstance;

/**
 * Initialises the SDK for the app sdkAppID: creates the client, which connects at login. Returns
 * NO when the settings are unusable (the reason is logged with NSLog). When the SDK is already
 * initialised it returns YES and keeps its settings: call unInitSDK first to change them.
 */
- (BOOL)initSDK:(int)sdkAppID config:(nullable V2TIMSDKConfig *)config;

/** The older form: adds listener (if not nil), then initSDK:config:. */
- (BOOL)initSDK:(int)sdkAppID
         config:(nullable V2TIMSDKConfig *)config
       listener:(nullable id<V2TIMSDKListener>)listener;

/**
 * Uninitialises the SDK: closes the connection without logging out (the server sees the device go
 * OFFLINE); calls still in flight fail with ERR_SDK_NOT_INITIALIZED, also one another thread is
 * making at that moment. Listeners stay added. Does nothing when not initialised.
 */
- (void)unInitSDK;

/** The SDK's version, "MAJOR.MINOR.PATCH". */
- (NSString *)getVersion;

/**
 * Adds a listener; adding one that is already added does nothing. Listeners may be added before
 * initSDK:config: and stay added across unInitSDK. The SDK does not keep the listener alive: it
 * holds it weakly where the Objective-C runtime supports weak references (ARC on Apple
 * platforms), and otherwise unretained, so remove a listener before it is deallocated.
 */
- (void)addIMSDKListener:(id<V2TIMSDKListener>)listener;

/**
 * Removes a listener. When this returns, none of its methods runs any more, nor will, except the
 * one this is called from (when it is).
 */
- (void)removeIMSDKListener:(id<V2TIMSDKListener>)listener;

/**
 * Logs in with a UserSig made by the app's backend. Logging in again as the logged-in user
 * succeeds at once; as another user, logs the current one out first.
 */
- (void)login:(NSString *)userID
      userSig:(NSString *)userSig
         succ:(nullable V2TIMSucc)succ
         fail:(nullable V2TIMFail)fail;

/** Logs out; the SDK ends logged out whatever the server answers. */
- (void)logout:(nullable V2TIMSucc)succ fail:(nullable V2TIMFail)fail;

/** The logged-in user (also while reconnecting), or nil when not logged in. */
- (nullable NSString *)getLoginUser;

/** V2TIM_STATUS_LOGINED, V2TIM_STATUS_LOGINING (as soon as login:userSig:succ:fail: returned,
    until its block) or V2TIM_STATUS_LOGOUT. */
- (V2TIMLoginStatus)getLoginStatus;

/**
 * The server's current time, in Unix seconds, from the server's clock as the login and heartbeat
 * replies carry it (allowing for the round trip); changing the device's clock does not move it.
 * Before the first successful login since initSDK:config:, the local clock.
 */
- (int64_t)getServerTime;

/**
 * Sets the own custom status from status.customStatus (nil or @"" clears it); the userID and
 * statusType of status are ignored. The change also arrives as onUserStatusChanged: for the own
 * user.
 */
- (void)setSelfStatus:(V2TIMUserStatus *)status
                 succ:(nullable V2TIMSucc)succ
                 fail:(nullable V2TIMFail)fail;

/**
 * Queries statuses. The own ID always works; others need the Ultimate edition and the console
 * switch. Only the IDs that succeeded are answered; the call fails only when every ID failed.
 * userIDList holds NSStrings.
 */
- (void)getUserStatus:(NSArray *)userIDList
                 succ:(nullable V2TIMUserStatusListSucc)succ
                 fail:(nullable V2TIMFail)fail;

/**
 * Subscribes to users' status changes, which then arrive as onUserStatusChanged:. userIDList holds
 * NSStrings.
 */
- (void)subscribeUserStatus:(NSArray *)userIDList
                       succ:(nullable V2TIMSucc)succ
                       fail:(nullable V2TIMFail)fail;

/**
 * Unsubscribes. nil or an empty list removes every subscription; IDs not subscribed are ignored.
 */
- (void)unsubscribeUserStatus:(nullable NSArray *)userIDList
                         succ:(nullable V2TIMSucc)succ
                         fail:(nullable V2TIMFail)fail;

@end

NS_ASSUME_NONNULL_END
