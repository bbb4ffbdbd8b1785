package fcn.cli;

import fcn.data.Preprocess;
import picocli.CommandLine.Option;

/**
 * The preprocessing options of a command that feeds dataset images to a model (the same names,
 * presets and meaning as {@code fcn bench}'s), as a picocli mixin; {@link #build} makes the
 * {@link Preprocess}.
 */
public final class PreprocessOptions {
  @Option(names = "--preprocess", paramLabel = "caffe|torchvision", defaultValue = "caffe",
      description = "Preprocess preset: caffe (BGR, 0..255, minus the VGG mean) or torchvision "
          + "(RGB, /255, ImageNet mean/std). Default: ${DEFAULT-VALUE}.")
  String preset;

  @Option(names = "--mean", paramLabel = "A,B,C", description = "Per-channel mean (in the network's channel order).")
  String mean;

  @Option(names = "--std", paramLabel = "A,B,C", description = "Per-channel std (in the network's channel order).")
  String std;

  @Option(names = "--scale", paramLabel = "S", description = "Multiply 0..255 pixel values by S before the mean.")
  Double scale;

  // Two plain options, not an exclusive ArgGroup: picocli lists a mixin's groups twice in --help.
  @Option(names = "--bgr", description = "Feed channels in BGR order.")
  boolean bgr;

  @Option(names = "--rgb", description = "Feed channels in RGB order.")
  boolean rgb;

  @Option(names = "--resize", paramLabel = "HxW", description = "Resize images to H x W (bench resizes predictions back to the label's size).")
  String resize;

  /** Whether any option beyond the preset was given (they need images to apply to). */
  boolean anyTuning() {
    return mean != null || std != null || scale != null || bgr || rgb || resize != null;
  }

  Preprocess build() {
    if (bgr && rgb) {
      throw new fcn.core.FcnException("--bgr and --rgb are mutually exclusive; give one");
    }
    Preprocess p = Preprocess.preset(preset);
    if (bgr || rgb) {
      p = p.withOrder(bgr ? Preprocess.ChannelOrder.BGR : Preprocess.ChannelOrder.RGB);
    }
    if (scale != null) {
      p = p.withScale(scale);
    }
    if (mean != null) {
      p = p.withMean(Preprocess.parseTriple("--mean", mean));
    }
    if (std != null) {
      p = p.withStd(Preprocess.parseTriple("--std", std));
    }
    if (resize != null) {
      int[] hw = BenchCommand.parseSize(resize);
      p = p.withResize(hw[1], hw[0]);
    }
    return p;
  }
}
