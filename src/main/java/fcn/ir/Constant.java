package fcn.ir;

/** An initializer: a value whose data is known when the model is written. */
public final class Constant extends Value {
  private final Tensor data;

  Constant(String name, Tensor data) {
    super(name);
    this.data = data;
  }

  public Tensor data() {
    return data;
  }

  @Override
  public DataType type() {
    return data.type();
  }

  @Override
  public Shape shape() {
    return data.shape();
  }
}
