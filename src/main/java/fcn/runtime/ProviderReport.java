package fcn.runtime;

import fcn.core.FcnException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where the nodes of a session really ran, read from ONNX Runtime's profile rather than assumed
 * from the provider that was asked for: ORT places nodes the CUDA provider cannot take on the CPU
 * one by one, saying so only in its log, and its profile's node events name each node's
 * {@code provider}. An immutable value: node counts (each node once, however many runs the
 * profile holds) and kernel time per execution provider, and the compute nodes (Conv,
 * ConvTranspose, Gemm, MatMul, pooling, Resize and their fused forms) that ran on the CPU.
 */
public final class ProviderReport {
  /** One execution provider's part: distinct nodes, of which compute nodes, and summed kernel time. */
  public record Share(String provider, int nodes, int computeNodes, long micros) {}

  /** Ops whose placement decides a benchmark; shape ops on the CPU are ORT's choice, these are not. */
  private static final Set<String> COMPUTE_OPS = Set.of(
      "Conv", "ConvTranspose", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalMaxPool",
      "GlobalAveragePool", "LpPool", "GlobalLpPool", "Resize", "Upsample", "FusedConv", "FusedGemm",
      "FusedMatMul", "NhwcConv", "NhwcMaxPool", "NhwcFusedConv", "QLinearConv", "ConvInteger",
      "MatMulInteger", "QLinearMatMul", "ConvTransposeWithDynamicPads");

  private final Map<String, Share> shares;
  private final Map<String, List<String>> computeByProvider;
  private final Map<String, Long> opMicros;
  private final long totalMicros;
  private final int totalNodes;

  private ProviderReport(Map<String, Share> shares, Map<String, List<String>> computeByProvider,
      Map<String, Long> opMicros) {
    this.opMicros = Collections.unmodifiableMap(opMicros);
    this.shares = Collections.unmodifiableMap(shares);
    this.computeByProvider = Collections.unmodifiableMap(computeByProvider);
    this.totalMicros = shares.values().stream().mapToLong(Share::micros).sum();
    this.totalNodes = shares.values().stream().mapToInt(Share::nodes).sum();
  }

  /** True for the ops {@code --strict} requires on the requested provider. */
  public static boolean isCompute(String opName) {
    return COMPUTE_OPS.contains(opName);
  }

  /**
   * Reads an ORT profile (the JSON array that {@code SessionOptions.enableProfiling} writes):
   * every event of category "Node" whose args name a {@code provider} counts; a node is keyed by
   * its {@code node_index} (else its name without ORT's _kernel_time / _fence_* suffix).
   *
   * @throws FcnException when the text is not such a JSON array
   */
  public static ProviderReport parse(String json) {
    Object root;
    try {
      root = new Json(json).document();
    } catch (IllegalArgumentException e) {
      throw new FcnException("ONNX Runtime's profile is not valid JSON: " + e.getMessage());
    }
    if (!(root instanceof List<?> events)) {
      throw new FcnException("ONNX Runtime's profile is not a JSON array of events");
    }
    Map<String, Set<String>> nodes = new LinkedHashMap<>();
    Map<String, Set<String>> compute = new LinkedHashMap<>();
    Map<String, Long> micros = new LinkedHashMap<>();
    Map<String, Long> opMicros = new LinkedHashMap<>();
    for (Object ev : events) {
      if (!(ev instanceof Map<?, ?> e) || !"Node".equals(e.get("cat"))) {
        continue;
      }
      if (!(e.get("args") instanceof Map<?, ?> args) || !(args.get("provider") instanceof String provider)) {
        continue; // fence events carry no provider; the kernel event of the same node does
      }
      String name = e.get("name") instanceof String s ? s : "?";
      String base = name.replaceAll("_(kernel_time|fence_before|fence_after)$", "");
      String key = args.get("node_index") instanceof String idx ? "#" + idx : base;
      String op = args.get("op_name") instanceof String o ? o : "";
      nodes.computeIfAbsent(provider, k -> new LinkedHashSet<>()).add(key);
      if (isCompute(op)) {
        compute.computeIfAbsent(provider, k -> new LinkedHashSet<>()).add(base + " (" + op + ")");
      }
      if (name.endsWith("_kernel_time") && e.get("dur") instanceof Double d) {
        micros.merge(provider, d.longValue(), Long::sum);
        opMicros.merge(op.isEmpty() ? "?" : op, d.longValue(), Long::sum);
      }
    }
    List<Share> list = new ArrayList<>();
    for (Map.Entry<String, Set<String>> n : nodes.entrySet()) {
      String p = n.getKey();
      list.add(new Share(p, n.getValue().size(), compute.getOrDefault(p, Set.of()).size(), micros.getOrDefault(p, 0L)));
    }
    list.sort((a, b) -> a.micros() != b.micros() ? Long.compare(b.micros(), a.micros()) : a.provider().compareTo(b.provider()));
    Map<String, Share> shares = new LinkedHashMap<>();
    list.forEach(s -> shares.put(s.provider(), s));
    Map<String, List<String>> byProvider = new LinkedHashMap<>();
    compute.forEach((p, c) -> byProvider.put(p, List.copyOf(c)));
    return new ProviderReport(shares, byProvider, opMicros);
  }

