/*
 * imstatus: the Objective-C V2TIM user-status API over the C API of imstatus.h.
 *
 * It only translates: Objective-C objects to C strings and arrays, C callbacks to blocks and
 * listener methods. Every rule (IDs, limits, editions, switches, rates, what "not initialised" or
 * "not logged in" means) is decided by the SDK core or the server.
 *
 * Builds with and without ARC. Ownership across the C API: each call's blocks live in an
 * IMSV2TIMCall object whose +1 reference is the C callback's user_data, released by its
 * free_user_data (which the C API runs exactly once); each listener registration likewise holds a
 * +1 reference to an IMSV2TIMListenerEntry. Blocks are never sent messages outside ARC: the GCC
 * Objective-C runtime (GNUstep on Linux) does not treat them as objects, so the non-ARC build
 * copies and releases them with Block_copy and Block_release.
 *
 * Where the blocks run: on Apple platforms (or with IMS_V2TIM_MAIN_QUEUE defined, given a
 * libdispatch) the client is created with a dispatcher hook that sends every callback and event
 * to the main queue, in order. Elsewhere callbacks run on the client's callback thread. The
 * client is made with async refusals, so whatever the SDK refuses comes back through the blocks
 * like any other error; the errors the wrapper decides itself (not initialised, a nil status,
 * a list of something other than strings) are reported through ims_callback_fail: on the main
 * queue too on Apple platforms, elsewhere on the library's "imstatus-errors" thread.
 */
#import "V2TIMManager.h"
#import "IMStatusExtensions.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imstatus.h"

#if defined(__APPLE__) || defined(IMS_V2TIM_MAIN_QUEUE)
#include <dispatch/dispatch.h>
#define IMS_MAIN_QUEUE 1
#else
#define IMS_MAIN_QUEUE 0
#endif

#if !__has_feature(objc_arc)
#include <Block.h>
#endif

/* ---- ARC and manual reference counting ---------------------------------------------------- */

#if __has_feature(objc_arc)
/* ARC releases the variable at the end of its scope. */
#define IMS_RELEASE(x) ((void)(x))
#define IMS_BLOCK_COPY(b) [(b) copy]
#define IMS_BLOCK_RELEASE(b) ((void)0)
#define IMS_BRIDGE_RETAINED(o) ((__bridge_retained void *)(o))
#define IMS_BRIDGE(p) ((__bridge id)(p))
#else
#define IMS_RELEASE(x) [(x) release]
#define IMS_BLOCK_COPY(b) ((b) ? Block_copy(b) : NULL)
#define IMS_BLOCK_RELEASE(b)                                                                       \
    do {                                                                                           \
        if (b) Block_release(b);                                                                   \
    } while (0)
#define IMS_BRIDGE_RETAINED(o) ((void *)[(o) retain])
#define IMS_BRIDGE(p) ((id)(p))
#endif

/* Weak where the runtime can zero weak references, else unretained. */
#if __has_feature(objc_arc_weak)
#define IMS_WEAK __weak
#elif __has_feature(objc_arc)
#define IMS_WEAK __unsafe_unretained
#else
#define IMS_WEAK
#endif

/* Releases the +1 reference a C user_data holds. */
static void ims_release_bridged(void *p) {
    if (p == NULL) return;
#if __has_feature(objc_arc)
    (void)(__bridge_transfer id)p;
#else
    [(id)p release];
#endif
}

/* ---- Threads ------------------------------------------------------------------------------ */

/* GNUstep must know a thread before Objective-C code runs on it; the callback thread is the C
   library's. Apple's Foundation needs nothing. */
static inline void ims_enter_thread(void) {
#if defined(GNUSTEP)
    GSRegisterCurrentThread();
#endif
}

static NSString *ims_string(const char *utf8) {
    if (utf8 == NULL) return @"";
    NSString *s = [NSString stringWithUTF8String:utf8];
    return s != nil ? s : @"";
}

#if IMS_MAIN_QUEUE

/* The dispatcher hook of every client: the C API's tasks run on the main queue, in order. */
static void ims_post_to_main_queue(void *ctx, ims_task_fn run, void *task) {
    (void)ctx;
    dispatch_async_f(dispatch_get_main_queue(), task, run);
}

#endif

/* How the C API delivers: the dispatcher hook on Apple platforms, and async refusals. Made once,
   never freed; clients copy it, and ims_callback_fail only reads its hook. */
static ims_config *ims_delivery;
static pthread_once_t ims_delivery_once = PTHREAD_ONCE_INIT;

static void ims_make_delivery(void) {
    ims_result result = ims_config_new(0, &ims_delivery);
    if (result == IMS_OK) result = ims_config_set_async_refusals(ims_delivery, true);
#if IMS_MAIN_QUEUE
    if (result == IMS_OK) result = ims_config_set_dispatcher(ims_delivery, ims_post_to_main_queue, NULL);
#endif
    if (result != IMS_OK) {
        NSLog(@"imstatus: cannot set up callback delivery: %d %s", (int)result, ims_last_error_message());
        abort();
    }
}

