package io.imstatus.v2;

import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A listener that records every event, with the thread it arrived on. */
public class Events extends V2TIMSDKListener {
    /** One event. */
    public static final class Event {
        public final String name;
        public final int code;
        public final String desc;
        public final List<V2TIMUserStatus> statuses;
        public final String thread;

        Event(String name, int code, String desc, List<V2TIMUserStatus> statuses) {
            this.name = name;
            this.code = code;
            this.desc = desc;
            this.statuses = statuses;
            this.thread = Thread.currentThread().getName();
        }

        @Override
        public String toString() {
            return name + (statuses != null ? statuses.toString() : "")
                    + (code != 0 ? "(" + code + ", " + desc + ")" : "") + " on " + thread;
        }
    }

    private final BlockingQueue<Event> queue = new LinkedBlockingQueue<Event>();
    private final List<Event> seen = new ArrayList<Event>();

    @Override
    public void onConnecting() {
        queue.add(new Event("onConnecting", 0, null, null));
    }

    @Override
    public void onConnectSuccess() {
        queue.add(new Event("onConnectSuccess", 0, null, null));
    }

    @Override
    public void onConnectFailed(int code, String error) {
        queue.add(new Event("onConnectFailed", code, error, null));
    }

    @Override
    public void onKickedOffline() {
        queue.add(new Event("onKickedOffline", 0, null, null));
    }

    @Override
    public void onUserSigExpired() {
        queue.add(new Event("onUserSigExpired", 0, null, null));
    }

    @Override
    public void onUserStatusChanged(List<V2TIMUserStatus> userStatusList) {
        queue.add(new Event("onUserStatusChanged", 0, null, userStatusList));
    }

    /** Waits for the next event named {@code name}, skipping others. */
    public Event await(String name) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Probe.WAIT_SECONDS);
        while (true) {
            long left = deadline - System.nanoTime();
            Event e;
            try {
                e = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
            if (e == null) {
                fail("no " + name + " within " + Probe.WAIT_SECONDS + " s; saw " + seen);
            }
            seen.add(e);
            if (e.name.equals(name)) {
                return e;
            }
        }
    }

    /** Waits for a status change of {@code user} that matches. */
    public V2TIMUserStatus awaitStatus(String user, int statusType, String custom) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Probe.WAIT_SECONDS);
        while (true) {
            long left = deadline - System.nanoTime();
            Event e;
            try {
                e = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
            if (e == null) {
                fail("no status " + statusType + "/" + custom + " of " + user + "; saw " + seen);
            }
            seen.add(e);
            if (e.statuses == null) {
                continue;
            }
            for (V2TIMUserStatus s : e.statuses) {
                if (s.getUserID().equals(user) && s.getStatusType() == statusType
                        && (custom == null || custom.equals(s.getCustomStatus()))) {
                    return s;
                }
            }
        }
    }

    /** Waits for a status change of {@code user} whose type is not {@code statusType}. */
    public V2TIMUserStatus awaitStatusNot(String user, int statusType) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Probe.WAIT_SECONDS);
        while (true) {
            long left = deadline - System.nanoTime();
            Event e;
            try {
                e = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
            if (e == null) {
                fail("no status other than " + statusType + " of " + user + "; saw " + seen);
            }
            seen.add(e);
            if (e.statuses == null) {
                continue;
            }
            for (V2TIMUserStatus s : e.statuses) {
                if (s.getUserID().equals(user) && s.getStatusType() != statusType) {
                    return s;
                }
            }
        }
    }

    /** Asserts that no status of {@code user} arrives within {@code millis}. */
    public void assertNoStatusOf(String user, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            Event e;
            try {
                e = queue.poll(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
            if (e == null) {
                return;
            }
            seen.add(e);
            if (e.statuses != null) {
                for (V2TIMUserStatus s : e.statuses) {
                    if (s.getUserID().equals(user)) {
                        fail("unexpected status of " + user + ": " + s);
                    }
                }
            }
        }
    }

    /** Forgets the events received so far. */
    public void drain() {
        queue.clear();
    }
}
