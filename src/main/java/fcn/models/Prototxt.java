package fcn.models;

import com.google.protobuf.TextFormat;
import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Caffe text-format net definitions (.prototxt) to and from {@link NetParameter}. Printing is
 * deterministic (fields in schema order), so a builder run twice writes the same bytes.
 */
public final class Prototxt {
  private Prototxt() {}

  /** Parses a .prototxt file; a syntax error becomes one line naming the file, line and column. */
  public static NetParameter read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new FcnException(file + ": no such prototxt file");
    } catch (IOException e) {
      throw new FcnException("cannot read prototxt " + file + ": " + e.getMessage(), e);
    }
    return parse(text, file.toString());
  }

  /** Parses prototxt text; {@code source} names it in error messages. */
  public static NetParameter parse(String text, String source) {
    NetParameter.Builder b = NetParameter.newBuilder();
    try {
      TextFormat.getParser().merge(text, b);
    } catch (TextFormat.ParseException e) {
      throw new FcnException(source + ": not a Caffe NetParameter prototxt: " + e.getMessage(), e);
    }
    return b.build();
  }

  /** The V2 text form, as Caffe itself would accept it. */
  public static String toText(NetParameter net) {
    return TextFormat.printer().printToString(net);
  }

  /** Writes the text form atomically. */
  public static void write(NetParameter net, Path file) {
    AtomicFile.write(file, toText(net).getBytes(StandardCharsets.UTF_8));
  }
}
