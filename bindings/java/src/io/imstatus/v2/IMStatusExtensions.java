package io.imstatus.v2;

/**
 * Presence beyond V2TIM, beside {@link V2TIMManager}: a custom status that expires, appearing
 * offline, who may see the user, and reading last seen and the own switches from a
 * {@link V2TIMUserStatus} (docs/behaviour-extensions.md). V2TIM code is unchanged: these are new
 * names only.
 *
 * <p>Every call goes through {@code V2TIMManager.getInstance()}'s client and reports like its
 * calls do: callbacks on the SDK's callback thread (or where the config delivers them), never
 * inside the call; 6013 before {@code initSDK}; the server's V2TIM codes through
 * {@code onError}; arguments that cannot be passed on, 6017.
 */
public final class IMStatusExtensions {
    /** Everyone who may see statuses at all may see the user (the default). */
    public static final int VISIBILITY_EVERYONE = 0;
    /** Only the user's friends; everyone else sees the user as if appearing offline. */
    public static final int VISIBILITY_FRIENDS = 1;
    /** Nobody but the user's own devices. */
    public static final int VISIBILITY_NOBODY = 2;
    /** Read only: a value this SDK predates, sent by a newer server. */
    public static final int VISIBILITY_UNKNOWN = 3;

    private IMStatusExtensions() {}

    /**
     * {@code setSelfStatus} with an expiry: the server clears {@code status.getCustomStatus()}
     * {@code expireAfterMs} milliseconds later, as an ordinary change everyone sees. Setting a
     * status again replaces the expiry. 0 or more than a year is 6017 from the server, a negative
     * value 6017 from the SDK.
     *
     * @param status the status whose custom status to set (null or empty clears it)
     * @param expireAfterMs milliseconds until the server clears it
     * @param callback may be null
     */
    public static void setSelfStatusExpiring(
            final V2TIMUserStatus status, final long expireAfterMs, final V2TIMCallback callback) {
        V2TIMManager.getInstance().withHandle(new V2TIMManager.HandleCall() {
            @Override
            public void run(long handle) {
                Native.setSelfStatusExpiring(handle, status, expireAfterMs, callback);
            }
        });
    }

    /**
     * Appears offline to everyone else, or stops. Others then see the user OFFLINE without a
     * custom status, last seen frozen at this moment; the user's own devices see the truth, and
     * {@link #isInvisible} of the own status answers true. Kept across logouts.
     *
     * @param on true to appear offline
     * @param callback may be null
     */
    public static void setInvisible(final boolean on, final V2TIMCallback callback) {
        V2TIMManager.getInstance().withHandle(new V2TIMManager.HandleCall() {
            @Override
            public void run(long handle) {
                Native.setInvisible(handle, on, callback);
            }
        });
    }

    /**
     * Who may see the user. A watcher who may not sees what they would see if the user appeared
     * offline. Anything but {@code VISIBILITY_EVERYONE}, {@code _FRIENDS} or {@code _NOBODY} is
     * 6017.
     *
     * @param visibility one of the {@code VISIBILITY_*} constants
     * @param callback may be null
     */
    public static void setVisibility(final int visibility, final V2TIMCallback callback) {
        V2TIMManager.getInstance().withHandle(new V2TIMManager.HandleCall() {
            @Override
            public void run(long handle) {
                Native.setVisibility(handle, visibility, callback);
            }
        });
    }

    /**
     * @param status a status the SDK delivered
     * @return when the user last stopped being ONLINE, in Unix milliseconds (frozen while the
     *     user hides); 0 while ONLINE, for a user never seen, and for a status made by the app
     */
    public static long getLastSeen(V2TIMUserStatus status) {
        return status.lastSeenMs;
    }

    /**
     * @param status the user's own status, as the SDK delivered it
     * @return whether the user appears offline to others; false in anyone else's status
     */
    public static boolean isInvisible(V2TIMUserStatus status) {
        return status.invisible;
    }

    /**
     * @param status the user's own status, as the SDK delivered it
     * @return who may see the user, one of the {@code VISIBILITY_*} constants;
     *     {@code VISIBILITY_EVERYONE} in anyone else's status
     */
    public static int getVisibility(V2TIMUserStatus status) {
        return status.visibility;
    }
}