  /** Summed kernel time per op type as ORT ran it (QLinearConv, FusedConv, ...), in microseconds. */
  public Map<String, Long> opMicros() {
    return opMicros;
  }

  /**
   * The op types that took the most kernel time, with their shares, e.g. {@code "QLinearConv
   * 58.3%, ConvTranspose 36.0%, others 5.7%"}: where a model's time goes, and so what stayed float
   * in a quantized one. At most {@code top} named; empty when nothing was timed.
   */
  public String opTimeLine(int top) {
    long total = opMicros.values().stream().mapToLong(Long::longValue).sum();
    if (total == 0) {
      return "";
    }
    List<Map.Entry<String, Long>> ops = new ArrayList<>(opMicros.entrySet());
    ops.sort((a, b) -> !a.getValue().equals(b.getValue()) ? Long.compare(b.getValue(), a.getValue())
        : a.getKey().compareTo(b.getKey()));
    List<String> parts = new ArrayList<>();
    long rest = 0;
    for (int i = 0; i < ops.size(); i++) {
      if (i < top) {
        parts.add(String.format(Locale.ROOT, "%s %.1f%%", ops.get(i).getKey(), 100.0 * ops.get(i).getValue() / total));
      } else {
        rest += ops.get(i).getValue();
      }
    }
    if (rest > 0) {
      parts.add(String.format(Locale.ROOT, "others %.1f%%", 100.0 * rest / total));
    }
    return String.join(", ", parts);
  }

  /** Each provider's share, the most kernel time first. */
  public List<Share> shares() {
    return List.copyOf(shares.values());
  }

  /** Distinct nodes in the profile. */
  public int nodes() {
    return totalNodes;
  }

  /** Distinct nodes that ran on {@code provider}. */
  public int nodes(String provider) {
    Share s = shares.get(provider);
    return s == null ? 0 : s.nodes();
  }

  /** {@code provider}'s fraction (0..1) of the summed node kernel time; 0 when nothing was timed. */
  public double timeShare(String provider) {
    Share s = shares.get(provider);
    return s == null || totalMicros == 0 ? 0 : (double) s.micros() / totalMicros;
  }

  /** The compute nodes, "name (Op)", that ran on {@code provider}. */
  public List<String> computeNodesOn(String provider) {
    return computeByProvider.getOrDefault(provider, List.of());
  }

  /**
   * Why a strict run on {@code requested} fails: the compute nodes that ran on any other provider
   * (empty when all ran where asked, or when the CPU was asked for).
   */
  public Optional<String> strictViolation(String requested) {
    List<String> elsewhere = new ArrayList<>();
    for (Map.Entry<String, List<String>> e : computeByProvider.entrySet()) {
      if (!e.getKey().equals(requested)) {
        e.getValue().forEach(n -> elsewhere.add(n + " on " + e.getKey()));
      }
    }
    if (elsewhere.isEmpty()) {
      return Optional.empty();
    }
    String shown = String.join(", ", elsewhere.subList(0, Math.min(3, elsewhere.size())))
        + (elsewhere.size() > 3 ? " and " + (elsewhere.size() - 3) + " more" : "");
    return Optional.of(elsewhere.size() + " compute node" + (elsewhere.size() == 1 ? "" : "s")
        + " did not run on " + requested + ": " + shown);
  }

  /**
   * The report's {@code ep_nodes} cell: each provider's nodes of all nodes and share of the node
   * time, most time first, e.g. {@code CUDAExecutionProvider=85/87 97.2%;CPUExecutionProvider=2/87 2.8%}
   * (no commas: a CSV cell without quotes).
   */
  public String cell() {
    List<String> parts = new ArrayList<>();
    shares.values().forEach(s -> parts.add(String.format(Locale.ROOT, "%s=%d/%d %.1f%%", s.provider(), s.nodes(),
        totalNodes, 100 * timeShare(s.provider()))));
    return String.join(";", parts);
  }

