package io.imstatus.v2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
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

    /** imstatus: the platform the library was built for (Android in an app). */
    public static final int PLATFORM_DEFAULT = 0;
    /** imstatus: "Android". */
    public static final int PLATFORM_ANDROID = 1;
    /** imstatus: "iPhone". */
    public static final int PLATFORM_IPHONE = 2;
    /** imstatus: "iPad". */
    public static final int PLATFORM_IPAD = 3;
    /** imstatus: "Windows". */
    public static final int PLATFORM_WINDOWS = 4;
    /** imstatus: "Mac". */
    public static final int PLATFORM_MAC = 5;
    /** imstatus: "Linux". */
    public static final int PLATFORM_LINUX = 6;
    /** imstatus: "Web". */
    public static final int PLATFORM_WEB = 7;

    private int logLevel = V2TIM_LOG_WARN;
    private String serverAddress;
    private Executor callbackExecutor;
    private int platform = PLATFORM_DEFAULT;
    private boolean useTLS;
    private byte[] caCertificatesPEM;
    private List<String> spkiPins = Collections.emptyList();

    /** @param level one of the {@code V2TIM_LOG_*} constants: what the SDK logs */
    public void setLogLevel(int level) {
        this.logLevel = level;
    }

    /** @return the log level */
    public int getLogLevel() {
        return logLevel;
    }

    /**
     * The imstatus server, {@code host:port}, or {@code tls://host:port} for TLS. When null or
     * empty: the {@code IMSTATUS_SERVER} environment variable, else {@code 127.0.0.1:7800}.
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

    /**
     * imstatus: the platform this device declares at login, one of the {@code PLATFORM_*}
     * constants (the values of the C API's {@code IMS_PLATFORM_*}). The server applies its
     * multi-device rules per platform, and others see it in
     * {@link V2TIMUserStatus#getOnlineDevices}. Another value makes initSDK fail.
     *
     * @param platform the platform, {@link #PLATFORM_DEFAULT} by default
     */
    public void setPlatform(int platform) {
        this.platform = platform;
    }

    /** @return the platform this device declares */
    public int getPlatform() {
        return platform;
    }

    /**
     * imstatus: TLS also for a server address without {@code tls://} (default false). Over TLS
     * the server's certificate is always verified: by the platform's trust store (Android's, given
     * the app's {@code Context} at {@link V2TIMManager#initSDK}) and the
     * {@linkplain #setCaCertificatesPEM extra CA certificates}, for the host of the address, then
     * against the {@linkplain #setSpkiPins pins}. A failed handshake is a connection failure
     * ({@code onConnectFailed} and the login's {@code onError}, 9508) whose message starts with
     * the reason: "untrusted certificate", "wrong name", "pin mismatch".
     *
     * @param useTLS whether to connect over TLS
     */
    public void setUseTLS(boolean useTLS) {
        this.useTLS = useTLS;
    }

    /** @return whether TLS is on for addresses without {@code tls://} */
    public boolean isUseTLS() {
        return useTLS;
    }

    /**
     * imstatus: CA certificates trusted beside the system's, as PEM (one or more
     * {@code -----BEGIN CERTIFICATE-----} blocks), read by the app from its resources or assets.
     * Copied. A PEM without a usable certificate makes initSDK fail.
     *
     * @param pem the certificates, or null for none
     */
    public void setCaCertificatesPEM(byte[] pem) {
        this.caCertificatesPEM = pem != null ? pem.clone() : null;
    }

    /** @return a copy of the extra CA certificates, or null */
    public byte[] getCaCertificatesPEM() {
        return caCertificatesPEM != null ? caCertificatesPEM.clone() : null;
    }

    /**
     * imstatus: SPKI SHA-256 pins, each the base64 of the SHA-256 of a DER SubjectPublicKeyInfo,
     * optionally after {@code sha256/} (as OkHttp and Android's network security config write
     * them). With pins, a chain that verified must also hold a pinned key (the server's or an
     * intermediate's); pin a backup key too. Copied. A pin that is not one makes initSDK fail.
     *
     * @param pins the pins, or null for none
     */
    public void setSpkiPins(List<String> pins) {
        this.spkiPins = pins != null
                ? Collections.unmodifiableList(new ArrayList<String>(pins))
                : Collections.<String>emptyList();
    }

    /** @return the pins (unmodifiable; empty for none) */
    public List<String> getSpkiPins() {
        return spkiPins;
    }
}
