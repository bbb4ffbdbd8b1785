/*
 * Trains the embedded default model of `fcn bench` (fixtures/default): one net of the voc-fcn
 * family (--arch fcn8s, or fcn32s/fcn16s for the comparison the FCN paper makes), widths divided,
 * trained "at once" from scratch on fcn.data.SyntheticShapes with BVLC Caffe's own Adam solver
 * through JavaCPP (fcn.reference.caffe.CaffeSolver). Evaluates on the val split every
 * --eval-every iterations (score.py's mean IU) and writes WORK/ARCH/deploy.prototxt and
 * weights.caffemodel. The defaults below are the recorded recipe; tools/make-default.sh runs it
 * (through tools/train-default.sh) and assembles fixtures/default.
 */
import fcn.core.FcnException;
import fcn.data.Dataset;
import fcn.data.Images;
import fcn.data.Preprocess;
import fcn.data.Sample;
import fcn.data.SyntheticShapes;
import fcn.metrics.ConfusionAccumulator;
import fcn.metrics.Scores;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.SolverParameter;
import fcn.reference.caffe.CaffeNet;
import fcn.reference.caffe.CaffeSolver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

public class TrainDefault {
  // ---- the recipe (tools/make-default.sh passes these same values explicitly) ----
  static String arch = "fcn8s";     // fcn32s | fcn16s | fcn8s
  static long seed = 1;             // solver RNG and fillers, batch order, flips
  static int divisor = 8;           // widths: conv1 8, conv2 16, conv3 32, conv4/5 64, fc6/7 512
  static int minWidth = 4;
  static int batch = 4;
  static int iters = 4000;
  static float lr = 1e-3f;          // Adam base_lr
  static int stepsize = 3000;       // lr x0.1 every stepsize iterations (Caffe "step"); 0 = fixed
  static float dropout = 0f;        // fc6/fc7 dropout while training; 0 removes the layers
  static int size = 128;            // square images of this side
  static int[] objects = {2, 6};    // min, max objects per image
  static int distractors = 3;       // max distractor blobs per image
  static int trainCount = 3000;     // training images: SyntheticShapes seed 2 (disjoint from val)
  static int valCount = 200;        // val images: SyntheticShapes seed 1
  static int evalEvery = 500;
  static Path work = Path.of("target", "train-default");
  static Path resume;               // start from these weights (same topology) instead of the fillers
  static boolean probe;             // time 20 iterations and stop

  static final int CLASSES = SyntheticShapes.CLASSES.size();

  record Data(List<float[]> images, List<float[]> labels, List<int[]> intLabels, int w, int h) {}

