package io.imstatus.v2;

import java.util.concurrent.Executor;

/**
 * Settings for {@link V2TIMManager#initSDK} ({@code V2TIMSDKConfig}). Copied at initSDK: changing
 * a config afterwards has no effect until the next initSDK.
 */
public class V2TIMSDKConfig {
    /** Log nothing. */
    public static final int V2TIM_LOG_NONE = 0;
    /** Log everything. */
    public static final int V2TIM_LOG_DEBUG = 3;
    /** Log information, warnings and errors. */
    public static final int V2TIM_LOG_INFO = 4;
    /** Log warnings and errors (the default). */
    public static final int V2TIM_LOG_WARN = 5;
    /** Log errors only. */
    public static final int V2TIM_LOG_ERROR = 6;

    private int logLevel = V2TIM_LOG_WARN;
    private String serverAddress;
    private Executor callbackExecutor;

    /** @param level one of the {@code V2TIM_LOG_*} constants: what the SDK logs */
    public void setLogLevel(int level) {
        this.logLevel = level;
    }

    /** @return the log level */
    public int getLogLevel() {
        return logLevel;
    }

    /**
     * The imstatus server, {@code host:port}. When null or empty: the {@code IMSTATUS_SERVER}
     * environment variable, else {@code 127.0.0.1:7800}.
     *
     * @param serverAddress the address
     */
    public void setServerAddress(String serverAddress) {
        this.serverAddress = serverAddress;
    }

    /** @return the server address, or null for the default */
    public String getServerAddress() {
        return serverAddress;
    }

    /**
     * Where callbacks and listener events run when the process has no Android main Looper (on
     * Android they always run on the main thread). Null (the default) runs them directly on the
     * SDK's callback thread, {@code imstatus-callback}. A multi-threaded executor may run them
     * out of order; a single-threaded one keeps the SDK's order.
     *
     * @param executor the executor, or null
     */
    public void setCallbackExecutor(Executor executor) {
        this.callbackExecutor = executor;
    }

    /** @return the callback executor, or null */
    public Executor getCallbackExecutor() {
        return callbackExecutor;
    }
}
