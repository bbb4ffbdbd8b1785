package fcn.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import fcn.runtime.Device;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Benchmark command (not a test): how much the Java timing path adds on top of ONNX Runtime's own
 * timing of the same runs. One session with ORT profiling on; each run is timed exactly as
 * {@code fcn bench}'s loop times {@code Session.Prepared.run()} (nanoTime, {@code ort.run} on
 * inputs bound once, close the result, nanoTime), and ORT's profiler records its native
 * {@code model_run} duration for the same run, so the comparison is paired and immune to load
 * drift. Then {@code fcn bench}'s own median on a fresh session is printed beside it.
 *
 * <p>Usage: {@code tools/bench.sh overhead [MODEL.onnx] [--input-shape 1,3,H,W] [--iterations N]
 * [--threads N] [--max-overhead 0.03]}; without MODEL a synthetic FCN-shaped net at 1x3x360x480.
 * Exit 1 when the median Java/native ratio exceeds 1 + max-overhead.
 */
public final class OrtOverheadBenchmark {
  private static final Pattern MODEL_RUN = Pattern.compile(
      "\"dur\"\\s*:\\s*(\\d+)[^{}]*?\"name\"\\s*:\\s*\"model_run\"");

  public static void main(String[] args) throws Exception {
    Path model = null;
    long[] shape = {1, 3, 360, 480};
    int iterations = 50;
    int threads = 0;
    double maxOverhead = 0.03;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--input-shape" -> shape = java.util.Arrays.stream(args[++i].split("[,x]")).mapToLong(Long::parseLong).toArray();
        case "--iterations" -> iterations = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--max-overhead" -> maxOverhead = Double.parseDouble(args[++i]);
        default -> model = Path.of(args[i]);
      }
    }
    Path tmp = Files.createTempDirectory("fcn-overhead");
    if (model == null) {
      model = SyntheticFcn.write(tmp.resolve("synthetic-fcn.onnx"), 21, 16, 1);
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "fcn");
    float[] data = new float[Math.toIntExact(fcn.runtime.FloatTensor.numel(shape))];
    Random rnd = new Random(42);
    for (int i = 0; i < data.length; i++) {
      data[i] = rnd.nextFloat();
    }
    long[] javaNanos = new long[iterations];
    Path profile;
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      if (threads > 0) {
        so.setIntraOpNumThreads(threads);
      }
      so.enableProfiling(tmp.resolve("ort-profile").toString());
      try (OrtSession s = env.createSession(model.toString(), so)) {
        String input = s.getInputNames().iterator().next();
        FloatBuffer fb = ByteBuffer.allocateDirect(data.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        fb.put(data).rewind();
        try (OnnxTensor t = OnnxTensor.createTensor(env, fb, shape)) {
          Map<String, OnnxTensor> feeds = Map.of(input, t);
          for (int i = 0; i < 6; i++) { // first run + fcn bench's default warmup of 5
            try (OrtSession.Result r = s.run(feeds)) {
              // discarded
            }
          }
          for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            try (OrtSession.Result r = s.run(feeds)) {
              // discarded, as Session.Prepared.run() does
            }
            javaNanos[i] = System.nanoTime() - t0;
          }
        }
        profile = Path.of(s.endProfiling());
      }
    }
    List<Long> nativeMicros = new ArrayList<>();
    Matcher m = MODEL_RUN.matcher(Files.readString(profile));
    while (m.find()) {
      nativeMicros.add(Long.parseLong(m.group(1)));
    }
    if (nativeMicros.size() < iterations) {
      System.err.println("ORT profile " + profile + " has " + nativeMicros.size() + " model_run events; expected "
          + (iterations + 6));
      System.exit(70);
    }
    // The last `iterations` model_run events are the timed runs, in order.
    List<Long> timed = nativeMicros.subList(nativeMicros.size() - iterations, nativeMicros.size());
    double[] ratio = new double[iterations];
    double[] nativeMs = new double[iterations];
    for (int i = 0; i < iterations; i++) {
      nativeMs[i] = timed.get(i) / 1e3;
      ratio[i] = (javaNanos[i] / 1e6) / nativeMs[i];
    }
    Timing.Stats javaStats = Timing.ofNanos(javaNanos);
    Timing.Stats nativeStats = Timing.ofMillis(nativeMs);
    double[] sortedRatio = ratio.clone();
    java.util.Arrays.sort(sortedRatio);
    double medianRatio = Timing.percentile(sortedRatio, 50);

    Bench.Result bench = Bench.run(new Bench.Options(model).device(Device.CPU).threads(threads)
        .inputShape(null, shape).iterations(iterations).flops(false), new java.io.PrintWriter(System.err, true));

    System.out.printf(Locale.ROOT, "model          %s at %s, %d timed runs, threads %s%n", model,
        fcn.ir.Shape.format(shape), iterations, threads == 0 ? "ORT default" : threads);
    System.out.printf(Locale.ROOT, "ORT native     median %.3f ms (profiler model_run)%n", nativeStats.medianMs());
    System.out.printf(Locale.ROOT, "Java loop      median %.3f ms (same runs, nanoTime around run + close)%n",
        javaStats.medianMs());
    System.out.printf(Locale.ROOT, "paired ratio   median %.4f (Java / native per run), i.e. %+.2f%%%n", medianRatio,
        100 * (medianRatio - 1));
    System.out.printf(Locale.ROOT, "fcn bench      median %.3f ms (fresh session, no profiler; CV %.1f%%)%n",
        bench.stats().medianMs(), 100 * bench.stats().cv());
    boolean ok = medianRatio <= 1 + maxOverhead;
    System.out.printf(Locale.ROOT, "%s: Java timing path adds %.2f%% (limit %.0f%%)%n", ok ? "PASS" : "FAIL",
        100 * (medianRatio - 1), 100 * maxOverhead);
    System.exit(ok ? 0 : 1);
  }
}
