package fcn.validate;

import fcn.core.FcnException;
import fcn.data.Images;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.ir.Shape;
import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import fcn.runtime.Session;
import fcn.runtime.TensorSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fixture inputs made from photos instead of random numbers, so that label agreement and
 * scores in a fixture mean something. The photo is preprocessed with {@link Preprocess} (e.g.
 * FCN's Caffe convention) into the model's one N×3×H×W input.
 */
public final class ImageInputs {
  private ImageInputs() {}

  /**
   * The inputs for one photo. Size: {@code givenShapes}' entry for the image input when there is
   * one (the photo is resized to its H×W); else the photo's own size when the runner takes it
   * (symbolic H/W, or a fully convolutional Caffe net); else the runner's fixed input size
   * (resized). Every batch item holds the photo.
   */
  public static Map<String, FloatTensor> forRunner(ReferenceRunner runner, Path image, Preprocess pre,
      Map<String, long[]> givenShapes) {
    TensorSpec in = imageInput(runner.inputs());
    RgbImage img = Images.readRgb(image);
    long[] shape = givenShapes.get(in.name());
    if (shape == null) {
      long[] own = {1, 3, img.height(), img.width()};
      if (in.shape().dim(0).isStatic()) {
        own[0] = in.shape().dim(0).value();
      }
      if (runner.checkShapes(Map.of(in.name(), own)).isEmpty()) {
        shape = own;
      } else if (in.shape().isStatic()) {
        shape = in.shape().toArray();
      } else {
        throw FcnException.of("%s is %dx%d, which input '%s' (%s) does not take; give --input-shape %s=1,3,H,W "
            + "to resize it", image, img.width(), img.height(), in.name(), in.shape(), in.name());
      }
    } else if (shape.length != 4 || shape[1] != 3) {
      throw FcnException.of("--input-shape %s=%s: an image input must be N,3,H,W", in.name(),
          Shape.format(shape).replace('x', ','));
    }
    Preprocess p = shape[2] == img.height() && shape[3] == img.width() ? pre
        : pre.withResize(Math.toIntExact(shape[3]), Math.toIntExact(shape[2]));
    float[] chw = p.toChw(img);
    float[] data = new float[Math.toIntExact(FloatTensor.numel(shape))];
    for (int n = 0; n < shape[0]; n++) {
      System.arraycopy(chw, 0, data, n * chw.length, chw.length);
    }
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    out.put(in.name(), new FloatTensor(data, shape));
    return out;
  }

  /** The model's one image input (rank 4, 3 channels or a symbolic C); otherwise FcnException. */
  public static TensorSpec imageInput(List<TensorSpec> inputs) {
    if (inputs.size() != 1) {
      throw FcnException.of("--image needs a model with one input, got %d: %s", inputs.size(), Session.describe(inputs));
    }
    TensorSpec in = inputs.get(0);
    Shape s = in.shape();
    if (s.rank() != 4 || (s.dim(1).isStatic() && s.dim(1).value() != 3)) {
      throw FcnException.of("--image needs an N,3,H,W input, but '%s' is %s", in.name(), s);
    }
    return in;
  }
}
