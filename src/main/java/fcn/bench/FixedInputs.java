package fcn.bench;

import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import fcn.runtime.TensorSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The inputs of a fixed-shape bench: one size per model input (given with --input-shape, else
 * the declared static shape) and random data of that size. The data is seeded, so every model of
 * a side-by-side run sees the same inputs. Stateless.
 */
final class FixedInputs {
  private FixedInputs() {}

  /** Sizes for every model input: given ones, else declared static ones. */
  static Map<String, long[]> resolve(Path model, Map<String, long[]> requested, Session session) {
    List<TensorSpec> inputs = session.inputs();
    Map<String, long[]> given = new LinkedHashMap<>(requested);
    if (given.containsKey(null)) {
      if (inputs.size() != 1) {
        throw FcnException.of("%s has %d inputs (%s); name the one --input-shape is for: NAME=N,C,H,W",
            model, inputs.size(), Session.describe(inputs));
      }
      given.put(inputs.get(0).name(), given.remove(null));
    }
    for (String name : given.keySet()) {
      if (inputs.stream().noneMatch(s -> s.name().equals(name))) {
        throw FcnException.of("--input-shape names input '%s', which %s does not have; its inputs are: %s",
            name, model, Session.describe(inputs));
      }
    }
    Map<String, long[]> out = new LinkedHashMap<>();
    for (TensorSpec s : inputs) {
      long[] dims = given.remove(s.name());
      if (dims == null) {
        if (!s.shape().isStatic()) {
          throw FcnException.of("input '%s' of %s has shape %s; give its size with --input-shape %s",
              s.name(), model, s.shape(),
              inputs.size() == 1 ? "1,3,500,500" : s.name() + "=1,3,500,500");
        }
        dims = s.shape().toArray();
      } else if (!s.accepts(dims)) {
        throw FcnException.of("--input-shape %s for input '%s' does not fit %s's %s",
            Shape.format(dims), s.name(), model, s.describe());
      }
      out.put(s.name(), dims);
    }
    return out;
  }

  /** Uniform [0, 1) data of these sizes, from a fixed seed (42). */
  static Map<String, FloatTensor> random(Map<String, long[]> shapes) {
    Map<String, FloatTensor> feeds = new LinkedHashMap<>();
    Random rnd = new Random(42);
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      float[] data = new float[Math.toIntExact(FloatTensor.numel(e.getValue()))];
      for (int i = 0; i < data.length; i++) {
        data[i] = rnd.nextFloat();
      }
      feeds.put(e.getKey(), new FloatTensor(data, e.getValue()));
    }
    return feeds;
  }

  /** The batch size: the first input's first dimension. */
  static long batch(Map<String, long[]> shapes) {
    long[] first = shapes.values().iterator().next();
    return first.length > 0 ? first[0] : 1;
  }

  /** {@code 1x3x500x500}, or {@code a=...;b=...} for several inputs. */
  static String describe(Map<String, long[]> shapes) {
    List<String> parts = new ArrayList<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      parts.add(shapes.size() == 1 ? Shape.format(e.getValue()) : e.getKey() + "=" + Shape.format(e.getValue()));
    }
    return String.join(";", parts);
  }
}
