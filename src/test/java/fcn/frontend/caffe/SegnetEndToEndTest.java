package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.TextFormat;
import fcn.ir.Graph;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.PoolingParameter;
import fcn.proto.CaffeProto.UpsampleParameter;
import fcn.runtime.FloatTensor;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import fcn.validate.NpyIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The published SegNet prototxts (../shared/caffe/segnet) end to end at reduced width (every
 * convolution but the classifier at 1/8 of its channels; topology and every other parameter
 * unchanged), at the prototxt's own input size, with a seeded caffemodel written with fcn's
 * protos, against tools/segnet_reference.py (numpy, the fork's semantics). Checked with their
 * BN layers (bn_mode INFERENCE, as published) and without them (all in place, so the rest of
 * the net is unchanged), which separates a pooling/unpooling fault from a BN one.
 */
class SegnetEndToEndTest {
  @TempDir Path tmp;

  private static final List<String> NETS =
      List.of("segnet_basic_inference", "segnet_inference", "segnet_pascal");

  @Test
  void segnetWithoutBnMatchesTheReference() throws Exception {
    for (String name : NETS) {
      check(name, false);
    }
  }

  @Test
  void segnetWithBnMatchesTheReference() throws Exception {
    for (String name : NETS) {
      check(name, true);
    }
  }

  private void check(String name, boolean keepBn) throws Exception {
    Path src = CaffeSharedNetsImportTest.SHARED.resolve("caffe/segnet/" + name + ".prototxt");
    assumeTrue(Files.isRegularFile(src), "../shared/caffe/segnet not found: skipping");
    String text = Files.readString(src);
    NetParameter full = PrototxtReader.read(src).net();
    long bnCount = full.getLayerList().stream().filter(l -> l.getType().equals("BN")).count();
    // Every published SegNet BN is bn_mode: INFERENCE (y = scale * x + shift).
    assertEquals(bnCount, text.split("bn_mode: INFERENCE", -1).length - 1, name);
    Path dir = tmp.resolve(name + (keepBn ? "_bn" : ""));
    Files.createDirectories(dir);

    NetParameter net;
    Path proto = dir.resolve("net.prototxt");
    if (keepBn) {
      // The text itself, widths divided: bn_param (bn_mode) must reach the importer as written.
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("num_output: (\\d+)")
          .matcher(text);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        int o = Integer.parseInt(m.group(1));
        m.appendReplacement(sb, "num_output: " + (o > 21 ? o / 8 : o));
      }
      m.appendTail(sb);
      Files.writeString(proto, sb.toString());
      net = PrototxtReader.read(proto).net();
    } else {
      // BN layers are all in place (top = bottom): without them the rest of the net is as is.
      NetParameter.Builder reduced = full.toBuilder().clearLayer();
      for (LayerParameter l : full.getLayerList()) {
        if (l.getType().equals("BN")) {
          assertEquals(l.getBottom(0), l.getTop(0), name + ": BN '" + l.getName() + "' in place");
          continue;
        }
        LayerParameter.Builder b = l.toBuilder();
        if (l.getType().equals("Convolution") && l.getConvolutionParam().getNumOutput() > 21) {
          b.getConvolutionParamBuilder().setNumOutput(l.getConvolutionParam().getNumOutput() / 8);
        }
        reduced.addLayer(b);
      }
      net = reduced.build();
      Files.writeString(proto, TextFormat.printer().printToString(net));
    }
    long[] in = name.equals("segnet_pascal") ? new long[] {1, 3, 224, 224}
        : new long[] {1, 3, 360, 480};

    // Seeded weights, written as a caffemodel and as .npy files for the reference.
    SplittableRandom r = new SplittableRandom(name.hashCode());
    Map<String, Long> channels = new HashMap<>();
    channels.put("data", in[1]);
    NetParameter.Builder model = NetParameter.newBuilder().setName(net.getName());
    StringBuilder spec = new StringBuilder();
    List<String> outputs = new ArrayList<>();
    for (LayerParameter l : net.getLayerList()) {
      String t = l.getType();
      if (t.equals("DenseImageData") || t.equals("Input")) {
        continue;
      }
      long c = channels.getOrDefault(l.getBottom(0), -1L);
      List<String> files = new ArrayList<>();
      LayerParameter.Builder saved = LayerParameter.newBuilder().setName(l.getName()).setType(t);
      String extra = "";
      switch (t) {
        case "Convolution" -> {
          ConvolutionParameter p = l.getConvolutionParam();
          long o = p.getNumOutput();
          long k = p.getKernelSize(0);
          long pad = p.getPadCount() > 0 ? p.getPad(0) : 0;
          float std = (float) Math.sqrt(2.0 / (c * k * k));
          saved.addBlobs(blob(dir, l.getName() + ".w", r, std, 0, new long[] {o, c, k, k}, files));
          saved.addBlobs(blob(dir, l.getName() + ".b", r, 0.1f, 0, new long[] {o}, files));
          extra = String.format(Locale.ROOT, ", \"pad\": [%d, %d], \"stride\": [1, 1],"
              + " \"dilation\": [1, 1], \"group\": 1", pad, pad);
          c = o;
        }
        case "BN" -> {
          long[] cs = {1, c, 1, 1};
          saved.addBlobs(blob(dir, l.getName() + ".scale", r, 0.25f, 1f, cs, files));
          saved.addBlobs(blob(dir, l.getName() + ".shift", r, 0.2f, 0, cs, files));
        }
        case "Pooling" -> {
          PoolingParameter p = l.getPoolingParam();
          extra = String.format(Locale.ROOT, ", \"pool\": \"%s\", \"kernel\": [%d, %d],"
              + " \"stride\": [%d, %d], \"pad\": [%d, %d]", p.getPool(), p.getKernelSize(),
              p.getKernelSize(), p.getStride(), p.getStride(), p.getPad(), p.getPad());
          if (l.getTopCount() > 1) {
            outputs.add(l.getTop(1));
          }
        }
        case "Upsample" -> {
          UpsampleParameter p = ResizeLayers.param(l);
          extra = (p.hasUpsampleH() ? ", \"upsample_h\": " + p.getUpsampleH() : "")
              + (p.hasUpsampleW() ? ", \"upsample_w\": " + p.getUpsampleW() : "")
              + ", \"scale\": " + p.getScale()
              + (p.getPadOutH() ? ", \"pad_out_h\": true" : "")
              + (p.getPadOutW() ? ", \"pad_out_w\": true" : "");
        }
        case "LRN" -> extra = String.format(Locale.ROOT, ", \"local_size\": %d, \"alpha\": %s,"
            + " \"beta\": %s, \"k\": %s", l.getLrnParam().getLocalSize(),
            l.getLrnParam().getAlpha(), l.getLrnParam().getBeta(), l.getLrnParam().getK());
        default -> { }
      }
      if (saved.getBlobsCount() > 0) {
        model.addLayer(saved);
      }
      for (String top : l.getTopList()) {
        channels.put(top, c);
      }
      spec.append(spec.length() == 0 ? "" : ", ").append("{\"type\": \"").append(t)
          .append("\", \"bottom\": ").append(json(l.getBottomList())).append(", \"top\": ")
          .append(json(l.getTopList())).append(", \"blobs\": ").append(json(files))
          .append(extra).append('}');
    }
    outputs.add("prob");
    Path caffemodel = dir.resolve("net.caffemodel");
    Files.write(caffemodel, model.build().toByteArray());

    Graph g = CaffeImporter.importNet(proto, caffemodel, CaffeImportOptions.defaults()
        .withInputShape("data", in).withOutputs(outputs));
    compare(g, dir.resolve("at-import-size"), spec.toString(), outputs, in, name, keepBn);
    if (name.equals("segnet_basic_inference")) {
      // Its Upsamples are scale: 2 (one with pad_out_h), so any size whose pooled heights
      // come out odd where pad_out_h is: 152 x 176 here, with symbolic H and W.
      TestOnnx.makeSpatialDynamic(g);
      compare(g, dir.resolve("at-152x176"), spec.toString(), outputs,
          new long[] {1, 3, 152, 176}, name + " at 152x176 (symbolic H/W)", keepBn);
    }
  }

  private static void compare(Graph g, Path dir, String spec, List<String> outputs, long[] in,
      String name, boolean keepBn) throws Exception {
    Files.createDirectories(dir);
    for (Path f : Files.list(dir.getParent()).filter(f -> f.toString().endsWith(".npy"))
        .toList()) {
      Files.copy(f, dir.resolve(f.getFileName()));
    }
    Array x = Array.gaussian(name.hashCode(), 1f, in);
    Map<String, Array> ref = SegnetLayersTest.reference(dir, spec, Map.of("data", x), outputs);
    Map<String, Array> got = TestOnnx.run(g, Map.of("data", x));

    long flips = 0;
    for (String o : outputs) {
      if (!o.equals("prob")) {
        Array a = got.get(o);
        Array b = ref.get(o);
        assertEquals(b.shapeString(), a.shapeString(), name + " " + o);
        for (int i = 0; i < a.data().length; i++) {
          flips += a.data()[i] != b.data()[i] ? 1 : 0;
        }
      }
    }
    Array p = got.get("prob");
    Array q = ref.get("prob");
    assertEquals(q.shapeString(), p.shapeString(), name);
    double bound = 1e-4 * q.maxAbs();
    long over = 0;
    for (int i = 0; i < p.data().length; i++) {
      over += Math.abs(p.data()[i] - q.data()[i]) > bound ? 1 : 0;
    }
    double agree = labelAgreement(p, q);
    System.out.printf(Locale.ROOT, "%s%s: max|err|/max|ref| %.3g, label agreement %.5f,"
        + " mask flips %d, values over the bound %d of %d%n", name, keepBn ? " (BN)" : "",
        p.maxAbsDiff(q) / q.maxAbs(), agree, flips, over, p.data().length);
    if (flips == 0) {
      assertEquals(0, over, name + ": no mask flipped, so every value must be within the bound");
    } else {
      // A one-ulp difference can flip a near-tie in a mask and move a value elsewhere.
      assertTrue(agree >= 0.999, name + ": label agreement " + agree);
      assertTrue(over <= 0.001 * p.data().length, name + ": " + over + " values over the bound");
    }
  }

  private static double labelAgreement(Array p, Array q) {
    long n = p.shape()[0];
    long c = p.shape()[1];
    long hw = p.data().length / (n * c);
    long same = 0;
    for (int b = 0; b < n; b++) {
      for (int i = 0; i < hw; i++) {
        int ap = 0;
        int aq = 0;
        for (int k = 1; k < c; k++) {
          int off = (int) ((b * c + k) * hw + i);
          int bp = (int) ((b * c + ap) * hw + i);
          int bq = (int) ((b * c + aq) * hw + i);
          ap = p.data()[off] > p.data()[bp] ? k : ap;
          aq = q.data()[off] > q.data()[bq] ? k : aq;
        }
        same += ap == aq ? 1 : 0;
      }
    }
    return same / (double) (n * hw);
  }

  /** A seeded gaussian blob, saved as DIR/FILE.npy (its name added to {@code files}). */
  private static BlobProto blob(Path dir, String file, SplittableRandom r, float std, float mean,
      long[] dims, List<String> files) throws Exception {
    float[] d = new float[Math.toIntExact(FloatTensor.numel(dims))];
    for (int i = 0; i < d.length; i++) {
      d[i] = (float) (mean + std * r.nextGaussian());
    }
    NpyIO.writeNpy(dir.resolve(file + ".npy"), new FloatTensor(d, dims));
    files.add(file + ".npy");
    BlobShape.Builder shape = BlobShape.newBuilder();
    for (long x : dims) {
      shape.addDim(x);
    }
    BlobProto.Builder b = BlobProto.newBuilder().setShape(shape);
    for (float v : d) {
      b.addData(v);
    }
    return b.build();
  }

  private static String json(List<String> xs) {
    return "[" + String.join(", ", xs.stream().map(s -> "\"" + s + "\"").toList()) + "]";
  }
}
