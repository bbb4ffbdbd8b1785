import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import fcn.reference.caffe.CaffeBackend;
import fcn.reference.caffe.CaffeNet;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.runtime.SessionCache;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * One measurement of tools/bench-load.sh per JVM, printed as key=value lines (seconds):
 *
 *   BenchLoad caffe DEPLOY.prototxt WEIGHTS.caffemodel  Caffe's native init, then its load of the caffemodel
 *   BenchLoad ort MODEL.onnx [NO_OPT|BASIC_OPT|...]     plain ORT Java: OrtEnvironment + createSession, ORT's defaults
 *                                                       (or only createSession at that optimisation level)
 *   BenchLoad fcn MODEL.onnx CACHE_DIR|off              fcn's Session.open (gate + session, through the cache or not),
 *                                                       then the first run at 1x3x224x224
 *   BenchLoad start-ort | start-fcn                     JVM start to a ready OrtEnvironment: ORT extracting its
 *                                                       natives itself, or fcn's extracted-once folder (OrtNatives)
 *
 * Times only; the speed targets live in the script's summary and reports/, never in tests.
 */
public class BenchLoad {
  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "caffe" -> {
        long t = System.nanoTime();
        CaffeBackend.require(); // JavaCPP loads Caffe's natives here
        System.out.printf("caffe_init_s=%.3f%n", secs(t));
        t = System.nanoTime();
        try (CaffeNet net = CaffeNet.open(Path.of(a[1]), Path.of(a[2]))) {
          System.out.printf("caffe_load_s=%.3f%n", secs(t));
        }
      }
      case "ort" -> {
        long t = System.nanoTime();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        System.out.printf("ort_env_s=%.3f%n", secs(t));
        t = System.nanoTime();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
          if (a.length > 2) { // e.g. NO_OPT: what parsing and copying the weights cost alone
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.valueOf(a[2]));
            t = System.nanoTime();
            env.createSession(a[1], so).close();
            System.out.printf("ort_create_%s_s=%.3f%n", a[2].toLowerCase(java.util.Locale.ROOT), secs(t));
            return;
          }
          t = System.nanoTime();
          OrtSession s = env.createSession(a[1], so);
          System.out.printf("ort_create_s=%.3f%n", secs(t));
          firstRun(() -> {
            float[] x = input();
            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 3, 224, 224});
                OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), in))) {
              return r.size();
            }
          }, "ort");
          s.close();
        }
      }
      case "fcn" -> {
        SessionCache cache = a[2].equals("off") ? null : new SessionCache(Path.of(a[2]), SessionCache.MIN_BYTES);
        long t = System.nanoTime();
        Session.ortVersion(); // natives and environment, as every command starts
        System.out.printf("fcn_env_s=%.3f%n", secs(t));
        t = System.nanoTime();
        try (Session s = Session.open(Path.of(a[1]), Device.CPU, 0, OptLevel.ALL, cache)) {
          System.out.printf("fcn_open_s=%.3f fcn_load_s=%.3f cache=%s%n", secs(t), s.loadMillis() / 1e3, s.cacheStatus());
          firstRun(() -> s.run(Map.of(s.inputNames().get(0), new FloatTensor(input(), 1, 3, 224, 224))).size(), "fcn");
        }
      }
      case "start-ort" -> {
        OrtEnvironment.getEnvironment();
        System.out.printf("start_ort_s=%.3f%n", ManagementFactory.getRuntimeMXBean().getUptime() / 1e3);
      }
      case "start-fcn" -> {
        Session.ortVersion();
        System.out.printf("start_fcn_s=%.3f%n", ManagementFactory.getRuntimeMXBean().getUptime() / 1e3);
      }
      default -> throw new IllegalArgumentException("unknown mode " + a[0]);
    }
  }

  private interface Run {
    int run() throws Exception;
  }

  private static void firstRun(Run r, String prefix) throws Exception {
    long t = System.nanoTime();
    r.run();
    System.out.printf("%s_first_run_s=%.3f%n", prefix, secs(t));
  }

  private static float[] input() {
    float[] x = new float[3 * 224 * 224];
    java.util.Random rnd = new java.util.Random(1);
    for (int i = 0; i < x.length; i++) {
      x[i] = rnd.nextFloat() * 255 - 128;
    }
    return x;
  }

  private static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