static const ims_config *ims_delivery_config(void) {
    pthread_once(&ims_delivery_once, ims_make_delivery);
    return ims_delivery;
}

/* Runs app code; an Objective-C exception must not unwind into the C library. */
#define IMS_APP_CODE(what, body)                                                                   \
    do {                                                                                           \
        @try {                                                                                     \
            body;                                                                                  \
        } @catch (id ims_exception_) {                                                             \
            NSLog(@"imstatus: an exception escaped %s: %@", what, ims_exception_);                 \
        }                                                                                          \
    } while (0)

/* ---- V2TIMUserStatus ---------------------------------------------------------------------- */

@implementation V2TIMUserStatus

@synthesize userID = _userID;
@synthesize statusType = _statusType;
@synthesize customStatus = _customStatus;
@synthesize onlineDevices = _onlineDevices;

- (instancetype)init {
    self = [super init];
    if (self != nil) {
        _statusType = V2TIM_USER_STATUS_UNKNOWN;
        _onlineDevices = [[NSMutableArray alloc] init];
    }
    return self;
}

/* A copy of a status the C API lends to a callback. */
- (instancetype)initWithC:(const ims_user_status *)status {
    self = [super init];
    if (self != nil) {
        _userID = [ims_string(status->user_id) copy];
        _statusType = (V2TIMUserStatusType)status->status_type;
        _customStatus = [ims_string(status->custom_status) copy];
        _onlineDevices = [[NSMutableArray alloc] initWithCapacity:status->online_devices_count];
        for (size_t i = 0; i < status->online_devices_count; i++) {
            [_onlineDevices addObject:ims_string(status->online_devices[i])];
        }
        /* Beyond V2TIM: lent beside the struct for the callback's duration. */
        bool invisible = false;
        int32_t visibility = IMS_VISIBILITY_EVERYONE;
        ims_status_last_seen_ms(status, &_imsLastSeenMs);
        ims_status_invisible(status, &invisible);
        ims_status_visibility(status, &visibility);
        _imsInvisible = invisible ? YES : NO;
        _imsVisibility = visibility;
    }
    return self;
}

#if !__has_feature(objc_arc)
- (void)dealloc {
    [_userID release];
    [_customStatus release];
    [_onlineDevices release];
    [super dealloc];
}
#endif

- (NSString *)description {
    return [NSString
        stringWithFormat:@"V2TIMUserStatus{userID=%@, statusType=%ld, customStatus=%@, "
                         @"onlineDevices=[%@]}",
                         _userID, (long)_statusType, _customStatus,
                         [_onlineDevices componentsJoinedByString:@", "]];
}

@end

/* Copies the statuses the C API lends to a callback. */
static NSArray<V2TIMUserStatus *> *ims_status_list(const ims_user_status *statuses, size_t count) {
    NSMutableArray<V2TIMUserStatus *> *list = [NSMutableArray arrayWithCapacity:count];
    for (size_t i = 0; i < count; i++) {
        V2TIMUserStatus *status = [[V2TIMUserStatus alloc] initWithC:&statuses[i]];
        [list addObject:status];
        IMS_RELEASE(status);
    }
    return list;
}

/* ---- The platform ------------------------------------------------------------------------- */

/* IMSPlatform is IMS_PLATFORM_* under Objective-C names. */
_Static_assert(IMSPlatformDefault == IMS_PLATFORM_DEFAULT && IMSPlatformAndroid == IMS_PLATFORM_ANDROID &&
                   IMSPlatformIPhone == IMS_PLATFORM_IPHONE && IMSPlatformIPad == IMS_PLATFORM_IPAD &&
                   IMSPlatformWindows == IMS_PLATFORM_WINDOWS && IMSPlatformMac == IMS_PLATFORM_MAC &&
                   IMSPlatformLinux == IMS_PLATFORM_LINUX && IMSPlatformWeb == IMS_PLATFORM_WEB,
               "IMSPlatform must match IMS_PLATFORM_*");

/* What this device is, asked of UIKit at run time: the library is built once for all of iOS, and
   an iPad is not an iPhone. UIDevice is looked up by name, so the wrapper needs no UIKit to link
   and the same code runs where there is none (macOS, GNUstep: IMSPlatformDefault, the platform
   the library was built for). UIUserInterfaceIdiomPhone is 0, UIUserInterfaceIdiomPad 1; other
   idioms (a Mac running the app, a TV) keep the default. */
static IMSPlatform ims_device_platform(void) {
    Class deviceClass = NSClassFromString(@"UIDevice");
    SEL current = NSSelectorFromString(@"currentDevice");
    SEL idiom = NSSelectorFromString(@"userInterfaceIdiom");
    if (deviceClass == Nil || ![deviceClass respondsToSelector:current]) return IMSPlatformDefault;
    id device = ((id (*)(id, SEL))[deviceClass methodForSelector:current])(deviceClass, current);
    if (device == nil || ![device respondsToSelector:idiom]) return IMSPlatformDefault;
    switch (((NSInteger (*)(id, SEL))[device methodForSelector:idiom])(device, idiom)) {
        case 0:
            return IMSPlatformIPhone;
        case 1:
            return IMSPlatformIPad;
        default:
            return IMSPlatformDefault;
    }
}

