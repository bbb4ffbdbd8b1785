package fcn.core;

/** The process exit codes documented in README. One place, so every command agrees. */
public final class ExitCode {
  /** Everything worked and every check passed. */
  public static final int OK = 0;
  /** The command ran, but a check failed (validate mismatch, gate regression). */
  public static final int CHECK_FAILED = 1;
  /** Bad usage or bad input (missing file, malformed model, unknown option...). */
  public static final int BAD_INPUT = 2;
  /** A bug in fcn: an unexpected exception. Run with --verbose for the stack trace. */
  public static final int INTERNAL = 70;

  private ExitCode() {}
}
