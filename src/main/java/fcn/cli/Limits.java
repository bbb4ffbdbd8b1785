package fcn.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The documented bounds of fcn's numeric options, as picocli converters: a value outside them
 * is a usage error (exit 2, one line) before anything runs. Unbounded, {@code --threads 1000} or
 * {@code --io-threads 100000} made runs that never finished on a small machine.
 */
final class Limits {
  /** ONNX Runtime intra-op threads: 0 (its default) to this. */
  static final int MAX_THREADS = fcn.bench.Bench.MAX_THREADS;
  /** bench's decode/score threads: 0 (automatic) to this. */
  static final int MAX_IO_THREADS = fcn.bench.Bench.MAX_IO_THREADS;
  static final int MAX_WARMUP = 100_000;
  static final int MAX_ITERATIONS = 10_000_000;
  /** Label PNGs hold 8-bit values (VOC's void is 255). */
  static final int MAX_LABEL = 255;

  private Limits() {}

  static int parse(String value, int min, int max, String what) {
    int v;
    try {
      v = Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not an integer; expected " + min + " to " + max + what);
    }
    if (v < min || v > max) {
      throw new TypeConversionException(v + " is out of range; expected " + min + " to " + max + what);
    }
    return v;
  }

  static final class Threads implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return parse(value, 0, MAX_THREADS, " (0 = ONNX Runtime's default)");
    }
  }

  static final class IoThreads implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return parse(value, 0, MAX_IO_THREADS, " (0 = automatic)");
    }
  }

  static final class Warmup implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return parse(value, 0, MAX_WARMUP, "");
    }
  }

  static final class Iterations implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return parse(value, 1, MAX_ITERATIONS, "");
    }
  }

  static final class Label implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return parse(value, 0, MAX_LABEL, " (label PNGs hold 8-bit values; VOC's void is 255)");
    }
  }
}