/* ---- V2TIMSDKConfig ----------------------------------------------------------------------- */

@implementation V2TIMSDKConfig

@synthesize logLevel = _logLevel;
@synthesize serverAddress = _serverAddress;
@synthesize platform = _platform;
@synthesize useTLS = _useTLS;
@synthesize caCertificatesPEM = _caCertificatesPEM;
@synthesize spkiPins = _spkiPins;

- (instancetype)init {
    self = [super init];
    if (self != nil) {
        _logLevel = V2TIM_LOG_NONE;
        _platform = ims_device_platform();
    }
    return self;
}

/* Written out: a synthesized copy setter would send -copy to the block. */
- (V2TIMLogListener)logListener {
    return _logListener;
}

- (void)setLogListener:(V2TIMLogListener)logListener {
    if (logListener == _logListener) return;
    V2TIMLogListener old = _logListener;
    _logListener = IMS_BLOCK_COPY(logListener);
    IMS_BLOCK_RELEASE(old);
    (void)old;
}

#if !__has_feature(objc_arc)
- (void)dealloc {
    IMS_BLOCK_RELEASE(_logListener);
    [_serverAddress release];
    [_caCertificatesPEM release];
    [_spkiPins release];
    [super dealloc];
}
#endif

@end

/* The TLS settings of `config` (nil: none) onto `settings`; the first refusal's result. A pin that
   is not an NSString, or does not survive as UTF-8 without NULs, is passed as NULL and refused. */
static ims_result ims_apply_tls(ims_config *settings, V2TIMSDKConfig *config) {
    if (config == nil) return IMS_OK;
    ims_result result = ims_config_set_tls(settings, config.useTLS ? true : false);
    NSData *pem = config.caCertificatesPEM;
    if (result == IMS_OK && pem != nil)
        result = ims_config_add_ca_pem(settings, (const uint8_t *)pem.bytes, (size_t)pem.length);
    for (id pin in config.spkiPins) {
        if (result != IMS_OK) break;
        const char *text = NULL;
        if ([pin isKindOfClass:[NSString class]] &&
            strlen([(NSString *)pin UTF8String]) == [(NSString *)pin lengthOfBytesUsingEncoding:NSUTF8StringEncoding])
            text = [(NSString *)pin UTF8String];
        result = ims_config_add_spki_pin(settings, text);
    }
    return result;
}

/* ---- One asynchronous call ---------------------------------------------------------------- */

/* The blocks of one call; the C callback's user_data holds one reference. */
@interface IMSV2TIMCall : NSObject {
  @public
    V2TIMSucc _succ;
    V2TIMUserStatusListSucc _listSucc;
    V2TIMFail _fail;
}
- (instancetype)initWithSucc:(V2TIMSucc)succ listSucc:(V2TIMUserStatusListSucc)listSucc fail:(V2TIMFail)fail;
@end

@implementation IMSV2TIMCall

- (instancetype)initWithSucc:(V2TIMSucc)succ listSucc:(V2TIMUserStatusListSucc)listSucc fail:(V2TIMFail)fail {
    self = [super init];
    if (self != nil) {
        _succ = IMS_BLOCK_COPY(succ);
        _listSucc = IMS_BLOCK_COPY(listSucc);
        _fail = IMS_BLOCK_COPY(fail);
    }
    return self;
}

#if !__has_feature(objc_arc)
- (void)dealloc {
    IMS_BLOCK_RELEASE(_succ);
    IMS_BLOCK_RELEASE(_listSucc);
    IMS_BLOCK_RELEASE(_fail);
    [super dealloc];
}
#endif

@end

static void ims_call_on_success(void *user_data) {
    ims_enter_thread();
    @autoreleasepool {
        IMSV2TIMCall *call = IMS_BRIDGE(user_data);
        if (call->_succ != nil) IMS_APP_CODE("a V2TIMSucc block", call->_succ());
    }
}

static void ims_call_on_statuses(void *user_data, const ims_user_status *statuses, size_t count) {
    ims_enter_thread();
    @autoreleasepool {
        IMSV2TIMCall *call = IMS_BRIDGE(user_data);
        if (call->_listSucc != nil) {
            NSArray<V2TIMUserStatus *> *list = ims_status_list(statuses, count);
            IMS_APP_CODE("a V2TIMUserStatusListSucc block", call->_listSucc(list));
        }
    }
}

static void ims_call_on_error(void *user_data, int32_t code, const char *desc) {
    ims_enter_thread();
    @autoreleasepool {
        IMSV2TIMCall *call = IMS_BRIDGE(user_data);
        if (call->_fail != nil) IMS_APP_CODE("a V2TIMFail block", call->_fail((int)code, ims_string(desc)));
    }
}

/* free_user_data of every callback, listener and log callback. */
static void ims_release_user_data(void *user_data) {
    ims_enter_thread();
    @autoreleasepool {
        ims_release_bridged(user_data);
    }
}

