package fcn.runtime;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Benchmark command (not a test): what pinned output buffers ({@code OrtSession.run(inputs,
 * pinnedOutputs)}, as {@link Session.Prepared} does from its second run) save per run against ORT
 * allocating new outputs every run. One session, inputs bound once in direct buffers for both; the
 * two ways alternate in blocks so that load drift hits both alike. Prints the median and mean per
 * run of each and the saving; fcn bench's own timed loop is the pinned one.
 *
 * <p>Usage: {@code tools/bench.sh pinned [MODEL.onnx] [--input-shape 1,3,H,W] [--runs N] [--blocks B]
 * [--threads N]}; default: the embedded default model at 1x3x128x128 (its dataset's size), 2000 runs.
 */
public final class PinnedOutputsBenchmark {
  public static void main(String[] args) {
    Path model = Path.of("fixtures", "default", "model.onnx");
    long[] shape = {1, 3, 128, 128};
    int runs = 2000;
    int blocks = 10;
    int threads = 0;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--input-shape" -> shape = Arrays.stream(args[++i].split("[,x]")).mapToLong(Long::parseLong).toArray();
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--blocks" -> blocks = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        default -> model = Path.of(args[i]);
      }
    }
    float[] data = new float[Math.toIntExact(FloatTensor.numel(shape))];
    Random rnd = new Random(42);
    for (int i = 0; i < data.length; i++) {
      data[i] = rnd.nextFloat() * 255;
    }
    int perBlock = Math.max(1, runs / blocks);
    long[] plain = new long[perBlock * blocks];
    long[] pinned = new long[perBlock * blocks];
    try (Session s = Session.open(model, Device.CPU, threads, OptLevel.ALL)) {
      Map<String, FloatTensor> feeds = Map.of(s.inputNames().get(0), new FloatTensor(data, shape));
      try (Session.Prepared a = s.prepare(feeds, false); Session.Prepared b = s.prepare(feeds, true)) {
        for (int w = 0; w < 3; w++) { // warm both; b's second run allocates its pinned outputs
          a.run();
          b.run();
        }
        if (!b.outputsPinned()) {
          throw new IllegalStateException("outputs were not pinned");
        }
        for (int blk = 0; blk < blocks; blk++) {
          boolean pinnedFirst = blk % 2 == 1;
          for (int pass = 0; pass < 2; pass++) {
            boolean pin = pinnedFirst == (pass == 0);
            Session.Prepared p = pin ? b : a;
            long[] into = pin ? pinned : plain;
            for (int i = 0; i < perBlock; i++) {
              long t0 = System.nanoTime();
              p.run();
              into[blk * perBlock + i] = System.nanoTime() - t0;
            }
          }
        }
      }
      System.out.printf(Locale.ROOT, "model=%s input=%s runs_each=%d threads=%d ort=%s%n", model,
          String.join("x", Arrays.stream(shape).mapToObj(Long::toString).toArray(String[]::new)), plain.length,
          threads, Session.ortVersion());
    }
    double mPlain = median(plain);
    double mPinned = median(pinned);
    System.out.printf(Locale.ROOT, "new_outputs_each_run: median_ms=%.4f mean_ms=%.4f%n", mPlain / 1e6, mean(plain) / 1e6);
    System.out.printf(Locale.ROOT, "pinned_outputs:       median_ms=%.4f mean_ms=%.4f%n", mPinned / 1e6, mean(pinned) / 1e6);
    System.out.printf(Locale.ROOT, "saving: median %.4f ms per run (%.1f%%)%n", (mPlain - mPinned) / 1e6,
        100 * (mPlain - mPinned) / mPlain);
  }

  private static double median(long[] v) {
    long[] c = v.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2.0;
  }

  private static double mean(long[] v) {
    return Arrays.stream(v).average().orElse(0);
  }
}
