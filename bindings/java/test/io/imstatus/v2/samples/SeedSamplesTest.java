package io.imstatus.v2.samples;

import static org.junit.Assert.assertTrue;

import io.imstatus.v2.ImTestBase;
import io.imstatus.v2.TestEnv;
import org.junit.Test;

/**
 * The seed's Android samples ({@link SeedSamples}) against a real server, behaving as the seed's
 * guide says: own status needs nothing, others' need Ultimate and the switch, subscriptions bring
 * changes to {@code onUserStatusChanged}, unsubscribing stops them, and an empty custom status
 * clears it.
 */
public class SeedSamplesTest extends ImTestBase {
    private static final String OTHER = "I/SeedSamples: other status changed V2TIMUserStatus{userID=";

    @Test
    public void theSamplesBehaveAsTheSeedSays() throws Exception {
        Log.clear();
        SeedSamples samples = new SeedSamples();
        assertTrue(TestEnv.config() != null);
        TestEnv.init(TestEnv.ultimateApp());
        samples.initListener();

        // Not logged in: the own-status sample stops at "Log in first".
        samples.getOwnStatus();
        Log.await("E/SeedSamples: getOwnStatus: log in first");

        TestEnv.login("seed-me", TestEnv.ultimateApp());

        samples.setSelfStatus(false, "listening music");
        Log.await("I/SeedSamples: setSelfStatus success, CustomStatus is listening music");
        Log.await("I/SeedSamples: own status changed V2TIMUserStatus{userID=seed-me, statusType=1, "
                + "customStatus=listening music");

        samples.getOwnStatus();
        Log.await("I/SeedSamples: getOwnStatus success [V2TIMUserStatus{userID=seed-me, "
                + "statusType=1, customStatus=listening music, onlineDevices=[Linux]}]");

        // Others: never logged in is UNLOGINED, not a failure.
        samples.getOthersStatus();
        String others = Log.await("I/SeedSamples: getOthersStatus success [");
        for (String id : new String[] {"userid1", "userid2", "userid3"}) {
            assertTrue(others, others.contains("userID=" + id + ", statusType=3, customStatus="));
        }

        samples.subscribe();
        Log.await("I/SeedSamples: subscribe success");
        Process userid1 = TestEnv.holdStatus(TestEnv.ultimateApp(), "userid1", "at work");
        Log.await(OTHER + "userid1, statusType=1, customStatus=at work");
        // Changes arrive in order: after "at work", the next one is userid1 going away.
        Log.clear();
        TestEnv.stop(userid1);
        String gone = Log.await(OTHER + "userid1, statusType=");
        assertTrue(gone, !gone.contains("statusType=1"));
        assertTrue(gone, gone.contains("customStatus=, onlineDevices=[]"));

        samples.unsubscribe();
        Log.await("I/SeedSamples: unsubscribe success");
        TestEnv.setAndLeave(TestEnv.ultimateApp(), "userid2", "after unsubscribing");
        Log.assertNone(OTHER + "userid2", 1500);

        samples.setSelfStatus(true, "");
        Log.await("I/SeedSamples: setSelfStatus success, CustomStatus is ");
        Log.await("I/SeedSamples: own status changed V2TIMUserStatus{userID=seed-me, statusType=1, "
                + "customStatus=,");

        // Basic edition: others are 7013.
        manager.unInitSDK();
        TestEnv.init(TestEnv.basicApp());
        TestEnv.login("seed-me", TestEnv.basicApp());
        samples.getOthersStatus();
        Log.await("E/SeedSamples: getOthersStatus error 7013 ");
        samples.subscribe();
        Log.await("E/SeedSamples: subscribe error 7013 ");
        samples.getOwnStatus();
        Log.await("I/SeedSamples: getOwnStatus success [V2TIMUserStatus{userID=seed-me, statusType=1");

        // Switch off: the FAQ's 72001.
        manager.unInitSDK();
        TestEnv.init(TestEnv.switchOffApp());
        TestEnv.login("seed-me", TestEnv.switchOffApp());
        samples.subscribe();
        Log.await("E/SeedSamples: subscribe error 72001 ");
        samples.unsubscribe();
        Log.await("E/SeedSamples: unsubscribe error 72001 ");
    }
}
