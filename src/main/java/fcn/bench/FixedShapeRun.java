package fcn.bench;

import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Map;

/**
 * The fixed-shape bench: one first run (timed alone), {@code warmup} untimed runs, then the timed
 * loop, in which the inputs are bound once and only the run itself sits between the two
 * {@link System#nanoTime()} reads. Stateless.
 */
final class FixedShapeRun {
  private FixedShapeRun() {}

  static Bench.Result run(Bench.Options o, Session session, FlopsCache flops, String precision, PrintWriter err) {
    Map<String, long[]> shapes = FixedInputs.resolve(o.model, o.inputShapes, session);
    Map<String, FloatTensor> feeds = FixedInputs.random(shapes);
    double firstMs;
    String epNodes;
    String opTime;
    long[] times;
    try (Session.Prepared p = session.prepare(feeds)) {
      long t0 = System.nanoTime();
      p.run();
      firstMs = (System.nanoTime() - t0) / 1e6;
      epNodes = Bench.placement(o, session);
      opTime = Bench.opTime(session);
      warmup(o, p, err);
      times = timedLoop(o, p, err);
      if (o.predictions != null) {
        // After the timed loop, untimed: the fetch and argmax are not part of any measurement.
        predict(o, session, p.runAndFetch());
      }
    }
    Timing.Stats stats = Timing.ofNanos(times);
    Flops.Count count = flops.at(shapes);
    Long total = count == null ? null : Math.multiplyExact(count.flops(), (long) times.length);
    return new Bench.Result(o.model, o.name(precision), session.provider(), o.device, Session.ortVersion(), o.threads,
        FixedInputs.describe(shapes), session.loadMillis(), firstMs, o.warmup, stats, FixedInputs.batch(shapes),
        count, total, null, null, precision, epNodes, opTime, session.cacheStatus(), null);
  }

  /**
   * Hands the argmax of the score output (the one named "score", else the first) to the
   * prediction listener, as image 0; an output that is no 1xCxHxW score map (C >= 2) has none.
   */
  private static void predict(Bench.Options o, Session session, Map<String, FloatTensor> out) {
    String name = session.outputNames().contains("score") ? "score" : session.outputNames().get(0);
    FloatTensor score = out.get(name);
    if (score != null && score.rank() == 4 && score.dim(0) == 1 && score.dim(1) >= 2) {
      o.predictions.prediction(0, Scoring.argmax(score));
    }
  }

  /** {@code o.warmup} untimed runs, with a progress bar. */
  static void warmup(Bench.Options o, Session.Prepared p, PrintWriter err) {
    Bench.Progress bar = new Bench.Progress(err, o.progress, "warmup", o.warmup);
    for (int i = 0; i < o.warmup; i++) {
      p.run();
      bar.step(i + 1);
    }
    bar.done();
  }

  /** The timed loop: only the run sits between the two clock reads. */
  private static long[] timedLoop(Bench.Options o, Session.Prepared p, PrintWriter err) {
    if (o.durationNanos == null) {
      int n = o.iterations == null ? 100 : o.iterations;
      long[] times = new long[n];
      Bench.Progress bar = new Bench.Progress(err, o.progress, "timing", n);
      for (int i = 0; i < n; i++) {
        long t0 = System.nanoTime();
        p.run();
        times[i] = System.nanoTime() - t0;
        bar.step(i + 1);
      }
      bar.done();
      return times;
    }
    long budget = o.durationNanos;
    long[] times = new long[1024];
    int n = 0;
    Bench.Progress bar = new Bench.Progress(err, o.progress, "timing", 0);
    long start = System.nanoTime();
    long spent;
    do {
      long t0 = System.nanoTime();
      p.run();
      long t1 = System.nanoTime();
      if (n == times.length) {
        times = Arrays.copyOf(times, n * 2);
      }
      times[n++] = t1 - t0;
      spent = t1 - start;
      bar.fraction(n, Math.min(1.0, spent / (double) budget));
    } while (spent < budget);
    bar.done();
    return Arrays.copyOf(times, n);
  }
}
