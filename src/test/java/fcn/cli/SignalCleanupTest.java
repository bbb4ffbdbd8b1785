package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM (what {@code timeout} and CI cancellation send) and SIGINT (Ctrl-C) during a large
 * {@code fcn convert} leave no temp file: fcn.core.TempFiles' shutdown hook removes it. A real
 * child JVM, signalled once its temp file exists, so the signal always lands mid-write.
 */
class SignalCleanupTest {
  @TempDir Path dir;

  // ~103M parameters (a fc6-sized 7x7 convolution): ~410 MB to write, which takes long
  // enough that the child is still writing when the signal arrives.
  static final String NET = "name: 'big'\n"
      + "layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }\n"
      + "layer { name: 'c1' type: 'Convolution' bottom: 'data' top: 'c1' convolution_param { num_output: 512 kernel_size: 3 } }\n"
      + "layer { name: 'fc6' type: 'Convolution' bottom: 'c1' top: 'fc6' convolution_param { num_output: 4096 kernel_size: 7 } }\n";

  @ParameterizedTest
  @ValueSource(strings = {"TERM", "INT"})
  void aSignalDuringConvertLeavesNoTempFile(String signal) throws Exception {
    assumeTrue(new File("/bin/kill").canExecute() || new File("/usr/bin/kill").canExecute(), "no kill command");
    Path proto = dir.resolve("big.prototxt");
    Files.writeString(proto, NET);
    Path out = dir.resolve("out.onnx");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-Xmx2g", "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "convert", proto.toString(), "--random-weights", "1", "-o", out.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      Path tmp = null;
      while (tmp == null && p.isAlive() && System.nanoTime() < deadline) {
        tmp = temps().stream().findFirst().orElse(null);
        if (tmp == null) {
          Thread.sleep(2);
        }
      }
      assertTrue(tmp != null, "the child never made its temp file: " + Files.readString(dir.resolve("child.log")));
      Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(p.pid())).inheritIO().start();
      assertEquals(0, kill.waitFor());
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not exit after SIG" + signal);
      String log = Files.readString(dir.resolve("child.log"));
      // 128 + signal number: the JVM ran its shutdown hooks and exited for the signal, i.e. the
      // signal landed before the write finished.
      int expected = 128 + (signal.equals("TERM") ? 15 : 2);
      assertEquals(expected, p.exitValue(), "child exit; log:\n" + log);
      assertEquals(List.of(), temps(), "temp files left after SIG" + signal);
      assertTrue(Files.notExists(out), "no partial output");
    } finally {
      p.destroyForcibly();
    }
  }

  private List<Path> temps() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(f -> f.getFileName().toString().startsWith(".out.onnx.")).toList();
    }
  }
}
