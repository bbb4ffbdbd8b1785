package fcn.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import com.google.protobuf.ByteString;
import fcn.core.FcnException;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code fcn doctor}'s checks of the CUDA path, as text lines and one verdict: the ORT flavour
 * and version, the providers it was built with, each CUDA / cuDNN library its CUDA provider
 * needs (per {@link CudaLibraries#requirements()}) and where the loader finds it, the driver
 * library, what to install, and whether a CUDA session can really be created and run (a 3x3
 * Conv, so cuDNN is exercised too). Stateless; loads {@code --cuda-libs} like the commands do.
 */
public final class Doctor {
  /** The report: lines to print, and whether a CUDA session was created and ran. */
  public record Result(List<String> lines, boolean cudaWorks) {
    public String text() {
      return String.join("\n", lines) + "\n";
    }
  }

  private Doctor() {}

  /**
   * Runs the checks.
   *
   * @param cudaLibs a --cuda-libs folder to load first, if any
   * @throws FcnException when {@code cudaLibs} is given but is not a folder
   */
  public static Result run(Optional<Path> cudaLibs) {
    List<String> out = new ArrayList<>();
    Path natives = OrtNatives.prepare();
    String version = OrtNatives.version();
    boolean gpuJar = Doctor.class.getClassLoader()
        .getResource("ai/onnxruntime/native/linux-x64/libonnxruntime_providers_cuda.so") != null;
    boolean cudaInBuild = Session.cudaInBuild();
    out.add("ONNX Runtime " + version + ", " + (gpuJar || cudaInBuild
        ? "GPU build (onnxruntime_gpu)" : "CPU build (onnxruntime)"));
    String folder = natives != null ? natives.toString()
        : System.getProperty(OrtNatives.PROPERTY) != null ? System.getProperty(OrtNatives.PROPERTY) + " (-D" + OrtNatives.PROPERTY + ")"
        : "extracted by ONNX Runtime itself";
    out.add("native libraries: " + folder + providerFile(natives != null ? natives
        : System.getProperty(OrtNatives.PROPERTY) == null ? null : Path.of(System.getProperty(OrtNatives.PROPERTY))));
    out.add("providers built in: " + providers());
    if (!cudaInBuild) {
      out.add("CUDA: this build has no CUDA execution provider; build the GPU jar with "
          + "`mvn -Pgpu -DskipTests package` (onnxruntime_gpu " + version + ", Linux x64, CUDA 12 + cuDNN 9)");
    }

    CudaLibraries.Requirements req = CudaLibraries.requirements(version);
    if (cudaLibs.isPresent()) {
      Path dir = cudaLibs.get();
      Map<String, Path> found = CudaLibraries.scan(dir, req); // a missing folder is bad input: exit 2
      if (!cudaInBuild) {
        out.add("--cuda-libs " + dir + ": " + found.size() + " CUDA librar" + (found.size() == 1 ? "y" : "ies")
            + " there (not loaded: the CPU build has no use for them)");
      } else {
        try {
          Map<String, Path> loaded = CudaLibraries.preload(dir, req);
          out.add("--cuda-libs " + dir + ": loaded " + loaded.size() + " librar" + (loaded.size() == 1 ? "y" : "ies")
              + " in dependency order");
        } catch (FcnException e) {
          out.add("FAILED " + e.getMessage());
        }
      }
    }

    String note = req.exact() ? "" : " (the list for ORT " + req.listedFor() + "; " + version + " is not listed)";
    out.add("CUDA libraries the CUDA provider needs to load" + note + ":");
    Set<String> missing = new LinkedHashSet<>();
    for (CudaLibraries.Lookup l : CudaLibraries.lookup(req.needed())) {
      out.add(line(l));
      if (!l.found()) {
        missing.add(l.soname());
      }
    }
    out.add("opened when used (a Conv needs cuDNN's parts):");
    for (CudaLibraries.Lookup l : CudaLibraries.lookup(req.runtime())) {
      out.add(line(l));
      if (!l.found()) {
        missing.add(l.soname());
      }
    }
    out.add("driver:");
    CudaLibraries.Lookup driver = CudaLibraries.lookup(List.of(req.driver())).get(0);
    out.add(line(driver));
    if (!driver.found()) {
      missing.add(driver.soname());
    }
    Path dev = Path.of("/dev/nvidia0");
    out.add("  " + (Files.exists(dev) ? "ok       " : "absent   ") + pad("/dev/nvidia0") + "the GPU's device node");

    boolean works = false;
    if (cudaInBuild) {
      String outcome = tryCuda();
      works = outcome == null;
      out.add("CUDA session: " + (works ? "created, and a Conv ran on CUDAExecutionProvider" : "FAILED: " + outcome));
    } else {
      out.add("CUDA session: not tried (CPU build)");
    }
    if (!missing.isEmpty()) {
      Set<String> hints = new LinkedHashSet<>();
      missing.forEach(m -> hints.add(CudaLibraries.installHint(m)));
      out.add("to install: " + String.join("; ", hints));
      out.add("  e.g. `pip install --target DIR nvidia-cuda-runtime-cu12 nvidia-cublas-cu12 nvidia-curand-cu12 "
          + "nvidia-cufft-cu12 nvidia-cuda-nvrtc-cu12 nvidia-cudnn-cu12`, then run fcn with --cuda-libs DIR "
          + "(or FCN_CUDA_LIBS=DIR)");
    }
    out.add("verdict: " + (works ? "CUDA works (exit 0)" : "CUDA is not usable here (exit 1)"));
    return new Result(List.copyOf(out), works);
  }

  private static String providerFile(Path dir) {
    if (dir == null) {
      return "";
    }
    return Files.exists(dir.resolve("libonnxruntime_providers_cuda.so"))
        ? " (libonnxruntime_providers_cuda.so there)" : "";
  }

  private static String providers() {
    try {
      EnumSet<OrtProvider> ps = OrtEnvironment.getAvailableProviders();
      return ps.stream().map(OrtProvider::getName).collect(Collectors.joining(", "))
          + " (what the jar was built with, not what this machine can run)";
    } catch (RuntimeException | LinkageError e) {
      return "unknown (" + Session.firstLine(e.getMessage()) + ")";
    }
  }

  private static String line(CudaLibraries.Lookup l) {
    return "  " + (l.found() ? "ok       " : "MISSING  ") + pad(l.soname())
        + l.where().orElse("not found (" + CudaLibraries.installHint(l.soname()) + ")");
  }

  private static String pad(String s) {
    return String.format(Locale.ROOT, "%-40s ", s);
  }

  /** Null when a CUDA session was created and a Conv ran; else why not, one line. */
  private static String tryCuda() {
    List<String> missing = CudaLibraries.missing();
    if (!missing.isEmpty()) {
      return Session.describeMissing(missing, null);
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, "fcn");
    try (SessionOptions so = new SessionOptions()) {
      so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
      try {
        so.addCUDA(0);
      } catch (OrtException | RuntimeException | LinkageError e) {
        return Session.describeCudaFailure(e.getMessage());
      }
      so.enableProfiling(Session.profilePrefix().toString());
      try (OrtSession s = env.createSession(convModel(), so)) {
        FloatBuffer in = ByteBuffer.allocateDirect(4 * 16).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < 16; i++) {
          in.put(i, i);
        }
        try (OnnxTensor t = OnnxTensor.createTensor(env, in, new long[] {1, 1, 4, 4});
             OrtSession.Result r = s.run(Map.of("x", t))) {
          // ran; where, the profile says
        }
        Path profile = Path.of(s.endProfiling());
        try {
          ProviderReport report = ProviderReport.parse(Files.readString(profile));
          if (report.computeNodesOn(Session.CUDA_PROVIDER).isEmpty()) {
            return "the session was created but its Conv did not run on CUDA: " + report.summary();
          }
          return report.strictViolation(Session.CUDA_PROVIDER)
              .map(v -> "the session was created but " + v).orElse(null);
        } finally {
          fcn.core.TempFiles.delete(profile.getParent());
        }
      } catch (java.io.IOException e) {
        return "cannot read ONNX Runtime's profile: " + e.getMessage();
      } catch (OrtException | RuntimeException | LinkageError e) {
        return Session.describeCudaFailure(e.getMessage());
      }
    } catch (OrtException e) {
      return Session.describeCudaFailure(e.getMessage());
    }
  }

  /** y = Conv(x, 3x3 ones, pads 1): 1x1x4x4 in and out. */
  static byte[] convModel() {
    ByteBuffer w = ByteBuffer.allocate(9 * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 9; i++) {
      w.putFloat(1f);
    }
    NodeProto conv = NodeProto.newBuilder().setOpType("Conv").setName("conv").addInput("x").addInput("w")
        .addOutput("y")
        .addAttribute(AttributeProto.newBuilder().setName("kernel_shape").setType(AttributeProto.AttributeType.INTS)
            .addInts(3).addInts(3))
        .addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS)
            .addInts(1).addInts(1).addInts(1).addInts(1))
        .build();
    GraphProto g = GraphProto.newBuilder().setName("doctor").addNode(conv)
        .addInitializer(TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT.getNumber())
            .addDims(1).addDims(1).addDims(3).addDims(3).setRawData(ByteString.copyFrom(w.array())))
        .addInput(value("x"))
        .addOutput(value("y"))
        .build();
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("fcn-doctor")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(g).build().toByteArray();
  }

  private static ValueInfoProto value(String name) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : new long[] {1, 1, 4, 4}) {
      shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
            .setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(shape)))
        .build();
  }
}
