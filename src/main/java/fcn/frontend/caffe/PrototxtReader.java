package fcn.frontend.caffe;

import com.google.protobuf.TextFormat;
import fcn.core.FcnException;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Parses a .prototxt (caffe.NetParameter in protobuf text format). */
final class PrototxtReader {

  /**
   * A parsed net. When the text only failed because of unknown fields (typically the
   * parameters of layers from a Caffe fork), {@code net} is the lenient parse and
   * {@code strictError} the error to report unless unsupported layer types explain it.
   */
  record Result(NetParameter net, FcnException strictError) {}

  private PrototxtReader() {}

  static Result read(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new FcnException(file + ": prototxt not found");
    } catch (MalformedInputException e) {
      throw new FcnException(file + ": not a text prototxt (not UTF-8)");
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read prototxt: " + e.getMessage());
    }
    NetParameter.Builder b = NetParameter.newBuilder();
    try {
      TextFormat.getParser().merge(text, b);
      return new Result(b.build(), null);
    } catch (TextFormat.ParseException e) {
      FcnException strict = new FcnException(format(file, e));
      if (!e.getMessage().contains("unknown fields")) {
        throw strict;
      }
      NetParameter.Builder lenient = NetParameter.newBuilder();
      // The lenient parser logs the unknown fields through JUL; the strict error already has them.
      Logger log = Logger.getLogger(TextFormat.class.getName());
      Level old = log.getLevel();
      log.setLevel(Level.OFF);
      try {
        TextFormat.Parser.newBuilder().setAllowUnknownFields(true).build().merge(text, lenient);
      } catch (TextFormat.ParseException again) {
        throw strict;
      } finally {
        log.setLevel(old);
      }
      return new Result(lenient.build(), strict);
    }
  }

  /** "FILE:LINE:COL: message" on one line, the unknown-field list joined with "; ". */
  private static String format(Path file, TextFormat.ParseException e) {
    String msg = e.getMessage() == null ? "syntax error" : e.getMessage();
    String prefix = e.getLine() + ":" + e.getColumn() + ": ";
    if (msg.startsWith(prefix)) {
      msg = msg.substring(prefix.length());
    }
    String[] lines = msg.split("\\R");
    StringBuilder sb = new StringBuilder();
    sb.append(file).append(':').append(e.getLine()).append(':').append(e.getColumn()).append(": ");
    sb.append(lines[0].trim());
    for (int i = 1; i < lines.length; i++) {
      String l = lines[i].trim();
      if (!l.isEmpty()) {
        sb.append(i == 1 ? " " : "; ").append(l.replace('\t', ' '));
      }
    }
    return sb.toString();
  }
}
