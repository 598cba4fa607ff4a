package io.imstatus.v2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One initSDK..unInitSDK span, as the native code sees it. The native code holds one JNI global
 * reference to it and calls its methods on the SDK's callback thread ({@code imstatus-callback}),
 * one at a time, in the order the SDK decided. Each method delivers to the app through the
 * session's {@link Delivery.Target}, or directly when it has none. Errors of calls made without a
 * session (not initialised) come through {@link #onErrorWithoutSession}, on the library's error
 * thread ({@code imstatus-errors}).
 *
 * <p>Called from native code only, by name and signature (see {@code src/jni/cache.rs}): keep them
 * in step, and keep them from R8/ProGuard ({@code consumer-rules.pro}).
 *
 * <p>Exceptions: when delivering directly, an exception thrown by an app's callback propagates to
 * the native caller, which logs and clears it ({@link #logCallbackException}). Listener events
 * catch per listener (so one failing listener does not starve the others), and so do posted
 * callbacks (there is no native caller on the target thread).
 */
final class NativeSession {
    private final V2TIMManager manager;
    private final Delivery.Target target;
    private volatile boolean open = true;

    NativeSession(V2TIMManager manager, Delivery.Target target) {
        this.manager = manager;
        this.target = target;
    }

    /** Where this session delivers; null for directly on the SDK callback thread. */
    Delivery.Target target() {
        return target;
    }

    /**
     * Stops listener events of this session (unInitSDK); results of calls still pending are
     * delivered (with 6013) as every callback fires exactly once.
     */
    void close() {
        open = false;
    }

    // ---- called from native code, on the SDK callback thread ----

    void onSuccess(final Object callback) {
        if (target == null) {
            ((V2TIMCallback) callback).onSuccess();
            return;
        }
        Delivery.post(target, guarded("onSuccess", new Runnable() {
            @Override
            public void run() {
                ((V2TIMCallback) callback).onSuccess();
            }
        }), "onSuccess");
    }

    void onError(final Object callback, final int code, final String desc) {
        if (target == null) {
            fail(callback, code, desc);
            return;
        }
        Delivery.post(target, guarded("onError", new Runnable() {
            @Override
            public void run() {
                fail(callback, code, desc);
            }
        }), "onError");
    }

    void onStatuses(final Object callback, V2TIMUserStatus[] statuses) {
        final List<V2TIMUserStatus> list = new ArrayList<V2TIMUserStatus>(Arrays.asList(statuses));
        @SuppressWarnings("unchecked")
        final V2TIMValueCallback<List<V2TIMUserStatus>> valueCallback =
                (V2TIMValueCallback<List<V2TIMUserStatus>>) callback;
        if (target == null) {
            valueCallback.onSuccess(list);
            return;
        }
        Delivery.post(target, guarded("onSuccess", new Runnable() {
            @Override
            public void run() {
                valueCallback.onSuccess(list);
            }
        }), "onSuccess");
    }

    void onConnecting() {
        event("onConnecting", new Event() {
            @Override
            public void deliver(V2TIMSDKListener l) {
                l.onConnecting();
            }
        });
    }

    void onConnectSuccess() {
        event("onConnectSuccess", new Event() {
            @Override
            public void deliver(V2TIMSDKListener l) {
                l.onConnectSuccess();
            }
        });
    }

    void onConnectFailed(final int code, final String desc) {
        event("onConnectFailed", new Event() {
            @Override
            public void deliver(V2TIMSDKListener l) {
                l.onConnectFailed(code, desc);
            }
        });
    }

    void onKickedOffline() {
        event("onKickedOffline", new Event() {
            @Override
            public void deliver(V2TIMSDKListener l) {
                l.onKickedOffline();
            }
        });
    }

    void onUserSigExpired() {
        event("onUserSigExpired", new Event() {
            @Override
            public void deliver(V2TIMSDKListener l) {
                l.onUserSigExpired();
            }
        });
    }

    void onUserStatusChanged(V2TIMUserStatus[] statuses) {
        final V2TIMUserStatus[] changed = statuses;
        event("onUserStatusChanged", new Event() {
            @Override
            public void deliver(V2TIMSDKListener l) {
                // Each listener gets its own list: one listener changing it cannot affect another.
                l.onUserStatusChanged(new ArrayList<V2TIMUserStatus>(Arrays.asList(changed)));
            }
        });
    }

    /** Logs an exception the native code caught from a callback, then cleared. */
    static void logCallbackException(String where, Throwable t) {
        ImLog.warn("an app callback (" + where + ") threw; the SDK goes on", t);
    }

    /** Logs a problem the native code met while delivering (a failed JNI call). */
    static void logNative(String message) {
        ImLog.error(message, null);
    }

    /**
     * Delivers the error of a call made without a session (6013: not initialised), from the
     * library's error thread: to the main Looper when there is one (no Executor: the config that
     * would name one went with the session), else right here.
     */
    static void onErrorWithoutSession(final Object callback, final int code, final String desc) {
        Runnable task = guarded("onError", new Runnable() {
            @Override
            public void run() {
                fail(callback, code, desc);
            }
        });
        Delivery.Target main = Delivery.mainLooper();
        if (main == null) {
            task.run();
        } else {
            Delivery.post(main, task, "onError");
        }
    }

    // ---- helpers ----

    private static void fail(Object callback, int code, String desc) {
        if (callback instanceof V2TIMCallback) {
            ((V2TIMCallback) callback).onError(code, desc);
        } else if (callback instanceof V2TIMValueCallback) {
            ((V2TIMValueCallback<?>) callback).onError(code, desc);
        }
    }

    private interface Event {
        void deliver(V2TIMSDKListener listener);
    }

    private void event(final String what, final Event event) {
        if (!open) {
            return;
        }
        if (target == null) {
            fanOut(what, event);
            return;
        }
        Delivery.post(target, new Runnable() {
            @Override
            public void run() {
                fanOut(what, event);
            }
        }, what);
    }

    /** Calls every listener registered now; removed ones no longer get events queued earlier. */
    private void fanOut(String what, Event event) {
        if (!open) {
            return;
        }
        for (V2TIMSDKListener listener : manager.listeners()) {
            try {
                event.deliver(listener);
            } catch (Throwable t) {
                logCallbackException(what, t);
            }
        }
    }

    private static Runnable guarded(final String what, final Runnable task) {
        return new Runnable() {
            @Override
            public void run() {
                try {
                    task.run();
                } catch (Throwable t) {
                    logCallbackException(what, t);
                }
            }
        };
    }
}
