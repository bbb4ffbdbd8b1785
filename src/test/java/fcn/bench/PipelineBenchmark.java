package fcn.bench;

import fcn.runtime.Device;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Benchmark command (not a test): {@code fcn bench --dataset} on CamVid's 233 test images, pure
 * inference time against end-to-end wall time (decode, preprocess, run, argmax, score).
 *
 * <p>Usage: {@code tools/bench.sh pipeline [MODEL.onnx] [--dataset LIST] [--ignore-label N]
 * [--threads N] [--decode-threads N] [--max-ratio 1.10]}; without MODEL a synthetic FCN-shaped
 * 11-class net (about 1 GFLOP per 480x360 image). Exit 1 when end-to-end / inference exceeds
 * max-ratio.
 */
public final class PipelineBenchmark {
  public static void main(String[] args) throws Exception {
    Path model = null;
    Path dataset = Path.of("..", "shared", "data", "camvid", "test.txt");
    int ignore = 11;
    int threads = 0;
    int decodeThreads = 0;
    int width = 16;
    double maxRatio = 1.10;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--dataset" -> dataset = Path.of(args[++i]);
        case "--ignore-label" -> ignore = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--decode-threads" -> decodeThreads = Integer.parseInt(args[++i]);
        case "--width" -> width = Integer.parseInt(args[++i]);
        case "--max-ratio" -> maxRatio = Double.parseDouble(args[++i]);
        default -> model = Path.of(args[i]);
      }
    }
    if (!Files.exists(dataset)) {
      System.err.println(dataset + " not found (../shared missing?)");
      System.exit(2);
    }
    if (model == null) {
      model = SyntheticFcn.write(Files.createTempDirectory("fcn-pipeline").resolve("synthetic-fcn.onnx"), 11,
          width, 1);
    }
    Bench.Result r = Bench.run(new Bench.Options(model).device(Device.CPU).threads(threads).dataset(dataset)
        .ignoreLabel(ignore).decodeThreads(decodeThreads).progress(System.console() != null),
        new PrintWriter(System.err, true));
    System.out.print(Bench.summary(r));
    Bench.DatasetResult d = r.dataset();
    boolean ok = d.overhead() <= maxRatio;
    System.out.printf(Locale.ROOT, "%s: end-to-end %.1f ms / inference %.1f ms = %.3f (limit %.2f), %d images%n",
        ok ? "PASS" : "FAIL", d.wallMs(), d.inferenceMs(), d.overhead(), maxRatio, d.images());
    System.exit(ok ? 0 : 1);
  }
}
