package io.imstatus.v2;

import io.imstatus.v2.samples.SeedSamplesTest;
import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * Runs every Java test with JUnit 4, printing one line per test and a closing
 * {@code N passed, N failed}; exits non-zero when any failed. Started by {@code tests/java.rs}.
 */
public final class RunJavaTests {
    static final Class<?>[] TESTS = {
        ApiTest.class,
        ErrorsTest.class,
        EventsTest.class,
        ExtensionsTest.class,
        ThreadingTest.class,
        NativeBoundaryTest.class,
        SeedSamplesTest.class,
        StressTest.class,
        TlsTest.class,
    };

    private RunJavaTests() {}

    public static void main(String[] args) {
        JUnitCore core = new JUnitCore();
        core.addListener(new RunListener() {
            private boolean failed;

            @Override
            public void testStarted(Description d) {
                failed = false;
                System.out.println("RUN  " + d.getClassName() + "." + d.getMethodName());
            }

            @Override
            public void testFailure(Failure f) {
                failed = true;
                System.out.println("FAIL " + f.getDescription().getDisplayName() + ": " + f.getMessage());
                System.out.println(f.getTrace());
            }

            @Override
            public void testFinished(Description d) {
                if (!failed) {
                    System.out.println("PASS " + d.getClassName() + "." + d.getMethodName());
                }
            }
        });
        Result result = core.run(TESTS);
        int failed = result.getFailureCount();
        int passed = result.getRunCount() - failed;
        System.out.println(passed + " passed, " + failed + " failed");
        System.out.flush();
        System.exit(failed == 0 && result.getRunCount() > 0 ? 0 : 1);
    }
}
