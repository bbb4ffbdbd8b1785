package fcn.core;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Streams that hand the layer below at most {@link #CHUNK} bytes per call. A file channel's
 * stream ({@code Files.newInputStream/newOutputStream}) copies a heap array through a temporary
 * direct buffer as large as the call, and the JDK keeps that buffer for the thread: one 411 MB
 * weight (voc-fcn8s' fc6) read or written in one call costs 411 MB of native memory on top of
 * the heap copy. In 1 MiB calls the temporary buffer stays 1 MiB and is reused. Stateless
 * wrappers; closing one closes the stream below.
 */
public final class ChunkedStreams {
  /** Most bytes passed down per read or write. */
  public static final int CHUNK = 1 << 20;

  private ChunkedStreams() {}

  public static InputStream input(InputStream in) {
    return new FilterInputStream(in) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, CHUNK));
      }
    };
  }

  public static OutputStream output(OutputStream out) {
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        // FilterOutputStream's own write(byte[], int, int) writes byte by byte: pass slices down.
        while (len > 0) {
          int n = Math.min(len, CHUNK);
          out.write(b, off, n);
          off += n;
          len -= n;
        }
      }
    };
  }
}