  public static void main(String[] args) throws Exception {
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--arch" -> arch = args[++i];
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--divisor" -> divisor = Integer.parseInt(args[++i]);
        case "--min-width" -> minWidth = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--iters" -> iters = Integer.parseInt(args[++i]);
        case "--lr" -> lr = Float.parseFloat(args[++i]);
        case "--stepsize" -> stepsize = Integer.parseInt(args[++i]);
        case "--dropout" -> dropout = Float.parseFloat(args[++i]);
        case "--size" -> size = Integer.parseInt(args[++i]);
        case "--objects" -> objects = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--distractors" -> distractors = Integer.parseInt(args[++i]);
        case "--train-count" -> trainCount = Integer.parseInt(args[++i]);
        case "--val-count" -> valCount = Integer.parseInt(args[++i]);
        case "--eval-every" -> evalEvery = Integer.parseInt(args[++i]);
        case "--work" -> work = Path.of(args[++i]);
        case "--resume" -> resume = Path.of(args[++i]);
        case "--probe" -> probe = true;
        default -> throw new FcnException("unknown argument " + args[i]);
      }
    }
    SyntheticShapes.Config valConfig = SyntheticShapes.Config.defaults().withCounts(0, valCount)
        .withSize(size, size).withObjects(objects[0], objects[1]).withDistractors(distractors);
    SyntheticShapes.Config trainConfig = valConfig.withSeed(2).withCounts(trainCount, 0);
    Data val = load(dataset(valConfig), "val");
    Data train = load(dataset(trainConfig), "train");
    log("data: %d train (seed 2), %d val (seed %d) images %dx%d", train.images().size(), val.images().size(),
        valConfig.seed(), val.w(), val.h());

    Fcn fcn = switch (arch) {
      case "fcn32s" -> Fcn.FCN32S;
      case "fcn16s" -> Fcn.FCN16S;
      case "fcn8s" -> Fcn.FCN8S;
      default -> throw new FcnException("--arch " + arch + ": expected fcn32s, fcn16s or fcn8s");
    };
    NetBuilder b = new NetBuilder().widthDivisor(divisor).minWidth(minWidth).classes(CLASSES);
    NetParameter trainNet = withFillers(b.input(batch, val.h(), val.w()).fcn(fcn, Mode.TRAIN));
    NetParameter deploy = b.input(1, val.h(), val.w()).fcn(fcn, Mode.DEPLOY);
    Path dir = work.resolve(arch + (resume != null ? "-resumed" : ""));
    Files.createDirectories(dir);
    SplittableRandom rng = new SplittableRandom(seed);
    try (CaffeSolver solver = CaffeSolver.open(trainNet, adam(lr), seed, arch + " train");
        CaffeNet eval = CaffeNet.open(deploy, null, seed, arch + " deploy")) {
      bilinear(solver, trainNet);
      if (resume != null) {
        // A later stage: start from an earlier stage's weights (same topology).
        try (CaffeNet from = CaffeNet.open(deploy, resume, seed, arch + " from " + resume)) {
          log("%s: initialised %d layers from %s", arch, solver.copyWeightsFrom(from).size(), resume);
        }
      }
      double miu = train(solver, eval, train, val, rng);
      if (probe) {
        return;
      }
      solver.copyWeightsTo(eval);
      Prototxt.write(deploy, dir.resolve("deploy.prototxt"));
      eval.save(dir.resolve("weights.caffemodel"));
      log("RESULT val mean IU: %s %.2f%% after %d iterations", arch, 100 * miu, iters);
    }
  }

  static SolverParameter adam(float baseLr) {
    SolverParameter.Builder p = SolverParameter.newBuilder().setType("Adam").setBaseLr(baseLr)
        .setMomentum(0.9f).setMomentum2(0.999f).setWeightDecay(5e-4f);
    if (stepsize > 0) {
      p.setLrPolicy("step").setStepsize(stepsize).setGamma(0.1f);
    } else {
      p.setLrPolicy("fixed");
    }
    return p.build();
  }

  /** He (msra) fillers on the backbone; class scoring layers start at zero (FCN paper). */
  static NetParameter withFillers(NetParameter net) {
    NetParameter.Builder b = net.toBuilder();
    if (dropout == 0) {
      b.clearLayer();
      net.getLayerList().stream().filter(l -> !l.getType().equals("Dropout")).forEach(b::addLayer);
    }
    for (int i = 0; i < b.getLayerCount(); i++) {
      LayerParameter l = b.getLayer(i);
      if (l.getType().equals("Dropout")) {
        b.setLayer(i, l.toBuilder().setDropoutParam(l.getDropoutParam().toBuilder().setDropoutRatio(dropout)));
      }
      if (l.getType().equals("Convolution") && !l.getName().startsWith("score")) {
        ConvolutionParameter.Builder c = l.getConvolutionParam().toBuilder()
            .setWeightFiller(FillerParameter.newBuilder().setType("msra"))
            .setBiasFiller(FillerParameter.newBuilder().setType("constant").setValue(0));
        b.setLayer(i, l.toBuilder().setConvolutionParam(c));
      }
    }
    return b.build();
  }

  /** FCN's surgery.interp: each class channel upsampled by a bilinear kernel, no mixing. */
  static void bilinear(CaffeSolver solver, NetParameter net) {
    for (LayerParameter l : net.getLayerList()) {
      if (!l.getType().equals("Deconvolution")) {
        continue;
      }
      int n = l.getConvolutionParam().getNumOutput();
      int k = l.getConvolutionParam().getKernelSize(0);
      int factor = (k + 1) / 2;
      double center = k % 2 == 1 ? factor - 1 : factor - 0.5;
      float[] w = new float[n * n * k * k];
      for (int c = 0; c < n; c++) {
        for (int y = 0; y < k; y++) {
          for (int x = 0; x < k; x++) {
            w[((c * n + c) * k + y) * k + x] =
                (float) ((1 - Math.abs(y - center) / factor) * (1 - Math.abs(x - center) / factor));
          }
        }
      }
      solver.setParam(l.getName(), 0, w);
    }
  }

  /** Runs {@link #iters} solver steps; returns the val mean IU of the final weights. */
  static double train(CaffeSolver solver, CaffeNet eval, Data train, Data val, SplittableRandom rng) {
    int w = train.w();
    int h = train.h();
    float[] data = new float[batch * 3 * w * h];
    float[] label = new float[batch * w * h];
    long t0 = System.nanoTime();
    double loss = 0;
    double miu = 0;
    int n = train.images().size();
    for (int it = 1; it <= iters; it++) {
      for (int s = 0; s < batch; s++) {
        int idx = rng.nextInt(n);
        boolean flip = rng.nextBoolean();
        copy(train.images().get(idx), data, s * 3 * w * h, 3, w, h, flip);
        copy(train.labels().get(idx), label, s * w * h, 1, w, h, flip);
      }
      loss += solver.step(Map.of("data", data, "label", label));
      if (it % 50 == 0) {
        double sec = (System.nanoTime() - t0) / 1e9;
        log("%s iter %d loss %.1f (%.2f s/iter)", arch, it, loss / 50, sec / it);
        loss = 0;
      }
      if (probe && it == 20) {
        log("%s probe: %.3f s/iter (batch %d, divisor %d)", arch, (System.nanoTime() - t0) / 1e9 / it, batch, divisor);
        return 0;
      }
      if (it % evalEvery == 0 || it == iters) {
        solver.copyWeightsTo(eval);
        miu = evaluate(eval, val);
        log("%s iter %d val mean IU %.2f%%", arch, it, 100 * miu);
      }
    }
    return miu;
  }

  /** Copies one CHW sample into batch slot {@code off}, optionally mirrored left-right. */
  static void copy(float[] src, float[] dst, int off, int c, int w, int h, boolean flip) {
    for (int ch = 0; ch < c; ch++) {
      for (int y = 0; y < h; y++) {
        int row = (ch * h + y) * w;
        for (int x = 0; x < w; x++) {
          dst[off + row + x] = src[row + (flip ? w - 1 - x : x)];
        }
      }
    }
  }

  static double evaluate(CaffeNet net, Data val) {
    ConfusionAccumulator acc = new ConfusionAccumulator(CLASSES);
    int plane = val.w() * val.h();
    for (int i = 0; i < val.images().size(); i++) {
      float[] score = net.forward(Map.of("data", val.images().get(i))).get("score").data();
      int[] pred = new int[plane];
      for (int p = 0; p < plane; p++) {
        int arg = 0;
        float max = score[p];
        for (int k = 1; k < CLASSES; k++) {
          if (score[k * plane + p] > max) {
            max = score[k * plane + p];
            arg = k;
          }
        }
        pred[p] = arg;
      }
      acc.add(val.intLabels().get(i), pred);
    }
    Scores s = acc.scores(SyntheticShapes.CLASSES);
    StringBuilder sb = new StringBuilder();
    for (int k = 0; k < CLASSES; k++) {
      sb.append(String.format(Locale.ROOT, " %s %.0f", SyntheticShapes.CLASSES.get(k), 100 * s.classIu()[k]));
    }
    log("  pixel acc %.1f%%, class IU:%s", 100 * s.pixelAccuracy(), sb);
    return s.meanIu();
  }

  static Path dataset(SyntheticShapes.Config c) {
    // Named by the whole config, so a cached dataset is only reused for the same recipe.
    String name = String.format(Locale.ROOT, "seed%d-%dx%d-t%d-v%d-o%d-%d-d%d-%08x", c.seed(), c.width(), c.height(),
        c.train(), c.val(), c.minObjects(), c.maxObjects(), c.maxDistractors(), c.toString().hashCode());
    Path root = work.resolve("data").resolve(name);
    if (!Files.isDirectory(root.resolve("ImageSets"))) {
      log("generating %s: %s", root, c);
      SyntheticShapes.generate(root, c);
    }
    return root;
  }

  static Data load(Path root, String split) {
    Dataset ds = Dataset.open(root, split, 255);
    Preprocess pre = Preprocess.caffe();
    List<float[]> images = new ArrayList<>();
    List<float[]> labels = new ArrayList<>();
    List<int[]> ints = new ArrayList<>();
    int w = 0;
    int h = 0;
    for (Sample s : ds.samples()) {
      var img = Images.readRgb(s.image());
      w = img.width();
      h = img.height();
      images.add(pre.toChw(img));
      int[] l = Images.readLabel(s.label()).values();
      float[] f = new float[l.length];
      for (int i = 0; i < l.length; i++) {
        f[i] = l[i];
      }
      labels.add(f);
      ints.add(l);
    }
    return new Data(images, labels, ints, w, h);
  }

  static void log(String fmt, Object... args) {
    System.out.println(String.format(Locale.ROOT, fmt, args));
    System.out.flush();
  }
}
