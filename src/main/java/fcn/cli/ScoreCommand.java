package fcn.cli;

import fcn.core.ExitCode;
import fcn.report.ScoreJob;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fcn score}: score.py's metrics for prediction PNGs from any framework. Thin: see {@link ScoreJob}. */
@Command(name = "score", mixinStandardHelpOptions = true,
    description = {"Score prediction PNGs against a dataset's labels with FCN's score.py metrics",
        "(pixel accuracy, mean accuracy, mean IU, frequency-weighted IU, per-class IU).",
        "Predictions: ID.png (or ID-suffix.png) per sample, as palette/grayscale index PNGs",
        "or colour-coded with the VOC palette."})
public final class ScoreCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--predictions", required = true, paramLabel = "DIR",
      description = "Folder of prediction PNGs, one per sample, matched by id.")
  Path predictions;

  @Option(names = "--dataset", required = true, paramLabel = "PATH",
      description = "VOCdevkit folder, list file of 'IMAGE LABEL' lines, or folder with images/ + labels/.")
  Path dataset;

  @Option(names = "--split", paramLabel = "S", description = "Split (VOC: ImageSets/Segmentation/S.txt). Default: val, else the first.")
  String split;

  @Option(names = "--ignore-label", paramLabel = "N", converter = Limits.Label.class,
      description = "Label value left out of scoring, 0 to 255. Default: 255 for VOC, none otherwise.")
  Integer ignoreLabel;

  @Option(names = "--classes", paramLabel = "FILE", description = "Class names, one per line (line order = index). Default: the dataset's.")
  Path classes;

  @Option(names = "--report", paramLabel = "FILE.csv",
      description = "Append a row to this report and write FILE-classes.csv and FILE-confusion.csv beside it.")
  Path report;

  @Option(names = "--model-name", paramLabel = "NAME",
      description = "model_name for the report row (the gate's key). Default: the predictions folder's name.")
  String modelName;

  @Override
  public Integer call() {
    ScoreJob.Outcome o = ScoreJob.run(new ScoreJob.Request(predictions, dataset, split, ignoreLabel, classes, report, modelName));
    spec.commandLine().getOut().print(o.summary());
    spec.commandLine().getOut().flush();
    return ExitCode.OK;
  }
}
