package fcn.core;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The process-wide registry of fcn's temp files and folders. Whoever makes one registers it and
 * unregisters it once it is renamed into place or deleted; a JVM shutdown hook (run on normal
 * exit, SIGTERM, SIGINT and SIGHUP alike) deletes whatever is still registered, so a run stopped
 * by {@code timeout}, CI cancellation or Ctrl-C leaves no hidden {@code .NAME.<rand>.tmp} behind.
 * Thread-safe; cleanup is idempotent. SIGKILL and JVM crashes cannot be caught: nothing can
 * clean up after those.
 */
public final class TempFiles {
  private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();
  private static volatile boolean hooked;
  private static volatile boolean shuttingDown;
  // Held while a temp path is created and registered, and by the shutdown hook while it cleans:
  // a signal that lands mid-creation then either finds the path registered or stops its creation.
  private static final Object LOCK = new Object();

  private TempFiles() {}

  /** Creates something at a temp path ({@code Files.newOutputStream(p, CREATE_NEW)}, say). */
  @FunctionalInterface
  public interface Creator<T> {
    T create() throws IOException;
  }

  /**
   * Creates {@code p} with {@code creator} and registers it, as one step with respect to the
   * shutdown hook: a signal arriving at any moment leaves no unregistered file behind. The
   * creator's exceptions (e.g. FileAlreadyExistsException) pass through, nothing registered.
   */
  public static <T> T createRegistered(Path p, Creator<T> creator) throws IOException {
    hook();
    synchronized (LOCK) {
      if (shuttingDown) {
        throw new FcnException("fcn is shutting down; not writing " + p);
      }
      T made = creator.create();
      LIVE.add(p.toAbsolutePath());
      return made;
    }
  }

  /**
   * Registers {@code p} (a file or a folder, deleted with its contents) for deletion at exit.
   * Once the JVM is shutting down, a new temp path is deleted at once and the caller fails: the
   * hook may already have run, and nothing else would remove it.
   */
  public static void register(Path p) {
    hook();
    LIVE.add(p.toAbsolutePath());
    if (shuttingDown) {
      delete(p.toAbsolutePath());
      throw new FcnException("fcn is shutting down; not writing " + p);
    }
  }

  /** The path is no longer temporary (renamed into place) or is already deleted. */
  public static void unregister(Path p) {
    LIVE.remove(p.toAbsolutePath());
  }

  /** Deletes {@code p} (recursively) now and unregisters it; best effort, never throws. */
  public static void delete(Path p) {
    deleteTree(p);
    unregister(p);
  }

  /** Whether {@code p} is, or lies inside, a registered temp file or folder. */
  public static boolean isTemporary(Path p) {
    Path a = p.toAbsolutePath().normalize();
    for (Path t : LIVE) {
      if (a.startsWith(t)) {
        return true;
      }
    }
    return false;
  }

  /** The registered paths, for tests. */
  static List<Path> live() {
    return new ArrayList<>(LIVE);
  }

  /**
   * Creates a new empty hidden folder {@code parent/.PREFIX<rand>.tmp}, registered. Unlike
   * {@link Files#createTempDirectory} it gets the umask's usual mode (0755 under umask 022), not
   * 0700, because callers rename it into place as the user's output folder.
   */
  public static Path createDirectory(Path parent, String prefix) {
    try {
      Files.createDirectories(parent);
      while (true) {
        Path d = parent.resolve("." + prefix
            + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
        try {
          createRegistered(d, () -> Files.createDirectory(d));
          return d;
        } catch (java.nio.file.FileAlreadyExistsException e) {
          // Someone else's: pick another name.
        }
      }
    } catch (IOException e) {
      throw new FcnException("cannot create a folder in " + parent + ": " + FileChecks.reason(e), e);
    }
  }

  /**
   * Creates a new private (0700 where POSIX) scratch folder {@code $TMPDIR/PREFIX<rand>},
   * registered as it is made, like {@link Files#createTempDirectory} but with no moment at which
   * a signal could leave it behind.
   */
  public static Path createScratchDirectory(String prefix) {
    Path parent = Path.of(System.getProperty("java.io.tmpdir"));
    boolean posix = parent.getFileSystem().supportedFileAttributeViews().contains("posix");
    try {
      while (true) {
        Path d = parent.resolve(prefix + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
        try {
          createRegistered(d, () -> posix
              ? Files.createDirectory(d, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                  java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")))
              : Files.createDirectory(d));
          return d;
        } catch (java.nio.file.FileAlreadyExistsException e) {
          // Someone else's: pick another name.
        }
      }
    } catch (IOException e) {
      throw new FcnException("cannot create a temp folder in " + parent + ": " + FileChecks.reason(e), e);
    }
  }

  /** Deletes every registered path. Idempotent; called by the shutdown hook. */
  static void cleanup() {
    for (Path p : new ArrayList<>(LIVE)) {
      deleteTree(p);
      LIVE.remove(p);
    }
  }

  private static void hook() {
    if (hooked) {
      return;
    }
    synchronized (TempFiles.class) {
      if (!hooked) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          shuttingDown = true;
          synchronized (LOCK) {
            cleanup();
          }
        }, "fcn-temp-cleanup"));
        hooked = true;
      }
    }
  }

  private static void deleteTree(Path root) {
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException exc) {
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (NoSuchFileException ignored) {
      // Already gone.
    } catch (IOException | RuntimeException ignored) {
      // Best effort: the caller is failing or exiting already.
    }
  }
}