static ims_callback ims_callback_of(IMSV2TIMCall *call) {
    ims_callback callback;
    memset(&callback, 0, sizeof callback);
    callback.user_data = IMS_BRIDGE_RETAINED(call);
    callback.on_success = ims_call_on_success;
    callback.on_error = ims_call_on_error;
    callback.free_user_data = ims_release_user_data;
    return callback;
}

static ims_user_status_callback ims_status_callback_of(IMSV2TIMCall *call) {
    ims_user_status_callback callback;
    memset(&callback, 0, sizeof callback);
    callback.user_data = IMS_BRIDGE_RETAINED(call);
    callback.on_success = ims_call_on_statuses;
    callback.on_error = ims_call_on_error;
    callback.free_user_data = ims_release_user_data;
    return callback;
}

/* Reports an error through a C callback the library has not taken: later, through
   ims_callback_fail (the main queue on Apple platforms, else the library's "imstatus-errors"
   thread). Should the library be unable to start that thread, the callback is still ours, and
   reporting it here beats losing it. */
static void ims_fail_through(ims_callback callback, int code, const char *desc) {
    if (ims_callback_fail(ims_delivery_config(), callback, code, desc) == IMS_OK) return;
    callback.on_error(callback.user_data, code, desc);
    callback.free_user_data(callback.user_data);
}

/* An error the wrapper decides itself (not initialised, an argument the C API cannot take). */
static void ims_call_fail(IMSV2TIMCall *call, int code, NSString *desc) {
    ims_fail_through(ims_callback_of(call), code, desc.UTF8String);
}

/* After an ims_ call that took `callback`: the client is made with async refusals, so only a
   library bug (IMS_ERR_PANIC) comes back here, with the callback still ours. */
static void ims_after_call(ims_result result, ims_callback callback) {
    if (result == IMS_OK) return;
    const char *desc = ims_last_error_message(); /* right after the failing call */
    ims_fail_through(callback, (int)result, desc[0] != '\0' ? desc : ims_error_str(result));
}

static void ims_after_status_call(ims_result result, ims_user_status_callback callback) {
    ims_callback plain;
    memset(&plain, 0, sizeof plain);
    plain.user_data = callback.user_data;
    plain.on_error = callback.on_error;
    plain.free_user_data = callback.free_user_data;
    ims_after_call(result, plain);
}

/* ---- Listeners ---------------------------------------------------------------------------- */

/* One added listener; each registration with a client holds one reference as user_data. */
@interface IMSV2TIMListenerEntry : NSObject {
  @public
    IMS_WEAK id<V2TIMSDKListener> _listener;
    /* Its id in the current client, 0 when not registered. Under the manager's lock. */
    uint64_t _registration;
}
@end

@implementation IMSV2TIMListenerEntry
@end

/* The listener of an event, or nil when it is gone (weak references only). */
static id<V2TIMSDKListener> ims_listener_of(void *user_data) {
    IMSV2TIMListenerEntry *entry = IMS_BRIDGE(user_data);
    return entry->_listener;
}

static void ims_on_connecting(void *user_data) {
    ims_enter_thread();
    @autoreleasepool {
        id<V2TIMSDKListener> listener = ims_listener_of(user_data);
        if ([listener respondsToSelector:@selector(onConnecting)]) {
            IMS_APP_CODE("onConnecting", [listener onConnecting]);
        }
    }
}

static void ims_on_connect_success(void *user_data) {
    ims_enter_thread();
    @autoreleasepool {
        id<V2TIMSDKListener> listener = ims_listener_of(user_data);
        if ([listener respondsToSelector:@selector(onConnectSuccess)]) {
            IMS_APP_CODE("onConnectSuccess", [listener onConnectSuccess]);
        }
    }
}

static void ims_on_connect_failed(void *user_data, int32_t code, const char *desc) {
    ims_enter_thread();
    @autoreleasepool {
        id<V2TIMSDKListener> listener = ims_listener_of(user_data);
        if ([listener respondsToSelector:@selector(onConnectFailed:err:)]) {
            IMS_APP_CODE("onConnectFailed:err:", [listener onConnectFailed:(int)code err:ims_string(desc)]);
        }
    }
}

static void ims_on_kicked_offline(void *user_data) {
    ims_enter_thread();
    @autoreleasepool {
        id<V2TIMSDKListener> listener = ims_listener_of(user_data);
        if ([listener respondsToSelector:@selector(onKickedOffline)]) {
            IMS_APP_CODE("onKickedOffline", [listener onKickedOffline]);
        }
    }
}

static void ims_on_user_sig_expired(void *user_data) {
    ims_enter_thread();
    @autoreleasepool {
        id<V2TIMSDKListener> listener = ims_listener_of(user_data);
        if ([listener respondsToSelector:@selector(onUserSigExpired)]) {
            IMS_APP_CODE("onUserSigExpired", [listener onUserSigExpired]);
        }
    }
}

static void ims_on_user_status_changed(void *user_data, const ims_user_status *statuses, size_t count) {
    ims_enter_thread();
    @autoreleasepool {
        id<V2TIMSDKListener> listener = ims_listener_of(user_data);
        if ([listener respondsToSelector:@selector(onUserStatusChanged:)]) {
            NSArray<V2TIMUserStatus *> *list = ims_status_list(statuses, count);
            IMS_APP_CODE("onUserStatusChanged:", [listener onUserStatusChanged:list]);
        }
    }
}

