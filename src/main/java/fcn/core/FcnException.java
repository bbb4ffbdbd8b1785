package fcn.core;

/**
 * A user error: bad input, bad usage, or an environment that cannot do what was asked.
 *
 * <p>The CLI prints only {@link #getMessage()} (one line, naming the file, layer or field and
 * what was expected) and exits with {@link ExitCode#BAD_INPUT}. Anything else that escapes is
 * treated as an internal error (a bug).
 */
public class FcnException extends RuntimeException {
  public FcnException(String message) {
    super(message);
  }

  public FcnException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Formats the message, {@link String#format} style. */
  public static FcnException of(String format, Object... args) {
    return new FcnException(String.format(java.util.Locale.ROOT, format, args));
  }
}
