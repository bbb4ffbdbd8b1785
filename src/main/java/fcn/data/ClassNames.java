package fcn.data;

import fcn.core.FcnException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Class-name lists: the standard PASCAL VOC names and {@code classes.txt} files. */
public final class ClassNames {
  /** The 21 PASCAL VOC segmentation classes in index order (0 = background). */
  public static final List<String> VOC = List.of("background", "aeroplane", "bicycle", "bird", "boat",
      "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
      "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor");

  private ClassNames() {}

  /**
   * Reads a class list: one name per line, line order = class index. Surrounding whitespace is
   * trimmed, lines starting with {@code #} are comments, and the list ends at the first blank
   * line after a name: text after it is free commentary (as in the PASCAL {@code classes.txt}
   * that explains the ignore label below the names). Duplicate names are an error.
   */
  public static List<String> read(Path file) {
    fcn.core.FileChecks.requireFile(file, "a class list (one name per line)");
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read class list: " + fcn.core.FileChecks.reason(e), e);
    }
    List<String> names = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String s = lines.get(i).strip();
      if (s.startsWith("#")) {
        continue;
      }
      if (s.isEmpty()) {
        if (names.isEmpty()) {
          continue;
        }
        break;
      }
      Integer prev = seen.put(s, i + 1);
      if (prev != null) {
        throw new FcnException(file + ":" + (i + 1) + ": class name '" + s + "' already given on line "
            + prev + "; expected one distinct name per line");
      }
      names.add(s);
    }
    if (names.isEmpty()) {
      throw new FcnException(file + ": no class names; expected one name per line (line order = class index)");
    }
    return List.copyOf(names);
  }
}
