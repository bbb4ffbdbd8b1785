package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.DenseImageDataParameter;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.List;
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
      "MemoryData", "HDF5Data", "DummyData", "WindowData", "Python",
      // caffe-segnet's image + label-image reader: its label top is dropped like any label.
      "DenseImageData");

  private static final Set<String> TRAINING_ONLY = Set.of("Accuracy", "Silence", "HDF5Output");

  /**
   * Layers that run on the net's output outside the network itself, refused with a line that
   * says so: DeepLab's DenseCRF (a fully connected CRF over the scores and the image).
   */
  static final List<LayerConverter> POST_PROCESSING = List.of(
      LayerConverter.of(cx -> {
        throw cx.fail("is post-processing outside the network");
      }, "DenseCRF").refusing(l -> l.getType() + ": post-processing outside the network,"
          + " not converted; convert the net without it and run the CRF on its output"));

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
      case "DenseImageData" -> {
        var d = denseImageDataParam(l);
        if (top == 0 && d.getNewHeight() > 0 && d.getNewWidth() > 0) {
          return new long[] {Math.max(1, Integer.toUnsignedLong(d.getBatchSize())),
              d.getIsColor() ? 3 : 1, Integer.toUnsignedLong(d.getNewHeight()),
              Integer.toUnsignedLong(d.getNewWidth())};
        }
      }
      default -> { }
    }
    return null;
  }

  /**
   * DenseImageData's parameters: the prototxt's dense_image_data_param, or, in a caffe-segnet
   * binary caffemodel, field 138, which fcn's schema reads as BVLC's tile_param.
   */
  static DenseImageDataParameter denseImageDataParam(LayerParameter l) {
    return CaffeForks.param(l.hasDenseImageDataParam(), l.getDenseImageDataParam(),
        l.hasTileParam(), l.getTileParam(), DenseImageDataParameter.parser());
  }

  private static long[] dims(BlobShape s) {
    return s.getDimList().stream().mapToLong(Long::longValue).toArray();
  }
}
