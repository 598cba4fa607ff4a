package io.imstatus.v2;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The SDK entry point ({@code V2TIMManager}): the user-status part of the V2TIM API, backed by the
 * imstatus Rust client through JNI. Code written for the V2TIM user-status API compiles against
 * it after changing only its imports.
 *
 * <h2>Callback thread</h2>
 * Every callback and listener event runs exactly once, never inside the call that caused it:
 * <ul>
 *   <li>on Android, on the main thread (the main Looper);</li>
 *   <li>elsewhere, on the Executor set with {@link V2TIMSDKConfig#setCallbackExecutor};</li>
 *   <li>without one, directly on the SDK's callback thread, {@code imstatus-callback}, one at a
 *       time in the order the SDK decided. Do not block it for long: later events wait behind.</li>
 * </ul>
 * Errors come the same way, in call order with the other callbacks: the SDK refuses a null
 * argument (6017) through the callback, like any other error. Calls made before {@code initSDK}
 * or after {@code unInitSDK} (6013) have no SDK instance to go through: their errors run on the
 * main Looper when there is one, else on the library's {@code imstatus-errors} thread. An
 * exception thrown by a callback is caught and logged.
 *
 * <p>All methods may be called from any thread, including from inside callbacks. The rules
 * (limits, editions, console switches, ID validity) are decided by the SDK and the server; this
 * class only translates.
 */
public class V2TIMManager {
    /** Logged in (also while reconnecting after a network loss). */
    public static final int V2TIM_STATUS_LOGINED = 1;
    /** A login is running. */
    public static final int V2TIM_STATUS_LOGINING = 2;
    /** Not logged in. */
    public static final int V2TIM_STATUS_LOGOUT = 3;

    private static final int ERR_INVALID_PARAMETERS = 6017;

    private static final V2TIMManager INSTANCE = new V2TIMManager();

    private final CopyOnWriteArrayList<V2TIMSDKListener> listeners =
            new CopyOnWriteArrayList<V2TIMSDKListener>();
    /**
     * Calls hold the read lock while they use the handle; unInitSDK takes the write lock to take
     * the handle away, so the handle is never freed under a running call. The native client is
     * created and destroyed outside the lock, so callbacks calling back in never deadlock.
     */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;
    private NativeSession session;

    V2TIMManager() {}

    /** @return the SDK instance */
    public static V2TIMManager getInstance() {
        return INSTANCE;
    }

    /**
     * Initialises the SDK: creates the client (it connects at {@link #login}).
     *
     * @param context the Android {@code Context} (an {@code android.content.Context}): on Android
     *     the platform's certificate verifier needs it for TLS (without it only the extra CA
     *     certificates are trusted); unused elsewhere, may be null
     * @param sdkAppID the app
     * @param config the settings, or null for the defaults
     * @return true when the SDK is initialised (also when it already was: call
     *     {@link #unInitSDK} first to change the settings)
     */
    public boolean initSDK(Object context, int sdkAppID, V2TIMSDKConfig config) {
        V2TIMSDKConfig settings = config != null ? config : new V2TIMSDKConfig();
        ImLog.setLevel(settings.getLogLevel());
        Throwable loadError = Native.loadError();
        if (loadError != null) {
            ImLog.error("initSDK: cannot load the native library libimstatus", loadError);
            return false;
        }
        Lock write = lock.writeLock();
        write.lock();
        try {
            if (handle != 0) {
                ImLog.info("initSDK: already initialised");
                return true;
            }
            NativeSession created = new NativeSession(this, Delivery.forConfig(settings));
            try {
                handle = Native.create(
                        created,
                        sdkAppID,
                        settings.getServerAddress(),
                        settings.getPlatform(),
                        settings.isUseTLS(),
                        settings.getCaCertificatesPEM(),
                        settings.getSpkiPins().toArray(),
                        context);
            } catch (IllegalStateException | IllegalArgumentException e) {
                ImLog.error("initSDK failed: " + e.getMessage(), null);
                return false;
            }
            session = created;
            return true;
        } finally {
            write.unlock();
        }
    }

    /**
     * Same as {@link #initSDK(Object, int, V2TIMSDKConfig)} after adding {@code listener}
     * (the older V2TIM form).
     *
     * @param context the Android {@code Context}, as for the other {@code initSDK}
     * @param sdkAppID the app
     * @param config the settings, or null
     * @param listener a listener to add, or null
     * @return whether the SDK is initialised
     */
    public boolean initSDK(
            Object context, int sdkAppID, V2TIMSDKConfig config, V2TIMSDKListener listener) {
        if (listener != null) {
            addIMSDKListener(listener);
        }
        return initSDK(context, sdkAppID, config);
    }

    /**
     * Uninitialises the SDK: closes the connection without logging out, and fires every pending
     * callback with 6013 (before this returns, unless called from a callback). Blocks until the
     * client has stopped (a few seconds at most); callable from any thread, including a callback.
     * Listeners stay registered. Idempotent.
     */
    public void unInitSDK() {
        long old;
        NativeSession oldSession;
        Lock write = lock.writeLock();
        write.lock();
        try {
            old = handle;
            oldSession = session;
            handle = 0;
            session = null;
        } finally {
            write.unlock();
        }
        if (old != 0) {
            oldSession.close();
            Native.destroy(old);
        }
    }

    /**
     * Adds a listener; adding the same one again does nothing.
     *
     * @param listener the listener
     */
    public void addIMSDKListener(V2TIMSDKListener listener) {
        if (listener != null) {
            listeners.addIfAbsent(listener);
        }
    }

    /**
     * Removes a listener. Events not yet delivered to it are not delivered.
     *
     * @param listener the listener
     */
    public void removeIMSDKListener(V2TIMSDKListener listener) {
        if (listener != null) {
            listeners.remove(listener);
        }
    }

    /**
     * Logs in. Logging in again as the logged-in user succeeds at once; as another user, logs
     * the current one out first.
     *
     * @param userID the user
     * @param userSig the UserSig (tls-sig-api-v2) for the user
     * @param callback the result, or null
     */
    public void login(String userID, String userSig, V2TIMCallback callback) {
        Lock read = lock.readLock();
        read.lock();
        try {
            Native.login(handle, userID, userSig, callback);
        } finally {
            read.unlock();
        }
    }

    /**
     * Logs out; the user's status becomes UNLOGINED unless another device is logged in.
     *
     * @param callback the result, or null
     */
    public void logout(V2TIMCallback callback) {
        Lock read = lock.readLock();
        read.lock();
        try {
            Native.logout(handle, callback);
        } finally {
            read.unlock();
        }
    }

    /** @return the logged-in user (also while reconnecting), or null */
    public String getLoginUser() {
        Lock read = lock.readLock();
        read.lock();
        try {
            return Native.getLoginUser(handle);
        } finally {
            read.unlock();
        }
    }

    /**
     * @return {@link #V2TIM_STATUS_LOGINED}, {@link #V2TIM_STATUS_LOGINING} (as soon as
     *     {@link #login} returned, until its callback) or {@link #V2TIM_STATUS_LOGOUT}
     */
    public int getLoginStatus() {
        Lock read = lock.readLock();
        read.lock();
        try {
            return Native.getLoginStatus(handle);
        } finally {
            read.unlock();
        }
    }

    /**
     * The server's current time, from the server's clock as the login and heartbeat replies carry
     * it (allowing for the round trip); changing the device's clock does not move it.
     *
     * @return Unix seconds; before the first successful login since {@link #initSDK}, the local
     *     clock
     */
    public long getServerTime() {
        Lock read = lock.readLock();
        read.lock();
        try {
            return Native.getServerTime(handle);
        } finally {
            read.unlock();
        }
    }

    /**
     * Sets the own custom status from {@code status.getCustomStatus()} (null or empty clears it);
     * the user ID and status type in {@code status} are ignored. The change also arrives as
     * {@link V2TIMSDKListener#onUserStatusChanged} for the own user.
     *
     * @param status the status
     * @param callback the result, or null
     */
    /** A native call of {@link IMStatusExtensions}, given the current handle (0: none). */
    interface HandleCall {
        void run(long handle);
    }

    /**
     * Runs a call of {@link IMStatusExtensions} with the current handle, under the same read lock
     * as this class's own calls, so that {@link #unInitSDK} never frees the handle under it.
     */
    void withHandle(HandleCall call) {
        Lock read = lock.readLock();
        read.lock();
        try {
            call.run(handle);
        } finally {
            read.unlock();
        }
    }

    public void setSelfStatus(V2TIMUserStatus status, V2TIMCallback callback) {
        Lock read = lock.readLock();
        read.lock();
        try {
            Native.setSelfStatus(handle, status, callback);
        } finally {
            read.unlock();
        }
    }

    /**
     * Queries statuses. The own ID always works; others need the Ultimate edition (7013) and the
     * status switch (72001). Only the IDs that succeeded are answered; the call fails only when
     * every ID failed.
     *
     * @param userIDList the users
     * @param callback the statuses, or the error
     */
    public void getUserStatus(
            List<String> userIDList, V2TIMValueCallback<List<V2TIMUserStatus>> callback) {
        Lock read = lock.readLock();
        read.lock();
        try {
            Object[] ids = toArray(userIDList, callback);
            if (ids != UNREADABLE) {
                Native.getUserStatus(handle, ids, callback);
            }
        } finally {
            read.unlock();
        }
    }

    /**
     * Subscribes to users' status changes, which then arrive as
     * {@link V2TIMSDKListener#onUserStatusChanged}.
     *
     * @param userIDList the users
     * @param callback the result, or null
     */
    public void subscribeUserStatus(List<String> userIDList, V2TIMCallback callback) {
        Lock read = lock.readLock();
        read.lock();
        try {
            Object[] ids = toArray(userIDList, callback);
            if (ids != UNREADABLE) {
                Native.subscribeUserStatus(handle, ids, callback);
            }
        } finally {
            read.unlock();
        }
    }

    /**
     * Unsubscribes; a null or empty list unsubscribes from everyone.
     *
     * @param userIDList the users, or null
     * @param callback the result, or null
     */
    public void unsubscribeUserStatus(List<String> userIDList, V2TIMCallback callback) {
        Lock read = lock.readLock();
        read.lock();
        try {
            Object[] ids = toArray(userIDList, callback);
            if (ids != UNREADABLE) {
                Native.unsubscribeUserStatus(handle, ids, callback);
            }
        } finally {
            read.unlock();
        }
    }

    // ---- internal ----

    /** The listeners registered now, for {@link NativeSession}. */
    List<V2TIMSDKListener> listeners() {
        return listeners;
    }

    /** What {@link #toArray} answers for a list it could not read (after reporting it). */
    private static final Object[] UNREADABLE = new Object[0];

    /**
     * The list as an array for the natives, which check its elements; null stays null. Under the
     * read lock. A list whose own code throws cannot be translated: reported (6017) through the
     * callback, as the natives report what they refuse, and {@link #UNREADABLE} is answered.
     */
    private Object[] toArray(List<String> list, Object callback) {
        if (list == null) {
            return null;
        }
        try {
            return list.toArray();
        } catch (RuntimeException e) {
            Native.fail(handle, callback, ERR_INVALID_PARAMETERS, "userIDList cannot be read: " + e);
            return UNREADABLE;
        }
    }
}
