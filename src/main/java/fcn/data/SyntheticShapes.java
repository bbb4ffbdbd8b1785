package fcn.data;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A deterministic generator of a small, learnable segmentation dataset in VOCdevkit layout, for
 * really training (and then converting and scoring) a small FCN without downloading anything.
 *
 * <h2>Recipe</h2>
 *
 * Classes ({@link #CLASSES}): 0 background, 1 disc, 2 square, 3 triangle, 4 ring, 5 cross. Each
 * image (W x H, S = min(W, H)) is built in this order:
 *
 * <ol>
 *   <li><b>Background</b>: two random colours mixed by smooth value noise (a 3..6 cell grid,
 *       smoothstep-interpolated); with probability 0.3 a low-contrast (25%) stripe or checker
 *       texture on top; 2..6 random straight lines (1..2 px wide, random colours).
 *   <li><b>Distractors</b> (label background): 0..{@code maxDistractors} irregular blobs, radius
 *       0.10..0.25 S with 3..6 strong lobes, filled with a random one of the class texture families in
 *       random colours. They make texture alone insufficient: the net must check the
 *       conjunction of texture and hue (and a random colour can fall into a class's band).
 *   <li><b>Objects</b>: {@code minObjects..maxObjects} shapes of uniform random class, size (radius
 *       or half-extent) 0.12..0.38 S, centre within the inner 80% of the image, random rotation,
 *       drawn in order so later ones occlude earlier ones (the label keeps the visible one). A
 *       ring's hole (inner radius 0.45..0.70) and everything outside a shape stays background.
 *       Each class has its own texture family and its own hue: one texture colour comes from the
 *       class's hue band (hue (class - 1) x 72 degrees +- 12, saturation 0.65..1, value
 *       0.55..1), the other is random with a luminance contrast of at least 70/255; orientation
 *       and scale are random: disc = stripes (period 3.5..6 px), square = checker
 *       (cell 3..5 px), triangle = dots (lattice 4..6.5 px), ring = per-pixel noise (1..2 px
 *       grain), cross = linear gradient across the shape.
 *   <li>Gaussian-like pixel noise (sum of three uniforms, sigma about 4), then JPEG at
 *       {@code jpegQuality}: edges become soft as in real photos, labels stay exact.
 *   <li>Optionally ({@code voidBorder > 0}) pixels within that many pixels of a label change
 *       become 255 (void), like VOC's boundary band.
 * </ol>
 *
 * <p>Thin parts (ring, cross arms), sharp corners and small objects make boundary detail count:
 * at 64x64 an FCN-32s sees a 2x2 score map, FCN-8s an 8x8 one, so FCN-8s should clearly win on
 * mean IU while a small net still learns the textures.
 *
 * <h2>Determinism</h2>
 *
 * Image {@code i} depends only on (seed, i, config): it has its own SplitMix64 stream, and only
 * integer and IEEE-exact arithmetic plus {@link StrictMath} are used, so the bytes are identical
 * across runs, thread counts and machines. Images are rendered in parallel.
 *
 * <h2>Layout written</h2>
 *
 * {@code JPEGImages/ID.jpg}, {@code SegmentationClass/ID.png} (8-bit palette PNG, VOC colours,
 * index = class), {@code ImageSets/Segmentation/train.txt} and {@code val.txt} (each only if
 * non-empty),
 * {@code classes.txt} and a {@code README.txt} with the config. Ids are {@code shapes_NNNNNN};
 * the first {@code train} ids are the train split. Split files are written last, so an
 * interrupted run is not a readable dataset.
 */
public final class SyntheticShapes {
  /** Class names in index order. */
  public static final List<String> CLASSES = List.of("background", "disc", "square", "triangle", "ring", "cross");

  private static final int STRIPES = 0;
  private static final int CHECKER = 1;
  private static final int DOTS = 2;
  private static final int NOISE = 3;
  private static final int GRADIENT = 4;

  private SyntheticShapes() {}

  /** Generation parameters. */
  public record Config(long seed, int width, int height, int train, int val, int minObjects, int maxObjects,
      int maxDistractors, int voidBorder, float jpegQuality) {
    public Config {
      if (width < 16 || height < 16 || width > 4096 || height > 4096) {
        throw new FcnException("synthetic image size " + width + "x" + height + ": expected 16..4096 per side");
      }
      if (train < 0 || val < 0 || train + val == 0) {
        throw new FcnException("synthetic counts train=" + train + " val=" + val + ": expected non-negative, not both 0");
      }
      if (minObjects < 0 || maxObjects < minObjects || maxDistractors < 0 || voidBorder < 0) {
        throw new FcnException("synthetic objects " + minObjects + ".." + maxObjects + ", distractors "
            + maxDistractors + ", void border " + voidBorder + ": expected 0 <= min <= max and non-negative counts");
      }
      if (!(jpegQuality > 0 && jpegQuality <= 1)) {
        throw new FcnException("synthetic JPEG quality " + jpegQuality + ": expected (0, 1]");
      }
    }

    /** Seed 1, 64x64, 1000 train + 200 val, 1..4 objects, up to 2 distractors, no void, JPEG 0.9. */
    public static Config defaults() {
      return new Config(1, 64, 64, 1000, 200, 1, 4, 2, 0, 0.9f);
    }

    public Config withSeed(long s) {
      return new Config(s, width, height, train, val, minObjects, maxObjects, maxDistractors, voidBorder, jpegQuality);
    }

    public Config withSize(int w, int h) {
      return new Config(seed, w, h, train, val, minObjects, maxObjects, maxDistractors, voidBorder, jpegQuality);
    }

    public Config withCounts(int trainCount, int valCount) {
      return new Config(seed, width, height, trainCount, valCount, minObjects, maxObjects, maxDistractors, voidBorder,
          jpegQuality);
    }

    public Config withObjects(int min, int max) {
      return new Config(seed, width, height, train, val, min, max, maxDistractors, voidBorder, jpegQuality);
    }

    public Config withDistractors(int max) {
      return new Config(seed, width, height, train, val, minObjects, maxObjects, max, voidBorder, jpegQuality);
    }

    public Config withVoidBorder(int pixels) {
      return new Config(seed, width, height, train, val, minObjects, maxObjects, maxDistractors, pixels, jpegQuality);
    }

    public Config withJpegQuality(float q) {
      return new Config(seed, width, height, train, val, minObjects, maxObjects, maxDistractors, voidBorder, q);
    }
  }

  /** One rendered sample, before JPEG compression. */
  public record Rendered(RgbImage image, LabelMap label) {}

  /** What {@link #generate} wrote. */
  public record Result(Path root, int train, int val, long[] classPixels) {}

  /** The id of image {@code index}. */
  public static String id(int index) {
    return String.format(Locale.ROOT, "shapes_%06d", index);
  }

  /**
   * Writes the dataset into {@code root}, which must not exist or be empty (stale files from an
   * earlier run would otherwise mix in).
   */
  public static Result generate(Path root, Config c) {
    if (Files.exists(root)) {
      if (!Files.isDirectory(root)) {
        throw new FcnException(root + ": exists and is not a folder; expected a new or empty folder");
      }
      try (Stream<Path> s = Files.list(root)) {
        if (s.findAny().isPresent()) {
          throw new FcnException(root + ": folder is not empty; expected a new or empty folder for the synthetic dataset");
        }
      } catch (IOException e) {
        throw new FcnException(root + ": cannot list: " + e.getMessage(), e);
      }
    }
    int total = c.train() + c.val();
    long[][] perImage = new long[total][];
    IntStream.range(0, total).parallel().forEach(i -> {
      Rendered r = render(c, i);
      Images.writeJpeg(root.resolve("JPEGImages").resolve(id(i) + ".jpg"), r.image(), c.jpegQuality());
      Images.writeIndexedPng(root.resolve("SegmentationClass").resolve(id(i) + ".png"), r.label(), Palette.voc());
      long[] px = new long[CLASSES.size()];
      for (int v : r.label().values()) {
        if (v < px.length) {
          px[v]++;
        }
      }
      perImage[i] = px;
    });
    long[] classPixels = new long[CLASSES.size()];
    for (long[] px : perImage) {
      for (int k = 0; k < px.length; k++) {
        classPixels[k] += px[k];
      }
    }
    writeText(root.resolve("classes.txt"), String.join("\n", CLASSES) + "\n");
    writeText(root.resolve("README.txt"), "Synthetic shapes dataset written by fcn (fcn.data.SyntheticShapes).\n"
        + "Regenerate with the same config for identical bytes:\n" + c + "\n");
    StringBuilder train = new StringBuilder();
    StringBuilder val = new StringBuilder();
    for (int i = 0; i < total; i++) {
      (i < c.train() ? train : val).append(id(i)).append('\n');
    }
    Path sets = root.resolve("ImageSets").resolve("Segmentation");
    // An empty split file would become the default split (val) of a dataset with no samples.
    if (c.train() > 0) {
      writeText(sets.resolve("train.txt"), train.toString());
    }
    if (c.val() > 0) {
      writeText(sets.resolve("val.txt"), val.toString());
    }
    return new Result(root, c.train(), c.val(), classPixels);
  }

  private static void writeText(Path file, String text) {
    AtomicFile.write(file, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Renders image {@code index} of the dataset {@code c} describes (no files written). */
  public static Rendered render(Config c, int index) {
    Rng rnd = new Rng(c.seed() * 0x9E3779B97F4A7C15L + index * 0xD1B54A32D192ED03L + 0x632BE59BD9B4E019L);
    int w = c.width();
    int h = c.height();
    double s = Math.min(w, h);
    double[][] px = new double[3][w * h];
    int[] label = new int[w * h];

    background(rnd, w, h, px);
    int distractors = rnd.nextInt(c.maxDistractors() + 1);
    for (int k = 0; k < distractors; k++) {
      Texture t = Texture.random(rnd, rnd.nextInt(5), s * 0.25);
      double cx = rnd.range(0.1 * w, 0.9 * w);
      double cy = rnd.range(0.1 * h, 0.9 * h);
      double r = rnd.range(0.10, 0.25) * s;
      int lobes1 = 3 + rnd.nextInt(4);
      int lobes2 = lobes1 + 1 + rnd.nextInt(3);
      double a1 = rnd.range(0.35, 0.5);
      double a2 = rnd.range(0.1, 0.25);
      double p1 = rnd.range(0, 2 * Math.PI);
      double p2 = rnd.range(0, 2 * Math.PI);
      double bound = r * (1 + a1 + a2);
      forBox(w, h, cx, cy, bound, (x, y, dx, dy) -> {
        double d2 = dx * dx + dy * dy;
        if (d2 > bound * bound) {
          return;
        }
        double phi = StrictMath.atan2(dy, dx);
        double rr = r * (1 + a1 * StrictMath.sin(lobes1 * phi + p1) + a2 * StrictMath.sin(lobes2 * phi + p2));
        if (d2 <= rr * rr) {
          t.paint(px, y * w + x, x - cx, y - cy);
        }
      });
    }
    int objects = c.minObjects() + rnd.nextInt(c.maxObjects() - c.minObjects() + 1);
    for (int k = 0; k < objects; k++) {
      int cls = 1 + rnd.nextInt(CLASSES.size() - 1);
      double r = rnd.range(0.12, 0.38) * s;
      double cx = rnd.range(0.1 * w, 0.9 * w);
      double cy = rnd.range(0.1 * h, 0.9 * h);
      double th = rnd.range(0, 2 * Math.PI);
      double cos = StrictMath.cos(th);
      double sin = StrictMath.sin(th);
      double inner = rnd.range(0.45, 0.70);
      double arm = rnd.range(0.25, 0.35);
      Texture t = Texture.random(rnd, cls - 1, r, rnd.classColor(cls));
      forBox(w, h, cx, cy, 1.3 * r, (x, y, dx, dy) -> {
        double u = (dx * cos + dy * sin) / r;
        double v = (-dx * sin + dy * cos) / r;
        if (inside(cls, u, v, inner, arm)) {
          int i = y * w + x;
          t.paint(px, i, x - cx, y - cy);
          label[i] = cls;
        }
      });
    }
    byte[] rgb = new byte[3 * w * h];
    for (int i = 0; i < w * h; i++) {
      for (int ch = 0; ch < 3; ch++) {
        double noise = (rnd.nextDouble() + rnd.nextDouble() + rnd.nextDouble() - 1.5) * 8;
        rgb[3 * i + ch] = (byte) clamp255(px[ch][i] + noise);
      }
    }
    int[] out = c.voidBorder() > 0 ? voidBorder(label, w, h, c.voidBorder()) : label;
    return new Rendered(new RgbImage(w, h, rgb), new LabelMap(w, h, out));
  }

  private static boolean inside(int cls, double u, double v, double inner, double arm) {
    switch (cls) {
      case 1:
        return u * u + v * v <= 1;
      case 2:
        return Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8;
      case 3:
        // Equilateral triangle inside all three edge half-planes (outward normals at -90, 30 and
        // 150 degrees); circumradius 1.25 (inradius 0.625) evens its area (about 2.0) with the
        // other shapes'.
        return -v <= 0.625 && (u * 0.8660254037844386 + v * 0.5) <= 0.625
            && (-u * 0.8660254037844386 + v * 0.5) <= 0.625;
      case 4: {
        double d = u * u + v * v;
        return d <= 1 && d >= inner * inner;
      }
      case 5:
        return (Math.abs(u) <= arm && Math.abs(v) <= 1) || (Math.abs(v) <= arm && Math.abs(u) <= 1);
      default:
        throw new IllegalStateException("class " + cls);
    }
  }

  private static void background(Rng rnd, int w, int h, double[][] px) {
    double[] a = rnd.color();
    double[] b = rnd.color();
    int g = 3 + rnd.nextInt(4);
    double[] grid = new double[(g + 1) * (g + 1)];
    for (int i = 0; i < grid.length; i++) {
      grid[i] = rnd.nextDouble();
    }
    for (int y = 0; y < h; y++) {
      double gy = (double) y / h * g;
      int y0 = (int) gy;
      double fy = smooth(gy - y0);
      for (int x = 0; x < w; x++) {
        double gx = (double) x / w * g;
        int x0 = (int) gx;
        double fx = smooth(gx - x0);
        double t = (grid[y0 * (g + 1) + x0] * (1 - fx) + grid[y0 * (g + 1) + x0 + 1] * fx) * (1 - fy)
            + (grid[(y0 + 1) * (g + 1) + x0] * (1 - fx) + grid[(y0 + 1) * (g + 1) + x0 + 1] * fx) * fy;
        for (int ch = 0; ch < 3; ch++) {
          px[ch][y * w + x] = a[ch] * (1 - t) + b[ch] * t;
        }
      }
    }
    if (rnd.nextDouble() < 0.3) {
      Texture t = Texture.random(rnd, rnd.nextInt(2), Math.min(w, h));
      for (int i = 0; i < w * h; i++) {
        double[] before = {px[0][i], px[1][i], px[2][i]};
        t.paint(px, i, i % w, i / w);
        for (int ch = 0; ch < 3; ch++) {
          px[ch][i] = before[ch] * 0.75 + px[ch][i] * 0.25;
        }
      }
    }
    int lines = 2 + rnd.nextInt(5);
    for (int k = 0; k < lines; k++) {
      double x0 = rnd.range(0, w);
      double y0 = rnd.range(0, h);
      double x1 = rnd.range(0, w);
      double y1 = rnd.range(0, h);
      double half = rnd.range(0.5, 1.0);
      double[] col = rnd.color();
      double dx = x1 - x0;
      double dy = y1 - y0;
      double len2 = Math.max(1e-9, dx * dx + dy * dy);
      int bx0 = Math.max(0, (int) Math.floor(Math.min(x0, x1) - 1));
      int bx1 = Math.min(w - 1, (int) Math.ceil(Math.max(x0, x1) + 1));
      int by0 = Math.max(0, (int) Math.floor(Math.min(y0, y1) - 1));
      int by1 = Math.min(h - 1, (int) Math.ceil(Math.max(y0, y1) + 1));
      for (int y = by0; y <= by1; y++) {
        for (int x = bx0; x <= bx1; x++) {
          double t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / len2));
          double ex = x - (x0 + t * dx);
          double ey = y - (y0 + t * dy);
          if (ex * ex + ey * ey <= half * half) {
            for (int ch = 0; ch < 3; ch++) {
              px[ch][y * w + x] = col[ch];
            }
          }
        }
      }
    }
  }

  private static double smooth(double t) {
    return t * t * (3 - 2 * t);
  }

  private static int[] voidBorder(int[] label, int w, int h, int b) {
    int[] out = label.clone();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int v = label[y * w + x];
        search:
        for (int yy = Math.max(0, y - b); yy <= Math.min(h - 1, y + b); yy++) {
          for (int xx = Math.max(0, x - b); xx <= Math.min(w - 1, x + b); xx++) {
            if (label[yy * w + xx] != v) {
              out[y * w + x] = Dataset.VOC_IGNORE;
              break search;
            }
          }
        }
      }
    }
    return out;
  }

  private static int clamp255(double v) {
    long r = Math.round(v);
    return (int) Math.max(0, Math.min(255, r));
  }

  private interface PixelOp {
    void apply(int x, int y, double dx, double dy);
  }

  // Visits pixel centres within the square of half-side `bound` around (cx, cy), clipped.
  private static void forBox(int w, int h, double cx, double cy, double bound, PixelOp op) {
    int x0 = Math.max(0, (int) Math.floor(cx - bound));
    int x1 = Math.min(w - 1, (int) Math.ceil(cx + bound));
    int y0 = Math.max(0, (int) Math.floor(cy - bound));
    int y1 = Math.min(h - 1, (int) Math.ceil(cy + bound));
    for (int y = y0; y <= y1; y++) {
      for (int x = x0; x <= x1; x++) {
        op.apply(x, y, x + 0.5 - cx, y + 0.5 - cy);
      }
    }
  }

  /** A two-colour pattern in texture coordinates that rotate with a random angle. */
  private static final class Texture {
    final int kind;
    final double[] c1;
    final double[] c2;
    final double cos;
    final double sin;
    final double period;
    final double extent;
    final long noiseSeed;

    private Texture(int kind, double[] c1, double[] c2, double angle, double period, double extent, long noiseSeed) {
      this.kind = kind;
      this.c1 = c1;
      this.c2 = c2;
      this.cos = StrictMath.cos(angle);
      this.sin = StrictMath.sin(angle);
      this.period = period;
      this.extent = extent;
      this.noiseSeed = noiseSeed;
    }

    static Texture random(Rng rnd, int kind, double extent) {
      return random(rnd, kind, extent, rnd.color());
    }

    static Texture random(Rng rnd, int kind, double extent, double[] c1) {
      double[] c2 = rnd.contrasting(c1);
      double angle = rnd.range(0, Math.PI);
      double period = switch (kind) {
        case STRIPES -> rnd.range(3.5, 6);
        case CHECKER -> rnd.range(3, 5);
        case DOTS -> rnd.range(4, 6.5);
        case NOISE -> 1 + rnd.nextInt(2);
        default -> 1;
      };
      return new Texture(kind, c1, c2, angle, period, Math.max(1, extent), rnd.nextLong());
    }

    void paint(double[][] px, int i, double dx, double dy) {
      double p = dx * cos + dy * sin;
      double q = -dx * sin + dy * cos;
      double t = switch (kind) {
        case STRIPES -> frac(p / period) < 0.5 ? 0 : 1;
        case CHECKER -> ((long) Math.floor(p / period) + (long) Math.floor(q / period)) & 1;
        case DOTS -> {
          double a = p / period - Math.rint(p / period);
          double b = q / period - Math.rint(q / period);
          yield a * a + b * b < 0.09 ? 1 : 0;
        }
        case NOISE -> {
          long gx = (long) Math.floor(dx / period);
          long gy = (long) Math.floor(dy / period);
          yield (Rng.mix(noiseSeed ^ (gx * 0x9E3779B97F4A7C15L) ^ (gy * 0xC2B2AE3D27D4EB4FL)) >>> 11) * 0x1.0p-53;
        }
        case GRADIENT -> Math.max(0, Math.min(1, p / (2 * extent) + 0.5));
        default -> throw new IllegalStateException("texture " + kind);
      };
      for (int ch = 0; ch < 3; ch++) {
        px[ch][i] = c1[ch] * (1 - t) + c2[ch] * t;
      }
    }

    private static double frac(double v) {
      return v - Math.floor(v);
    }
  }

  /** SplitMix64: tiny, fully specified, so the dataset does not depend on a JDK's Random. */
  private static final class Rng {
    private long state;

    Rng(long seed) {
      this.state = seed;
    }

    static long mix(long z) {
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }

    long nextLong() {
      state += 0x9E3779B97F4A7C15L;
      return mix(state);
    }

    double nextDouble() {
      return (nextLong() >>> 11) * 0x1.0p-53;
    }

    int nextInt(int bound) {
      return (int) ((nextLong() >>> 33) * bound >>> 31);
    }

    double range(double lo, double hi) {
      return lo + (hi - lo) * nextDouble();
    }

    double[] color() {
      return new double[] {nextInt(256), nextInt(256), nextInt(256)};
    }

    /**
     * A saturated colour from class {@code cls}'s hue band: hue (cls - 1) x 72 degrees +- 12,
     * saturation 0.65..1, value 0.55..1 (HSV, computed with exact arithmetic).
     */
    double[] classColor(int cls) {
      double hue = ((cls - 1) * 72 + range(-12, 12) + 360) % 360 / 60;
      double sat = range(0.65, 1);
      double val = range(0.55, 1) * 255;
      int sector = (int) hue;
      double f = hue - sector;
      double p = val * (1 - sat);
      double q = val * (1 - sat * f);
      double t = val * (1 - sat * (1 - f));
      return switch (sector) {
        case 0 -> new double[] {val, t, p};
        case 1 -> new double[] {q, val, p};
        case 2 -> new double[] {p, val, t};
        case 3 -> new double[] {p, q, val};
        case 4 -> new double[] {t, p, val};
        default -> new double[] {val, p, q};
      };
    }

    double[] contrasting(double[] c) {
      double l = luma(c);
      for (int k = 0; k < 32; k++) {
        double[] d = color();
        if (Math.abs(luma(d) - l) >= 70) {
          return d;
        }
      }
      return l < 128 ? new double[] {255, 255, 255} : new double[] {0, 0, 0};
    }

    private static double luma(double[] c) {
      return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    }
  }
}
