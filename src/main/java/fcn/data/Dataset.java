package fcn.data;

import fcn.core.FcnException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A labelled segmentation dataset: an ordered list of {@link Sample}s plus what is needed to
 * score it (ignore label, class names). Immutable; {@link #open} checks that every listed file
 * exists, so later stages fail only on file contents, never on a missing path.
 *
 * <p>Layouts recognised by {@link #open}:
 *
 * <ul>
 *   <li>{@link Kind#VOC}: a VOCdevkit year folder ({@code JPEGImages/ID.jpg},
 *       {@code SegmentationClass/ID.png} palette PNGs, {@code ImageSets/Segmentation/SPLIT.txt}),
 *       or its parent when it holds exactly one such folder. Default split: {@code val} if
 *       present, else the first split file by name. Ignore label 255 unless given. Classes: a
 *       {@code classes.txt} in the folder, else the 21 VOC classes.
 *   <li>{@link Kind#LIST}: a list file of {@code IMAGE LABEL} lines (CamVid style; paths relative
 *       to the list file's folder; {@code #} comments and blank lines skipped), or a folder plus
 *       {@code --split S} naming {@code S.txt} in it (or holding exactly one such list). Classes:
 *       {@code classes.txt} beside the list file if present. Ignore label only if given.
 *   <li>{@link Kind#FOLDERS}: a folder with {@code images/} and {@code labels/}, matched by file
 *       stem; every image needs a label and vice versa.
 * </ul>
 */
public final class Dataset {
  /** How the dataset is laid out on disk. */
  public enum Kind {
    VOC, LIST, FOLDERS
  }

  /** VOC's void/boundary label. */
  public static final int VOC_IGNORE = 255;

  private static final String[] IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp"};

  private final Kind kind;
  private final Path root;
  private final String name;
  private final String split;
  private final Integer ignoreLabel;
  private final List<String> classNames;
  private final Path classesFile;
  private final List<Sample> samples;

  private Dataset(Kind kind, Path root, String name, String split, Integer ignoreLabel,
      Path classesFile, List<String> classNames, List<Sample> samples) {
    this.kind = kind;
    this.root = root;
    this.name = name;
    this.split = split;
    this.ignoreLabel = ignoreLabel;
    this.classesFile = classesFile;
    this.classNames = List.copyOf(classNames);
    this.samples = List.copyOf(samples);
  }

  /** {@link #open(Path, String, Integer)} with the layout's default split and ignore label. */
  public static Dataset open(Path path) {
    return open(path, null, null);
  }

  /**
   * Opens a dataset, auto-detecting its layout (see the class comment).
   *
   * @param split the split to use (VOC: {@code ImageSets/Segmentation/SPLIT.txt}; a folder of
   *     list files: {@code SPLIT.txt}); null for the default
   * @param ignoreLabel the label value excluded from scoring; null for the layout's default (VOC:
   *     255, others: none)
   * @throws FcnException naming the file when the path, a split or a listed file is missing
   */
  public static Dataset open(Path path, String split, Integer ignoreLabel) {
    if (ignoreLabel != null && (ignoreLabel < 0 || ignoreLabel > 255)) {
      throw new FcnException("--ignore-label " + ignoreLabel + ": expected 0 to 255 (label PNGs hold 8-bit values)");
    }
    if (!Files.exists(path)) {
      throw new FcnException(path + ": no such dataset; expected a VOCdevkit folder, a list file of "
          + "'IMAGE LABEL' lines, or a folder with images/ and labels/");
    }
    String kind = fcn.core.FileChecks.notAFile(path);
    if (kind != null && !Files.isDirectory(path)) {
      throw new FcnException(path + ": " + kind + "; expected a VOCdevkit folder, a list file of 'IMAGE LABEL' lines, "
          + "or a folder with images/ and labels/");
    }
    if (Files.isRegularFile(path)) {
      if (split != null && !split.equals(stem(path))) {
        throw new FcnException(path + ": is a list file, so --split " + split
            + " does not apply; pass the list file's folder with --split, or the list file alone");
      }
      return list(path, ignoreLabel);
    }
    if (isVoc(path)) {
      return voc(path, split, ignoreLabel);
    }
    if (Files.isDirectory(path.resolve("images")) && Files.isDirectory(path.resolve("labels"))) {
      if (split != null) {
        throw new FcnException(path + ": an images/ + labels/ folder has no splits, so --split " + split
            + " does not apply");
      }
      return folders(path, ignoreLabel);
    }
    if (split != null && Files.isRegularFile(path.resolve(split + ".txt"))) {
      return list(path.resolve(split + ".txt"), ignoreLabel);
    }
    List<Path> vocs = children(path).stream().filter(Dataset::isVoc).toList();
    if (vocs.size() == 1) {
      return voc(vocs.get(0), split, ignoreLabel);
    }
    if (vocs.size() > 1) {
      throw new FcnException(path + ": holds several VOC folders " + names(vocs)
          + "; expected the one to use, e.g. " + vocs.get(0));
    }
    List<Path> lists = children(path).stream().filter(Dataset::looksLikeListFile).toList();
    if (split != null) {
      throw new FcnException(path + ": no split '" + split + "': expected " + path.resolve(split + ".txt")
          + (lists.isEmpty() ? "" : " (list files here: " + names(lists) + ")"));
    }
    if (lists.size() == 1) {
      return list(lists.get(0), ignoreLabel);
    }
    if (lists.size() > 1) {
      throw new FcnException(path + ": holds several list files " + names(lists)
          + "; expected --split naming one of them");
    }
    throw new FcnException(path + ": not a dataset; expected JPEGImages/ + SegmentationClass/ + "
        + "ImageSets/Segmentation/ (VOCdevkit), a list file of 'IMAGE LABEL' lines, or images/ + labels/");
  }

  private static boolean isVoc(Path dir) {
    return Files.isDirectory(dir.resolve("JPEGImages")) && Files.isDirectory(dir.resolve("SegmentationClass"));
  }

  private static Dataset voc(Path dir, String split, Integer ignoreLabel) {
    Path sets = dir.resolve("ImageSets").resolve("Segmentation");
    List<Path> splitFiles = Files.isDirectory(sets)
        ? children(sets).stream().filter(p -> p.getFileName().toString().endsWith(".txt")).sorted().toList()
        : List.of();
    if (splitFiles.isEmpty()) {
      throw new FcnException(sets + ": no split files; expected ImageSets/Segmentation/SPLIT.txt "
          + "(one image id per line) in the VOC folder " + dir);
    }
    if (split == null) {
      split = Files.isRegularFile(sets.resolve("val.txt")) ? "val" : stem(splitFiles.get(0));
    }
    Path splitFile = sets.resolve(split + ".txt");
    if (!Files.isRegularFile(splitFile)) {
      throw new FcnException(splitFile + ": no such split file; splits here: " + names(splitFiles));
    }
    List<Sample> samples = new ArrayList<>();
    List<String> lines = readLines(splitFile);
    for (int i = 0; i < lines.size(); i++) {
      String id = lines.get(i).strip();
      if (id.isEmpty() || id.startsWith("#")) {
        continue;
      }
      String where = splitFile + ":" + (i + 1) + ": ";
      Path image = null;
      for (String ext : IMAGE_EXTENSIONS) {
        Path p = dir.resolve("JPEGImages").resolve(id + ext);
        if (Files.isRegularFile(p)) {
          image = p;
          break;
        }
      }
      if (image == null) {
        throw new FcnException(where + "image '" + id + "' has no file " + dir.resolve("JPEGImages").resolve(id + ".jpg"));
      }
      Path label = dir.resolve("SegmentationClass").resolve(id + ".png");
      if (!Files.isRegularFile(label)) {
        throw new FcnException(where + "image '" + id + "' has no label " + label);
      }
      samples.add(new Sample(id, image, label));
    }
    Path classes = dir.resolve("classes.txt");
    boolean hasClasses = Files.isRegularFile(classes);
    return new Dataset(Kind.VOC, dir, fileName(dir), split, ignoreLabel != null ? ignoreLabel : VOC_IGNORE,
        hasClasses ? classes : null, hasClasses ? ClassNames.read(classes) : ClassNames.VOC, samples);
  }

  private static Dataset list(Path file, Integer ignoreLabel) {
    Path base = file.toAbsolutePath().getParent();
    List<String> lines = readLines(file);
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = file + ":" + (i + 1) + ": ";
      String[] f = line.split("\\s+");
      if (f.length != 2) {
        throw new FcnException(where + "expected 'IMAGE LABEL' (two paths separated by whitespace), got "
            + f.length + " field" + (f.length == 1 ? "" : "s"));
      }
      Path image = base.resolve(f[0]).normalize();
      Path label = base.resolve(f[1]).normalize();
      if (!Files.isRegularFile(image)) {
        throw new FcnException(where + "no such image " + image + " (paths are relative to the list file's folder)");
      }
      if (!Files.isRegularFile(label)) {
        throw new FcnException(where + "no such label " + label + " (paths are relative to the list file's folder)");
      }
      samples.add(new Sample(stem(image), image, label));
    }
    Path classes = base.resolve("classes.txt");
    boolean hasClasses = Files.isRegularFile(classes);
    return new Dataset(Kind.LIST, base, fileName(base), stem(file), ignoreLabel,
        hasClasses ? classes : null, hasClasses ? ClassNames.read(classes) : List.of(), samples);
  }

  private static Dataset folders(Path dir, Integer ignoreLabel) {
    Map<String, Path> images = byStem(dir.resolve("images"), IMAGE_EXTENSIONS);
    Map<String, Path> labels = byStem(dir.resolve("labels"), new String[] {".png"});
    List<Sample> samples = new ArrayList<>();
    for (Map.Entry<String, Path> e : images.entrySet()) {
      Path label = labels.get(e.getKey());
      if (label == null) {
        throw new FcnException(e.getValue() + ": no label " + dir.resolve("labels").resolve(e.getKey() + ".png")
            + " (images and labels are matched by file name stem)");
      }
      samples.add(new Sample(e.getKey(), e.getValue(), label));
    }
    for (Map.Entry<String, Path> e : labels.entrySet()) {
      if (!images.containsKey(e.getKey())) {
        throw new FcnException(e.getValue() + ": no image " + e.getKey() + ".* in " + dir.resolve("images")
            + " (images and labels are matched by file name stem)");
      }
    }
    if (samples.isEmpty()) {
      throw new FcnException(dir.resolve("images") + ": no images (expected .jpg/.png files)");
    }
    Path classes = dir.resolve("classes.txt");
    boolean hasClasses = Files.isRegularFile(classes);
    return new Dataset(Kind.FOLDERS, dir, fileName(dir), null, ignoreLabel,
        hasClasses ? classes : null, hasClasses ? ClassNames.read(classes) : List.of(), samples);
  }

  private static Map<String, Path> byStem(Path dir, String[] extensions) {
    Map<String, Path> out = new TreeMap<>();
    for (Path p : children(dir)) {
      String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
      boolean ok = false;
      for (String ext : extensions) {
        ok |= n.endsWith(ext);
      }
      if (!ok || !Files.isRegularFile(p)) {
        continue;
      }
      Path prev = out.put(stem(p), p);
      if (prev != null) {
        throw new FcnException(p + ": same name stem as " + prev + "; expected one file per sample id");
      }
    }
    return out;
  }

  private static boolean looksLikeListFile(Path p) {
    String n = p.getFileName().toString();
    if (!n.endsWith(".txt") || n.equals("classes.txt") || !Files.isRegularFile(p)) {
      return false;
    }
    for (String line : readLines(p)) {
      String s = line.strip();
      if (!s.isEmpty() && !s.startsWith("#")) {
        return s.split("\\s+").length == 2;
      }
    }
    return false;
  }

  private static List<Path> children(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    } catch (IOException e) {
      throw new FcnException(dir + ": cannot list folder: " + fcn.core.FileChecks.reason(e), e);
    }
  }

  private static List<String> readLines(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read: " + fcn.core.FileChecks.reason(e), e);
    }
  }

  private static String names(List<Path> paths) {
    return paths.stream().map(Dataset::fileName).toList().toString();
  }

  private static String fileName(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    return abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
  }

  /** File name without its last extension. */
  public static String stem(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot > 0 ? n.substring(0, dot) : n;
  }

  public Kind kind() {
    return kind;
  }

  /** The folder the dataset lives in (VOC year folder, list file's folder, or images/labels parent). */
  public Path root() {
    return root;
  }

  /**
   * A short, machine-independent name: the dataset folder's name (for a list file, the name of
   * the folder holding it). Used as the {@code dataset} report column so rows from different
   * machines match.
   */
  public String name() {
    return name;
  }

  /** The split (VOC split or list file stem); null for an images/ + labels/ folder. */
  public String split() {
    return split;
  }

  /** The label value excluded from scoring, or null if none. */
  public Integer ignoreLabel() {
    return ignoreLabel;
  }

  /** Class names in index order; empty when the dataset does not say. */
  public List<String> classNames() {
    return classNames;
  }

  /** The classes.txt the names came from, or null (VOC defaults, or none). */
  public Path classesFile() {
    return classesFile;
  }

  public List<Sample> samples() {
    return samples;
  }

  /** Samples by id, in dataset order; a repeated id is an error (ids must name one sample). */
  public Map<String, Sample> samplesById() {
    Map<String, Sample> m = new LinkedHashMap<>();
    for (Sample s : samples) {
      Sample prev = m.put(s.id(), s);
      if (prev != null) {
        throw new FcnException(root + ": sample id '" + s.id() + "' is used by both " + prev.image() + " and "
            + s.image() + "; expected distinct image file names");
      }
    }
    return m;
  }

  /** One line, e.g. {@code VOC dataset voc-sample, split val: 1 sample, ignore label 255}. */
  public String describe() {
    return kind + " dataset " + name + (split != null ? ", split " + split : "") + ": " + samples.size()
        + (samples.size() == 1 ? " sample" : " samples")
        + (ignoreLabel != null ? ", ignore label " + ignoreLabel : ", no ignore label");
  }
}
