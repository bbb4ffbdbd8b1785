package fcn.ir;

import java.util.Objects;

/** One tensor dimension: a known size, or a symbolic name (ONNX dim_param) such as "height". */
public final class Dim {
  private final long value;
  private final String param;

  private Dim(long value, String param) {
    this.value = value;
    this.param = param;
  }

  public static Dim of(long value) {
    if (value < 0) {
      throw new IllegalArgumentException("dimension must be >= 0, got " + value);
    }
    return new Dim(value, null);
  }

  public static Dim symbol(String param) {
    return new Dim(-1, Objects.requireNonNull(param));
  }

  public boolean isStatic() {
    return param == null;
  }

  /** The size; only valid when {@link #isStatic()}. */
  public long value() {
    if (param != null) {
      throw new IllegalStateException("dimension '" + param + "' is symbolic");
    }
    return value;
  }

  /** The symbol, or null when static. */
  public String param() {
    return param;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Dim d && d.value == value && Objects.equals(d.param, param);
  }

  @Override
  public int hashCode() {
    return Objects.hash(value, param);
  }

  @Override
  public String toString() {
    return param != null ? param : Long.toString(value);
  }
}
