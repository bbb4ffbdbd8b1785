package fcn.bench;

import fcn.core.FcnException;
import fcn.report.BenchRecord;
import fcn.runtime.Session;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The report stage: a run's {@link BenchRecord} (the CSV row; schema in fcn.report.Columns). Stateless. */
final class ReportRow {
  private ReportRow() {}

  /** The report row of a run; the model's SHA-256 (a full read) only when a report is written. */
  static BenchRecord of(Bench.Options o, Bench.Result r) {
    BenchRecord.Builder b = BenchRecord.builder()
        .modelFile(o.model.toString())
        .modelSha256(o.report != null ? sha256(o.model) : null)
        .modelName(r.modelName())
        .device(r.provider().equals(Session.CUDA_PROVIDER) ? "cuda:0" : "cpu")
        .executionProvider(r.provider())
        .ortVersion(r.ortVersion())
        .inputShape(r.dataset() != null ? null : r.inputShape())
        .threads(r.threads())
        .warmup(r.warmup())
        .loadMs(r.loadMs())
        .firstRunMs(r.firstRunMs())
        .latencies(r.stats().latencies())
        .imagesPerS(r.imagesPerSecond())
        .gflops(r.gflopsPerImage())
        .gflopsPerS(r.gflopsPerSecond())
        .host(BenchRecord.localHost())
        .precision(r.precision())
        .epNodes(r.epNodes());
    if (r.dataset() != null) {
      b.dataset(r.dataset().name()).split(r.dataset().split()).images(r.dataset().images())
          .scores(r.dataset().scores());
    }
    return b.build();
  }

  static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new FcnException("cannot read " + file + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
