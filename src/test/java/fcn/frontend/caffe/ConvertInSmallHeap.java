package fcn.frontend.caffe;

import fcn.export.OnnxExporter;
import fcn.ir.Graph;
import java.nio.file.Path;

/** Child-JVM entry for {@link FullSizeCaffemodelTest}: import + export, nothing else. */
public final class ConvertInSmallHeap {
  private ConvertInSmallHeap() {}

  public static void main(String[] args) {
    Graph g = CaffeImporter.importNet(Path.of(args[0]), Path.of(args[1]),
        CaffeImportOptions.defaults());
    OnnxExporter.Written w = OnnxExporter.write(g, Path.of(args[2]), OnnxExporter.DEFAULT_OPSET);
    System.out.println("wrote " + w.bytes());
  }
}
