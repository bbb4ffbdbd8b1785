package fcn.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {
  @TempDir Path dir;

  @Test
  void committedFileHasTheUsualModeNotATempFilesPrivateOne() throws Exception {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "not a POSIX file system");
    Path plain = Files.createFile(dir.resolve("plain")); // the mode the umask gives new files
    Path out = dir.resolve("out.bin");
    AtomicFile.write(out, new byte[] {1, 2, 3});
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(out));
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(out));
  }

  @Test
  void closeWithoutCommitLeavesNothing() throws Exception {
    try (AtomicFile f = new AtomicFile(dir.resolve("never.bin"))) {
      f.stream().write(42);
    }
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(List.of(), s.toList());
    }
  }

  @Test
  void tempFileIsRegisteredForSignalCleanupUntilCommitOrClose() throws Exception {
    Path out = dir.resolve("a.bin");
    try (AtomicFile f = new AtomicFile(out)) {
      List<Path> live = TempFiles.live().stream().filter(p -> p.getParent().equals(dir.toAbsolutePath())).toList();
      assertEquals(1, live.size(), live.toString());
      assertTrue(Files.exists(live.get(0)));
      f.stream().write(1);
      f.commit();
    }
    assertTrue(TempFiles.live().stream().noneMatch(p -> p.getParent().equals(dir.toAbsolutePath())));
    AtomicFile g = new AtomicFile(dir.resolve("b.bin"));
    Path tmp = TempFiles.live().stream().filter(p -> p.getParent().equals(dir.toAbsolutePath())).findFirst().orElseThrow();
    // what the shutdown hook does on SIGTERM: delete every registered path (twice is harmless)
    TempFiles.cleanup();
    TempFiles.cleanup();
    assertFalse(Files.exists(tmp));
    g.close();
    assertFalse(Files.exists(dir.resolve("b.bin")));
  }

  @Test
  void tempFolderHasTheUsualModeAndIsCleanedUp() throws Exception {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "not a POSIX file system");
    Path plain = Files.createDirectory(dir.resolve("plain-dir"));
    Path d = TempFiles.createDirectory(dir, "fixtures.");
    Files.writeString(d.resolve("x.txt"), "x");
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(d));
    TempFiles.cleanup();
    assertFalse(Files.exists(d));
  }

  @Test
  void nonRegularTargetsAndInputsAreRefusedAndLeftAlone() throws Exception {
    Path sub = Files.createDirectory(dir.resolve("sub"));
    FcnException e = assertThrows(FcnException.class, () -> new AtomicFile(sub));
    assertTrue(e.getMessage().startsWith(sub + ": is a directory"), e.getMessage());
    Path fifo = dir.resolve("fifo");
    Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
    if (p.waitFor() == 0) {
      e = assertThrows(FcnException.class, () -> AtomicFile.write(fifo, new byte[] {1}));
      assertTrue(e.getMessage().contains("is a FIFO"), e.getMessage());
      assertFalse(Files.isRegularFile(fifo));
    }
    Path in = dir.resolve("in.txt");
    Files.writeString(in, "keep");
    FileChecks.input(in);
    try {
      e = assertThrows(FcnException.class, () -> AtomicFile.write(in, new byte[] {1}));
      assertTrue(e.getMessage().contains("is an input of this run"), e.getMessage());
      assertEquals("keep", Files.readString(in));
    } finally {
      FileChecks.clearInputs();
    }
    AtomicFile.write(in, new byte[] {1}); // no longer an input
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(s.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")));
    }
  }
}