static ims_listener ims_listener_for(IMSV2TIMListenerEntry *entry) {
    ims_listener listener;
    memset(&listener, 0, sizeof listener);
    listener.user_data = IMS_BRIDGE_RETAINED(entry);
    listener.on_connecting = ims_on_connecting;
    listener.on_connect_success = ims_on_connect_success;
    listener.on_connect_failed = ims_on_connect_failed;
    listener.on_kicked_offline = ims_on_kicked_offline;
    listener.on_user_sig_expired = ims_on_user_sig_expired;
    listener.on_user_status_changed = ims_on_user_status_changed;
    listener.free_user_data = ims_release_user_data;
    return listener;
}

/* ---- Log lines ---------------------------------------------------------------------------- */

/* Holds the log listener block; the C log callback's user_data holds one reference. */
@interface IMSV2TIMLog : NSObject {
  @public
    V2TIMLogListener _block;
}
@end

@implementation IMSV2TIMLog
#if !__has_feature(objc_arc)
- (void)dealloc {
    IMS_BLOCK_RELEASE(_block);
    [super dealloc];
}
#endif
@end

static void ims_on_log(void *user_data, ims_log_level level, const char *message) {
    ims_enter_thread();
    @autoreleasepool {
        IMSV2TIMLog *log = IMS_BRIDGE(user_data);
        IMS_APP_CODE("a V2TIMLogListener block", log->_block((V2TIMLogLevel)level, ims_string(message)));
    }
}

/* ---- The client --------------------------------------------------------------------------- */

/* Owns one ims_client; the last reference frees it, so no call is ever made on a freed client
   (a call holds a reference for its duration, unInitSDK shuts the client down and drops the
   manager's reference: a call still holding one only gets 6013). */
@interface IMSV2TIMClient : NSObject {
  @public
    ims_client *_client;
}
@end

@implementation IMSV2TIMClient

- (void)dealloc {
    ims_client_free(_client);
#if !__has_feature(objc_arc)
    [super dealloc];
#endif
}

@end

/* ---- V2TIMManager ------------------------------------------------------------------------- */

@interface V2TIMManager ()
/* The current client with a reference the caller releases (IMS_RELEASE), or nil. Returned
   retained, not autoreleased (also under ARC), so that unInitSDK frees the client at once. */
- (IMSV2TIMClient *)retainedClient __attribute__((ns_returns_retained));
/* The same for a call: nil after reporting 6013 through the call's blocks. */
- (IMSV2TIMClient *)retainedClientFor:(IMSV2TIMCall *)call __attribute__((ns_returns_retained));
@end

/* The state of the one manager (file statics: the GCC runtime cannot add instance variables in
   the implementation, and they are no business of the public header). _lock guards the rest. It
   is never held while calling something that waits for callbacks (ims_client_remove_listener,
   ims_client_free): those may call back into the manager. */
static pthread_mutex_t _lock = PTHREAD_MUTEX_INITIALIZER;
static IMSV2TIMClient *_current;
static NSMutableArray<IMSV2TIMListenerEntry *> *_listeners;
static BOOL _logInstalled;

@implementation V2TIMManager

static V2TIMManager *ims_shared_instance;
static pthread_once_t ims_shared_once = PTHREAD_ONCE_INIT;

static void ims_make_shared_instance(void) {
#if defined(GNUSTEP)
    /* GNUstep wants NSThread set up on the first thread before it registers others. */
    (void)[NSThread currentThread];
#endif
    ims_shared_instance = [[V2TIMManager alloc] init];
}

+ (V2TIMManager *)sharedInstance {
    pthread_once(&ims_shared_once, ims_make_shared_instance);
    return ims_shared_instance;
}

- (instancetype)init {
    self = [super init];
    if (self != nil) {
        if (_listeners == nil) _listeners = [[NSMutableArray alloc] init];
    }
    return self;
}

- (IMSV2TIMClient *)retainedClient {
    pthread_mutex_lock(&_lock);
    IMSV2TIMClient *client = _current;
#if !__has_feature(objc_arc)
    [client retain];
#endif
    pthread_mutex_unlock(&_lock);
    return client;
}

- (IMSV2TIMClient *)retainedClientFor:(IMSV2TIMCall *)call {
    IMSV2TIMClient *client = [self retainedClient];
    if (client == nil) {
        ims_call_fail(call, ERR_SDK_NOT_INITIALIZED, @"the SDK is not initialised: call initSDK:config: first");
    }
    return client;
}

/* Registers an entry with the current client. Under the lock. */
- (void)registerEntry:(IMSV2TIMListenerEntry *)entry {
    ims_listener listener = ims_listener_for(entry);
    uint64_t registration = 0;
    ims_result result = ims_client_add_listener(_current->_client, listener, &registration);
    if (result != IMS_OK) {
        NSLog(@"imstatus: addIMSDKListener: %d %s", (int)result, ims_last_error_message());
        ims_release_bridged(listener.user_data);
        registration = 0;
    }
    entry->_registration = registration;
}

