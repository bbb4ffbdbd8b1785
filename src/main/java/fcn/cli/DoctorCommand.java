package fcn.cli;

import fcn.core.ExitCode;
import fcn.runtime.Doctor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fcn doctor}: can this build and machine run ONNX Runtime on CUDA, and if not, what is missing. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = {
      "Check the CUDA path: the ONNX Runtime flavour and version, the providers it was built with, each "
          + "CUDA 12 / cuDNN 9 library its CUDA provider needs and where it was found (or that it is missing), "
          + "the driver library, what to install, and whether a CUDA session can be created and run.",
      "Works on the CPU build too (it says so, and how to get the GPU build)."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:a CUDA session was created and ran a Conv on the GPU",
        "1:CUDA is not usable (CPU build, missing library, no GPU or driver)",
        "2:bad usage (e.g. --cuda-libs is not a folder)", "70:internal error"})
public final class DoctorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--cuda-libs", paramLabel = "DIR",
      description = "Also load the CUDA libraries from DIR first, as the commands do. Default: $"
          + RuntimeOptions.CUDA_LIBS_ENV + ".")
  Path cudaLibs;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Optional<Path> dir = RuntimeOptions.cudaLibs(cudaLibs);
    Doctor.Result r = Doctor.run(dir);
    out.print(r.text());
    out.flush();
    return r.cudaWorks() ? ExitCode.OK : ExitCode.CHECK_FAILED;
  }
}
