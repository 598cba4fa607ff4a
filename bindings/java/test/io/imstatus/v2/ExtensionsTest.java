package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.Test;

/**
 * Presence beyond V2TIM through {@link IMStatusExtensions} against a real server: the manager
 * sets an expiring status, appears offline and hides from everyone, while another user (the
 * {@code imstatus} command) sees it OFFLINE with a frozen last seen; the manager reads another
 * user's last seen after that user logs out. Users of their own: the server keeps the switches.
 */
public class ExtensionsTest extends ImTestBase {
    private static final String ME = "xavier";
    private static final String OTHER = "yolanda";
    private static final String WATCHER = "zoe";

    /** What {@code imstatus get} prints for ME, as seen by WATCHER. */
    private static String seenByOthers() {
        return TestEnv.cli("get", "--server", TestEnv.server(), "--app-id",
                String.valueOf(ultimateApp()), "--user", WATCHER, "--sig",
                TestEnv.sig(ultimateApp(), WATCHER), ME);
    }

    /** The LAST_SEEN word of a line {@code ID STATUS LAST_SEEN CUSTOM}, in Unix ms. */
    private static long lastSeenOf(String line) {
        return Instant.parse(line.split(" ")[2]).toEpochMilli();
    }

    /** Waits for a status of {@code user} in which {@code check} holds. */
    private static V2TIMUserStatus awaitOwn(Events events, String user, StatusCheck check) {
        for (int i = 0; i < 100; i++) {
            Events.Event e = events.await("onUserStatusChanged");
            for (V2TIMUserStatus s : e.statuses) {
                if (s.getUserID().equals(user) && check.holds(s)) {
                    return s;
                }
            }
        }
        fail("no matching status of " + user);
        return null;
    }

    interface StatusCheck {
        boolean holds(V2TIMUserStatus s);
    }

    private static void ok(ApiTest.ProbeCall call) {
        call.run().awaitSuccess();
    }

    @Test
    public void constantsDefaultsAndRefusals() {
        assertEquals(0, IMStatusExtensions.VISIBILITY_EVERYONE);
        assertEquals(1, IMStatusExtensions.VISIBILITY_FRIENDS);
        assertEquals(2, IMStatusExtensions.VISIBILITY_NOBODY);
        assertEquals(3, IMStatusExtensions.VISIBILITY_UNKNOWN);
        V2TIMUserStatus made = new V2TIMUserStatus();
        assertEquals(0, IMStatusExtensions.getLastSeen(made));
        assertFalse(IMStatusExtensions.isInvisible(made));
        assertEquals(IMStatusExtensions.VISIBILITY_EVERYONE, IMStatusExtensions.getVisibility(made));

        Probe early = new Probe();
        IMStatusExtensions.setInvisible(true, early);
        early.awaitError(6013);

        init(ultimateApp());
        login(ME, ultimateApp());
        for (int bad : new int[] {7, -1, IMStatusExtensions.VISIBILITY_UNKNOWN}) {
            Probe p = new Probe();
            IMStatusExtensions.setVisibility(bad, p);
            p.awaitError(6017);
        }
        Probe nullStatus = new Probe();
        IMStatusExtensions.setSelfStatusExpiring(null, 1000, nullStatus);
        nullStatus.awaitError(6017);
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("x");
        Probe negative = new Probe();
        IMStatusExtensions.setSelfStatusExpiring(status, -1, negative);
        negative.awaitError(6017);
        Probe zero = new Probe();
        IMStatusExtensions.setSelfStatusExpiring(status, 0, zero); // the server's rule
        zero.awaitError(6017);
        IMStatusExtensions.setInvisible(false, null); // fire and forget
    }