- (BOOL)initSDK:(int)sdkAppID config:(V2TIMSDKConfig *)config {
    pthread_mutex_lock(&_lock);
    if (_current != nil) {
        pthread_mutex_unlock(&_lock);
        return YES;
    }
    ims_config *settings = NULL;
    /* A nil config still declares what this device is. */
    ims_platform platform = (ims_platform)(config != nil ? config.platform : ims_device_platform());
    ims_result result = ims_config_new((uint32_t)sdkAppID, &settings);
    if (result == IMS_OK) result = ims_config_set_server_addr(settings, config.serverAddress.UTF8String);
    if (result == IMS_OK) result = ims_config_set_platform(settings, platform);
    if (result == IMS_OK) result = ims_apply_tls(settings, config);
    if (result == IMS_OK) result = ims_config_set_async_refusals(settings, true);
#if IMS_MAIN_QUEUE
    if (result == IMS_OK) result = ims_config_set_dispatcher(settings, ims_post_to_main_queue, NULL);
#endif
    ims_client *client = NULL;
    if (result == IMS_OK) result = ims_client_new(settings, &client);
    if (result != IMS_OK) {
        NSLog(@"imstatus: initSDK failed: %d %s", (int)result, ims_last_error_message());
        ims_config_free(settings);
        pthread_mutex_unlock(&_lock);
        return NO;
    }
    ims_config_free(settings);
    _current = [[IMSV2TIMClient alloc] init];
    _current->_client = client;
    for (IMSV2TIMListenerEntry *entry in _listeners) [self registerEntry:entry];

    V2TIMLogListener logListener = config.logListener;
    if (logListener != nil && config.logLevel != V2TIM_LOG_NONE) {
        IMSV2TIMLog *log = [[IMSV2TIMLog alloc] init];
        log->_block = IMS_BLOCK_COPY(logListener);
        ims_log_callback callback;
        memset(&callback, 0, sizeof callback);
        callback.user_data = IMS_BRIDGE_RETAINED(log);
        callback.on_log = ims_on_log;
        callback.free_user_data = ims_release_user_data;
        result = ims_set_log_callback((ims_log_level)config.logLevel, callback);
        if (result == IMS_OK) {
            _logInstalled = YES;
        } else {
            NSLog(@"imstatus: initSDK: no log listener: %d %s", (int)result, ims_last_error_message());
            ims_release_bridged(callback.user_data);
        }
        IMS_RELEASE(log);
    }
    pthread_mutex_unlock(&_lock);
    return YES;
}

- (BOOL)initSDK:(int)sdkAppID config:(V2TIMSDKConfig *)config listener:(id<V2TIMSDKListener>)listener {
    if (listener != nil) [self addIMSDKListener:listener];
    return [self initSDK:sdkAppID config:config];
}

- (void)unInitSDK {
    BOOL logInstalled;
    {
        pthread_mutex_lock(&_lock);
        IMSV2TIMClient *old = _current;
        _current = nil;
        for (IMSV2TIMListenerEntry *entry in _listeners) entry->_registration = 0;
        logInstalled = _logInstalled;
        _logInstalled = NO;
        pthread_mutex_unlock(&_lock);
        /* Outside the lock: shutting the client down waits for its callbacks, which may call in
           here. Every call in flight ends with 6013 now, also while another thread still holds
           the client (which frees it when it lets go). */
        if (old != nil) ims_client_shutdown(old->_client);
        IMS_RELEASE(old);
    }
    if (logInstalled) {
        ims_log_callback off;
        memset(&off, 0, sizeof off);
        ims_set_log_callback(IMS_LOG_LEVEL_NONE, off);
    }
}

- (NSString *)getVersion {
    return ims_string(ims_version());
}

- (void)addIMSDKListener:(id<V2TIMSDKListener>)listener {
    if (listener == nil) return;
    pthread_mutex_lock(&_lock);
    BOOL known = NO;
    NSMutableIndexSet *gone = [NSMutableIndexSet indexSet];
    /* Registrations of deallocated listeners (weak references the runtime cleared), to remove
       from the current client once the lock is released. */
    NSUInteger count = _listeners.count, stale = 0;
    uint64_t *registrations = calloc(count + 1, sizeof *registrations);
    if (registrations == NULL) abort();
    for (NSUInteger i = 0; i < count; i++) {
        IMSV2TIMListenerEntry *entry = [_listeners objectAtIndex:i];
        id<V2TIMSDKListener> current = entry->_listener;
        if (current == listener) known = YES;
        if (current == nil) {
            [gone addIndex:i];
            if (entry->_registration != 0) registrations[stale++] = entry->_registration;
            entry->_registration = 0;
        }
    }
    [_listeners removeObjectsAtIndexes:gone];
    if (!known) {
        IMSV2TIMListenerEntry *entry = [[IMSV2TIMListenerEntry alloc] init];
        entry->_listener = listener;
        [_listeners addObject:entry];
        if (_current != nil) [self registerEntry:entry];
        IMS_RELEASE(entry);
    }
    IMSV2TIMClient *client = stale > 0 ? _current : nil;
#if !__has_feature(objc_arc)
    [client retain];
#endif
    pthread_mutex_unlock(&_lock);
    for (NSUInteger i = 0; i < stale; i++) ims_client_remove_listener(client->_client, registrations[i]);
    free(registrations);
    IMS_RELEASE(client);
}

