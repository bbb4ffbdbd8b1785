import fcn.data.SyntheticShapes;
import java.nio.file.Path;

/**
 * Writes a fcn.data.SyntheticShapes dataset with the embedded default's recipe (128x128, 2..6
 * objects, up to 3 distractors; tools/make-default.sh) as a "train" split:
 *   java -cp target/fcn.jar:$(cat target/runtime.classpath) tools/MakeShapes.java OUT SEED COUNT
 * Seed 2 gives the default's training images (its val split is seed 1), so a model can be
 * calibrated on images outside the split it is scored on.
 */
public final class MakeShapes {
  public static void main(String[] args) {
    if (args.length != 3) {
      System.err.println("usage: MakeShapes OUT SEED COUNT");
      System.exit(2);
    }
    SyntheticShapes.Config c = SyntheticShapes.Config.defaults().withSize(128, 128).withObjects(2, 6)
        .withDistractors(3).withSeed(Long.parseLong(args[1])).withCounts(Integer.parseInt(args[2]), 0);
    SyntheticShapes.generate(Path.of(args[0]), c);
    System.out.println("wrote " + args[0] + ": " + c);
  }
}
