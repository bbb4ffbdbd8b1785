package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.export.OnnxExporter;
import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.proto.CaffeProto.BlobProto;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caffemodel is read through a memory mapping: its weights become tensors over slices of the
 * file (no heap copy), hold the blobs' values, and export to the same bytes as array-held ones.
 */
class CaffemodelMappingTest {
  @TempDir Path tmp;

  private static final String NET = """
      layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
      layer { name: 'conv1' type: 'Convolution' bottom: 'data' top: 'conv1' convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
      layer { name: 'score' type: 'Convolution' bottom: 'conv1' top: 'score' convolution_param { num_output: 5 kernel_size: 1 } }
      """;

  @Test
  void weightsAreSlicesOfTheFileAndExportAsArraysWould() throws Exception {
    Path proto = Files.writeString(tmp.resolve("net.prototxt"), NET);
    BlobProto w1 = CaffeImporterTest.blob(new long[] {4, 3, 3, 3}, 1);
    BlobProto b1 = CaffeImporterTest.blob(new long[] {4}, 2);
    BlobProto w2 = CaffeImporterTest.blob(new long[] {5, 4, 1, 1}, 3);
    BlobProto b2 = CaffeImporterTest.blob(new long[] {5}, 4);
    Path model = CaffeTestNets.writeBinary(CaffeImporterTest.model("conv1", new BlobProto[] {w1, b1},
        "score", new BlobProto[] {w2, b2}), tmp.resolve("net.caffemodel"));

    Graph mapped = CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults());
    Constant w = (Constant) mapped.value("conv1").producer().input(1);
    assertFalse(w.data().inArray(), "conv1's weights should be a slice of the mapped file");
    float[] expected = new float[w1.getDataCount()];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = w1.getData(i);
    }
    assertArrayEquals(expected, w.data().floats());
    Path a = OnnxExporter.write(mapped, tmp.resolve("mapped.onnx"), 17).model();

    Graph copied = CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults());
    for (Constant c : copied.constants()) {
      c.data().rawBytes(); // every weight copied into an array first
      assertTrue(c.data().inArray());
    }
    Path b = OnnxExporter.write(copied, tmp.resolve("copied.onnx"), 17).model();
    assertArrayEquals(Files.readAllBytes(b), Files.readAllBytes(a));
  }
}
