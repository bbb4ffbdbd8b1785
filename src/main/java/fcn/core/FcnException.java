package fcn.core;

/**
 * A user error: bad input, bad usage, or an environment that cannot do what was asked.
 *
 * <p>The CLI prints only {@link #getMessage()} (one line, naming the file, layer or field and
 * what was expected) and exits with {@link ExitCode#BAD_INPUT}. Anything else that escapes is
 * treated as an internal error (a bug).
 */
public class FcnException extends RuntimeException {
  private final String detail;

  public FcnException(String message) {
    super(message);
    this.detail = null;
  }

  /** With a longer text (e.g. every offending node) that the CLI prints only under --verbose. */
  public FcnException(String message, String detail) {
    super(message);
    this.detail = detail;
  }

  /** The long form of the message, or null. */
  public String detail() {
    return detail;
  }

  public FcnException(String message, Throwable cause) {
    super(message, cause);
    this.detail = null;
  }

  /** Formats the message, {@link String#format} style. */
  public static FcnException of(String format, Object... args) {
    return new FcnException(String.format(java.util.Locale.ROOT, format, args));
  }
}
