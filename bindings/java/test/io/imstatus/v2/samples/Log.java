package io.imstatus.v2.samples;

import java.util.ArrayList;
import java.util.List;

/** Stand-in for {@code android.util.Log} in the seed's samples: records the lines it is given. */
public final class Log {
    private static final List<String> LINES = new ArrayList<String>();

    private Log() {}

    public static int i(String tag, String msg) {
        return add("I/" + tag + ": " + msg);
    }

    public static int e(String tag, String msg) {
        return add("E/" + tag + ": " + msg);
    }

    private static synchronized int add(String line) {
        LINES.add(line);
        Log.class.notifyAll();
        System.out.println("Log " + line);
        return line.length();
    }

    /** Waits until a line starting with {@code prefix} was logged; returns it. */
    public static synchronized String await(String prefix) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 15000;
        while (true) {
            for (String line : LINES) {
                if (line.startsWith(prefix)) {
                    LINES.remove(line);
                    return line;
                }
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("no log line " + prefix + "; have " + LINES);
            }
            Log.class.wait(left);
        }
    }

    /** Fails if a line starting with {@code prefix} is logged within {@code millis}. */
    public static synchronized void assertNone(String prefix, long millis)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (true) {
            for (String line : LINES) {
                if (line.startsWith(prefix)) {
                    throw new AssertionError("unexpected log line " + line);
                }
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return;
            }
            Log.class.wait(left);
        }
    }

    public static synchronized void clear() {
        LINES.clear();
    }
}
