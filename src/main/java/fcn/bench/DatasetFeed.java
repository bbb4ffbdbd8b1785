package fcn.bench;

import fcn.core.FcnException;
import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.data.Sample;
import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * The input stage of a dataset bench: decodes, preprocesses and binds images on the pool
 * threads ahead of the session, in dataset order. At most {@code window} images are in flight
 * (decoded, running or being scored), which bounds memory; a slot is freed by {@link #release}
 * when an image's scoring is done. Pool threads call {@code Session.prepare} (which only
 * allocates and binds new input buffers) while the session thread runs earlier images.
 *
 * <p>Used by the session thread only (except {@link #release}); owns the prepared inputs not yet
 * handed out, closed by {@link #close}.
 */
final class DatasetFeed implements AutoCloseable {
  /** One decoded image, bound as a session input (prepared on a pool thread). */
  record Decoded(int index, Sample sample, RgbImage image, LabelMap label, long[] shape, Session.Prepared input) {}

  private final List<Sample> samples;
  private final Preprocess pre;
  private final Session session;
  private final String inputName;
  private final Workers pool;
  private final int window;
  private final Semaphore inFlight;
  private final ArrayDeque<Future<Decoded>> decoding = new ArrayDeque<>();
  private int next;
  private long waitNanos;

  DatasetFeed(List<Sample> samples, Preprocess pre, Session session, String inputName, Workers pool, int window) {
    this.samples = samples;
    this.pre = pre;
    this.session = session;
    this.inputName = inputName;
    this.pool = pool;
    this.window = window;
    this.inFlight = new Semaphore(window);
  }

  /** Image {@code index} decoded on the calling thread (the first run and warm-up use image 0). */
  Decoded decodeNow(int index) {
    return decode(index, samples.get(index), pre, session, inputName);
  }

  /**
   * The next image in dataset order. Tops up the window first; the time spent waiting for the
   * image (the pipeline's cost that end-to-end time shows) is added to {@link #waitNanos}.
   */
  Decoded next() {
    while (next < samples.size() && decoding.size() < window && inFlight.tryAcquire()) {
      submit(next++);
    }
    long w0 = System.nanoTime();
    if (decoding.isEmpty()) {
      // Every slot is held by images still being scored: wait for one, then decode.
      inFlight.acquireUninterruptibly();
      submit(next++);
    }
    Decoded d = Workers.await(decoding.poll());
    waitNanos += System.nanoTime() - w0;
    return d;
  }

  /** Frees the slot of an image whose scoring is done (any thread). */
  void release() {
    inFlight.release();
  }

  long waitNanos() {
    return waitNanos;
  }

  private void submit(int k) {
    decoding.add(pool.urgent(() -> decode(k, samples.get(k), pre, session, inputName)));
  }

  private static Decoded decode(int index, Sample s, Preprocess pre, Session session, String inputName) {
    RgbImage img = Images.readRgb(s.image());
    LabelMap label = Images.readLabel(s.label());
    if (label.width() != img.width() || label.height() != img.height()) {
      throw FcnException.of("%s: label is %dx%d but image %s is %dx%d; expected equal sizes",
          s.label(), label.width(), label.height(), s.image(), img.width(), img.height());
    }
    int[] chw = pre.outputShape(img.width(), img.height());
    long[] shape = {1, chw[0], chw[1], chw[2]};
    FloatTensor t = new FloatTensor(pre.toChw(img), shape);
    Session.Prepared p = session.prepare(Map.of(inputName, t));
    return new Decoded(index, s, img, label, shape, p);
  }

  /** Closes the inputs decoded ahead but never run: they hold native tensors. Call after the pool is closed. */
  @Override
  public void close() {
    for (Future<Decoded> f : decoding) {
      try {
        if (f.isDone() && !f.isCancelled()) {
          f.get().input().close();
        }
      } catch (InterruptedException | ExecutionException | RuntimeException ignoredFailure) {
        // Already failing; the first error is the one to report.
      }
    }
    decoding.clear();
  }
}
