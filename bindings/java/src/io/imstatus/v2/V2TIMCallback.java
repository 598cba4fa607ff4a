package io.imstatus.v2;

/**
 * The result of a call that returns no value ({@code V2TIMCallback}).
 *
 * <p>Exactly one of the two methods is called, exactly once, never inside the call that took the
 * callback. Where it runs: see {@link V2TIMManager} ("Callback thread").
 */
public interface V2TIMCallback {
    /** The call succeeded. */
    void onSuccess();

    /**
     * The call failed.
     *
     * @param code the V2TIM error code (6014 not logged in, 6017 invalid parameters, 7013 the
     *     edition lacks the API, 72001 the status switch is off, 6013 not initialised, ...)
     * @param desc what went wrong, for logs; do not match on it
     */
    void onError(int code, String desc);
}
