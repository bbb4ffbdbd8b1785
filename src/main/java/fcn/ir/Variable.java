package fcn.ir;

/** A value computed by a node or fed as a graph input; type and shape may be refined by passes. */
public final class Variable extends Value {
  private DataType type;
  private Shape shape;

  Variable(String name, DataType type, Shape shape) {
    super(name);
    this.type = type;
    this.shape = shape;
  }

  @Override
  public DataType type() {
    return type;
  }

  @Override
  public Shape shape() {
    return shape;
  }

  public void setType(DataType type) {
    this.type = type;
  }

  public void setShape(Shape shape) {
    this.shape = shape;
  }
}
