package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.Set;

/**
 * The layers that are not converted into nodes: data layers, whose tops become graph inputs,
 * and training-only layers, which are dropped; and the shapes data layers declare. Stateless.
 * To add a data layer type: add its name to {@link #DATA_TYPES} and, when it declares its
 * shape, a case in {@link #declaredShape}.
 */
final class DataLayers {
  /** Layers that feed data from outside the net; their tops become graph inputs. */
  private static final Set<String> DATA_TYPES = Set.of("Input", "Data", "ImageData",
      "MemoryData", "HDF5Data", "DummyData", "WindowData", "Python");

  private static final Set<String> TRAINING_ONLY = Set.of("Accuracy", "Silence", "HDF5Output");

  private DataLayers() {}

  static boolean isDataType(String type) {
    return DATA_TYPES.contains(type);
  }

  /** A data layer (a Python layer with bottoms computes something: it is not data). */
  static boolean isData(LayerParameter l) {
    return DATA_TYPES.contains(l.getType())
        && !(l.getType().equals("Python") && l.getBottomCount() > 0);
  }

  static boolean isTrainingOnly(LayerParameter l) {
    return l.getType().endsWith("Loss") || TRAINING_ONLY.contains(l.getType());
  }

  /** Why a Python layer with bottoms cannot be converted. */
  static String pythonReason(LayerParameter l) {
    return "Python " + l.getPythonParam().getModule() + "." + l.getPythonParam().getLayer()
        + " with bottoms";
  }

  /** The shape data layer {@code l} gives its top {@code top}, or null when it gives none. */
  static long[] declaredShape(LayerParameter l, int top, String source) {
    switch (l.getType()) {
      case "Input" -> {
        var ip = l.getInputParam();
        if (ip.getShapeCount() == 1) {
          return dims(ip.getShape(0));
        }
        if (ip.getShapeCount() > top) {
          return dims(ip.getShape(top));
        }
        if (ip.getShapeCount() > 0) {
          throw FcnException.of("%s: Input layer '%s' has %d tops but %d shapes; expected one"
              + " shape, or one per top", source, l.getName(), l.getTopCount(), ip.getShapeCount());
        }
      }
      case "DummyData" -> {
        var d = l.getDummyDataParam();
        if (d.getShapeCount() > 0) {
          return dims(d.getShape(d.getShapeCount() == 1 ? 0 : top));
        }
        if (d.getNumCount() > 0) {
          int j = d.getNumCount() == 1 ? 0 : top;
          return new long[] {d.getNum(j), d.getChannels(j), d.getHeight(j), d.getWidth(j)};
        }
      }
      case "MemoryData" -> {
        var m = l.getMemoryDataParam();
        if (top == 0 && m.getHeight() > 0 && m.getWidth() > 0) {
          return new long[] {Math.max(1, m.getBatchSize()), Math.max(1, m.getChannels()),
              m.getHeight(), m.getWidth()};
        }
      }
      default -> { }
    }
    return null;
  }

  private static long[] dims(BlobShape s) {
    return s.getDimList().stream().mapToLong(Long::longValue).toArray();
  }
}
