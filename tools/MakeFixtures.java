/*
 * Writes fixtures/caffe: small reduced-width Caffe models made by fcn.models.NetBuilder, their
 * seeded random weights saved by real Caffe, and one test_data_set per model (seeded input,
 * Caffe's output) for `fcn validate`. Run through tools/make-fixtures.sh (it builds the class
 * path); fixtures/README.md records the exact command and seed.
 *
 * Usage: tools/make-fixtures.sh [--out fixtures/caffe] [--seed 1337] [--divisor 32] [--min-width 4] [--classes 21]
 * (FCN-32s's 64x64 upscore deconvolution holds classes^2 x 4096 floats: 7 MB at 21 classes.)
 */
import fcn.core.FcnException;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.NetParameter;
import fcn.reference.caffe.CaffeNet;
import fcn.reference.caffe.CaffeRunner;
import fcn.validate.FixtureGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

public class MakeFixtures {
  /** Model folders, in the order their weight seeds are assigned (seed + index). */
  static final List<String> MODELS = List.of("vgg16", "fcn32s", "fcn16s", "fcn8s");

  /** Mean-subtracted 8-bit pixels span about this range: inputs are uniform in [-R, R). */
  static final float RANGE = 128f;

  public static void main(String[] args) throws Exception {
    Path out = Path.of("fixtures", "caffe");
    long seed = 1337;
    int divisor = 32;
    int minWidth = 4;
    int classes = 21;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--out" -> out = Path.of(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--divisor" -> divisor = Integer.parseInt(args[++i]);
        case "--min-width" -> minWidth = Integer.parseInt(args[++i]);
        case "--classes" -> classes = Integer.parseInt(args[++i]);
        default -> throw new FcnException("unknown argument " + args[i]
            + "; usage: make-fixtures.sh [--out DIR] [--seed N] [--divisor D] [--min-width M] [--classes N]");
      }
    }
    NetBuilder b = new NetBuilder().widthDivisor(divisor).minWidth(minWidth);
    // FCN inputs are not square, so an H/W mix-up in a converter cannot go unnoticed.
    Map<String, NetParameter> nets = new LinkedHashMap<>();
    nets.put(MODELS.get(0), b.input(1, 224, 224).vgg16());
    nets.put(MODELS.get(1), b.classes(classes).input(1, 48, 64).fcn(Fcn.FCN32S, Mode.DEPLOY));
    nets.put(MODELS.get(2), b.classes(classes).input(1, 48, 64).fcn(Fcn.FCN16S, Mode.DEPLOY));
    nets.put(MODELS.get(3), b.classes(classes).input(1, 48, 64).fcn(Fcn.FCN8S, Mode.DEPLOY));

    Path target = out.toAbsolutePath().normalize();
    Files.createDirectories(target.getParent());
    Path tmp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".tmp");
    try {
      long k = 0;
      for (var e : nets.entrySet()) {
        Path dir = tmp.resolve(e.getKey());
        Files.createDirectories(dir);
        Path proto = dir.resolve("deploy.prototxt");
        Prototxt.write(e.getValue(), proto);
        Path model = dir.resolve("weights.caffemodel");
        long weightSeed = seed + k++;
        try (CaffeNet net = CaffeNet.open(proto, null, weightSeed)) {
          net.save(model);
        }
        // The test data comes from a fresh net reading the saved caffemodel: what validate will see.
        try (CaffeRunner runner = CaffeRunner.open(proto, model, Map.of(), weightSeed)) {
          FixtureGenerator.generate(runner, tmp.resolve("data"),
              new FixtureGenerator.Options(Map.of(), seed, 1, -RANGE, RANGE, false));
        }
        // ONNX model zoo layout: the model's folder holds test_data_set_0/ itself.
        Files.move(tmp.resolve("data/test_data_set_0"), dir.resolve("test_data_set_0"));
        Files.delete(tmp.resolve("data"));
      }
      Files.writeString(tmp.resolve("MANIFEST.md"), manifest(tmp, args, seed, divisor, minWidth, classes), StandardCharsets.UTF_8);
      readable(tmp);
      if (Files.exists(target)) {
        delete(target);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      if (Files.exists(tmp)) {
        delete(tmp);
      }
    }
    System.out.print(Files.readString(target.resolve("MANIFEST.md")));
  }

  static String manifest(Path root, String[] args, long seed, int divisor, int minWidth, int classes) throws Exception {
    StringBuilder sb = new StringBuilder();
    sb.append("# fixtures/caffe manifest (generated)\n\n");
    sb.append("Made by `tools/make-fixtures.sh").append(args.length > 0 ? " " + String.join(" ", args) : "")
        .append("` (seed ").append(seed).append(", width divisor ").append(divisor).append(", min width ")
        .append(minWidth).append("). Weights are random (fcn.reference.caffe.CaffeNet, He-normal) with seed ")
        .append(seed).append(" + i for model i of ").append(String.join(", ", MODELS)).append("; inputs are uniform in [").append(-RANGE).append(", ").append(RANGE)
        .append(") from seed ").append(seed).append("; outputs are real Caffe's (CPU). FCN nets have ")
        .append(classes).append(" classes and a 1x3x48x64 input; VGG16 has 1000 classes and 1x3x224x224.\n\n");
    sb.append("| file | bytes | sha256 |\n|---|---:|---|\n");
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("MANIFEST.md"))
          .sorted(Comparator.comparing(p -> root.relativize(p).toString())).forEach(files::add);
    }
    long total = 0;
    for (Path p : files) {
      byte[] bytes = Files.readAllBytes(p);
      total += bytes.length;
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
      sb.append("| ").append(root.relativize(p).toString().replace('\\', '/')).append(" | ").append(bytes.length)
          .append(" | ").append(sha).append(" |\n");
    }
    sb.append("\nTotal: ").append(total).append(" bytes.\n");
    return sb.toString();
  }

  /** Temp files and folders are owner-only; fixtures are checked in and read by everyone. */
  static void readable(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.toList()) {
        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(
            Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
      }
    }
  }

  static void delete(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
