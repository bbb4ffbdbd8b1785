package fcn.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** An immutable tensor shape whose dims may be static or symbolic. */
public final class Shape {
  private final List<Dim> dims;

  public Shape(List<Dim> dims) {
    this.dims = List.copyOf(dims);
  }

  public static Shape of(long... dims) {
    List<Dim> list = new ArrayList<>(dims.length);
    for (long d : dims) {
      list.add(Dim.of(d));
    }
    return new Shape(list);
  }

  public int rank() {
    return dims.size();
  }

  public Dim dim(int i) {
    return dims.get(i);
  }

  public List<Dim> dims() {
    return dims;
  }

  public boolean isStatic() {
    return dims.stream().allMatch(Dim::isStatic);
  }

  /** The sizes; throws when any dim is symbolic. */
  public long[] toArray() {
    long[] out = new long[dims.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = dims.get(i).value();
    }
    return out;
  }

  /** Element count; throws when any dim is symbolic. */
  public long numel() {
    long n = 1;
    for (Dim d : dims) {
      n *= d.value();
    }
    return n;
  }

  /** A copy with dim i replaced. */
  public Shape with(int i, Dim d) {
    List<Dim> copy = new ArrayList<>(dims);
    copy.set(i, d);
    return new Shape(copy);
  }

  /** Parses "1,3,500,500" (a '?' or a name makes a symbolic dim). */
  public static Shape parse(String text) {
    List<Dim> list = new ArrayList<>();
    for (String part : text.split("[,x]")) {
      String p = part.trim();
      if (p.matches("\\d+")) {
        list.add(Dim.of(Long.parseLong(p)));
      } else if (!p.isEmpty()) {
        list.add(Dim.symbol(p));
      }
    }
    return new Shape(list);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Shape s && s.dims.equals(dims);
  }

  @Override
  public int hashCode() {
    return dims.hashCode();
  }

  /** "1x3x500x500", the form printed in summaries. */
  @Override
  public String toString() {
    return dims.stream().map(Dim::toString).collect(Collectors.joining("x"));
  }

  public static String format(long[] dims) {
    return Arrays.stream(dims).mapToObj(Long::toString).collect(Collectors.joining("x"));
  }
}
