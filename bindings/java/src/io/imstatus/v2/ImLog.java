package io.imstatus.v2;

import java.lang.reflect.Method;

/**
 * The SDK's own log lines: {@code android.util.Log} (tag "imstatus") on Android, found by
 * reflection so that the same jar runs on a plain JVM, where it writes to standard error.
 */
final class ImLog {
    private static final String TAG = "imstatus";
    private static volatile int level = V2TIMSDKConfig.V2TIM_LOG_WARN;
    private static final Method ANDROID_WARN;
    private static final Method ANDROID_ERROR;
    private static final Method ANDROID_INFO;

    static {
        Method warn = null;
        Method error = null;
        Method info = null;
        try {
            Class<?> log = Class.forName("android.util.Log");
            warn = log.getMethod("w", String.class, String.class, Throwable.class);
            error = log.getMethod("e", String.class, String.class, Throwable.class);
            info = log.getMethod("i", String.class, String.class, Throwable.class);
        } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
            // Not on Android: standard error.
        }
        ANDROID_WARN = warn;
        ANDROID_ERROR = error;
        ANDROID_INFO = info;
    }

    private ImLog() {}

    static void setLevel(int newLevel) {
        level = newLevel;
    }

    static void info(String message) {
        write(V2TIMSDKConfig.V2TIM_LOG_INFO, ANDROID_INFO, "info", message, null);
    }

    static void warn(String message, Throwable t) {
        write(V2TIMSDKConfig.V2TIM_LOG_WARN, ANDROID_WARN, "warn", message, t);
    }

    static void error(String message, Throwable t) {
        write(V2TIMSDKConfig.V2TIM_LOG_ERROR, ANDROID_ERROR, "error", message, t);
    }

    private static void write(int at, Method android, String name, String message, Throwable t) {
        int current = level;
        if (current == V2TIMSDKConfig.V2TIM_LOG_NONE || at < current) {
            return;
        }
        if (android != null) {
            try {
                android.invoke(null, TAG, message, t);
                return;
            } catch (ReflectiveOperationException | RuntimeException e) {
                // Fall back to standard error.
            }
        }
        synchronized (System.err) {
            System.err.println(TAG + " [" + name + "] " + message);
            if (t != null) {
                t.printStackTrace(System.err);
            }
        }
    }
}
