package fcn.cli;

import fcn.core.ExitCode;
import fcn.report.Gate;
import fcn.report.GateResult;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fcn gate}: fail (exit 1) when a report regressed against a baseline. Thin: see {@link Gate}. */
@Command(name = "gate", mixinStandardHelpOptions = true,
    description = {"Compare a report CSV with a baseline CSV, row by row (model_name, precision, device, input_shape, "
        + "dataset).",
        "An int8 or fp16 row whose key the baseline lacks is held against the baseline's fp32 row of the same model, "
        + "device, input and dataset: --max-miou-drop then bounds what quantization cost. Reports written before the "
        + "precision column are read as fp32.",
        "Exit 1 on a regression or a baseline row missing from the current report, 0 otherwise."})
public final class GateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "CURRENT.csv", description = "The report of this run.")
  Path current;

  @Option(names = "--baseline", required = true, paramLabel = "FILE", description = "The report to compare with.")
  Path baseline;

  @Option(names = "--max-miou-drop", paramLabel = "POINTS", defaultValue = "0.5",
      description = "Allowed mean-IU drop in percentage points (default: ${DEFAULT-VALUE}).")
  double maxMiouDrop;

  @Option(names = "--max-latency-increase", paramLabel = "PCT",
      description = "Allowed median-latency increase, e.g. 10%%. Default: latency not checked.")
  String maxLatencyIncrease;

  @Option(names = "--latency-noise-ms", paramLabel = "MS", defaultValue = "" + Gate.DEFAULT_LATENCY_NOISE_MS,
      description = "Latency increases up to this many ms never fail (default: ${DEFAULT-VALUE}).")
  double latencyNoiseMs;

  @Option(names = "--junit", paramLabel = "FILE.xml", description = "Also write the verdicts as JUnit XML.")
  Path junit;

  @Override
  public Integer call() {
    GateResult r = Gate.check(current, baseline, new Gate.Options(maxMiouDrop,
        maxLatencyIncrease == null ? null : Gate.parsePercent(maxLatencyIncrease), latencyNoiseMs, junit));
    spec.commandLine().getOut().print(r.table());
    spec.commandLine().getOut().flush();
    return r.passed() ? ExitCode.OK : ExitCode.CHECK_FAILED;
  }
}
