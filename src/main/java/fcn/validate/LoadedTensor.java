package fcn.validate;

import fcn.ir.DataType;
import fcn.runtime.FloatTensor;

/**
 * A tensor read from a fixture file, converted to float.
 *
 * @param name the tensor name stored in the file ("" when the file has none: .npy, unnamed
 *     TensorProto), matched against the model's names; unnamed tensors are matched by position
 * @param storedType the element type in the file
 * @param tensor the values as float
 * @param source where it came from, for messages ("test_data_set_0/input_0.pb", "a.npz:score")
 */
public record LoadedTensor(String name, DataType storedType, FloatTensor tensor, String source) {
  public boolean hasName() {
    return name != null && !name.isEmpty();
  }
}
