/*
 * Trains the embedded default model of `fcn bench`: a small FCN-8s (voc-fcn8s topology, widths
 * divided) on fcn.data.SyntheticShapes, with Caffe's own Adam solver through JavaCPP, staged as
 * in the FCN paper: FCN-32s from scratch, then FCN-8s initialised from it. Writes the FCN-8s
 * deploy.prototxt + weights.caffemodel (and the FCN-32s for comparison) with a MANIFEST.md of
 * the recipe and the val mean IU of both. Run through tools/train-default.sh; the recipe and
 * seed are recorded in fixtures/README.md.
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

public class TrainDefault {
  // ---- recipe (every number here is recorded in the manifest) ----
  static long seed = 1;             // solver RNG, fillers, batch order, flips
  static int divisor = 8;           // widths: conv1 8, conv2 16, conv3 32, conv4/5 64, fc6/7 512
  static int minWidth = 4;
  static int batch = 8;
  static int iters32 = 1500;        // FCN-32s from scratch
  static int iters8 = 1500;         // FCN-8s from FCN-32s
  static float lr = 1e-3f;
  static float lr8 = 1e-4f;         // FCN-paper style: lower rate for the finer stage
  static int trainCount = 1000;     // training images: SyntheticShapes seed 2 (disjoint from val)
  static int evalEvery = 250;
  static Path out = Path.of("fixtures", "default");
  static Path work = Path.of("target", "train-default");
  static boolean probe;
  static boolean diag;
  static int stepsize = 0;          // >0: lr x0.1 every stepsize iterations (Caffe "step" policy)
  static int distractors = -1;      // -1: SyntheticShapes defaults              // also score val tiled into training-size mosaics
  static float inputScale = 1f;     // train on x * s, then fold s into conv1_1 (same function, tamer activations)
  static int mosaic = 1;
  static String init = "msra";
  static int[] widths;              // conv1..conv5, fc6/fc7; null = published / divisor
  static float dropout = 0.5f;      // train-time only (deploy nets have no dropout); 0 removes it      // msra: He-normal everywhere; delta: 3x3/1x1 convs start near identity            // training inputs tile M x M images: pad 100 then costs less per image

  static final int CLASSES = SyntheticShapes.CLASSES.size();

  record Data(List<float[]> images, List<float[]> labels, List<int[]> intLabels, int w, int h) {}

  public static void main(String[] args) throws Exception {
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--divisor" -> divisor = Integer.parseInt(args[++i]);
        case "--min-width" -> minWidth = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--iters32" -> iters32 = Integer.parseInt(args[++i]);
        case "--iters8" -> iters8 = Integer.parseInt(args[++i]);
        case "--lr" -> lr = Float.parseFloat(args[++i]);
        case "--lr8" -> lr8 = Float.parseFloat(args[++i]);
        case "--train-count" -> trainCount = Integer.parseInt(args[++i]);
        case "--eval-every" -> evalEvery = Integer.parseInt(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        case "--work" -> work = Path.of(args[++i]);
        case "--probe" -> probe = true;
        case "--diag" -> diag = true;
        case "--stepsize" -> stepsize = Integer.parseInt(args[++i]);
        case "--distractors" -> distractors = Integer.parseInt(args[++i]);
        case "--mosaic" -> mosaic = Integer.parseInt(args[++i]);
        case "--init" -> init = args[++i];
        case "--widths" -> widths = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--dropout" -> dropout = Float.parseFloat(args[++i]);
        case "--input-scale" -> inputScale = Float.parseFloat(args[++i]);
        default -> throw new FcnException("unknown argument " + args[i]);
      }
    }
    SyntheticShapes.Config valConfig = SyntheticShapes.Config.defaults();
    String tag = "";
    if (distractors >= 0) {
      valConfig = valConfig.withDistractors(distractors);
      tag = "-d" + distractors;
    }
    SyntheticShapes.Config trainConfig = valConfig.withSeed(2).withCounts(trainCount, 0);
    Data val = load(dataset(valConfig, "val-seed" + valConfig.seed() + tag), "val");
    Data train = load(dataset(trainConfig, "train-seed2-" + trainCount + tag), "train");
    log("data: %d train (seed 2), %d val (seed %d) images %dx%d", train.images().size(), val.images().size(),
        valConfig.seed(), val.w(), val.h());

    NetBuilder b = new NetBuilder().widthDivisor(divisor).minWidth(minWidth).classes(CLASSES);
    if (widths != null) {
      b = b.widths(widths[0], widths[1], widths[2], widths[3], widths[4], widths[5]);
    }
    int w = val.w();
    int h = val.h();
    SplittableRandom rng = new SplittableRandom(seed);
    Files.createDirectories(work);

    if (iters32 == 0) {
      // FCN-8s "at once" from scratch (voc-fcn8s-atonce style), for comparison runs.
      NetParameter train8 = withFillers(b.input(batch, h * mosaic, w * mosaic).fcn(Fcn.FCN8S, Mode.TRAIN));
      NetParameter deploy8 = b.input(1, h, w).fcn(Fcn.FCN8S, Mode.DEPLOY);
      try (CaffeSolver solver = CaffeSolver.open(train8, adam(lr), seed, "fcn8s train");
          CaffeNet eval = CaffeNet.open(deploy8, null, seed, "fcn8s deploy")) {
        bilinear(solver, train8);
        if (init.equals("delta")) {
          delta(solver, train8, rng);
        }
        double miu8 = train(solver, eval, train, val, iters8, rng, "fcn8s-atonce");
        log("RESULT val mean IU: FCN-8s at once %.2f%%", 100 * miu8);
      }
      return;
    }
    // Stage 1: FCN-32s from scratch.
    NetParameter train32 = withFillers(b.input(batch, h * mosaic, w * mosaic).fcn(Fcn.FCN32S, Mode.TRAIN));
    NetParameter deploy32 = b.input(1, h, w).fcn(Fcn.FCN32S, Mode.DEPLOY);
    double miu32;
    Path model32 = work.resolve("fcn32s.caffemodel");
    try (CaffeSolver solver = CaffeSolver.open(train32, adam(lr), seed, "fcn32s train");
        CaffeNet eval = CaffeNet.open(deploy32, null, seed, "fcn32s deploy")) {
      bilinear(solver, train32);
      miu32 = train(solver, eval, train, val, iters32, rng, "fcn32s");
      solver.copyWeightsTo(eval);
      eval.save(model32);
    }
    if (probe) {
      return;
    }
    // Stage 2: FCN-8s from FCN-32s (score_pool4/score_pool3 start at zero, as in the paper).
    NetParameter train8 = withFillers(b.input(batch, h * mosaic, w * mosaic).fcn(Fcn.FCN8S, Mode.TRAIN));
    NetParameter deploy8 = b.input(1, h, w).fcn(Fcn.FCN8S, Mode.DEPLOY);
    double miu8;
    try (CaffeSolver solver = CaffeSolver.open(train8, adam(lr8), seed, "fcn8s train");
        CaffeNet eval = CaffeNet.open(deploy8, null, seed, "fcn8s deploy");
        CaffeNet from = CaffeNet.open(deploy32, model32, seed, "fcn32s")) {
      List<String> copied = solver.copyWeightsFrom(from);
      log("fcn8s: initialised %d layers from fcn32s", copied.size());
      zero(solver, "score_pool4");
      zero(solver, "score_pool3");
      bilinear(solver, train8);
      miu8 = train(solver, eval, train, val, iters8, rng, "fcn8s");
      solver.copyWeightsTo(eval);
      eval.save(work.resolve("fcn8s.caffemodel"));
    }
    log("RESULT val mean IU: FCN-32s %.2f%%, FCN-8s %.2f%%", 100 * miu32, 100 * miu8);
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

  /**
   * Near-identity ("delta") init for the backbone convolutions after conv1_1: the centre tap
   * passes channel (o mod c_in) through, plus He noise scaled by 0.1. A deep plain ReLU net then
   * starts out behaving like a shallow one, and trains far faster from scratch.
   */
  static void delta(CaffeSolver solver, NetParameter net, SplittableRandom rng) {
    for (LayerParameter l : net.getLayerList()) {
      String name = l.getName();
      if (!l.getType().equals("Convolution") || name.startsWith("score") || name.equals("conv1_1")
          || name.equals("fc6")) {
        continue;
      }
      var w = solver.params(name).get(0);
      long[] sh = w.shape();
      int co = (int) sh[0];
      int ci = (int) sh[1];
      int kh = (int) sh[2];
      int kw = (int) sh[3];
      float[] v = new float[w.count()];
      double std = 0.1 * Math.sqrt(2.0 / (ci * kh * kw));
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (std * gaussian(rng));
      }
      for (int o = 0; o < co; o++) {
        v[((o * ci + (o % ci)) * kh + kh / 2) * kw + kw / 2] += 1f;
      }
      solver.setParam(name, 0, v);
    }
  }

  static double gaussian(SplittableRandom rng) {
    double u1 = rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  static void zero(CaffeSolver solver, String layer) {
    var params = solver.params(layer);
    for (int j = 0; j < params.size(); j++) {
      solver.setParam(layer, j, new float[params.get(j).count()]);
    }
  }

  static double train(CaffeSolver solver, CaffeNet eval, Data train, Data val, int iters, SplittableRandom rng,
      String name) {
    int tw = train.w();
    int th = train.h();
    int mw = tw * mosaic;
    int mh = th * mosaic;
    float[] data = new float[batch * 3 * mw * mh];
    float[] label = new float[batch * mw * mh];
    long t0 = System.nanoTime();
    double loss = 0;
    double best = 0;
    int n = train.images().size();
    for (int it = 1; it <= iters; it++) {
      for (int s = 0; s < batch; s++) {
        for (int ty = 0; ty < mosaic; ty++) {
          for (int tx = 0; tx < mosaic; tx++) {
            int idx = rng.nextInt(n);
            boolean flip = rng.nextBoolean();
            tile(train.images().get(idx), data, s * 3 * mw * mh, 3, tw, th, tx * tw, ty * th, mw, mh, flip);
            tile(train.labels().get(idx), label, s * mw * mh, 1, tw, th, tx * tw, ty * th, mw, mh, flip);
          }
        }
      }
      loss += solver.step(Map.of("data", data, "label", label));
      if (it % 50 == 0) {
        double sec = (System.nanoTime() - t0) / 1e9;
        log("%s iter %d loss %.1f (%.2f s/iter)", name, it, loss / 50, sec / it);
        loss = 0;
      }
      if (probe && it == 20) {
        double sec = (System.nanoTime() - t0) / 1e9;
        log("%s probe: %.3f s/iter (batch %d, mosaic %d, divisor %d)", name, sec / it, batch, mosaic, divisor);
        return 0;
      }
      if (it % evalEvery == 0 || it == iters) {
        solver.copyWeightsTo(eval);
        best = evaluate(eval, val);
        log("%s iter %d val mean IU %.2f%%", name, it, 100 * best);
        if (diag && mosaic > 1) {
          log("%s iter %d val mean IU in %dx%d mosaics %.2f%%", name, it, mosaic, mosaic, 100 * evaluateMosaic(eval, val));
        }
      }
    }
    return best;
  }

  /** Copies one CHW sample (w x h) into a (mw x mh) batch slot at (x0, y0), optionally mirrored. */
  static void tile(float[] src, float[] dst, int off, int c, int w, int h, int x0, int y0, int mw, int mh,
      boolean flip) {
    for (int ch = 0; ch < c; ch++) {
      for (int y = 0; y < h; y++) {
        int srow = (ch * h + y) * w;
        int drow = off + (ch * mh + y0 + y) * mw + x0;
        for (int x = 0; x < w; x++) {
          dst[drow + x] = src[srow + (flip ? w - 1 - x : x)];
        }
      }
    }
  }

  /** Diagnostic: val images tiled like the training inputs (context from neighbours, not padding). */
  static double evaluateMosaic(CaffeNet net, Data val) {
    int w = val.w();
    int h = val.h();
    int mw = w * mosaic;
    int mh = h * mosaic;
    long[] shape0 = net.inputShapes().get("data");
    net.reshape(Map.of("data", new long[] {1, 3, mh, mw}));
    ConfusionAccumulator acc = new ConfusionAccumulator(CLASSES);
    int per = mosaic * mosaic;
    for (int first = 0; first + per <= val.images().size(); first += per) {
      float[] data = new float[3 * mw * mh];
      float[] label = new float[mw * mh];
      for (int t = 0; t < per; t++) {
        tile(val.images().get(first + t), data, 0, 3, w, h, (t % mosaic) * w, (t / mosaic) * h, mw, mh, false);
        tile(val.labels().get(first + t), label, 0, 1, w, h, (t % mosaic) * w, (t / mosaic) * h, mw, mh, false);
      }
      float[] score = net.forward(Map.of("data", data)).get("score").data();
      int plane = mw * mh;
      int[] pred = new int[plane];
      int[] lab = new int[plane];
      for (int p = 0; p < plane; p++) {
        int arg = 0;
        for (int k = 1; k < CLASSES; k++) {
          if (score[k * plane + p] > score[arg * plane + p]) {
            arg = k;
          }
        }
        pred[p] = arg;
        lab[p] = (int) label[p];
      }
      acc.add(lab, pred);
    }
    net.reshape(Map.of("data", shape0));
    return acc.scores(SyntheticShapes.CLASSES).meanIu();
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

  static Path dataset(SyntheticShapes.Config c, String name) {
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
      float[] chw = pre.toChw(img);
      for (int i = 0; i < chw.length; i++) {
        chw[i] *= inputScale;
      }
      images.add(chw);
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
