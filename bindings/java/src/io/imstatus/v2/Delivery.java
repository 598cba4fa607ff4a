package io.imstatus.v2;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.concurrent.Executor;

/**
 * Where callbacks run. In order of preference: the Android main Looper when the process has one
 * (found by reflection, so the same jar runs on a plain JVM), else the Executor the app set in
 * {@link V2TIMSDKConfig}, else directly on the SDK's callback thread (a null {@link Target}).
 */
final class Delivery {
    /** Runs callbacks somewhere other than the SDK's callback thread. */
    interface Target {
        void post(Runnable task) throws Exception;
    }

    private Delivery() {}

    /** The target for a session made with {@code config}; null means the SDK callback thread. */
    static Target forConfig(V2TIMSDKConfig config) {
        Target main = mainLooper();
        if (main != null) {
            return main;
        }
        final Executor executor = config == null ? null : config.getCallbackExecutor();
        if (executor == null) {
            return null;
        }
        return new Target() {
            @Override
            public void post(Runnable task) {
                executor.execute(task);
            }
        };
    }

    /** Posts {@code task} to {@code target}; when the target refuses, runs it here instead. */
    static void post(Target target, Runnable task, String what) {
        try {
            target.post(task);
        } catch (Exception | LinkageError e) {
            ImLog.warn("the callback target refused " + what + "; running it on the SDK thread", e);
            task.run();
        }
    }

    /** The Android main Looper as a target, or null off Android (or before it is prepared). */
    static Target mainLooper() {
        final Object handler;
        final Method post;
        try {
            Class<?> looperClass = Class.forName("android.os.Looper");
            Object main = looperClass.getMethod("getMainLooper").invoke(null);
            if (main == null) {
                return null;
            }
            Class<?> handlerClass = Class.forName("android.os.Handler");
            Constructor<?> constructor = handlerClass.getConstructor(looperClass);
            handler = constructor.newInstance(main);
            post = handlerClass.getMethod("post", Runnable.class);
        } catch (ClassNotFoundException e) {
            return null;
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            ImLog.warn("android.os.Looper is present but unusable; not using the main thread", e);
            return null;
        }
        return new Target() {
            @Override
            public void post(Runnable task) throws Exception {
                try {
                    Object queued = post.invoke(handler, task);
                    if (Boolean.FALSE.equals(queued)) {
                        throw new IllegalStateException("the main Looper is quitting");
                    }
                } catch (InvocationTargetException e) {
                    Throwable cause = e.getCause();
                    throw cause instanceof Exception ? (Exception) cause : e;
                }
            }
        };
    }
}
