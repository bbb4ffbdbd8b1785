package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class WorkersTest {
  @Test
  void runsJobsAndReportsTheirResultsAndFailures() throws Exception {
    try (Workers w = new Workers(2, "test")) {
      List<CompletableFuture<Integer>> fs = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        int k = i;
        fs.add(i % 2 == 0 ? w.urgent(() -> k * k) : w.submit(() -> k * k));
      }
      for (int i = 0; i < 50; i++) {
        assertEquals(i * i, fs.get(i).get());
      }
      CompletableFuture<Object> bad = w.submit(() -> {
        throw new IllegalStateException("boom");
      });
      ExecutionException e = assertThrows(ExecutionException.class, bad::get);
      assertTrue(e.getCause() instanceof IllegalStateException && e.getCause().getMessage().equals("boom"));
    }
  }

  @Test
  void closeIsIdempotentAndRefusesNewWork() {
    Workers w = new Workers(1, "test");
    w.close();
    w.close();
    assertThrows(IllegalStateException.class, () -> w.submit(() -> 1));
  }
}
