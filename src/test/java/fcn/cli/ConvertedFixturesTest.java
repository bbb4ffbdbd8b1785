package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The committed fixtures/caffe/N/model.onnx files (tools/convert-fixtures.sh) and the embedded
 * default fixtures/default/model.onnx (tools/make-default.sh) are exactly what fcn convert writes
 * today, and they pass fcn validate (its default rule, no tolerance flags) against the outputs
 * real Caffe made.
 */
class ConvertedFixturesTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"caffe/vgg16", "caffe/fcn32s", "caffe/fcn16s", "caffe/fcn8s", "default"})
  void committedOnnxIsCurrentAndValidates(String name) throws Exception {
    Path dir = Path.of("fixtures", name);
    Path fresh = tmp.resolve(name.replace('/', '-') + ".onnx");
    CliRun c = CliRun.fcn("convert", dir.resolve("deploy.prototxt").toString(),
        dir.resolve("weights.caffemodel").toString(), "-o", fresh.toString());
    assertEquals(ExitCode.OK, c.code(), c.all());
    assertArrayEquals(Files.readAllBytes(dir.resolve("model.onnx")), Files.readAllBytes(fresh),
        "fixtures/" + name + "/model.onnx is stale: run tools/convert-fixtures.sh");
    CliRun v = CliRun.fcn("validate", dir.resolve("model.onnx").toString(), "--fixtures",
        dir.toString(), "--device", "cpu");
    assertEquals(ExitCode.OK, v.code(), v.all());
    assertTrue(v.out().contains("PASS"), v.out());
  }
}
