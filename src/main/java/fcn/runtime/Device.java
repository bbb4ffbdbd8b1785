package fcn.runtime;

import fcn.core.FcnException;
import java.util.Locale;

/** Where a {@link Session} runs: CUDA if it loads (AUTO), only the CPU, or CUDA or fail. */
public enum Device {
  /** CUDA when the GPU build and its libraries load, otherwise CPU with a warning. */
  AUTO,
  CPU,
  /** CUDA or an {@link FcnException} naming what is missing. */
  CUDA;

  /** Parses "auto", "cpu" or "cuda" (any case). */
  public static Device parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new FcnException("unknown device '" + text + "'; expected auto, cpu or cuda");
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
