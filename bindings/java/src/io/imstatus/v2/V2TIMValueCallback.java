package io.imstatus.v2;

/**
 * The result of a call that returns a value ({@code V2TIMValueCallback<T>}).
 *
 * <p>Exactly one of the two methods is called, exactly once, never inside the call that took the
 * callback. Where it runs: see {@link V2TIMManager} ("Callback thread").
 *
 * @param <T> the type of the value
 */
public interface V2TIMValueCallback<T> {
    /**
     * The call succeeded.
     *
     * @param t the value; the callee hands it over, the app may keep and modify it
     */
    void onSuccess(T t);

    /**
     * The call failed.
     *
     * @param code the V2TIM error code
     * @param desc what went wrong, for logs; do not match on it
     */
    void onError(int code, String desc);
}
