package fcn.bench;

import fcn.core.FcnException;
import fcn.data.ClassNames;
import fcn.data.Dataset;
import fcn.data.Preprocess;
import fcn.data.Sample;
import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

/**
 * The dataset bench: every image runs once at its own size (FCN style; resized only when the
 * preprocess says so). Inputs come from a {@link DatasetFeed} and finished images go to
 * {@link Scoring} on the same small pool, while the calling thread does nothing but run the
 * session, so that the end-to-end time stays close to the pure inference time; both are
 * reported. Stateless.
 */
final class DatasetRun {
  private DatasetRun() {}

  static Bench.Result run(Bench.Options o, Session session, FlopsCache flops, String precision, PrintWriter err) {
    Dataset ds = Dataset.open(o.dataset, o.split, o.ignoreLabel);
    List<Sample> samples = ds.samples();
    if (samples.isEmpty()) {
      throw new FcnException(o.dataset + ": no samples (" + ds.describe() + ")");
    }
    if (o.savePredictions != null) {
      refuseDatasetFolder(o.savePredictions, samples);
    }
    if (session.inputs().size() != 1) {
      throw FcnException.of("%s has %d inputs (%s); --dataset feeds one image input",
          o.model, session.inputs().size(), Session.describe(session.inputs()));
    }
    String inputName = session.inputs().get(0).name();
    String outputName = session.outputNames().contains("score") ? "score" : session.outputNames().get(0);
    Preprocess pre = o.preprocess != null ? o.preprocess : Preprocess.caffe();
    List<String> givenNames = o.classes != null ? ClassNames.read(o.classes) : ds.classNames();
    String namesSource = o.classes != null ? o.classes.toString()
        : ds.classesFile() != null ? ds.classesFile().toString() : "the dataset";
    int threads = o.decodeThreads > 0 ? o.decodeThreads : Bench.defaultIoThreads(Runtime.getRuntime().availableProcessors());

    try (Workers pool = new Workers(threads, "fcn-bench-io");
        DatasetFeed feed = new DatasetFeed(samples, pre, session, inputName, pool, 2 * threads + 2)) {
      try {
        // First run and warmup on the first image, outside the timed pass.
        int classes;
        double firstMs;
        String epNodes;
        String opTime;
        try (Session.Prepared p = feed.decodeNow(0).input()) {
          long t0 = System.nanoTime();
          Map<String, FloatTensor> out = p.runAndFetch();
          firstMs = (System.nanoTime() - t0) / 1e6;
          epNodes = Bench.placement(o, session);
          opTime = Bench.opTime(session);
          classes = Scoring.classCount(Scoring.output(out, outputName, o.model), outputName, o.model);
          FixedShapeRun.warmup(o, p, err);
        }
        Scoring scoring = new Scoring(o.model, outputName, classes,
            Scoring.classNames(givenNames, classes, namesSource, outputName, o.model), ds.ignoreLabel(),
            pre.resizes(), samples.size(), o.savePredictions, o.predictions);

        long[] inferNanos = new long[samples.size()];
        List<Map<String, long[]>> inputShapes = new ArrayList<>(samples.size());
        List<Future<?>> scored = new ArrayList<>();
        Bench.Progress bar = new Bench.Progress(err, o.progress, "images", samples.size());
        long wallStart = System.nanoTime();
        int checked = 0;
        for (int i = 0; i < samples.size(); i++) {
          DatasetFeed.Decoded d = feed.next();
          Map<String, FloatTensor> out;
          try (Session.Prepared p = d.input()) {
            long t0 = System.nanoTime();
            out = p.runAndFetch();
            inferNanos[i] = System.nanoTime() - t0;
          }
          inputShapes.add(Map.of(inputName, d.shape()));
          FloatTensor score = Scoring.output(out, outputName, o.model);
          scored.add(pool.submit(() -> {
            try {
              scoring.score(d, score);
            } finally {
              feed.release();
            }
            return null;
          }));
          // Fail fast: a bad label found while scoring image 3 should not wait for image 233.
          while (checked < scored.size() && scored.get(checked).isDone()) {
            Workers.await(scored.get(checked++));
          }
          bar.step(i + 1);
        }
        for (Future<?> f : scored) {
          Workers.await(f);
        }
        long wallNanos = System.nanoTime() - wallStart;
        bar.done();
        // Counted after the timed pass so that shape inference does not slow the pipeline.
        FlopsCache.Total total = flops.total(inputShapes);
        Timing.Stats stats = Timing.ofNanos(inferNanos);
        long distinct = inputShapes.stream().map(m -> Arrays.toString(m.get(inputName))).distinct().count();
        Bench.DatasetResult dr = new Bench.DatasetResult(ds.name(), ds.split(), samples.size(), (int) distinct,
            scoring.scores(), scoring.ignoredPixels(), stats.totalMs(), wallNanos / 1e6, feed.waitNanos() / 1e6,
            threads);
        return new Bench.Result(o.model, o.name(precision), session.provider(), o.device, Session.ortVersion(), o.threads,
            "dataset", session.loadMillis(), firstMs, o.warmup, stats, 1, total.last(), total.flops(), dr, null,
            precision, epNodes, opTime, session.cacheStatus(), null);
      } finally {
        // Before the feed closes its inputs: no worker may still be preparing one.
        pool.close();
      }
    }
  }

  /**
   * ID.png predictions written into the dataset's own label (or image) folder would replace its
   * labels: refused, comparing folder identity (links included). A handful of distinct folders.
   */
  private static void refuseDatasetFolder(Path out, List<Sample> samples) {
    if (!Files.isDirectory(out)) {
      return;
    }
    java.util.Set<Path> dirs = new java.util.LinkedHashSet<>();
    for (Sample s : samples) {
      dirs.add(s.label().toAbsolutePath().getParent());
      dirs.add(s.image().toAbsolutePath().getParent());
    }
    for (Path d : dirs) {
      for (Path o : List.of(out, out.resolve("overlay"))) {
        try {
          if (Files.isDirectory(o) && Files.isSameFile(o, d)) {
            throw new FcnException("--save-predictions " + out + ": " + (o == out ? "" : "its overlay/ folder ")
                + "is the dataset's folder " + d + "; predictions named ID.png would replace its files."
                + " Choose another folder");
          }
        } catch (java.io.IOException e) {
          // Unreadable: not provably the same folder; writing will tell.
        }
      }
    }
  }
}
