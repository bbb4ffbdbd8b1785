package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.proto.CaffeProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.caffe.Caffe;
import org.bytedeco.caffe.FloatAdaDeltaSolver;
import org.bytedeco.caffe.FloatAdaGradSolver;
import org.bytedeco.caffe.FloatAdamSolver;
import org.bytedeco.caffe.FloatBlob;
import org.bytedeco.caffe.FloatBlobSharedVector;
import org.bytedeco.caffe.FloatNesterovSolver;
import org.bytedeco.caffe.FloatNet;
import org.bytedeco.caffe.FloatRMSPropSolver;
import org.bytedeco.caffe.FloatSGDSolver;
import org.bytedeco.caffe.FloatSolver;
import org.bytedeco.caffe.NetParameter;
import org.bytedeco.caffe.SolverParameter;
import org.bytedeco.javacpp.BytePointer;

/** JavaCPP side of {@link CaffeSolver}; package-private for the same reason as {@link NativeNet}. */
final class NativeSolver implements AutoCloseable {
  private final String source;
  private FloatSolver solver;

  NativeSolver(CaffeProto.NetParameter train, CaffeProto.SolverParameter settings, long seed, String source) {
    this.source = source;
    Caffe.set_mode(Caffe.CPU);
    Caffe.set_random_seed((int) seed);
    CaffeProto.NetParameter net = train.toBuilder()
        .setState(train.getState().toBuilder().setPhase(CaffeProto.Phase.TRAIN)).build();
    // Only this net, on the CPU, never snapshotting behind the caller's back.
    CaffeProto.SolverParameter full = settings.toBuilder()
        .clearNet().clearTrainNet().clearTestNet().clearTestNetParam().clearTrainNetParam().clearTestIter()
        .setNetParam(net).setSolverMode(CaffeProto.SolverParameter.SolverMode.CPU)
        .setRandomSeed(seed).setSnapshot(0).setSnapshotAfterTrain(false)
        .setMaxIter(settings.hasMaxIter() ? settings.getMaxIter() : Integer.MAX_VALUE)
        .setDisplay(0)
        .build();
    if (!full.hasBaseLr() || !full.hasLrPolicy()) {
      throw new FcnException(source + ": the solver settings need base_lr and lr_policy");
    }
    try (NetParameter check = NativeNet.toNative(net.toByteArray(), source)) {
      NativeNet.checkLayerTypes(check, source);
    }
    byte[] bytes = full.toByteArray();
    try (SolverParameter p = new SolverParameter(); BytePointer bp = new BytePointer(bytes)) {
      if (!p.ParseFromArray(bp, bytes.length)) {
        throw new FcnException(source + ": Caffe rejected the solver settings");
      }
      String type = full.getType();
      solver = switch (type) {
        case "SGD" -> new FloatSGDSolver(p);
        case "Nesterov" -> new FloatNesterovSolver(p);
        case "AdaGrad" -> new FloatAdaGradSolver(p);
        case "RMSProp" -> new FloatRMSPropSolver(p);
        case "AdaDelta" -> new FloatAdaDeltaSolver(p);
        case "Adam" -> new FloatAdamSolver(p);
        default -> throw new FcnException(source + ": solver type '" + type
            + "' is not one of SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam");
      };
    }
  }

  private FloatSolver solver() {
    if (solver == null) {
      throw new IllegalStateException("Caffe solver " + source + " is closed");
    }
    return solver;
  }

  FloatNet net() {
    return solver().net();
  }

  int iter() {
    return solver().iter();
  }

  /** One solver iteration on the given inputs; returns the sum of the loss outputs. */
  float step(Map<String, float[]> inputs) {
    FloatNet n = net();
    NativeNet.borrow(n, source).feed(inputs);
    solver().Step(1);
    float loss = 0;
    for (int i = 0; i < n.num_outputs(); i++) {
      FloatBlob out = n.output_blobs().get(i);
      if (out.count() == 1) {
        loss += out.cpu_data().get(0);
      }
    }
    return loss;
  }

  /**
   * Copies the weights of every layer both nets have (by name) from {@code from} to {@code to};
   * returns the names copied. Shapes are checked first (Blob::CopyFrom would abort).
   */
  static List<String> copyLayers(FloatNet from, FloatNet to, String fromName, String toName) {
    List<String> copied = new ArrayList<>();
    for (long i = 0; i < to.layer_names().size(); i++) {
      String layer = to.layer_names().get(i).getString();
      if (!from.has_layer(layer)) {
        continue;
      }
      FloatBlobSharedVector dst = to.layers().get(i).blobs();
      FloatBlobSharedVector src = from.layer_by_name(layer).blobs();
      if (dst.size() == 0 && src.size() == 0) {
        continue;
      }
      if (dst.size() != src.size()) {
        throw new FcnException("layer '" + layer + "' has " + src.size() + " weight blobs in " + fromName
            + " but " + dst.size() + " in " + toName);
      }
      for (long j = 0; j < dst.size(); j++) {
        FloatBlob a = src.get(j);
        FloatBlob b = dst.get(j);
        if (!Arrays.equals(NativeNet.shape(a), NativeNet.shape(b))) {
          throw new FcnException("layer '" + layer + "' weight blob " + j + " is " + a.shape_string().getString()
              + " in " + fromName + " but " + b.shape_string().getString() + " in " + toName);
        }
        b.CopyFrom(a, false, false);
      }
      copied.add(layer);
    }
    return copied;
  }

  @Override
  public void close() {
    if (solver != null) {
      solver.close();
      solver = null;
    }
  }
}
