package fcn.bench;

import fcn.report.Precision;
import java.util.Locale;

/** The human-readable summary of one bench run, printed on stdout by {@code fcn bench}. Stateless. */
final class Summary {
  private Summary() {}

  /** The human-readable summary printed on stdout. */
  static String of(Bench.Result r) {
    StringBuilder sb = new StringBuilder();
    Timing.Stats s = r.stats();
    // fp32 is the norm and says nothing; a reduced precision is named.
    line(sb, "model", r.model() + " (" + r.modelName()
        + (r.precision() == null || r.precision().equals(Precision.FP32) ? "" : ", " + r.precision()) + ")");
    line(sb, "runtime", "ONNX Runtime " + r.ortVersion() + ", " + r.provider() + " (asked: " + r.requested()
        + ", threads: " + (r.threads() == 0 ? "ORT default" : r.threads()) + ")");
    if (r.epNodes() != null) {
      // Evidence from ORT's profile of the first run, not the provider that was asked for.
      line(sb, "nodes ran on", r.epNodes().replace(";", ", "));
    }
    if (r.opTime() != null) {
      line(sb, "kernel time", r.opTime() + " (first run, by op as ORT ran it)");
    }
    if (r.dataset() == null) {
      line(sb, "input", r.inputShape());
    }
    line(sb, "load", fmt("%.1f ms (session creation%s)", r.loadMs(), cacheNote(r.cache())));
    line(sb, "first run", fmt("%.2f ms", r.firstRunMs()));
    line(sb, "warmup", r.warmup() + " run(s)");
    line(sb, r.dataset() == null ? "timed runs" : "images", Integer.toString(s.count()));
    sb.append(String.format(Locale.ROOT, "%nlatency (ms)  %8s %8s %8s %8s %8s %8s %8s %8s%n",
        "min", "mean", "median", "p90", "p95", "p99", "max", "std"));
    sb.append(String.format(Locale.ROOT, "              %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f%n",
        s.minMs(), s.meanMs(), s.medianMs(), s.p90Ms(), s.p95Ms(), s.p99Ms(), s.maxMs(), s.stdMs()));
    if (r.dataset() != null && r.dataset().sizes() > 1) {
      line(sb, "variation", fmt("CV %.1f%% (%d image sizes)", 100 * s.cv(), r.dataset().sizes()));
    } else {
      line(sb, "variation", fmt("CV %.1f%% (noisy above %.0f%%)", 100 * s.cv(), 100 * Timing.NOISY_CV));
    }
    line(sb, "throughput", fmt("%.2f images/s (pure inference)", r.imagesPerSecond()));
    if (r.totalFlops() != null) {
      line(sb, "compute", fmt("%.2f GFLOP/image%s, %.1f GFLOP/s achieved", r.gflopsPerImage(),
          r.flops() != null && !r.flops().complete() ? " (lower bound)" : "", r.gflopsPerSecond()));
    } else {
      line(sb, "compute", "FLOPs not counted");
    }
    Bench.DatasetResult d = r.dataset();
    if (d != null) {
      sb.append(System.lineSeparator());
      line(sb, "dataset", d.name() + (d.split() != null ? " (" + d.split() + ")" : "") + ", " + d.images()
          + " images, " + d.scores().pixels() + " pixels scored, " + d.ignoredPixels() + " ignored");
      line(sb, "inference", fmt("%.1f ms total (session runs with output fetch, nothing else)", d.inferenceMs()));
      line(sb, "end-to-end", fmt("%.1f ms wall (decode, preprocess, run, argmax, score; %d I/O threads) "
          + "= %.3f x inference", d.wallMs(), d.decodeThreads(), d.overhead()));
      line(sb, "input wait", fmt("%.1f ms (the session waited for decoded images%s)", d.waitMs(),
          d.waitMs() > 0.05 * d.inferenceMs() ? "; more --io-threads or cores would help" : ""));
      sb.append(System.lineSeparator());
      sb.append(d.scores().table());
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, String key, String value) {
    sb.append(String.format(Locale.ROOT, "%-12s  %s%n", key, value));
  }

  private static String fmt(String f, Object... args) {
    return String.format(Locale.ROOT, f, args);
  }

  /** What the session cache did, when it did anything a user should know of (time, disk). */
  static String cacheNote(fcn.runtime.SessionCache.Status c) {
    if (c == null) {
      return "";
    }
    return switch (c) {
      case HIT -> ", from fcn's session cache";
      case STORED -> "; ORT's optimised graph stored in fcn's session cache for the next open (--no-session-cache: not)";
      default -> "";
    };
  }
}
