import fcn.reference.caffe.Blob;
import fcn.reference.caffe.CaffeNet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

/**
 * Real Caffe's side of the full-size voc-fcn8s benchmark (tools/bench-voc-fcn8s.sh):
 * makes the ~540 MB caffemodel with seeded random weights (once), then times Caffe's own load of
 * it and its CPU forward at 1x3x500x500. Speed targets live here, never in tests.
 *
 *   tools/caffe-java.sh tools/BenchVocFcn8s.java DEPLOY.prototxt OUT.caffemodel [RUNS]
 */
public class BenchVocFcn8s {
  public static void main(String[] args) throws Exception {
    Path prototxt = Path.of(args[0]);
    Path model = Path.of(args[1]);
    int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    if (!Files.exists(model)) {
      long t = System.nanoTime();
      try (CaffeNet net = CaffeNet.open(prototxt, null, 8)) {
        net.save(model);
      }
      System.out.printf("caffe_make_weights_s=%.2f bytes=%d%n", (System.nanoTime() - t) / 1e9, Files.size(model));
    }
    long t0 = System.nanoTime();
    try (CaffeNet net = CaffeNet.open(prototxt, model)) {
      double loadS = (System.nanoTime() - t0) / 1e9;
      System.out.printf("caffe_load_s=%.2f%n", loadS);
      net.reshape(Map.of("data", new long[] {1, 3, 500, 500}));
      float[] in = new float[3 * 500 * 500];
      Random rnd = new Random(1);
      for (int i = 0; i < in.length; i++) {
        in[i] = rnd.nextFloat() * 255 - 128;
      }
      net.forward(Map.of("data", in)); // warm-up
      double[] ms = new double[runs];
      for (int i = 0; i < runs; i++) {
        long s = System.nanoTime();
        Map<String, Blob> out = net.forward(Map.of("data", in));
        ms[i] = (System.nanoTime() - s) / 1e6;
        if (i == 0) {
          System.out.println("caffe_output_shape=" + Arrays.toString(out.get("score").shape()));
        }
      }
      Arrays.sort(ms);
      System.out.printf("caffe_forward_ms_median=%.1f runs=%d all=%s%n", ms[runs / 2], runs, Arrays.toString(ms));
    }
  }
}
