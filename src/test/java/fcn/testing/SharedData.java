package fcn.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (real data beside the checkout); tests skip visibly when it is missing. */
public final class SharedData {
  private SharedData() {}

  public static final Path ROOT = Path.of("..", "shared");

  /** {@code ../shared/REL}, or a skipped test (with the reason in the report) when absent. */
  public static Path require(String rel) {
    Path p = ROOT.resolve(rel);
    assumeTrue(Files.exists(p), "../shared not found: skipping test that needs " + p
        + " (real data lives beside the checkout; CI has it)");
    return p;
  }
}