- (void)removeIMSDKListener:(id<V2TIMSDKListener>)listener {
    if (listener == nil) return;
    pthread_mutex_lock(&_lock);
    uint64_t registration = 0;
    IMSV2TIMClient *client = nil;
    NSUInteger count = _listeners.count;
    for (NSUInteger i = 0; i < count; i++) {
        IMSV2TIMListenerEntry *entry = [_listeners objectAtIndex:i];
        if (entry->_listener == listener) {
            registration = entry->_registration;
            entry->_registration = 0;
            [_listeners removeObjectAtIndex:i];
            break;
        }
    }
    if (registration != 0) {
        client = _current;
#if !__has_feature(objc_arc)
        [client retain];
#endif
    }
    pthread_mutex_unlock(&_lock);
    /* Outside the lock: this waits for an event of the listener running on another thread. */
    if (client != nil) ims_client_remove_listener(client->_client, registration);
    IMS_RELEASE(client);
}

- (void)login:(NSString *)userID userSig:(NSString *)userSig succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    IMSV2TIMClient *client = [self retainedClientFor:call];
    if (client != nil) {
        /* A nil userID or userSig is NULL to the C API, which refuses it through the callback. */
        ims_callback callback = ims_callback_of(call);
        ims_after_call(ims_client_login(client->_client, userID.UTF8String, userSig.UTF8String, callback),
                       callback);
    }
    IMS_RELEASE(call);
    IMS_RELEASE(client);
}

- (void)logout:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    IMSV2TIMClient *client = [self retainedClientFor:call];
    if (client != nil) {
        ims_callback callback = ims_callback_of(call);
        ims_after_call(ims_client_logout(client->_client, callback), callback);
    }
    IMS_RELEASE(call);
    IMS_RELEASE(client);
}

- (NSString *)getLoginUser {
    IMSV2TIMClient *client = [self retainedClient];
    NSString *user = nil;
    if (client != nil) {
        char small[128];
        size_t length = 0;
        ims_result result = ims_client_get_login_user(client->_client, small, sizeof small, &length);
        if (result == IMS_OK) {
            user = ims_string(small);
        } else if (length >= sizeof small) {
            /* Longer than the buffer (the ID changed meanwhile, or is long): ask again. */
            char *big = malloc(length + 1);
            if (big != NULL &&
                ims_client_get_login_user(client->_client, big, length + 1, &length) == IMS_OK) {
                user = ims_string(big);
            }
            free(big);
        }
    }
    IMS_RELEASE(client);
    return user.length > 0 ? user : nil;
}

- (int64_t)getServerTime {
    IMSV2TIMClient *client = [self retainedClient];
    uint64_t seconds = 0;
    BOOL known = client != nil && ims_client_get_server_time(client->_client, &seconds) == IMS_OK;
    IMS_RELEASE(client);
    /* Not initialised: the local clock, as the SDK answers before its first login. */
    return known ? (int64_t)seconds : (int64_t)time(NULL);
}

- (V2TIMLoginStatus)getLoginStatus {
    IMSV2TIMClient *client = [self retainedClient];
    int32_t status = ims_client_get_login_status(client != nil ? client->_client : NULL);
    IMS_RELEASE(client);
    return (V2TIMLoginStatus)status;
}

- (void)setSelfStatus:(V2TIMUserStatus *)status succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    if (status == nil) {
        /* Not expressible in the C API, where NULL custom status means "clear". */
        ims_call_fail(call, ERR_INVALID_PARAMETERS, @"setSelfStatus: status is nil");
        IMS_RELEASE(call);
        return;
    }
    IMSV2TIMClient *client = [self retainedClientFor:call];
    if (client != nil) {
        ims_callback callback = ims_callback_of(call);
        ims_after_call(ims_client_set_self_status(client->_client, status.customStatus.UTF8String, callback),
                       callback);
    }
    IMS_RELEASE(call);
    IMS_RELEASE(client);
}

/* The C form of an ID list: pointers into the list's UTF-8 strings, which live in the current
   autorelease pool. NO (with *problem set) when an element is not a string. A nil or empty list
   is NULL with count 0, for the SDK to judge. The caller frees *out. */
static BOOL ims_id_list(NSArray *list, const char ***out, size_t *count, NSString **problem) {
    *out = NULL;
    *count = 0;
    if (list == nil) return YES;
    if (![list isKindOfClass:[NSArray class]]) {
        *problem = @"userIDList is not an NSArray";
        return NO;
    }
    if (list.count == 0) return YES;
    NSUInteger n = list.count;
    const char **ids = calloc(n, sizeof *ids);
    if (ids == NULL) abort();
    for (NSUInteger i = 0; i < n; i++) {
        id element = [list objectAtIndex:i];
        if (![element isKindOfClass:[NSString class]]) {
            free(ids);
            *problem = [NSString stringWithFormat:@"userIDList[%lu] is not an NSString", (unsigned long)i];
            return NO;
        }
        ids[i] = [(NSString *)element UTF8String];
    }
    *out = ids;
    *count = n;
    return YES;
}

