package fcn.report;

import fcn.data.ClassNames;
import fcn.data.Dataset;
import fcn.metrics.PredictionScorer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code fcn score} as one library call: open the dataset, score a folder of predictions, and
 * optionally append a report row (dataset, split, images, the four scores, host; latency columns
 * empty) plus the per-class and confusion side files. Stateless.
 */
public final class ScoreJob {
  private ScoreJob() {}

  /**
   * What to score.
   *
   * @param split dataset split, or null for the default
   * @param ignoreLabel ignore label, or null for the dataset's default
   * @param classesFile class list overriding the dataset's, or null
   * @param report report CSV to append to, or null
   * @param modelName the report's model_name key; null = the predictions folder's name
   */
  public record Request(Path predictions, Path dataset, String split, Integer ignoreLabel, Path classesFile,
      Path report, String modelName) {}

  /**
   * @param record the row appended, or null without a report
   * @param written files written (report and side files)
   * @param summary the human-readable summary (dataset line, scores, per-class table)
   */
  public record Outcome(PredictionScorer.Result result, BenchRecord record, List<Path> written, String summary) {}

  public static Outcome run(Request r) {
    if (r.report() != null) {
      // Checked before scoring, not after: a FIFO or folder named as the report is refused now.
      for (Path p : List.of(r.report(), BenchReport.classesFile(r.report()), BenchReport.confusionFile(r.report()))) {
        fcn.core.FileChecks.checkOutput(p.toAbsolutePath(), p);
      }
    }
    Dataset ds = Dataset.open(r.dataset(), r.split(), r.ignoreLabel());
    List<String> names = r.classesFile() != null ? ClassNames.read(r.classesFile()) : null;
    PredictionScorer.Result res = PredictionScorer.score(r.predictions(), ds, names);

    StringBuilder sb = new StringBuilder();
    sb.append(ds.describe()).append('\n');
    sb.append(String.format(Locale.ROOT, "predictions: %s (%d scored%s)%n", r.predictions(), res.images(),
        res.unmatchedPredictionFiles() > 0 ? ", " + res.unmatchedPredictionFiles() + " other PNG files ignored" : ""));
    sb.append(String.format(Locale.ROOT, "pixels scored: %d (ignore label excluded)%n", res.scores().pixels()));
    if (res.classesInferred()) {
      sb.append("no class names: classes 0..").append(res.scores().numClasses() - 1)
          .append(" taken from the values present\n");
    }
    sb.append(res.scores().table());

    BenchRecord rec = null;
    List<Path> written = new ArrayList<>();
    if (r.report() != null) {
      String model = r.modelName() != null ? r.modelName()
          : r.predictions().toAbsolutePath().normalize().getFileName().toString();
      rec = BenchRecord.builder().modelName(model).dataset(ds.name()).split(ds.split()).images(res.images())
          .scores(res.scores()).host(BenchRecord.localHost()).build();
      BenchReport.append(r.report(), rec);
      written.add(r.report());
      written.addAll(BenchReport.writeClassFiles(r.report(), res.scores()));
      sb.append("report: appended to ").append(r.report()).append("; per-class ")
          .append(written.get(1).getFileName()).append(", confusion ").append(written.get(2).getFileName()).append('\n');
    }
    return new Outcome(res, rec, written, sb.toString());
  }
}
