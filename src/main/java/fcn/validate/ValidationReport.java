package fcn.validate;

import java.util.ArrayList;
import java.util.List;

/**
 * The result of validating a model against fixtures: per set, per output comparisons.
 *
 * @param model the model validated (a path, for reports)
 * @param runtime what ran it, e.g. "ONNX Runtime 1.23.2 (CPUExecutionProvider)"
 * @param loadMillis session load time; NaN when unknown
 * @param sets the sets, in fixture order
 * @param rule the pass rule applied, in words ({@link Tolerances#describe()}), so a reader can judge the verdict
 */
public record ValidationReport(String model, String runtime, double loadMillis, List<SetResult> sets, String rule) {
  /** One test_data_set: its comparisons (in fixture output order) and the run's wall time. */
  public record SetResult(String name, double runMillis, List<CompareResult> outputs) {
    public boolean passed() {
      return outputs.stream().allMatch(CompareResult::passed);
    }
  }

  /** A failing output and the set it failed in. */
  public record Failure(String set, CompareResult result) {
    /** "test_data_set_0: output 'score' MISMATCH: ... worst at [0,3,4,5] ...". */
    public String message() {
      return set + ": " + result.summary();
    }
  }

  public ValidationReport {
    sets = List.copyOf(sets);
  }

  public boolean passed() {
    return sets.stream().allMatch(SetResult::passed);
  }

  public List<Failure> failures() {
    List<Failure> out = new ArrayList<>();
    for (SetResult s : sets) {
      for (CompareResult r : s.outputs()) {
        if (!r.passed()) {
          out.add(new Failure(s.name(), r));
        }
      }
    }
    return out;
  }

  /** Number of output comparisons made. */
  public int comparisons() {
    return sets.stream().mapToInt(s -> s.outputs().size()).sum();
  }
}
