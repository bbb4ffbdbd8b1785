package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import fcn.runtime.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidatorTest {
  @TempDir Path tmp;

  private static FloatTensor ramp(int n, float step, long... shape) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = i * step - 1;
    }
    return new FloatTensor(f, shape);
  }

  @Test
  void unnamedNpyTensorsAreMatchedByPosition() throws IOException {
    Path model = TinyModels.write(TinyModels.add(1L, "N"), tmp.resolve("add.onnx"));
    try (Session s = Session.open(model)) {
      Map<String, FloatTensor> in = new LinkedHashMap<>();
      in.put("A", ramp(5, 0.5f, 1, 5));
      in.put("B", ramp(5, -0.25f, 1, 5));
      FloatTensor c = s.run(in).get("C"); // expected values come from ONNX Runtime itself
      Path set = tmp.resolve("fx/test_data_set_0");
      Files.createDirectories(set);
      NpyIO.writeNpy(set.resolve("input_0.npy"), in.get("A"));
      NpyIO.writeNpy(set.resolve("input_1.npy"), in.get("B"));
      NpyIO.writeNpy(set.resolve("output_0.npy"), c);

      ValidationReport r = new Validator(s, Tolerances.of(0, 0)).validate(tmp.resolve("fx"));
      assertTrue(r.passed());
      assertEquals(1, r.comparisons());
      assertEquals("C", r.sets().get(0).outputs().get(0).output());
      assertTrue(r.runtime().contains("CPUExecutionProvider"));

      // Swapping the two input files swaps A and B: still equal for Add, so check a one-sided change.
      NpyIO.writeNpy(set.resolve("input_1.npy"), ramp(5, 0.5f, 1, 5));
      ValidationReport bad = new Validator(s, Tolerances.of(0, 0)).validate(tmp.resolve("fx"));
      assertFalse(bad.passed());
      assertEquals(1, bad.failures().size());
      assertTrue(bad.failures().get(0).message().startsWith("test_data_set_0: output 'C' MISMATCH"));

      // A third unnamed input has no model input to go to.
      NpyIO.writeNpy(set.resolve("input_2.npy"), in.get("A"));
      FcnException e = assertThrows(FcnException.class, () -> new Validator(s, Tolerances.defaults()).validate(tmp.resolve("fx")));
      assertTrue(e.getMessage().contains("input #2 (unnamed)") && e.getMessage().contains("A: float 1xN, B: float 1xN"), e.getMessage());
    }
  }

  @Test
  void fixtureLayoutErrorsAreClear() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    FcnException e = assertThrows(FcnException.class, () -> FixtureSet.loadAll(empty));
    assertTrue(e.getMessage().contains("no test_data_set_N/") && e.getMessage().contains(empty.toString()), e.getMessage());

    Path set = Files.createDirectories(tmp.resolve("dup/test_data_set_0"));
    FloatTensor t = ramp(2, 1, 2);
    TensorProtoIO.write(set.resolve("input_0.pb"), "A", t);
    NpyIO.writeNpy(set.resolve("input_0.npy"), t);
    TensorProtoIO.write(set.resolve("output_0.pb"), "C", t);
    e = assertThrows(FcnException.class, () -> FixtureSet.loadAll(tmp.resolve("dup")));
    assertTrue(e.getMessage().contains("input_0.pb") && e.getMessage().contains("input_0.npy"), e.getMessage());

    Path noOut = Files.createDirectories(tmp.resolve("noout/test_data_set_0"));
    TensorProtoIO.write(noOut.resolve("input_0.pb"), "A", t);
    e = assertThrows(FcnException.class, () -> FixtureSet.loadAll(tmp.resolve("noout")));
    assertTrue(e.getMessage().contains("no output files"), e.getMessage());

    // A folder holding input_K/output_K files directly is one set; sets sort numerically.
    Path flat = Files.createDirectories(tmp.resolve("flat"));
    TensorProtoIO.write(flat.resolve("input_0.pb"), "A", t);
    TensorProtoIO.write(flat.resolve("output_0.pb"), "C", t);
    assertEquals(1, FixtureSet.loadAll(flat).size());
    Path many = tmp.resolve("many");
    for (int i : new int[] {10, 2}) {
      Path d = Files.createDirectories(many.resolve("test_data_set_" + i));
      TensorProtoIO.write(d.resolve("input_0.pb"), "A", t);
      TensorProtoIO.write(d.resolve("output_0.pb"), "C", t);
    }
    assertEquals(java.util.List.of("test_data_set_2", "test_data_set_10"),
        FixtureSet.loadAll(many).stream().map(FixtureSet::name).toList());
  }
}
