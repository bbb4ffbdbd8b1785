package fcn.core;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a path is, said the way a user understands it, and the two rules every writer obeys:
 * an existing output must be a regular file (fcn writes a temp file and renames it over the
 * target, which would replace a device, FIFO or socket with a plain file), and an output must
 * not be one of the run's inputs (a link to one included). Inputs are registered by whoever
 * reads them ({@link #input}); {@link AtomicFile} checks every target against them. The input
 * registry is process-wide; {@code fcn.cli.Main} clears it before each command.
 */
public final class FileChecks {
  // Keyed by file identity (device + inode on Unix), so links and other spellings of an input
  // match, and a check is one stat however many files a dataset has.
  private static final Map<Object, Path> INPUTS = new ConcurrentHashMap<>();

  private FileChecks() {}

  /**
   * "is a directory", "is a FIFO", ... for a path that exists and is not a regular file (links
   * followed); null for a regular file or a path that does not exist.
   */
  public static String notAFile(Path p) {
    if (!Files.exists(p) || Files.isRegularFile(p)) {
      return null;
    }
    if (Files.isDirectory(p)) {
      return "is a directory";
    }
    try {
      int mode = (Integer) Files.getAttribute(p, "unix:mode");
      switch (mode & 0170000) {
        case 0010000:
          return "is a FIFO";
        case 0140000:
          return "is a socket";
        case 0020000:
          return "is a character device";
        case 0060000:
          return "is a block device";
        default:
          break;
      }
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
      // No unix view (not Linux/macOS): the generic wording below.
    }
    return "is not a regular file";
  }

  /**
   * Fails unless {@code p} is an existing regular file. {@code expected} completes "expected
   * ...", e.g. "a CSV report written by fcn bench".
   */
  public static void requireFile(Path p, String expected) {
    if (!Files.exists(p)) {
      throw new FcnException(p + ": no such file; expected " + expected);
    }
    String kind = notAFile(p);
    if (kind != null) {
      throw new FcnException(p + ": " + kind + ", expected " + expected);
    }
  }

  /** Fails unless {@code p} is an existing folder. */
  public static void requireDirectory(Path p, String expected) {
    if (!Files.exists(p)) {
      throw new FcnException(p + ": no such folder; expected " + expected);
    }
    if (!Files.isDirectory(p)) {
      throw new FcnException(p + ": " + (Files.isRegularFile(p) ? "is a file" : notAFile(p)) + ", expected " + expected);
    }
  }

  /** Registers a file this run reads, so that no output replaces it. Missing files are ignored. */
  public static void input(Path p) {
    Object key = key(p);
    if (key != null) {
      INPUTS.putIfAbsent(key, p);
    }
  }

  /** Forgets the registered inputs (a new command starts). */
  public static void clearInputs() {
    INPUTS.clear();
  }

  /**
   * Fails when {@code target} exists and is not a regular file, or is (or links to) a
   * registered input. {@code shown} is the path as the user typed it.
   */
  public static void checkOutput(Path target, Path shown) {
    String kind = notAFile(target);
    if (kind != null) {
      throw new FcnException(shown + ": " + kind + "; expected a regular file or a new file name to write"
          + " (nothing was written)");
    }
    Object key = key(target);
    Path in = key == null ? null : INPUTS.get(key);
    if (in != null && !key.equals(key(in))) {
      // The input is gone and its inode was reused by an unrelated file: not an input any more.
      INPUTS.remove(key, in);
      in = null;
    }
    if (in != null) {
      throw new FcnException(shown + (shown.equals(in) ? "" : " (the same file as " + in + ")")
          + " is an input of this run; choose another output file (nothing was written)");
    }
  }

  /** A short reason for an I/O failure, without Java class names. */
  public static String reason(IOException e) {
    String file = e instanceof FileSystemException f && f.getFile() != null ? f.getFile() : null;
    String what;
    if (e instanceof NoSuchFileException) {
      what = "no such file or folder";
    } else if (e instanceof AccessDeniedException) {
      what = "permission denied";
    } else if (e instanceof FileAlreadyExistsException) {
      what = "already exists and is in the way";
    } else if (e instanceof NotDirectoryException) {
      what = "is not a folder";
    } else if (e instanceof DirectoryNotEmptyException) {
      what = "folder not empty";
    } else if (e instanceof CharacterCodingException) {
      return "not UTF-8 text";
    } else if (e instanceof FileSystemException f && f.getReason() != null) {
      what = f.getReason();
    } else {
      String m = e.getMessage();
      return m == null || m.isBlank() ? "I/O error" : m.replaceAll("\\s+", " ");
    }
    return file == null ? what : file + ": " + what;
  }

  private static Object key(Path p) {
    try {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      Object k = a.fileKey();
      return k != null ? k : p.toRealPath(LinkOption.values());
    } catch (IOException | SecurityException e) {
      return null;
    }
  }
}
