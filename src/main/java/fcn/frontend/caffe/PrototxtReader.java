package fcn.frontend.caffe;

import com.google.protobuf.TextFormat;
import fcn.core.FcnException;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Parses a .prototxt (caffe.NetParameter in protobuf text format). Fork fields whose text names
 * clash are renamed first (see {@link #forkText}); positions in errors stay those of the file,
 * since a rename never adds or removes a line.
 */
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
    text = forkText(text);
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

  private static final Set<String> PSPNET_BN_FIELDS =
      Set.of("slope_filler", "bias_filler", "momentum", "eps", "frozen");

  /**
   * The text with the forks' clashing names made unique, outside strings and comments:
   * <ul>
   *   <li>{@code bn_param} is caffe-segnet's BNParameter (field 45: bn_mode, scale_filler,
   *       shift_filler) and also hszhao/PSPNet's (field 152: slope_filler, bias_filler,
   *       momentum, eps, frozen); a block naming a PSPNet field becomes {@code psp_bn_param}.
   *   <li>DeepLab v1's {@code convolution_param { hole: N }} is the filter's input stride, i.e.
   *       BVLC's dilation; its field number (17) is BVLC's force_nd_im2col, so it cannot be
   *       declared, and {@code hole} becomes {@code dilation}.
   * </ul>
   */
  static String forkText(String text) {
    if (!text.contains("bn_param") && !text.contains("hole")) {
      return text;
    }
    StringBuilder sb = new StringBuilder(text.length() + 64);
    int n = text.length();
    int i = 0;
    while (i < n) {
      char ch = text.charAt(i);
      if (ch == '#') {
        int e = text.indexOf('\n', i);
        e = e < 0 ? n : e;
        sb.append(text, i, e);
        i = e;
      } else if (ch == '"' || ch == '\'') {
        int e = stringEnd(text, i);
        sb.append(text, i, e);
        i = e;
      } else if (Character.isLetter(ch) || ch == '_') {
        int e = i;
        while (e < n && (Character.isLetterOrDigit(text.charAt(e)) || text.charAt(e) == '_')) {
          e++;
        }
        String word = text.substring(i, e);
        int next = e;
        while (next < n && Character.isWhitespace(text.charAt(next))) {
          next++;
        }
        char after = next < n ? text.charAt(next) : 0;
        if (word.equals("hole") && after == ':') {
          sb.append("dilation");
        } else if (word.equals("bn_param") && (after == '{' || after == ':')
            && blockNames(text, next).stream().anyMatch(PSPNET_BN_FIELDS::contains)) {
          sb.append("psp_bn_param");
        } else {
          sb.append(word);
        }
        i = e;
      } else {
        sb.append(ch);
        i++;
      }
    }
    return sb.toString();
  }

  /** The index after the string literal starting at {@code start} (or the text's end). */
  private static int stringEnd(String text, int start) {
    char q = text.charAt(start);
    int i = start + 1;
    while (i < text.length() && text.charAt(i) != q && text.charAt(i) != '\n') {
      i += text.charAt(i) == '\\' ? 2 : 1;
    }
    return Math.min(i + 1, text.length());
  }

  /** The field names directly inside the block that opens at or after {@code from}. */
  private static Set<String> blockNames(String text, int from) {
    Set<String> names = new HashSet<>();
    int open = text.indexOf('{', from);
    if (open < 0) {
      return names;
    }
    int depth = 0;
    int i = open;
    while (i < text.length()) {
      char ch = text.charAt(i);
      if (ch == '#') {
        int e = text.indexOf('\n', i);
        i = e < 0 ? text.length() : e;
        continue;
      }
      if (ch == '"' || ch == '\'') {
        i = stringEnd(text, i);
        continue;
      }
      if (ch == '{') {
        depth++;
      } else if (ch == '}' && --depth == 0) {
        break;
      } else if (depth == 1 && (Character.isLetter(ch) || ch == '_')) {
        int e = i;
        while (e < text.length()
            && (Character.isLetterOrDigit(text.charAt(e)) || text.charAt(e) == '_')) {
          e++;
        }
        names.add(text.substring(i, e));
        i = e;
        continue;
      }
      i++;
    }
    return names;
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