    @Test
    public void anExpiringStatusClearsItselfForEveryone() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login(ME, ultimateApp());
        final V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("lunch");
        long setAt = System.nanoTime();
        ok(new ApiTest.ProbeCall() {
            @Override
            void call(Probe p) {
                IMStatusExtensions.setSelfStatusExpiring(status, 400, p);
            }
        });
        events.awaitStatus(ME, V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "lunch");
        V2TIMUserStatus cleared =
                events.awaitStatus(ME, V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "");
        assertTrue(System.nanoTime() - setAt >= 400_000_000L);
        assertEquals(0, IMStatusExtensions.getLastSeen(cleared));
        assertEquals(ME + " ONLINE - \n", seenByOthers());
    }

    @Test
    public void invisibleAndNobodyLookOfflineToOthersWithAFrozenLastSeen() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login(ME, ultimateApp());
        try {
            ok(new ApiTest.ProbeCall() {
                @Override
                void call(Probe p) {
                    V2TIMUserStatus busy = new V2TIMUserStatus();
                    busy.setCustomStatus("busy");
                    manager.setSelfStatus(busy, p);
                }
            });
            events.awaitStatus(ME, V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "busy");

            long before = System.currentTimeMillis();
            ok(new ApiTest.ProbeCall() {
                @Override
                void call(Probe p) {
                    IMStatusExtensions.setInvisible(true, p);
                }
            });
            long after = System.currentTimeMillis();
            V2TIMUserStatus own = awaitOwn(events, ME, new StatusCheck() {
                @Override
                public boolean holds(V2TIMUserStatus s) {
                    return IMStatusExtensions.isInvisible(s);
                }
            });
            assertEquals(V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, own.getStatusType());
            assertEquals("busy", own.getCustomStatus());
            String seen = seenByOthers();
            long frozen = lastSeenOf(seen);
            assertEquals(ME + " OFFLINE " + seen.split(" ")[2] + " \n", seen);
            assertTrue(before + " <= " + frozen + " <= " + after, before <= frozen && frozen <= after);
            assertEquals(seen, seenByOthers());

            ok(new ApiTest.ProbeCall() {
                @Override
                void call(Probe p) {
                    IMStatusExtensions.setInvisible(false, p);
                }
            });
            awaitOwn(events, ME, new StatusCheck() {
                @Override
                public boolean holds(V2TIMUserStatus s) {
                    return !IMStatusExtensions.isInvisible(s);
                }
            });
            assertEquals(ME + " ONLINE - busy\n", seenByOthers());

            before = System.currentTimeMillis();
            ok(new ApiTest.ProbeCall() {
                @Override
                void call(Probe p) {
                    IMStatusExtensions.setVisibility(IMStatusExtensions.VISIBILITY_NOBODY, p);
                }
            });
            after = System.currentTimeMillis();
            own = awaitOwn(events, ME, new StatusCheck() {
                @Override
                public boolean holds(V2TIMUserStatus s) {
                    return IMStatusExtensions.getVisibility(s) == IMStatusExtensions.VISIBILITY_NOBODY;
                }
            });
            assertFalse(IMStatusExtensions.isInvisible(own));
            seen = seenByOthers();
            frozen = lastSeenOf(seen);
            assertEquals(ME + " OFFLINE " + seen.split(" ")[2] + " \n", seen);
            assertTrue(before <= frozen && frozen <= after);
            Probe mine = new Probe();
            manager.getUserStatus(Arrays.asList(ME), mine);
            List<V2TIMUserStatus> list = mine.awaitSuccess().value();
            assertEquals(IMStatusExtensions.VISIBILITY_NOBODY, IMStatusExtensions.getVisibility(list.get(0)));
        } finally {
            // The server keeps the switches: leave the user as found.
            Probe off = new Probe();
            IMStatusExtensions.setInvisible(false, off);
            off.awaitSuccess();
            Probe everyone = new Probe();
            IMStatusExtensions.setVisibility(IMStatusExtensions.VISIBILITY_EVERYONE, everyone);
            everyone.awaitSuccess();
        }
        assertEquals(ME + " ONLINE - busy\n", seenByOthers());
    }

    @Test
    public void lastSeenOfAnotherUserAfterItLogsOut() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login(ME, ultimateApp());
        Probe sub = new Probe();
        manager.subscribeUserStatus(Arrays.asList(OTHER), sub);
        sub.awaitSuccess();
        long before = System.currentTimeMillis();
        TestEnv.setAndLeave(ultimateApp(), OTHER, "hi");
        long after = System.currentTimeMillis();
        // Not "ONLINE hi" first: a watcher that falls behind is pushed the latest status only
        // (N5), and under load the logout may come before "hi" left the server.
        V2TIMUserStatus gone =
                events.awaitStatus(OTHER, V2TIMUserStatus.V2TIM_USER_STATUS_UNLOGINED, null);
        long lastSeen = IMStatusExtensions.getLastSeen(gone);
        assertTrue(before + " <= " + lastSeen + " <= " + after, before <= lastSeen && lastSeen <= after);
        Probe query = new Probe();
        manager.getUserStatus(Arrays.asList(OTHER), query);
        assertEquals(lastSeen, IMStatusExtensions.getLastSeen(query.awaitSuccess().value().get(0)));
    }
}
