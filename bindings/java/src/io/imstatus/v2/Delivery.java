package io.imstatus.v2;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

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

    /** Name of the thread that delivers errors the binding decides when there is no target. */
    static final String LOCAL_THREAD_NAME = "imstatus-local-callback";

    private static final Object LOCAL_LOCK = new Object();
    private static Executor local;

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

    /**
     * The target for errors the binding decides itself (not initialised, null arguments), which
     * never reach the SDK's callback thread: the session's target, else the main Looper, else one
     * small daemon thread. Never the calling thread: callbacks are never called inline.
     */
    static Target forLocalErrors(NativeSession session) {
        Target target = session == null ? mainLooper() : session.target();
        return target != null ? target : localThread();
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

    private static Target localThread() {
        final Executor executor;
        synchronized (LOCAL_LOCK) {
            if (local == null) {
                ThreadPoolExecutor pool =
                        new ThreadPoolExecutor(
                                1, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<Runnable>(),
                                new ThreadFactory() {
                                    @Override
                                    public Thread newThread(Runnable r) {
                                        Thread t = new Thread(r, LOCAL_THREAD_NAME);
                                        t.setDaemon(true);
                                        return t;
                                    }
                                });
                // The thread goes away when idle, so an unused SDK holds no thread.
                pool.allowCoreThreadTimeOut(true);
                local = pool;
            }
            executor = local;
        }
        return new Target() {
            @Override
            public void post(Runnable task) {
                executor.execute(task);
            }
        };
    }
}
