package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.runtime.SessionCache;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** --no-session-cache on every command that runs ONNX Runtime, and only for the run that has it. */
class SessionCacheFlagTest {
  @AfterEach
  void restore() {
    SessionCache.setEnabled(true);
  }

  @Test
  void flagTurnsTheCacheOffForItsRunOnly() {
    for (String command : new String[] {"bench", "validate", "fixtures"}) {
      String[] rest = command.equals("fixtures") ? new String[] {"m.onnx", "-o", "out"} : new String[] {"m.onnx"};
      Main.commandLine().parseArgs(concat(new String[] {command, "--no-session-cache"}, rest));
      assertFalse(SessionCache.enabled(), command);
      assertTrue(SessionCache.standard() == null, command);
      Main.commandLine().parseArgs(concat(new String[] {command}, rest));
      assertTrue(SessionCache.enabled(), command + ": the next run without the flag has the cache again");
    }
  }

  private static String[] concat(String[] a, String[] b) {
    return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
  }

  @Test
  void helpNamesTheFlag() {
    CliRun r = CliRun.fcn("bench", "--help");
    assertTrue(r.out().contains("--no-session-cache"), r.all());
  }
}
