package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The full-size voc-fcn8s (134M parameters, a 538 MB caffemodel that Caffe writes here) must
 * import and export in a JVM limited to -Xmx3g: the reader streams blobs straight into
 * tensors and the exporter writes them without copies.
 */
class FullSizeCaffemodelTest {
  static final Path SHARED = Path.of("..", "shared");
  @TempDir Path tmp;

  @Test
  void fullVocFcn8sConvertsInThreeGigabytesOfHeap() throws Exception {
    Path proto = SHARED.resolve("caffe/fcn-berkeley/voc-fcn8s/deploy.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(proto),
        "../shared not found: skipping the full-size voc-fcn8s memory check");
    Path model = tmp.resolve("fcn8s.caffemodel");
    CaffeRef.writeCaffemodel(proto, model);
    assertTrue(Files.size(model) > 500_000_000L, "caffemodel is " + Files.size(model));
    Path out = tmp.resolve("fcn8s.onnx");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(List.of(java, "-Xmx3g", "-cp",
        System.getProperty("java.class.path"), ConvertInSmallHeap.class.getName(),
        proto.toString(), model.toString(), out.toString()))
        .redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "conversion did not finish");
    assertEquals(0, p.exitValue(), log);
    assertTrue(Files.size(out) > Files.size(model) - 1_000_000, "onnx is " + Files.size(out));
  }
}
