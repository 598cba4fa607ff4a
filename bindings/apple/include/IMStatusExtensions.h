/*
 * imstatus Objective-C extensions: presence beyond V2TIM, beside V2TIMManager
 * (docs/behaviour-extensions.md). A custom status that expires, appearing offline, who may see
 * the user, and reading last seen and the own switches from a V2TIMUserStatus. Categories only:
 * V2TIM code is unchanged. The methods work like V2TIMManager's: blocks run where its blocks run,
 * never inside the call; ERR_SDK_NOT_INITIALIZED before initSDK; the server's codes through fail.
 */
#import "V2TIMManager.h"

NS_ASSUME_NONNULL_BEGIN

/** Who may see the user's status. */
typedef NS_ENUM(NSInteger, IMSVisibility) {
    /** Everyone who may see statuses at all (the default). */
    IMSVisibilityEveryone = 0,
    /** Only the user's friends; everyone else sees the user as if appearing offline. */
    IMSVisibilityFriends = 1,
    /** Nobody but the user's own devices. */
    IMSVisibilityNobody = 2,
    /** Read only: a value this SDK predates, sent by a newer server. */
    IMSVisibilityUnknown = 3,
};

@interface V2TIMUserStatus (IMStatusExtensions)
/** When the user last stopped being ONLINE, Unix milliseconds (frozen while the user hides);
    0 while ONLINE, for a user never seen, and in a status made with init. */
@property (nonatomic, assign, readonly) uint64_t imsLastSeenMs;
/** The user's own status only: whether the user appears offline to others (NO for others). */
@property (nonatomic, assign, readonly) BOOL imsInvisible;
/** The user's own status only: who may see the user (IMSVisibilityEveryone for others). */
@property (nonatomic, assign, readonly) IMSVisibility imsVisibility;
@end

@interface V2TIMManager (IMStatusExtensions)
/** setSelfStatus:succ:fail: with an expiry: the server clears status.customStatus `seconds`
    later (to the millisecond), as an ordinary change everyone sees. Setting a status again
    replaces the expiry. A negative or not-a-number interval is ERR_INVALID_PARAMETERS; so are 0
    and more than a year, from the server. */
- (void)setSelfStatus:(V2TIMUserStatus *)status
          expireAfter:(NSTimeInterval)seconds
                 succ:(nullable V2TIMSucc)succ
                 fail:(nullable V2TIMFail)fail;
/** Appears offline to everyone else (YES), or stops. Others see the user OFFLINE without a custom
    status, last seen frozen at this moment; the own devices see the truth and imsInvisible.
    Kept across logouts. */
- (void)setInvisible:(BOOL)on succ:(nullable V2TIMSucc)succ fail:(nullable V2TIMFail)fail;
/** Who may see the user. A watcher who may not sees what they would see if the user appeared
    offline. IMSVisibilityUnknown (or any other value) is ERR_INVALID_PARAMETERS. */
- (void)setVisibility:(IMSVisibility)visibility
                 succ:(nullable V2TIMSucc)succ
                 fail:(nullable V2TIMFail)fail;
@end

NS_ASSUME_NONNULL_END
