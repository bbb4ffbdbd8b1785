package fcn.bench;

import fcn.core.FcnException;
import fcn.frontend.onnx.OnnxImporter;
import fcn.ir.Graph;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * FLOPs per input-shape set for one bench run, cached: a dataset has few distinct image sizes.
 * Counting problems become warnings (once), never errors: a model ORT runs but the IR cannot
 * read is still timed. Not thread-safe; used from the session thread after the timed pass.
 */
final class FlopsCache {
  private final Graph graph;
  private final Map<String, Flops.Count> byShape = new HashMap<>();
  private final List<String> warnings;
  private boolean failed;

  private FlopsCache(Graph graph, List<String> warnings) {
    this.graph = graph;
    this.warnings = warnings;
  }

  /**
   * The model imported into the IR when {@code count}, else a cache that counts nothing; an
   * import failure is a warning added to {@code warnings}.
   */
  static FlopsCache of(Path model, boolean count, List<String> warnings) {
    Graph g = null;
    if (count) {
      try {
        g = OnnxImporter.importModel(model);
      } catch (FcnException e) {
        warnings.add("FLOPs not counted: " + e.getMessage());
      }
    }
    return new FlopsCache(g, warnings);
  }

  /** A cache over the same graph that warns into {@code into} (one per run, shared import). */
  FlopsCache warningInto(List<String> into) {
    return new FlopsCache(graph, into);
  }

  /** The count at these input sizes, or null if counting failed (warned once). */
  Flops.Count at(Map<String, long[]> shapes) {
    if (graph == null || failed) {
      return null;
    }
    StringBuilder key = new StringBuilder();
    shapes.forEach((k, v) -> key.append(k).append('=').append(Arrays.toString(v)).append(';'));
    Flops.Count c = byShape.get(key.toString());
    if (c == null) {
      try {
        c = Flops.count(graph, shapes);
      } catch (FcnException e) {
        failed = true;
        warnings.add("FLOPs not counted: " + e.getMessage());
        return null;
      }
      if (!c.complete()) {
        warnings.add("FLOPs are a lower bound: shapes unknown at " + c.unknown().size()
            + " node(s), first '" + c.unknown().get(0) + "'");
      }
      byShape.put(key.toString(), c);
    }
    return c;
  }

  /** Total FLOPs over one run per input shape, and the last count (null if any failed). */
  Total total(List<Map<String, long[]>> runs) {
    long total = 0;
    Flops.Count last = null;
    for (Map<String, long[]> shapes : runs) {
      Flops.Count c = at(shapes);
      if (c == null) {
        return new Total(null, null);
      }
      total = Math.addExact(total, c.flops());
      last = c;
    }
    return new Total(last, total);
  }

  record Total(Flops.Count last, Long flops) {}
}
