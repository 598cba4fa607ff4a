package io.imstatus.v2.samples;

// The only changes to the samples' code: these imports (com.tencent.imsdk.v2 -> io.imstatus.v2),
// Log (a stand-in class), each sample wrapped in a method, and the lines marked "[test]", which
// only record what the samples' comments say happened so that the test can check it.
import io.imstatus.v2.V2TIMCallback;
import io.imstatus.v2.V2TIMManager;
import io.imstatus.v2.V2TIMSDKListener;
import io.imstatus.v2.V2TIMUserStatus;
import io.imstatus.v2.V2TIMValueCallback;
import java.util.Arrays;
import java.util.List;

/** The Android samples of the seed's "User Status" guide, as near verbatim as Java allows. */
public class SeedSamples {
    private static final String TAG = "SeedSamples";

    /** "Setting the Custom Status" (the sample's local {@code clearStatus} comes in as a parameter). */
    public void setSelfStatus(boolean clearStatusArg, final String customStr) {
        V2TIMUserStatus status = new V2TIMUserStatus();
        boolean clearStatus = clearStatusArg; // [test] the sample has `= true`
        if (clearStatus) {
          	status.setCustomStatus(null);
        } else {
          	status.setCustomStatus("listening music");
        }
        V2TIMManager.getInstance().setSelfStatus(status, new V2TIMCallback() {
            @Override
            public void onSuccess() {
                Log.i(TAG, "setSelfStatus success, CustomStatus is " + customStr);
            }

            @Override
            public void onError(int code, String desc) {
                Log.e(TAG, "setSelfStatus error code = " + code + ",des = " + desc);
            }
        });
    }

    /** "Querying a user's own status". */
    public void getOwnStatus() {
        String myId = V2TIMManager.getInstance().getLoginUser();
        if (myId == null || myId.isEmpty()) {
            // Log in first
            Log.e(TAG, "getOwnStatus: log in first"); // [test]
            return;
        }
        List<String> ids = Arrays.asList(myId);
        V2TIMManager.getInstance().getUserStatus(ids, new V2TIMValueCallback<List<V2TIMUserStatus>>() {
            @Override
            public void onSuccess(List<V2TIMUserStatus> v2TIMUserStatuses) {
        	// Queried the user's own status successfully
                Log.i(TAG, "getOwnStatus success " + v2TIMUserStatuses); // [test]
            }

            @Override
            public void onError(int code, String desc) {
        	// Failed to query the user's own status
                Log.e(TAG, "getOwnStatus error " + code + " " + desc); // [test]
            }
        });
    }

    /** "Querying the status of another user". */
    public void getOthersStatus() {
        List<String> ids = Arrays.asList("userid1", "userid2", "userid3");
        V2TIMManager.getInstance().getUserStatus(ids, new V2TIMValueCallback<List<V2TIMUserStatus>>() {
            @Override
            public void onSuccess(List<V2TIMUserStatus> v2TIMUserStatuses) {
        	// Queried the status successfully
                Log.i(TAG, "getOthersStatus success " + v2TIMUserStatuses); // [test]
            }

            @Override
            public void onError(int code, String desc) {
        	// Failed to query the status
                Log.e(TAG, "getOthersStatus error " + code + " " + desc); // [test]
            }
        });
    }

    /** "Subscribing to the User Status". */
    public void subscribe() {
        List<String> useridList = Arrays.asList("userid1", "userid2", "userid3");
        V2TIMManager.getInstance().subscribeUserStatus(useridList, new V2TIMCallback() {
            @Override
            public void onSuccess() {
        		// Subscribed to the status successfully
                Log.i(TAG, "subscribe success"); // [test]
            }

            @Override
            public void onError(int code, String desc) {
        		// Failed to subscribe to the status
                Log.e(TAG, "subscribe error " + code + " " + desc); // [test]
            }
        });
    }

    /** "Unsubscribing from the User Status". */
    public void unsubscribe() {
        List<String> useridList = Arrays.asList("userid1", "userid2", "userid3");
        V2TIMManager.getInstance().unsubscribeUserStatus(useridList, new V2TIMCallback() {
            @Override
            public void onSuccess() {
        		// Unsubscribed from the status successfully
                Log.i(TAG, "unsubscribe success"); // [test]
            }

            @Override
            public void onError(int code, String desc) {
        		// Failed to unsubscribe from the status
                Log.e(TAG, "unsubscribe error " + code + " " + desc); // [test]
            }
        });
    }

    /** "Status Change Notification" ({@code initListener}, returning its listener for cleanup). */
    public V2TIMSDKListener initListener() {
        V2TIMSDKListener v2TIMSDKListener = new V2TIMSDKListener() {
            @Override
            public void onUserStatusChanged(List<V2TIMUserStatus> userStatusList) {
                String myID = V2TIMManager.getInstance().getLoginUser();
                for (V2TIMUserStatus item : userStatusList) {
                    if (item.getUserID().equals(myID)) {
                        // The user's own status changed.
                        Log.i(TAG, "own status changed " + item); // [test]
                    } else {
                        // The status of another user changed.
                        Log.i(TAG, "other status changed " + item); // [test]
                    }
                }
            }
        };
        V2TIMManager.getInstance().addIMSDKListener(v2TIMSDKListener);
        return v2TIMSDKListener; // [test]
    }
}
