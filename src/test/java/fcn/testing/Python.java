package fcn.testing;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Debian's system interpreter, which the independent references (numpy, torch, onnx) run on;
 * tests that need it skip visibly when {@link #has} says a module is missing.
 */
public final class Python {
  public static final String PYTHON = "/usr/bin/python3";

  private Python() {}

  /** Whether {@code imports} (e.g. "import torch, numpy") runs without error. */
  public static boolean has(String imports) {
    try {
      Process p = new ProcessBuilder(PYTHON, "-c", imports).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
