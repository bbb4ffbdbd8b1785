package fcn.validate;

import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import fcn.runtime.Session;
import fcn.runtime.TensorSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs every fixture set through a model and compares each expected output: the library entry
 * point of {@code fcn validate}.
 *
 * <p>Fixture tensors are matched to the model by name; unnamed ones by position. Fixtures that
 * name a tensor the model lacks, omit an input, have a shape the model cannot take, or hold
 * another kind of element type than the model's (integers for a float tensor, floats for an
 * integer one) are bad input ({@link FcnException} listing the expected names, shapes or types),
 * not a mismatch. Floating types stand for each other (a float64 .npy for a float output is
 * compared in float), as integer types do. Does not own the runner.
 */
public final class Validator {
  private final ReferenceRunner runner;
  private final String model;
  private final double loadMillis;
  private final Tolerances tolerances;

  public Validator(Session session, Tolerances tolerances) {
    this(session, session.model().toString(), session.loadMillis(), tolerances);
  }

  /** Validates any runner (e.g. real Caffe) against fixtures; {@code model} labels reports. */
  public Validator(ReferenceRunner runner, String model, double loadMillis, Tolerances tolerances) {
    this.runner = runner;
    this.model = model;
    this.loadMillis = loadMillis;
    this.tolerances = tolerances;
  }

  public ValidationReport validate(Path fixturesDir) {
    return validate(FixtureSet.loadAll(fixturesDir));
  }

  public ValidationReport validate(List<FixtureSet> sets) {
    List<TensorSpec> outs = runner.outputs();
    for (String name : tolerances.overriddenOutputs()) {
      if (outs.stream().noneMatch(s -> s.name().equals(name))) {
        throw FcnException.of("a tolerance names output '%s', which %s does not have; its outputs are: %s",
            name, model, Session.describe(outs));
      }
    }
    List<ValidationReport.SetResult> results = new ArrayList<>();
    for (FixtureSet set : sets) {
      results.add(validate(set));
    }
    return new ValidationReport(model, runner.describe(), loadMillis, results, tolerances.describe());
  }

  private ValidationReport.SetResult validate(FixtureSet set) {
    List<TensorSpec> ins = runner.inputs();
    List<TensorSpec> outs = runner.outputs();
    Map<String, LoadedTensor> feeds = match(set, set.inputs(), ins, "input");
    for (TensorSpec spec : ins) {
      if (!feeds.containsKey(spec.name())) {
        throw FcnException.of("%s has no value for input '%s' of %s; its inputs are: %s",
            set.dir(), spec.name(), model, Session.describe(ins));
      }
    }
    Map<String, LoadedTensor> expected = match(set, set.outputs(), outs, "output");

    Map<String, FloatTensor> in = new LinkedHashMap<>();
    feeds.forEach((k, v) -> in.put(k, v.tensor()));
    long t0 = System.nanoTime();
    Map<String, FloatTensor> actual = runner.run(in);
    double runMillis = (System.nanoTime() - t0) / 1e6;

    List<CompareResult> results = new ArrayList<>();
    for (Map.Entry<String, LoadedTensor> e : expected.entrySet()) {
      String name = e.getKey();
      FloatTensor want = e.getValue().tensor();
      FloatTensor got = actual.get(name);
      if (got == null) {
        throw FcnException.of("%s did not produce output '%s'", model, name);
      }
      if (!java.util.Arrays.equals(got.shape(), want.shape())) {
        throw FcnException.of("%s: output '%s' of %s has shape %s but %s expects %s",
            set.name(), name, model, got.shapeString(), e.getValue().source(), want.shapeString());
      }
      results.add(Comparator.compare(name, got, want, tolerances.forOutput(name, want)));
    }
    return new ValidationReport.SetResult(set.name(), runMillis, results);
  }

  private enum Kind { FLOATING, INTEGER, BOOL, OTHER }

  private static Kind kind(DataType t) {
    return switch (t) {
      case FLOAT, FLOAT16, DOUBLE, BFLOAT16 -> Kind.FLOATING;
      case UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64 -> Kind.INTEGER;
      case BOOL -> Kind.BOOL;
      default -> Kind.OTHER;
    };
  }

  private static String typeName(DataType t) {
    return t.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Fixture tensors keyed by model name: by stored name, else by position; shapes checked. */
  private Map<String, LoadedTensor> match(FixtureSet set, List<LoadedTensor> tensors,
      List<TensorSpec> specs, String kind) {
    Map<String, LoadedTensor> out = new LinkedHashMap<>();
    for (int k = 0; k < tensors.size(); k++) {
      LoadedTensor t = tensors.get(k);
      TensorSpec spec;
      if (t.hasName()) {
        spec = specs.stream().filter(s -> s.name().equals(t.name())).findFirst().orElse(null);
        if (spec == null) {
          throw FcnException.of("%s names %s '%s', which %s does not have; its %ss are: %s",
              t.source(), kind, t.name(), model, kind, Session.describe(specs));
        }
      } else {
        if (k >= specs.size()) {
          throw FcnException.of("%s is %s #%d (unnamed) but %s has only %d %ss: %s",
              t.source(), kind, k, model, specs.size(), kind, Session.describe(specs));
        }
        spec = specs.get(k);
      }
      if (out.containsKey(spec.name())) {
        throw FcnException.of("%s: %s and %s both give %s '%s'",
            set.dir(), out.get(spec.name()).source(), t.source(), kind, spec.name());
      }
      if (spec.type() != null && t.storedType() != null && kind(t.storedType()) != kind(spec.type())) {
        throw FcnException.of("%s: %s '%s' holds %s values but %s expects %s; its %ss are: %s",
            t.source(), kind, spec.name(), typeName(t.storedType()), model, typeName(spec.type()), kind,
            Session.describe(specs));
      }
      if (!spec.accepts(t.tensor().shape())) {
        throw FcnException.of("%s: %s '%s' has shape %s but %s expects %s; its %ss are: %s",
            t.source(), kind, spec.name(), t.tensor().shapeString(), model, spec.shape(), kind,
            Session.describe(specs));
      }
      out.put(spec.name(), t);
    }
    return out;
  }
}
