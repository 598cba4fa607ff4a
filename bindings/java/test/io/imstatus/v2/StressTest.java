package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * 10,000 calls with callbacks (successes with and without a value, errors, and the listener events
 * they cause), then every count is back where it started, exactly: the natives' JNI global
 * references, the library's pending callbacks and clients (its own counters, {@link TestHooks}),
 * and the JVM's JNI global references from a heap dump, class by class. No tolerance: nothing
 * here reads the process's memory, which moves with whatever else the machine is doing.
 */
public class StressTest extends ImTestBase {
    /** 10,000; {@code -Dimstatus.stress.calls=N} to try more. */
    static final int CALLS = Integer.getInteger("imstatus.stress.calls", 10000);
    static final int WARM_UP = Integer.getInteger("imstatus.stress.warmup", 10000);
    static final int IN_FLIGHT = 200;

    private final AtomicInteger successes = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final AtomicInteger events = new AtomicInteger();
    private long peakRefs;

    @Test
    public void tenThousandCallsLeaveNoReferenceOrObjectBehind() throws Exception {
        init(ultimateApp());
        manager.addIMSDKListener(new V2TIMSDKListener() {
            @Override
            public void onUserStatusChanged(List<V2TIMUserStatus> list) {
                events.incrementAndGet();
            }
        });
        login("stress", ultimateApp());

        run(WARM_UP);
        // The first heap dump sets up what later ones reuse.
        Hprof.jniGlobalRefsByClass();
        Map<String, Integer> jvm0 = Hprof.jniGlobalRefsByClass();
        long refs0 = settledGlobalRefs();
        long pending0 = settledPendingCallbacks();
        long clients0 = TestHooks.liveObjects("JniClient");

        successes.set(0);
        errors.set(0);
        events.set(0);
        peakRefs = 0;
        long start = System.nanoTime();
        run(CALLS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        long refs1 = settledGlobalRefs();
        long pending1 = settledPendingCallbacks();
        long clients1 = TestHooks.liveObjects("JniClient");
        Map<String, Integer> jvm1 = jvmRefsBackTo(jvm0);
        int jvmRefs0 = total(jvm0);
        int jvmRefs1 = total(jvm1);

        System.out.println("stress: " + CALLS + " calls in " + millis + " ms (after " + WARM_UP
                + " to warm up): " + successes.get() + " successes, " + errors.get()
                + " errors, " + events.get() + " onUserStatusChanged events");
        System.out.println("stress: JVM JNI global references (heap dump) before " + jvmRefs0
                + ", after " + jvmRefs1);
        if (!jvm0.equals(jvm1)) {
            System.out.println("stress: JNI global references by class before " + jvm0);
            System.out.println("stress: JNI global references by class after  " + jvm1);
        }
        System.out.println("stress: native live global references before " + refs0 + ", peak "
                + peakRefs + " (one per pending callback), after " + refs1);
        System.out.println("stress: pending callbacks before " + pending0 + ", after " + pending1
                + "; clients before " + clients0 + ", after " + clients1);

        assertEquals(CALLS, successes.get() + errors.get());
        assertTrue("listener events happened", events.get() > 0);
        assertTrue("some calls failed (rate limit), exercising onError", errors.get() > 0);
        assertEquals("native global references", CACHED_GLOBAL_REFS + 1, refs0);
        assertTrue("pending callbacks hold references", peakRefs > refs0);
        assertEquals("native global references", refs0, refs1);
        assertTrue("JVM JNI global references grew: " + jvm0 + " -> " + jvm1,
                noneGrew(jvm0, jvm1));
        assertEquals("pending callbacks", 0, pending0);
        assertEquals("pending callbacks", 0, pending1);
        assertEquals("clients", 1, clients0);
        assertEquals("clients", 1, clients1);
    }

    /**
     * {@code n} calls, at most {@link #IN_FLIGHT} pending: a third setSelfStatus (never
     * rate-limited; each change notifies the own listener), a third getUserStatus of the own ID
     * (a value callback), a third subscribeUserStatus (rate-limited: mostly 7008 errors).
     */
    private void run(int n) throws InterruptedException {
        final Semaphore window = new Semaphore(IN_FLIGHT);
        final AtomicInteger done = new AtomicInteger();
        final Object allDone = new Object();
        final int total = n;
        V2TIMCallback callback = new V2TIMCallback() {
            @Override
            public void onSuccess() {
                finish(true);
            }

            @Override
            public void onError(int code, String desc) {
                finish(false);
            }

            private void finish(boolean ok) {
                (ok ? successes : errors).incrementAndGet();
                window.release();
                if (done.incrementAndGet() == total) {
                    synchronized (allDone) {
                        allDone.notifyAll();
                    }
                }
            }
        };
        V2TIMValueCallback<List<V2TIMUserStatus>> valueCallback =
                new V2TIMValueCallback<List<V2TIMUserStatus>>() {
                    @Override
                    public void onSuccess(List<V2TIMUserStatus> statuses) {
                        callback.onSuccess();
                    }

                    @Override
                    public void onError(int code, String desc) {
                        callback.onError(code, desc);
                    }
                };
        List<String> self = Arrays.asList("stress");
        List<String> peer = Arrays.asList("stress-peer");
        V2TIMUserStatus status = new V2TIMUserStatus();
        for (int i = 0; i < n; i++) {
            if (!window.tryAcquire(Probe.WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("callbacks stopped arriving after " + done.get());
            }
            if (i % 100 == 0) {
                peakRefs = Math.max(peakRefs, liveGlobalRefs());
            }
            switch (i % 3) {
                case 0:
                    status.setCustomStatus("stress " + (i % 7));
                    manager.setSelfStatus(status, callback);
                    break;
                case 1:
                    manager.getUserStatus(self, valueCallback);
                    break;
                default:
                    manager.subscribeUserStatus(peer, callback);
                    break;
            }
        }
        long deadline = System.currentTimeMillis() + 60000;
        synchronized (allDone) {
            while (done.get() < total && System.currentTimeMillis() < deadline) {
                allDone.wait(100);
            }
        }
        assertEquals("every callback fired", total, done.get());
    }

    /**
     * The JVM's JNI global references by class, once none has more than in {@code start}. The
     * JIT holds one to the class loader of a method while compiling it, so a dump taken during a
     * compilation shows one more; a leak stays however long one waits. Tries for a few seconds.
     */
    private static Map<String, Integer> jvmRefsBackTo(Map<String, Integer> start)
            throws InterruptedException {
        Map<String, Integer> now = Hprof.jniGlobalRefsByClass();
        for (int attempt = 1; attempt < 10 && !noneGrew(start, now); attempt++) {
            Thread.sleep(300);
            now = Hprof.jniGlobalRefsByClass();
        }
        return now;
    }

    /** Whether no class has more JNI global references in {@code after} than in {@code before}. */
    private static boolean noneGrew(Map<String, Integer> before, Map<String, Integer> after) {
        for (Map.Entry<String, Integer> e : after.entrySet()) {
            Integer was = before.get(e.getKey());
            if (e.getValue() > (was == null ? 0 : was)) {
                return false;
            }
        }
        return true;
    }

    private static int total(Map<String, Integer> byClass) {
        int n = 0;
        for (int v : byClass.values()) {
            n += v;
        }
        return n;
    }

    /**
     * The natives' global references once the last callback's reference is gone: it is deleted
     * on the callback thread just after the callback returned, so shortly after the test saw it.
     * The expected value is the cache plus this session.
     */
    private static long settledGlobalRefs() throws InterruptedException {
        long expected = CACHED_GLOBAL_REFS + 1;
        long deadline = System.currentTimeMillis() + 5000;
        long live = liveGlobalRefs();
        while (live != expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            live = liveGlobalRefs();
        }
        return live;
    }

    /**
     * The library's pending callbacks once the last one is gone: a callback object is released on
     * the callback thread just after the callback returned, so shortly after the test saw it.
     */
    private static long settledPendingCallbacks() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5000;
        long live = TestHooks.liveObjects("PendingCallback");
        while (live != 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            live = TestHooks.liveObjects("PendingCallback");
        }
        return live;
    }
}
