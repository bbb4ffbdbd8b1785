package fcn.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import fcn.core.FcnException;
import fcn.core.TempFiles;
import fcn.frontend.onnx.ModelGate;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * A disk cache of ONNX Runtime's optimised graphs, so that a large model's CPU session is
 * created from an already-optimised copy whose weights ORT memory-maps, instead of parsing the
 * protobuf, copying every weight and rerunning the graph optimisers (NCHWc layout, fusions) on
 * every start: for the 513 MB voc-fcn8s that is most of the session-creation time.
 *
 * <p>An entry is a folder {@code ROOT/<path hash>-<config hash>/} holding ORT's optimised model
 * ({@code model.onnx}, weights in {@code model.onnx.data}) and {@code manifest.properties}. It is
 * used only when all of these match what it was made from: fcn's cache format, ONNX Runtime's
 * version, the optimisation level, intra-op threads, execution provider and CPU (the optimised
 * graph is hardware-specific), and the source model, identified by the real path, size,
 * modification and change times and file key of the .onnx and of every external data file it
 * reads; when only the times or file key differ (a copy, a re-convert writing the same bytes),
 * their SHA-256 decides. The entry's own files are checked by size and CRC32C and by
 * {@link ModelGate} before ORT sees them. Anything that does not match, or that ORT cannot load,
 * is rebuilt from the source; a cache that cannot be read or written is never an error, only
 * slower. Entries are written to a temp folder and renamed into place, so concurrent fcn
 * processes see a whole entry or none. Storing an entry removes those whose source files no
 * longer exist.
 *
 * <p>Models below {@link #MIN_BYTES} are not cached (ORT loads them in milliseconds). The
 * standard cache lives under {@code $XDG_CACHE_HOME/fcn/sessions} (default
 * {@code ~/.cache/fcn/sessions}); {@code --no-session-cache} or {@code FCN_SESSION_CACHE=off}
 * turns it off. Instances are immutable; the on/off switch is process-wide.
 */
public final class SessionCache {
  /** Below this many bytes (the .onnx file) models are opened without the cache. */
  public static final long MIN_BYTES = 16L << 20;
  /** Environment variable: off, 0 or false disables the standard cache. */
  public static final String ENV = "FCN_SESSION_CACHE";

  /** What the cache did for one session. */
  public enum Status {
    /** Opened from a valid entry. */
    HIT,
    /** Opened from the source; an entry was written for next time. */
    STORED,
    /** Opened from the source; no entry could be written (read-only cache, disk full, ...). */
    NOT_STORED,
    /** Below {@link #MIN_BYTES}: opened from the source, no cache involved. */
    SMALL,
    /** One of fcn's own temp files (a calibration or per-layer copy): used once, not cached. */
    TEMPORARY,
    /** No cache: disabled, or a device the cache does not cover. */
    OFF;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** The session and what the cache did. */
  record Opened(OrtSession session, Status status) {}

  static final int FORMAT = 1;
  static final String MODEL = "model.onnx";
  static final String DATA = "model.onnx.data";
  static final String MANIFEST = "manifest.properties";

  private static volatile boolean enabled = true;

  private final Path root;
  private final long minBytes;

  /** A cache in {@code root}, for models of at least {@code minBytes} bytes. */
  public SessionCache(Path root, long minBytes) {
    this.root = root.toAbsolutePath();
    this.minBytes = minBytes;
  }

  /**
   * The standard cache, or null when it is off ({@link #setEnabled}, {@link #ENV}) or there is
   * no cache folder (no home).
   */
  public static SessionCache standard() {
    String env = System.getenv(ENV);
    if (!enabled || env != null && List.of("off", "0", "false", "no").contains(env.trim().toLowerCase(Locale.ROOT))) {
      return null;
    }
    Path base = OrtNatives.cacheRoot();
    return base == null ? null : new SessionCache(base.resolve("fcn").resolve("sessions"), MIN_BYTES);
  }

  /** Process-wide switch for {@link #standard()} (the CLI's --no-session-cache). */
  public static void setEnabled(boolean on) {
    enabled = on;
  }

  /** The process-wide switch's state. */
  public static boolean enabled() {
    return enabled;
  }

  public Path root() {
    return root;
  }

  /**
   * Creates the session for {@code model}, from the cache when it holds a valid entry, else from
   * the source (storing an entry). {@code so} is the caller's fully configured options, at
   * {@code opt}; the cache changes only its optimisation level (a hit loads an already
   * optimised graph, so with none) and where ORT saves its optimised graph (on a miss).
   *
   * @throws OrtException when the source model itself cannot be loaded
   */
  Opened open(OrtEnvironment env, Path model, SessionOptions so, OptLevel opt, int threads,
      String provider) throws OrtException {
    long size;
    try {
      size = Files.size(model);
    } catch (IOException e) {
      size = -1;
    }
    if (size < minBytes) {
      return new Opened(env.createSession(model.toString(), so), Status.SMALL);
    }
    if (fcn.core.TempFiles.isTemporary(model)) {
      // A copy fcn made for one run: an entry would cost a second copy of its weights on disk
      // and a slower first open, for a file deleted at the end of the run.
      return new Opened(env.createSession(model.toString(), so), Status.TEMPORARY);
    }
    Source src;
    try {
      src = Source.of(model);
    } catch (IOException | RuntimeException e) {
      return new Opened(env.createSession(model.toString(), so), Status.NOT_STORED);
    }
    String config = config(opt, threads, provider, env.getVersion());
    Path entry = root.resolve(hash(src.paths()).substring(0, 16) + "-" + hash(config).substring(0, 16));
    Path cached = lookup(entry, src, config);
    if (cached != null) {
      try {
        so.setOptimizationLevel(OptLevel.NONE.ort());
        return new Opened(env.createSession(cached.toString(), so), Status.HIT);
      } catch (OrtException e) {
        so.setOptimizationLevel(opt.ort()); // unloadable entry: rebuilt below
      }
    }
    return store(env, model, so, src, config, entry);
  }

  /** The entry's model when the entry is whole and was made from {@code src}; else null. */
  static Path lookup(Path entry, Source src, String config) {
    try {
      Properties m = new Properties();
      try (InputStream in = Files.newInputStream(entry.resolve(MANIFEST))) {
        m.load(in);
      }
      if (!config.equals(m.getProperty("config")) || !src.paths().equals(m.getProperty("source.paths"))) {
        return null;
      }
      if (!src.stat().equals(m.getProperty("source.stat"))) {
        // Touched, copied back or rewritten with the same bytes: the content decides.
        if (!src.sizes().equals(m.getProperty("source.sizes"))
            || !src.sha256().equals(m.getProperty("source.sha256"))) {
          return null;
        }
        m.setProperty("source.stat", src.stat());
        writeManifest(entry, m); // best effort: next time the stat matches again
      }
      for (String name : List.of(MODEL, DATA)) {
        String want = m.getProperty("file." + name);
        Path f = entry.resolve(name);
        if (want == null ? Files.exists(f) : !want.equals(checksum(f))) {
          return null;
        }
      }
      Path model = entry.resolve(MODEL);
      ModelGate.check(model); // ORT never sees a file fcn's own rules refuse
      return model;
    } catch (IOException | RuntimeException e) {
      return null; // missing, unreadable or corrupt: rebuilt by the caller
    }
  }

  private Opened store(OrtEnvironment env, Path model, SessionOptions so, Source src, String config,
      Path entry) throws OrtException {
    Path tmp;
    try {
      tmp = TempFiles.createDirectory(root, entry.getFileName() + ".");
    } catch (FcnException e) {
      return new Opened(env.createSession(model.toString(), so), Status.NOT_STORED);
    }
    OrtSession session;
    try {
      so.setOptimizedModelFilePath(tmp.resolve(MODEL).toString());
      so.addConfigEntry("session.optimized_model_external_initializers_file_name", DATA);
      so.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
      session = env.createSession(model.toString(), so);
    } catch (OrtException e) {
      TempFiles.delete(tmp);
      // Maybe only the save failed (disk full): once more without it, which reports the
      // model's own error if it has one.
      so.setOptimizedModelFilePath("");
      return new Opened(env.createSession(model.toString(), so), Status.NOT_STORED);
    }
    try {
      if (!Files.isRegularFile(tmp.resolve(MODEL)) || !src.equals(Source.of(model))) {
        throw new IOException("no optimised model saved, or the source changed while loading");
      }
      Properties m = new Properties();
      m.setProperty("format", Integer.toString(FORMAT));
      m.setProperty("config", config);
      m.setProperty("source.paths", src.paths());
      m.setProperty("source.stat", src.stat());
      m.setProperty("source.sizes", src.sizes());
      m.setProperty("source.sha256", src.sha256());
      for (String name : List.of(MODEL, DATA)) {
        Path f = tmp.resolve(name);
        if (Files.exists(f)) {
          m.setProperty("file." + name, checksum(f));
        }
      }
      writeManifest(tmp, m);
      replace(tmp, entry);
      prune(entry);
      return new Opened(session, Status.STORED);
    } catch (IOException | RuntimeException e) {
      TempFiles.delete(tmp);
      return new Opened(session, Status.NOT_STORED);
    }
  }

  /**
   * Removes entries whose source files are gone (a model deleted or moved: its entry can never
   * hit again) and temp folders that a killed fcn left more than an hour ago. Best effort.
   */
  private void prune(Path keep) {
    long hourAgo = System.currentTimeMillis() - 3_600_000L;
    try (var dirs = Files.newDirectoryStream(root)) {
      for (Path d : dirs) {
        if (d.equals(keep) || !Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        String name = d.getFileName().toString();
        if (name.startsWith(".")) {
          if ((name.endsWith(".tmp") || name.endsWith(".old"))
              && Files.getLastModifiedTime(d).toMillis() < hourAgo) {
            TempFiles.delete(d);
          }
          continue;
        }
        Properties m = new Properties();
        try (InputStream in = Files.newInputStream(d.resolve(MANIFEST))) {
          m.load(in);
        } catch (IOException e) {
          continue; // being written, or not ours: lookup rebuilds it when its key comes up
        }
        String paths = m.getProperty("source.paths", "");
        for (String p : paths.split("\n")) {
          if (!p.isEmpty() && !Files.exists(Path.of(p))) {
            TempFiles.delete(d);
            break;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // Pruning is housekeeping; the entry just stored is what matters.
    }
  }

  /** Renames the finished {@code tmp} folder over {@code entry}, removing an older entry. */
  private static void replace(Path tmp, Path entry) throws IOException {
    if (Files.exists(entry)) {
      // A folder cannot be renamed over a full one: move the old one aside first. A process
      // still using it keeps its mapped files (Linux frees them when it unmaps).
      Path old = entry.resolveSibling("." + entry.getFileName() + "." + Long.toUnsignedString(System.nanoTime(), 36) + ".old");
      try {
        Files.move(entry, old, StandardCopyOption.ATOMIC_MOVE);
        TempFiles.delete(old);
      } catch (IOException e) {
        // Another process replaced or removed it meanwhile; the move below decides.
      }
    }
    try {
      Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE);
      TempFiles.unregister(tmp);
    } catch (IOException e) {
      TempFiles.delete(tmp); // another process stored the same entry first: theirs is as good
    }
  }

  private static void writeManifest(Path dir, Properties m) throws IOException {
    Path tmp = dir.resolve("." + MANIFEST + "." + Long.toUnsignedString(System.nanoTime(), 36) + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW)) {
      m.store(out, "fcn session cache entry (see fcn.runtime.SessionCache)");
    }
    try {
      Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Everything besides the source that decides what ORT's optimised graph looks like. */
  static String config(OptLevel opt, int threads, String provider, String ortVersion) {
    return "format=" + FORMAT + ";ort=" + ortVersion + ";opt=" + opt + ";threads=" + threads
        + ";provider=" + provider + ";cpu=" + cpu();
  }

  /** The CPU's model and feature flags (hashed): NCHWc block sizes and kernels follow them. */
  private static String cpu() {
    String model = "";
    String flags = "";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (model.isEmpty() && line.startsWith("model name")) {
          model = line.substring(line.indexOf(':') + 1).trim();
        } else if (flags.isEmpty() && (line.startsWith("flags") || line.startsWith("Features"))) {
          flags = line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: the architecture and core count have to do.
    }
    return hash(System.getProperty("os.arch") + "|" + Runtime.getRuntime().availableProcessors() + "|" + model + "|" + flags)
        .substring(0, 16);
  }

  /** "SIZE:CRC32C" of a file, read through a mapping (CRC32C is an intrinsic on x86 and ARM). */
  static String checksum(Path f) throws IOException {
    CRC32C crc = new CRC32C();
    long size;
    try (FileChannel ch = FileChannel.open(f)) {
      size = ch.size();
      for (long at = 0; at < size; at += 1L << 30) {
        MappedByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, at, Math.min(1L << 30, size - at));
        crc.update(b);
      }
    }
    return size + ":" + Long.toHexString(crc.getValue());
  }

  static String hash(String s) {
    return HexFormat.of().formatHex(sha256().digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** The source model's files (the .onnx first, then its external data files) as found now. */
  record Source(List<Path> files, String paths, String stat, String sizes, String[] digest) {
    static Source of(Path model) throws IOException {
      List<Path> files = new ArrayList<>();
      files.add(model.toRealPath());
      files.addAll(ModelGate.externalFiles(model));
      StringBuilder paths = new StringBuilder();
      StringBuilder stat = new StringBuilder();
      StringBuilder sizes = new StringBuilder();
      for (Path f : files) {
        BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
        Object ctime;
        try {
          ctime = Files.getAttribute(f, "unix:ctime"); // changes on every write, unlike mtime
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
          ctime = "";
        }
        paths.append(f).append('\n');
        sizes.append(a.size()).append(' ');
        stat.append(a.size()).append(',').append(nanos(a.lastModifiedTime())).append(',')
            .append(ctime instanceof FileTime t ? nanos(t) : "").append(',').append(a.fileKey()).append(' ');
      }
      return new Source(files, paths.toString(), stat.toString().trim(), sizes.toString().trim(), new String[1]);
    }

    private static long nanos(FileTime t) {
      return t.to(TimeUnit.NANOSECONDS);
    }

    /** SHA-256 over the files' bytes, computed once on first use. */
    String sha256() throws IOException {
      if (digest[0] == null) {
        MessageDigest md = SessionCache.sha256();
        for (Path f : files) {
          try (FileChannel ch = FileChannel.open(f)) {
            long size = ch.size();
            for (long at = 0; at < size; at += 1L << 30) {
              md.update(ch.map(FileChannel.MapMode.READ_ONLY, at, Math.min(1L << 30, size - at)));
            }
          }
          md.update((byte) 0);
        }
        digest[0] = HexFormat.of().formatHex(md.digest());
      }
      return digest[0];
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Source s && paths.equals(s.paths) && stat.equals(s.stat);
    }

    @Override
    public int hashCode() {
      return stat.hashCode();
    }
  }
}