typedef ims_result (*ims_list_call_fn)(ims_client *, const char *const *, size_t, ims_callback);

- (void)listCall:(ims_list_call_fn)fn name:(const char *)name ids:(NSArray *)userIDList succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    @autoreleasepool {
        const char **ids = NULL;
        size_t count = 0;
        NSString *problem = nil;
        if (!ims_id_list(userIDList, &ids, &count, &problem)) {
            ims_call_fail(call, ERR_INVALID_PARAMETERS, [NSString stringWithFormat:@"%s: %@", name, problem]);
        } else {
            IMSV2TIMClient *client = [self retainedClientFor:call];
            if (client != nil) {
                ims_callback callback = ims_callback_of(call);
                ims_after_call(fn(client->_client, ids, count, callback), callback);
            }
            free(ids);
            IMS_RELEASE(client);
        }
    }
    IMS_RELEASE(call);
}

- (void)getUserStatus:(NSArray *)userIDList succ:(V2TIMUserStatusListSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:nil listSucc:succ fail:fail];
    @autoreleasepool {
        const char **ids = NULL;
        size_t count = 0;
        NSString *problem = nil;
        if (!ims_id_list(userIDList, &ids, &count, &problem)) {
            ims_call_fail(call, ERR_INVALID_PARAMETERS, [NSString stringWithFormat:@"getUserStatus: %@", problem]);
        } else {
            IMSV2TIMClient *client = [self retainedClientFor:call];
            if (client != nil) {
                ims_user_status_callback callback = ims_status_callback_of(call);
                ims_after_status_call(ims_client_get_user_status(client->_client, ids, count, callback), callback);
            }
            free(ids);
            IMS_RELEASE(client);
        }
    }
    IMS_RELEASE(call);
}

- (void)subscribeUserStatus:(NSArray *)userIDList succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    [self listCall:ims_client_subscribe_user_status name:"subscribeUserStatus" ids:userIDList succ:succ fail:fail];
}

- (void)unsubscribeUserStatus:(NSArray *)userIDList succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    [self listCall:ims_client_unsubscribe_user_status name:"unsubscribeUserStatus" ids:userIDList succ:succ fail:fail];
}

@end

/* ---- Beyond V2TIM (IMStatusExtensions.h) -------------------------------------------------- */

@implementation V2TIMUserStatus (IMStatusExtensions)

- (uint64_t)imsLastSeenMs {
    return _imsLastSeenMs;
}

- (BOOL)imsInvisible {
    return _imsInvisible;
}

- (IMSVisibility)imsVisibility {
    return (IMSVisibility)_imsVisibility;
}

@end

@implementation V2TIMManager (IMStatusExtensions)

- (void)setSelfStatus:(V2TIMUserStatus *)status
          expireAfter:(NSTimeInterval)seconds
                 succ:(V2TIMSucc)succ
                 fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    /* 2^63 ms is far past the server's limit (a year) and still a uint64_t. */
    if (status == nil || !(seconds >= 0) || seconds * 1000.0 >= 9.2e18) {
        ims_call_fail(call, ERR_INVALID_PARAMETERS,
                      status == nil ? @"setSelfStatus: status is nil"
                                    : @"setSelfStatus: expireAfter is negative or too large");
        IMS_RELEASE(call);
        return;
    }
    uint64_t ms = (uint64_t)llround(seconds * 1000.0);
    IMSV2TIMClient *client = [self retainedClientFor:call];
    if (client != nil) {
        ims_callback callback = ims_callback_of(call);
        ims_after_call(ims_client_set_self_status_expiring(
                           client->_client, status.customStatus.UTF8String, ms, callback),
                       callback);
    }
    IMS_RELEASE(call);
    IMS_RELEASE(client);
}

- (void)setInvisible:(BOOL)on succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    IMSV2TIMClient *client = [self retainedClientFor:call];
    if (client != nil) {
        ims_callback callback = ims_callback_of(call);
        ims_after_call(ims_client_set_invisible(client->_client, on ? true : false, callback), callback);
    }
    IMS_RELEASE(call);
    IMS_RELEASE(client);
}

- (void)setVisibility:(IMSVisibility)visibility succ:(V2TIMSucc)succ fail:(V2TIMFail)fail {
    IMSV2TIMCall *call = [[IMSV2TIMCall alloc] initWithSucc:succ listSucc:nil fail:fail];
    IMSV2TIMClient *client = [self retainedClientFor:call];
    if (client != nil) {
        /* Out of int32_t range is no value at all: the C API refuses it like any other. */
        int32_t value = (visibility >= INT32_MIN && visibility <= INT32_MAX) ? (int32_t)visibility : -1;
        ims_callback callback = ims_callback_of(call);
        ims_after_call(ims_client_set_visibility(client->_client, value, callback), callback);
    }
    IMS_RELEASE(call);
    IMS_RELEASE(client);
}

@end
