package fcn.core;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file all-or-nothing: bytes go to a temp file beside the target, which is renamed
 * over the target only by {@link #commit()}. Closing without commit deletes the temp file, so
 * a failed run never leaves a partial output. Owns the temp file; close() is idempotent. The temp
 * file is registered with {@link TempFiles}, so a signal that ends the JVM removes it too.
 *
 * <p>Refuses a target that exists and is not a regular file (renaming over {@code /dev/null} or
 * a FIFO would replace it with a plain file) or that is one of the run's inputs
 * ({@link FileChecks#checkOutput}), before anything is written.
 */
public final class AtomicFile implements AutoCloseable {
  private final Path target;
  private final Path temp;
  private final Path shown;
  private OutputStream out;
  private boolean done;

  public AtomicFile(Path target) {
    this.target = target.toAbsolutePath();
    this.shown = target;
    FileChecks.checkOutput(this.target, target);
    try {
      Path dir = this.target.getParent();
      String dirKind = FileChecks.notAFile(dir);
      if (Files.exists(dir) && !Files.isDirectory(dir)) {
        throw new FcnException("cannot write " + target + ": " + dir + " "
            + (dirKind == null ? "is a file" : dirKind) + ", expected a folder");
      }
      Files.createDirectories(dir);
      // Not Files.createTempFile: it makes the file 0600, and the rename would hand the user an
      // output nobody else can read. A plain create-new open gets the umask's usual mode.
      Path t;
      OutputStream o;
      while (true) {
        t = dir.resolve("." + this.target.getFileName() + "."
            + Long.toUnsignedString(java.util.concurrent.ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
        try {
          Path created = t;
          o = TempFiles.createRegistered(t,
              () -> Files.newOutputStream(created, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
          break;
        } catch (FileAlreadyExistsException e) {
          // Another writer's temp file: pick another name.
        }
      }
      this.temp = t;
      this.out = new java.io.BufferedOutputStream(o, 1 << 16);
    } catch (IOException e) {
      throw new FcnException("cannot write " + target + ": " + FileChecks.reason(e), e);
    }
  }

  /** The stream to write to; valid until commit or close. */
  public OutputStream stream() {
    return out;
  }

  public Path target() {
    return target;
  }

  /** Flushes, then renames the temp file over the target. */
  public void commit() {
    try {
      out.close();
      // Again just before the rename: the target may have become a FIFO or link since.
      FileChecks.checkOutput(target, shown);
      try {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      done = true;
      TempFiles.unregister(temp);
    } catch (IOException e) {
      throw new FcnException("cannot write " + target + ": " + FileChecks.reason(e), e);
    }
  }

  /** Writes bytes to {@code target} atomically. */
  public static void write(Path target, byte[] bytes) {
    try (AtomicFile f = new AtomicFile(target)) {
      f.stream().write(bytes);
      f.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    if (done) {
      return;
    }
    done = true;
    try {
      out.close();
    } catch (IOException ignored) {
      // The temp file is deleted below anyway.
    }
    TempFiles.delete(temp);
  }
}
