package fcn.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.core.FcnException;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.StringStringEntryProto;
import fcn.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session cache: what makes an entry valid, what invalidates it, that a corrupt entry is
 * rebuilt rather than an error, and that a cached session computes what an uncached one does.
 */
class SessionCacheTest {
  @TempDir Path tmp;

  private SessionCache cache() {
    return new SessionCache(tmp.resolve("cache"), 0); // every model, however small
  }

  private Path model(long seed) throws IOException {
    return TinyModels.write(TinyModels.convRelu(seed, 8, 16), tmp.resolve("m.onnx"));
  }

  private static FloatTensor input() {
    SplittableRandom rng = new SplittableRandom(7);
    float[] x = new float[8 * 10 * 12];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (rng.nextDouble() * 2 - 1);
    }
    return new FloatTensor(x, 1, 8, 10, 12);
  }

  private record Run(SessionCache.Status status, float[] score) {}

  private static Run run(Path model, int threads, OptLevel opt, SessionCache cache) {
    try (Session s = Session.open(model, Device.CPU, threads, opt, cache)) {
      return new Run(s.cacheStatus(), s.run(Map.of("data", input())).get("score").data());
    }
  }

  /** The project's rule for comparing with a real framework: max|err| <= 1e-4 x max|ref|. */
  private static void assertClose(float[] ref, float[] got) {
    fcn.testing.Tolerance.assertClose("score", ref, got, 1e-4);
  }

  private List<Path> entries() throws IOException {
    try (Stream<Path> s = Files.list(tmp.resolve("cache"))) {
      return s.sorted().toList();
    }
  }

  private Path entry() throws IOException {
    List<Path> e = entries();
    assertEquals(1, e.size(), "entries: " + e);
    return e.get(0);
  }

  @Test
  void storedThenHitGiveTheOutputsOfAnUncachedSession() throws IOException {
    Path m = model(1);
    Run plain = run(m, 1, OptLevel.ALL, null);
    assertEquals(SessionCache.Status.OFF, plain.status());
    Run first = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.STORED, first.status());
    Path e = entry();
    assertTrue(Files.isRegularFile(e.resolve(SessionCache.MODEL)));
    assertTrue(Files.isRegularFile(e.resolve(SessionCache.MANIFEST)));
    Run second = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.HIT, second.status());
    assertClose(plain.score(), first.score());
    assertClose(plain.score(), second.score());
    assertEquals(List.of(e), entries(), "no temp folder or second entry left behind");
  }

  @Test
  void changedModelIsNotServedFromTheCache() throws IOException {
    Path m = model(1);
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    model(2); // same size, other weights
    Run changed = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.STORED, changed.status());
    assertClose(run(m, 1, OptLevel.ALL, null).score(), changed.score());
    assertEquals(1, entries().size(), "the stale entry is replaced, not kept beside the new one");
  }

  @Test
  void sameBytesWrittenAgainStillHitByContent() throws IOException {
    Path m = model(1);
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    byte[] bytes = Files.readAllBytes(m);
    Files.delete(m);
    Files.write(m, bytes); // new inode and times, same content (a deterministic re-convert)
    assertEquals(SessionCache.Status.HIT, run(m, 1, OptLevel.ALL, cache()).status());
  }

  @Test
  void otherOptimisationLevelOrThreadsGetTheirOwnEntry() throws IOException {
    Path m = model(1);
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    assertEquals(SessionCache.Status.STORED, run(m, 2, OptLevel.ALL, cache()).status());
    Run basic = run(m, 1, OptLevel.BASIC, cache());
    assertEquals(SessionCache.Status.STORED, basic.status());
    assertEquals(3, entries().size());
    assertEquals(SessionCache.Status.HIT, run(m, 1, OptLevel.ALL, cache()).status());
    assertEquals(SessionCache.Status.HIT, run(m, 2, OptLevel.ALL, cache()).status());
    Run basicAgain = run(m, 1, OptLevel.BASIC, cache());
    assertEquals(SessionCache.Status.HIT, basicAgain.status());
    assertClose(run(m, 1, OptLevel.BASIC, null).score(), basicAgain.score());
  }

  @Test
  void configKeyNamesEverythingTheOptimisedGraphDependsOn() {
    String base = SessionCache.config(OptLevel.ALL, 0, Session.CPU_PROVIDER, "1.23.2");
    assertFalse(base.equals(SessionCache.config(OptLevel.ALL, 0, Session.CPU_PROVIDER, "1.24.0")));
    assertFalse(base.equals(SessionCache.config(OptLevel.EXTENDED, 0, Session.CPU_PROVIDER, "1.23.2")));
    assertFalse(base.equals(SessionCache.config(OptLevel.ALL, 1, Session.CPU_PROVIDER, "1.23.2")));
    assertFalse(base.equals(SessionCache.config(OptLevel.ALL, 0, Session.CUDA_PROVIDER, "1.23.2")));
    assertTrue(base.contains(";cpu="), base);
  }

  @Test
  void corruptEntriesAreRebuiltNeverAnError() throws IOException {
    Path m = model(3);
    float[] ref = run(m, 1, OptLevel.ALL, null).score();
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    Path e = entry();
    Path data = e.resolve(SessionCache.DATA);
    assertTrue(Files.isRegularFile(data), "weights of at least 1 KiB go to the data file");
    // A flipped byte, same size: only the checksum can tell.
    byte[] d = Files.readAllBytes(data);
    d[d.length / 2] ^= 0x40;
    Files.write(data, d);
    Run flipped = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.STORED, flipped.status());
    assertClose(ref, flipped.score());
    // Truncated weights, a garbage model, a garbage manifest, a missing manifest.
    Files.write(entry().resolve(SessionCache.DATA), new byte[10]);
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    Files.write(entry().resolve(SessionCache.MODEL), "not protobuf".getBytes());
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    Files.write(entry().resolve(SessionCache.MANIFEST), new byte[] {0, (byte) 0xff, '=', '\n'});
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    Files.delete(entry().resolve(SessionCache.MANIFEST));
    Run rebuilt = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.STORED, rebuilt.status());
    assertClose(ref, rebuilt.score());
    assertEquals(SessionCache.Status.HIT, run(m, 1, OptLevel.ALL, cache()).status());
  }

  @Test
  void entryThatPassesItsChecksButOrtCannotLoadIsRebuilt() throws IOException {
    Path m = model(4);
    float[] ref = run(m, 1, OptLevel.ALL, null).score();
    assertEquals(SessionCache.Status.STORED, run(m, 1, OptLevel.ALL, cache()).status());
    Path e = entry();
    // A well-formed model with an operator ORT does not have, with a manifest that vouches for it.
    ModelProto bad = TinyModels.add(1L, 2L).toBuilder().setGraph(TinyModels.add(1L, 2L).getGraph().toBuilder()
        .setNode(0, NodeProto.newBuilder().setOpType("NoSuchOp").setName("x").addInput("A").addInput("B").addOutput("C")))
        .build();
    Files.write(e.resolve(SessionCache.MODEL), bad.toByteArray());
    Files.delete(e.resolve(SessionCache.DATA));
    Path manifest = e.resolve(SessionCache.MANIFEST);
    List<String> lines = Files.readAllLines(manifest).stream()
        .filter(l -> !l.startsWith("file."))
        .toList();
    Files.write(manifest, lines);
    Files.writeString(manifest, "file." + SessionCache.MODEL + "=" + SessionCache.checksum(e.resolve(SessionCache.MODEL)).replace(":", "\\:") + "\n",
        StandardOpenOption.APPEND);
    assertNotNull(SessionCache.lookup(e, SessionCache.Source.of(m),
        SessionCache.config(OptLevel.ALL, 1, Session.CPU_PROVIDER, Session.ortVersion())), "the forged entry passes lookup");
    Run rebuilt = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.STORED, rebuilt.status());
    assertClose(ref, rebuilt.score());
  }

  @Test
  void externalDataFileChangeInvalidates() throws IOException {
    ModelProto m = TinyModels.convRelu(5, 8, 16);
    GraphProto.Builder g = m.getGraph().toBuilder();
    TensorProto w = g.getInitializer(0);
    Files.write(tmp.resolve("w.bin"), w.getRawData().toByteArray());
    g.setInitializer(0, w.toBuilder().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin")));
    Path model = TinyModels.write(m.toBuilder().setGraph(g).build(), tmp.resolve("ext.onnx"));
    assertEquals(SessionCache.Status.STORED, run(model, 1, OptLevel.ALL, cache()).status());
    assertEquals(SessionCache.Status.HIT, run(model, 1, OptLevel.ALL, cache()).status());
    // Other weights in the external file only; the .onnx is untouched.
    ByteString other = TinyModels.convRelu(6, 8, 16).getGraph().getInitializer(0).getRawData();
    Files.write(tmp.resolve("w.bin"), other.toByteArray());
    Run changed = run(model, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.STORED, changed.status());
    assertClose(run(model, 1, OptLevel.ALL, null).score(), changed.score());
  }

  @Test
  void storingRemovesEntriesOfModelsThatAreGone() throws IOException {
    Path gone = TinyModels.write(TinyModels.convRelu(8, 8, 16), tmp.resolve("gone.onnx"));
    assertEquals(SessionCache.Status.STORED, run(gone, 1, OptLevel.ALL, cache()).status());
    Path kept = TinyModels.write(TinyModels.convRelu(9, 8, 16), tmp.resolve("kept.onnx"));
    assertEquals(SessionCache.Status.STORED, run(kept, 1, OptLevel.ALL, cache()).status());
    assertEquals(2, entries().size());
    Files.delete(gone);
    Path third = TinyModels.write(TinyModels.convRelu(10, 8, 16), tmp.resolve("third.onnx"));
    assertEquals(SessionCache.Status.STORED, run(third, 1, OptLevel.ALL, cache()).status());
    assertEquals(2, entries().size(), "gone.onnx's entry is removed, kept.onnx's stays");
    assertEquals(SessionCache.Status.HIT, run(kept, 1, OptLevel.ALL, cache()).status());
  }

  @Test
  void smallModelsBypassTheCache() throws IOException {
    Path m = model(1);
    Run r = run(m, 1, OptLevel.ALL, new SessionCache(tmp.resolve("cache"), Files.size(m) + 1));
    assertEquals(SessionCache.Status.SMALL, r.status());
    assertFalse(Files.exists(tmp.resolve("cache")) && entries().size() > 0);
  }

  @Test
  void fcnsOwnTempCopiesBypassTheCache() throws IOException {
    // Calibration and per-layer copies live in registered temp folders and are used once.
    Path scratch = fcn.core.TempFiles.createScratchDirectory("fcn-cache-test-");
    try {
      Path m = TinyModels.write(TinyModels.convRelu(3, 8, 16), scratch.resolve("copy.onnx"));
      assertEquals(SessionCache.Status.TEMPORARY, run(m, 1, OptLevel.ALL, cache()).status());
      assertFalse(Files.exists(tmp.resolve("cache")) && entries().size() > 0);
      Path kept = TinyModels.write(TinyModels.convRelu(3, 8, 16), tmp.resolve("kept.onnx"));
      assertEquals(SessionCache.Status.STORED, run(kept, 1, OptLevel.ALL, cache()).status(),
          "the same model outside fcn's temp folders is cached");
    } finally {
      fcn.core.TempFiles.delete(scratch);
    }
  }

  @Test
  void unwritableCacheOnlyMeansNotStored() throws IOException {
    Path m = model(1);
    Files.writeString(tmp.resolve("cache"), "a file where the cache folder should be");
    Run r = run(m, 1, OptLevel.ALL, cache());
    assertEquals(SessionCache.Status.NOT_STORED, r.status());
    assertClose(run(m, 1, OptLevel.ALL, null).score(), r.score());
  }

  @Test
  void modelOrtCannotLoadIsStillTheModelsError() throws IOException {
    ModelProto bad = TinyModels.add(1L, 2L).toBuilder().setGraph(TinyModels.add(1L, 2L).getGraph().toBuilder()
        .setNode(0, NodeProto.newBuilder().setOpType("NoSuchOp").setName("x").addInput("A").addInput("B").addOutput("C")))
        .build();
    Path m = TinyModels.write(bad, tmp.resolve("bad.onnx"));
    FcnException e = assertThrows(FcnException.class, () -> Session.open(m, Device.CPU, 1, OptLevel.ALL, cache()));
    assertTrue(e.getMessage().contains("bad.onnx") && e.getMessage().contains("NoSuchOp"), e.getMessage());
    try (Stream<Path> s = Files.list(tmp.resolve("cache"))) {
      assertEquals(0, s.count(), "no entry and no temp folder for a model that does not load");
    }
  }

  @Test
  void switchTurnsTheStandardCacheOff() {
    try {
      SessionCache.setEnabled(false);
      assertNull(SessionCache.standard());
    } finally {
      SessionCache.setEnabled(true);
    }
    assertTrue(SessionCache.enabled());
  }
}
