package io.imstatus.v2;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link V2TIMCallback} and {@link V2TIMValueCallback} that records its one result: which
 * method, on which thread, and whether it came after the call returned. Fails the test when a
 * second result arrives (every callback fires exactly once).
 */
public class Probe implements V2TIMCallback, V2TIMValueCallback<List<V2TIMUserStatus>> {
    public static final long WAIT_SECONDS = 15;

    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicInteger calls = new AtomicInteger();
    private volatile boolean success;
    private volatile int code;
    private volatile String desc;
    private volatile List<V2TIMUserStatus> value;
    private volatile String threadName;
    private volatile Thread thread;

    @Override
    public void onSuccess() {
        record(true, 0, null, null);
    }

    @Override
    public void onSuccess(List<V2TIMUserStatus> statuses) {
        record(true, 0, null, statuses);
    }

    @Override
    public void onError(int code, String desc) {
        record(false, code, desc, null);
    }

    private void record(boolean ok, int code, String desc, List<V2TIMUserStatus> value) {
        if (calls.incrementAndGet() > 1) {
            System.err.println("Probe: a second result arrived: " + ok + " " + code + " " + desc);
            return;
        }
        this.success = ok;
        this.code = code;
        this.desc = desc;
        this.value = value;
        this.thread = Thread.currentThread();
        this.threadName = thread.getName();
        done.countDown();
    }

    /** Waits for the result. */
    public Probe await() {
        try {
            if (!done.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                fail("no callback within " + WAIT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        return this;
    }

    public boolean isDone() {
        return done.getCount() == 0;
    }

    /** Waits and asserts success. */
    public Probe awaitSuccess() {
        await();
        if (!success) {
            fail("expected success, got error " + code + ": " + desc);
        }
        return this;
    }

    /** Waits and asserts an error with {@code expected}. */
    public Probe awaitError(int expected) {
        await();
        if (success) {
            fail("expected error " + expected + ", got success " + value);
        }
        assertEquals("error code (" + desc + ")", expected, code);
        assertTrue("a description", desc != null && !desc.isEmpty());
        return this;
    }

    public int code() {
        return code;
    }

    public String desc() {
        return desc;
    }

    public List<V2TIMUserStatus> value() {
        return value;
    }

    public String threadName() {
        return threadName;
    }

    public Thread thread() {
        return thread;
    }

    /** How many results arrived (must end as 1). */
    public int calls() {
        return calls.get();
    }
}
