package android.os;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Test stand-in for Android's {@code android.os.Looper}: just what the SDK reaches by reflection
 * ({@link #getMainLooper}), plus test hooks to start and stop a fake main thread. Never shipped.
 */
public final class Looper {
    private static volatile Looper main;

    private final BlockingQueue<Runnable> queue = new LinkedBlockingQueue<Runnable>();
    private final Thread thread;
    private volatile boolean quitting;

    private Looper(String threadName) {
        thread = new Thread(new Runnable() {
            @Override
            public void run() {
                loop();
            }
        }, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /** As on Android: the main thread's Looper, or null when there is none. */
    public static Looper getMainLooper() {
        return main;
    }

    /** The thread this Looper runs. */
    public Thread getThread() {
        return thread;
    }

    /** Test hook: starts a main Looper on a new thread. */
    public static synchronized Looper startFakeMainLooper(String threadName) {
        if (main != null) {
            throw new IllegalStateException("a main Looper is running");
        }
        main = new Looper(threadName);
        return main;
    }

    /** Test hook: stops the main Looper after what is queued. */
    public static synchronized void stopFakeMainLooper() {
        Looper looper = main;
        main = null;
        if (looper != null) {
            looper.quitting = true;
            looper.queue.add(new Runnable() {
                @Override
                public void run() {}
            });
            try {
                looper.thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    boolean enqueue(Runnable r) {
        if (quitting) {
            return false;
        }
        return queue.add(r);
    }

    private void loop() {
        while (true) {
            Runnable r;
            try {
                r = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            r.run();
            if (quitting && queue.isEmpty()) {
                return;
            }
        }
    }
}
