package fcn.passes;

import fcn.core.FcnException;
import java.util.Locale;

/**
 * What {@link FcnHeadPass} builds: {@code --head fcn32s|fcn16s|fcn8s --classes N
 * [--pool4 NAME] [--pool3 NAME] [--keep-classifier]}.
 *
 * @param head the FCN variant
 * @param classes number of classes of score_fr; 0 with keepClassifier means "the classifier's"
 * @param pool4 value to take the stride-16 skip from (fcn16s, fcn8s); null to auto-detect
 * @param pool3 value to take the stride-8 skip from (fcn8s); null to auto-detect
 * @param keepClassifier keep the final classifier convolution (e.g. fc8) as the scoring layer
 *     instead of replacing it by a zero-initialised score_fr
 */
public record HeadOptions(Head head, int classes, String pool4, String pool3,
    boolean keepClassifier) {

  /** The FCN variants: the final upsampling stride. */
  public enum Head {
    FCN32S(32), FCN16S(16), FCN8S(8);

    private final int stride;

    Head(int stride) {
      this.stride = stride;
    }

    public int stride() {
      return stride;
    }

    /** "fcn32s", "fcn16s" or "fcn8s" (case-insensitive). */
    public static Head parse(String s) {
      for (Head h : values()) {
        if (h.name().equalsIgnoreCase(s)) {
          return h;
        }
      }
      throw new FcnException("--head '" + s + "' is not a head, expected fcn32s, fcn16s or fcn8s");
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public HeadOptions {
    if (head == null) {
      throw new FcnException("--head is required, expected fcn32s, fcn16s or fcn8s");
    }
    if (classes < 0 || classes == 0 && !keepClassifier) {
      throw new FcnException("--classes " + classes + " is not a class count, expected a positive"
          + " number (e.g. 21 for PASCAL VOC)");
    }
  }

  public static HeadOptions of(Head head, int classes) {
    return new HeadOptions(head, classes, null, null, false);
  }

  public HeadOptions withPools(String pool4, String pool3) {
    return new HeadOptions(head, classes, pool4, pool3, keepClassifier);
  }

  public HeadOptions withKeepClassifier(boolean keep) {
    return new HeadOptions(head, classes, pool4, pool3, keep);
  }
}
