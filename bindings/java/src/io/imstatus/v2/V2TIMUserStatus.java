package io.imstatus.v2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * One user's status ({@code V2TIMUserStatus}). Status belongs to the user, not to a device.
 *
 * <p>{@code userID}, {@code statusType} and {@code onlineDevices} are read-only: they are filled
 * in by the SDK. Only the custom status can be set, for {@link V2TIMManager#setSelfStatus}.
 */
public class V2TIMUserStatus {
    /** Unknown status. */
    public static final int V2TIM_USER_STATUS_UNKNOWN = 0;
    /** Online: the user holds a live connection. */
    public static final int V2TIM_USER_STATUS_ONLINE = 1;
    /** Offline: the user did not log out, but the connection dropped. */
    public static final int V2TIM_USER_STATUS_OFFLINE = 2;
    /** Not logged in: logged out, or never logged in. */
    public static final int V2TIM_USER_STATUS_UNLOGINED = 3;

    private final String userID;
    private final int statusType;
    private String customStatus;
    private final List<String> onlineDevices;
    // Beyond V2TIM, read through IMStatusExtensions: last seen (Unix ms, 0 for none) and, in the
    // user's own status only, the switches.
    final long lastSeenMs;
    final boolean invisible;
    final int visibility;

    /** An empty status, to fill with {@link #setCustomStatus} and pass to setSelfStatus. */
    public V2TIMUserStatus() {
        this(null, V2TIM_USER_STATUS_UNKNOWN, null, null);
    }

    V2TIMUserStatus(String userID, int statusType, String customStatus, String[] onlineDevices) {
        this(userID, statusType, customStatus, onlineDevices, 0, false,
                IMStatusExtensions.VISIBILITY_EVERYONE);
    }

    /** Made by the native code (see {@code src/jni}); keep its signature in step. */
    V2TIMUserStatus(String userID, int statusType, String customStatus, String[] onlineDevices,
            long lastSeenMs, boolean invisible, int visibility) {
        this.lastSeenMs = lastSeenMs;
        this.invisible = invisible;
        this.visibility = visibility;
        this.userID = userID;
        this.statusType = statusType;
        this.customStatus = customStatus;
        this.onlineDevices =
                onlineDevices == null
                        ? new ArrayList<String>()
                        : new ArrayList<String>(Arrays.asList(onlineDevices));
    }

    /** @return the user this status belongs to; null in a status made by the app */
    public String getUserID() {
        return userID;
    }

    /** @return one of the {@code V2TIM_USER_STATUS_*} constants */
    public int getStatusType() {
        return statusType;
    }

    /** @return the custom status; empty when none is set */
    public String getCustomStatus() {
        return customStatus;
    }

    /** @return the platform names ("Android", "iPhone", ...) of the user's connected devices */
    public List<String> getOnlineDevices() {
        return Collections.unmodifiableList(onlineDevices);
    }

    /**
     * Sets the custom status to pass to {@link V2TIMManager#setSelfStatus}; null or empty clears
     * it. At most 100 bytes of UTF-8 (the server checks).
     *
     * @param customStatus the custom status
     */
    public void setCustomStatus(String customStatus) {
        this.customStatus = customStatus;
    }

    @Override
    public String toString() {
        return "V2TIMUserStatus{userID=" + userID + ", statusType=" + statusType
                + ", customStatus=" + customStatus + ", onlineDevices=" + onlineDevices + "}";
    }
}
