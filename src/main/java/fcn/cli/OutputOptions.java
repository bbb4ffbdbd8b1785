package fcn.cli;

import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Shared picocli mixin for commands that write machine-readable results: --report FILE.csv and
 * --json FILE. Both are optional; writers must write them atomically (fcn.core.AtomicFile).
 */
public final class OutputOptions {
  @Option(names = "--report", paramLabel = "FILE.csv", description = "Also write the results as CSV.")
  Path csv;

  @Option(names = "--json", paramLabel = "FILE.json", description = "Also write the results as JSON.")
  Path json;

  public Optional<Path> csv() {
    return Optional.ofNullable(csv);
  }

  public Optional<Path> json() {
    return Optional.ofNullable(json);
  }
}
