package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.runtime.SessionCache;
import org.junit.jupiter.api.Test;

/** The load line says when the session cache served the load or wrote to disk, and only then. */
class SummaryTest {
  @Test
  void loadLineNamesTheCacheOnlyWhenItActed() {
    assertEquals(", from fcn's session cache", Summary.cacheNote(SessionCache.Status.HIT));
    assertTrue(Summary.cacheNote(SessionCache.Status.STORED).contains("--no-session-cache"));
    for (SessionCache.Status quiet : new SessionCache.Status[] {SessionCache.Status.OFF, SessionCache.Status.SMALL,
        SessionCache.Status.TEMPORARY, SessionCache.Status.NOT_STORED}) {
      assertEquals("", Summary.cacheNote(quiet), quiet.toString());
    }
    assertEquals("", Summary.cacheNote(null));
  }
}
