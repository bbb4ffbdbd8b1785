package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.models.Prototxt;
import fcn.runtime.ReferenceRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The one door into the real-Caffe reference backend. Caffe (org.bytedeco:caffe-platform) is a
 * {@code provided} dependency: the tool's jar must start without it, so code outside this
 * package asks {@link #available()} or calls {@link #require()} before touching
 * {@link CaffeNet}. Nothing in this class refers to a Caffe type, so loading it is always safe.
 * Code outside this package (validate, cli) reaches real Caffe only through {@link #open}, as a
 * {@link ReferenceRunner}.
 */
public final class CaffeBackend {
  static final String NOT_ON_CLASS_PATH = "the Caffe reference backend is not on the class path: run it through"
      + " ./fcn, which fetches org.bytedeco:caffe-platform:1.0-1.5.5 with Maven the first time";

  private static volatile String problem;
  private static volatile boolean checked;

  private CaffeBackend() {}

  /** True when the Caffe classes are on the class path and their native libraries load. */
  public static boolean available() {
    return problem() == null;
  }

  /** Throws a one-line {@link FcnException} saying why the backend cannot run, if it cannot. */
  public static void require() {
    String p = problem();
    if (p != null) {
      throw new FcnException(p);
    }
  }

  /**
   * Real Caffe running {@code prototxt} (deploy or train/val) with {@code caffemodel}'s weights
   * (null: seeded random ones), as a {@link ReferenceRunner} the caller owns. {@code inputShapes}
   * overrides input sizes (empty: the prototxt's); {@code outputs} names the blobs to return
   * (empty: the net's outputs). Throws this backend's one-line message when Caffe is missing.
   */
  public static ReferenceRunner open(Path prototxt, Path caffemodel, Map<String, long[]> inputShapes,
      List<String> outputs) {
    require();
    return CaffeRunner.open(prototxt, caffemodel, inputShapes, CaffeNet.DEFAULT_SEED, outputs);
  }

  /**
   * {@link #open} for per-layer comparison: real Caffe that keeps every blob of a forward pass
   * (see {@link AllBlobsRunner}); its outputs are the net's.
   */
  public static AllBlobsRunner openAllBlobs(Path prototxt, Path caffemodel, Map<String, long[]> inputShapes) {
    require();
    return CaffeRunner.open(prototxt, caffemodel, inputShapes, CaffeNet.DEFAULT_SEED, List.of());
  }

  /** The input blobs of {@code prototxt}'s inference net (labels excluded); needs no Caffe. */
  public static List<String> inputNames(Path prototxt) {
    return DeployNets.inputNames(Prototxt.read(prototxt));
  }

  /** Why the backend cannot run, or null when it can. Checked once per class loader. */
  static String problem() {
    if (!checked) {
      synchronized (CaffeBackend.class) {
        if (!checked) {
          problem = probe();
          checked = true;
        }
      }
    }
    return problem;
  }

  private static String probe() {
    ClassLoader loader = CaffeBackend.class.getClassLoader();
    try {
      Class.forName("org.bytedeco.caffe.FloatNet", false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      return NOT_ON_CLASS_PATH;
    }
    try {
      // Initialising the class runs JavaCPP's Loader.load(): this is where natives fail.
      Class.forName("org.bytedeco.caffe.global.caffe", true, loader);
      Class.forName("org.bytedeco.caffe.FloatNet", true, loader);
      return null;
    } catch (ClassNotFoundException | LinkageError e) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      return "the Caffe reference backend's native libraries failed to load (JavaCPP platform "
          + System.getProperty("javacpp.platform", System.getProperty("os.name") + "-" + System.getProperty("os.arch"))
          + "; caffe-platform ships linux-x86_64): " + root;
    }
  }
}
