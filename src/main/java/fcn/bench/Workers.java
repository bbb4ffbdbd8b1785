package fcn.bench;

import fcn.core.FcnException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.locks.LockSupport;

/**
 * The dataset pipeline's helper threads. Unlike a thread-pool executor, handing work over never
 * wakes a thread: workers poll two queues (urgent first) and nap {@link #NAP_NANOS} when both are
 * empty. On a machine with fewer cores than runnable threads, an explicit wake-up right after a
 * session run let the woken worker preempt the session thread at exactly the moment that is not
 * timed as inference (4 ms an image on 2 cores); a worker waking from its nap competes with
 * whatever runs at that moment, mostly the session inside its run. Results come back through
 * {@link CompletableFuture}s, so a waiting session thread is woken as soon as its input is ready.
 * Owns its threads; close() stops them and is idempotent.
 */
final class Workers implements AutoCloseable {
  static final long NAP_NANOS = 500_000;

  private final ConcurrentLinkedQueue<Runnable> urgent = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Runnable> normal = new ConcurrentLinkedQueue<>();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  Workers(int count, String name) {
    for (int i = 0; i < count; i++) {
      Thread t = new Thread(this::loop, name + "-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Runs {@code job} on a worker ahead of non-urgent jobs. */
  <T> CompletableFuture<T> urgent(Callable<T> job) {
    return enqueue(urgent, job);
  }

  <T> CompletableFuture<T> submit(Callable<T> job) {
    return enqueue(normal, job);
  }

  private <T> CompletableFuture<T> enqueue(ConcurrentLinkedQueue<Runnable> q, Callable<T> job) {
    if (closed) {
      throw new IllegalStateException("workers closed");
    }
    CompletableFuture<T> f = new CompletableFuture<>();
    q.add(() -> {
      if (f.isDone()) {
        return;
      }
      try {
        f.complete(job.call());
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    });
    return f;
  }

  private void loop() {
    while (!closed) {
      Runnable r = urgent.poll();
      if (r == null) {
        r = normal.poll();
      }
      if (r != null) {
        r.run();
      } else {
        LockSupport.parkNanos(NAP_NANOS);
      }
    }
  }

  /**
   * Stops the workers after their current job and waits for them (up to a minute each); queued
   * jobs are dropped. Waiting matters when the run fails: a worker still writing a prediction
   * would otherwise race the exit, and its temp file could outlive the run.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    urgent.clear();
    normal.clear();
    for (Thread t : threads) {
      LockSupport.unpark(t);
    }
    for (Thread t : threads) {
      if (t == Thread.currentThread()) {
        continue;
      }
      try {
        t.join(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The job's result; its exception is rethrown as it was (interruption: a one-line FcnException). */
  static <T> T await(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FcnException("interrupted", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error er) {
        throw er;
      }
      throw new IllegalStateException(c);
    }
  }
}
