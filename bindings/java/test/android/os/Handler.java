package android.os;

/** Test stand-in for Android's {@code android.os.Handler}: {@code new Handler(looper).post(r)}. */
public class Handler {
    private final Looper looper;

    public Handler(Looper looper) {
        this.looper = looper;
    }

    /** As on Android: queues {@code r} on the Looper's thread; false when it is quitting. */
    public final boolean post(Runnable r) {
        return looper.enqueue(r);
    }
}
