package fcn.ir;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A node's attributes. Values are normalised on the way in (Integer to Long, Double to Float,
 * int[] to long[]) so that every reader sees one representation per {@link AttrType}.
 */
public final class Attrs {
  private final Map<String, Object> map = new LinkedHashMap<>();

  public static Attrs of(Object... keyValues) {
    if (keyValues.length % 2 != 0) {
      throw new IllegalArgumentException("Attrs.of needs name/value pairs");
    }
    Attrs a = new Attrs();
    for (int i = 0; i < keyValues.length; i += 2) {
      a.set((String) keyValues[i], keyValues[i + 1]);
    }
    return a;
  }

  /** Sets an attribute; a null value removes it. */
  public Attrs set(String name, Object value) {
    if (value == null) {
      map.remove(name);
      return this;
    }
    map.put(name, normalise(value));
    return this;
  }

  private static Object normalise(Object v) {
    if (v instanceof Integer i) {
      return i.longValue();
    }
    if (v instanceof Double d) {
      return d.floatValue();
    }
    if (v instanceof Boolean b) {
      return b ? 1L : 0L;
    }
    if (v instanceof int[] ints) {
      return Arrays.stream(ints).asLongStream().toArray();
    }
    if (v instanceof double[] ds) {
      float[] f = new float[ds.length];
      for (int i = 0; i < ds.length; i++) {
        f[i] = (float) ds[i];
      }
      return f;
    }
    AttrType.of(v); // rejects anything else
    return v;
  }

  public boolean has(String name) {
    return map.containsKey(name);
  }

  public Object get(String name) {
    return map.get(name);
  }

  public Set<String> names() {
    return Collections.unmodifiableSet(map.keySet());
  }

  public Map<String, Object> asMap() {
    return Collections.unmodifiableMap(map);
  }

  /** The value, seen through an {@link OpaqueAttr} (its decoded value) for the typed getters. */
  private Object plain(String name) {
    Object v = map.get(name);
    return v instanceof OpaqueAttr o ? o.value() : v;
  }

  public long getInt(String name, long dflt) {
    Object v = plain(name);
    return v == null ? dflt : (Long) v;
  }

  public float getFloat(String name, float dflt) {
    Object v = plain(name);
    return v == null ? dflt : (Float) v;
  }

  public String getString(String name, String dflt) {
    Object v = plain(name);
    return v == null ? dflt : (String) v;
  }

  /** The ints, or null when absent. */
  public long[] getInts(String name) {
    Object v = plain(name);
    return v == null ? null : ((long[]) v).clone();
  }

  public float[] getFloats(String name) {
    Object v = plain(name);
    return v == null ? null : ((float[]) v).clone();
  }

  public Tensor getTensor(String name) {
    return (Tensor) plain(name);
  }

  public Attrs copy() {
    Attrs a = new Attrs();
    a.map.putAll(map);
    return a;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    map.forEach((k, v) -> {
      if (sb.length() > 1) {
        sb.append(", ");
      }
      sb.append(k).append('=');
      if (v instanceof long[] l) {
        sb.append(Arrays.toString(l));
      } else if (v instanceof float[] f) {
        sb.append(Arrays.toString(f));
      } else if (v instanceof String[] s) {
        sb.append(Arrays.toString(s));
      } else {
        sb.append(v);
      }
    });
    return sb.append('}').toString();
  }
}