  /**
   * {@code --strict}: every compute node ran on {@code provider}.
   *
   * @throws Violation naming the compute nodes that did not
   */
  public void requireOn(String provider) {
    Optional<String> v = strictViolation(provider);
    if (v.isPresent()) {
      throw new Violation("--strict: " + v.get());
    }
  }

  /** A compute node ran off the requested provider under --strict: a failed check (exit 1), not bad input. */
  public static final class Violation extends FcnException {
    Violation(String message) {
      super(message);
    }
  }

  /** "CPUExecutionProvider 42 nodes (100.0% of node time)", one clause per provider. */
  public String summary() {
    if (shares.isEmpty()) {
      return "no node events in the profile";
    }
    List<String> parts = new ArrayList<>();
    for (Share s : shares.values()) {
      parts.add(String.format(Locale.ROOT, "%s %d node%s (%.1f%% of node time)", s.provider(), s.nodes(),
          s.nodes() == 1 ? "" : "s", 100 * timeShare(s.provider())));
    }
    return String.join(", ", parts);
  }

  @Override
  public String toString() {
    return "ProviderReport[" + summary() + "]";
  }

  /** Just enough JSON for ORT's profile: objects, arrays, strings, numbers (as Double), literals. */
  private static final class Json {
    private final String s;
    private int i;

    Json(String s) {
      this.s = s;
    }

    Object document() {
      Object v = value();
      ws();
      if (i != s.length()) {
        throw error("trailing text");
      }
      return v;
    }

    private Object value() {
      ws();
      if (i >= s.length()) {
        throw error("unexpected end");
      }
      char c = s.charAt(i);
      switch (c) {
        case '{':
          return object();
        case '[':
          return array();
        case '"':
          return string();
        case 't':
          return literal("true", Boolean.TRUE);
        case 'f':
          return literal("false", Boolean.FALSE);
        case 'n':
          return literal("null", null);
        default:
          return number();
      }
    }

    private Map<String, Object> object() {
      Map<String, Object> m = new LinkedHashMap<>();
      i++;
      ws();
      if (peek() == '}') {
        i++;
        return m;
      }
      while (true) {
        ws();
        if (peek() != '"') {
          throw error("expected a key");
        }
        String k = string();
        ws();
        expect(':');
        m.put(k, value());
        ws();
        char c = next();
        if (c == '}') {
          return m;
        }
        if (c != ',') {
          throw error("expected , or }");
        }
      }
    }

    private List<Object> array() {
      List<Object> l = new ArrayList<>();
      i++;
      ws();
      if (peek() == ']') {
        i++;
        return l;
      }
      while (true) {
        l.add(value());
        ws();
        char c = next();
        if (c == ']') {
          return l;
        }
        if (c != ',') {
          throw error("expected , or ]");
        }
      }
    }

    private String string() {
      expect('"');
      StringBuilder b = new StringBuilder();
      while (true) {
        char c = next();
        if (c == '"') {
          return b.toString();
        }
        if (c != '\\') {
          b.append(c);
          continue;
        }
        char e = next();
        switch (e) {
          case 'n' -> b.append('\n');
          case 't' -> b.append('\t');
          case 'r' -> b.append('\r');
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'u' -> {
            if (i + 4 > s.length()) {
              throw error("bad \\u escape");
            }
            try {
              b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            } catch (NumberFormatException x) {
              throw error("bad \\u escape");
            }
            i += 4;
          }
          default -> b.append(e);
        }
      }
    }

    private Double number() {
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        i++;
      }
      try {
        return Double.valueOf(s.substring(start, i));
      } catch (NumberFormatException e) {
        i = start;
        throw error("unexpected character '" + s.charAt(start) + "'");
      }
    }

    private Object literal(String word, Object v) {
      if (!s.startsWith(word, i)) {
        throw error("unexpected character '" + s.charAt(i) + "'");
      }
      i += word.length();
      return v;
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private char peek() {
      return i < s.length() ? s.charAt(i) : '\0';
    }

    private char next() {
      if (i >= s.length()) {
        throw error("unexpected end");
      }
      return s.charAt(i++);
    }

    private void expect(char c) {
      if (next() != c) {
        i--;
        throw error("expected '" + c + "'");
      }
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException(what + " at character " + i);
    }
  }
}
