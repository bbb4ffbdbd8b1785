package fcn.cli;

import fcn.core.FcnException;
import fcn.runtime.Session;
import fcn.validate.AgainstReference;
import fcn.validate.CompareResult;
import fcn.validate.ReportWriter;
import fcn.validate.Tolerances;
import fcn.validate.ValidationReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The terminal side of {@link AgainstReference}, shared by {@code validate --against-caffe} and
 * {@code convert --verify}: runs the check, prints what was checked, the table and the
 * mismatches, writes --report/--json, and returns the exit code.
 */
final class CaffeCheck {
  /** The tolerance rule of both commands, for their --help (a picocli format string: %% is one %). */
  static final String RULE = "an output passes when max|err| <= 1e-4 x max|Caffe output| (per set) and, for score maps, "
      + "at least " + fcn.validate.Tolerances.DEFAULT_MIN_LABEL_AGREEMENT + "%% of pixels have Caffe's argmax label";

  private CaffeCheck() {}

  /** The Caffe pair in either order: [prototxt, caffemodel]. */
  static Path[] pair(List<Path> files, String option) {
    Path prototxt = null;
    Path caffemodel = null;
    for (Path p : files) {
      String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
      if (n.endsWith(".prototxt") && prototxt == null) {
        prototxt = p;
      } else if (n.endsWith(".caffemodel") && caffemodel == null) {
        caffemodel = p;
      }
    }
    if (files.size() != 2 || prototxt == null || caffemodel == null) {
      throw new FcnException(option + " needs NET.prototxt WEIGHTS.caffemodel, got " + files);
    }
    // BVLC Caffe would fail on the first fork layer with a CHECK of its layer registry.
    if (java.nio.file.Files.isRegularFile(prototxt)) {
      List<String> fork = fcn.frontend.caffe.CaffeImporter.forkLayerTypes(prototxt);
      if (!fork.isEmpty()) {
        throw FcnException.of("%s: %s runs BVLC Caffe, which cannot run fork layers (%s); check"
            + " the ONNX model with validate --fixtures against the fork's own outputs instead",
            prototxt, option, String.join(", ", fork));
      }
    }
    return new Path[] {prototxt, caffemodel};
  }

  static int run(Session model, Path prototxt, Path caffemodel, Tolerances tolerances, AgainstReference.Options opts,
      OutputOptions output, PrintWriter out, PrintWriter err) {
    AgainstReference.Result r = AgainstReference.check(model, prototxt, caffemodel, tolerances, opts);
    for (String note : r.notes()) {
      out.println(note);
    }
    ValidationReport report = r.report();
    out.print(ReportWriter.table(report));
    for (ValidationReport.SetResult set : report.sets()) {
      for (CompareResult c : set.outputs()) {
        double scale = tolerances.atolScale(c.output());
        // atol = scale x max|ref| exactly when no fixed --atol is larger: then max|ref| is known.
        if (scale > 0 && tolerances.forOutput(c.output()).atol() == 0 && c.tolerance().atol() > 0) {
          double maxRef = c.tolerance().atol() / scale;
          out.printf(Locale.ROOT, "%s %s: max|err| %.3g = %.2g x max|Caffe output| (%.4g); limit %.0e x%n", set.name(), c.output(),
              c.maxAbsError(), c.maxAbsError() / maxRef, maxRef, scale);
        }
      }
    }
    out.flush();
    return ValidationVerdict.finish(report, output, err);
  }
}
