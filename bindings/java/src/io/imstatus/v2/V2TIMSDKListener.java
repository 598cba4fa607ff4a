package io.imstatus.v2;

import java.util.List;

/**
 * The SDK's events ({@code V2TIMSDKListener}). Every method has an empty body: override only what
 * you need. Register with {@link V2TIMManager#addIMSDKListener}. Events arrive one at a time, in
 * the order they happened, on the thread described in {@link V2TIMManager} ("Callback thread").
 * An exception thrown by a method is caught and logged; the other listeners still get the event.
 */
public abstract class V2TIMSDKListener {
    /** The SDK starts connecting: an explicit login, or a reconnect after a network loss. */
    public void onConnecting() {}

    /** The connection to the server is up (the login itself may still fail). */
    public void onConnectSuccess() {}

    /**
     * Connecting failed (9508 for network failures); while reconnecting, the SDK keeps trying.
     *
     * @param code the V2TIM error code
     * @param error what went wrong
     */
    public void onConnectFailed(int code, String error) {}

    /** Another device logged in as this user on this platform; this one is now logged out. */
    public void onKickedOffline() {}

    /** The UserSig of the running session expired; log in again with a fresh one. */
    public void onUserSigExpired() {}

    /**
     * Statuses changed: a subscribed user, a friend (when the console switch is on), or the own
     * user (multi-device sync, or the SDK noticing its own account went offline).
     *
     * @param userStatusList the changed statuses; several users may share one call
     */
    public void onUserStatusChanged(List<V2TIMUserStatus> userStatusList) {}
}
