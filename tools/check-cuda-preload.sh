#!/usr/bin/env bash
# Proves fcn's --cuda-libs preload on a machine without a GPU (issue 13). It gathers real CUDA 12
# user-space libraries into one folder, then runs the GPU build (FCN_GPU=1 ./fcn, -Pgpu):
#   1. without --cuda-libs: `fcn bench --device cuda` must name every missing soname (exit 2);
#   2. --cuda-libs with the CUDA libraries but no driver library: ORT must get as far as
#      "CUDA failure 35: CUDA driver version is insufficient" (every CUDA library resolved);
#   3. --cuda-libs with the driver's libcuda.so.1 too: ORT must get as far as
#      "CUDA failure 100: no CUDA-capable device is detected";
#   4. validate and fixtures reach the same error (--cuda-libs and FCN_CUDA_LIBS);
#   5. `fcn doctor --cuda-libs DIR` prints where each library was found.
# Where the libraries come from (no stubs: each is NVIDIA's real binary):
#   - org.bytedeco:cuda:12.6-9.5-1.5.11:linux-x86_64-redist from Maven Central (2 GB jar, once, in ~/.m2):
#     libcudart.so.12, libcublasLt/libcublas.so.12, libcurand.so.10, libcufft.so.11, libnvrtc.so.12,
#     cuDNN 9.5 (libcudnn*.so.9), kept in the jar's own nested layout (exercises the folder scan);
#   - Debian bookworm non-free's libcuda1 (driver 535) via apt-get download with a private source
#     list (the machine's apt configuration is not changed), as driver/libcuda.so.1.
# Only files named in src/main/resources/fcn/runtime/cuda-libraries.properties are unpacked (~1.9 GB).
#   tools/check-cuda-preload.sh [DIR]     (default DIR: ${XDG_CACHE_HOME:-~/.cache}/fcn/cuda12-libs)
# Exit 0 when all checks pass, 1 when one fails, 2 when the libraries cannot be gathered.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/fcn/cuda12-libs}"
redist="org.bytedeco:cuda:12.6-9.5-1.5.11:jar:linux-x86_64-redist"
jar="$HOME/.m2/repository/org/bytedeco/cuda/12.6-9.5-1.5.11/cuda-12.6-9.5-1.5.11-linux-x86_64-redist.jar"
props=src/main/resources/fcn/runtime/cuda-libraries.properties

# The sonames fcn preloads, from the one list fcn keeps (the "order" entry, continuation lines joined).
sonames="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$props" | sed -n 's/^order *= *//p')"

if [ ! -f "$dir/.complete" ]; then
  echo "== gathering CUDA 12 libraries into $dir"
  mkdir -p "$dir/driver"
  if [ ! -f "$jar" ]; then
    mvn -q -B dependency:get -Dtransitive=false -Dartifact="$redist" >&2 \
      || { echo "check-cuda-preload: cannot fetch $redist" >&2; exit 2; }
  fi
  pats=()
  for s in $sonames; do
    case "$s" in libcuda.so.1) continue ;; esac
    pats+=("org/bytedeco/cuda/linux-x86_64/$s")
  done
  unzip -o -q "$jar" "${pats[@]}" -d "$dir" || { echo "check-cuda-preload: unzip failed" >&2; exit 2; }
  apt_dir="$(mktemp -d)"
  trap 'rm -rf "$apt_dir"' EXIT
  mkdir -p "$apt_dir/lists/partial"
  echo "deb http://deb.debian.org/debian bookworm non-free" > "$apt_dir/sources.list"
  apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o Debug::NoLocking=1)
  apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || { echo "check-cuda-preload: apt-get update failed" >&2; exit 2; }
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" download libcuda1 >/dev/null 2>&1) \
    || { echo "check-cuda-preload: apt-get download libcuda1 failed" >&2; exit 2; }
  dpkg-deb -x "$apt_dir"/libcuda1_*.deb "$apt_dir/x"
  cp "$(find "$apt_dir/x" -name 'libcuda.so.*.*' -type f | head -1)" "$dir/driver/libcuda.so.1"
  touch "$dir/.complete"
fi
echo "== libraries in $dir:"
(cd "$dir" && find . -name 'lib*' -type f | sort | sed 's/^/   /')

fail=0
expect() { # expect NAME CODE PATTERN -- command...
  local name="$1" code="$2" pat="$3"; shift 4
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  echo "$out" | sed 's/^/   /'
  if [ "$rc" = "$code" ] && grep -qE "$pat" <<<"$out"; then
    echo "   PASS $name (exit $rc)"
  else
    echo "   FAIL $name: exit $rc (wanted $code), pattern '$pat'"
    fail=1
  fi
}
run=(env FCN_GPU=1 ./fcn)
bench=(bench --device cuda --iterations 1 --warmup 0)

echo "== 1. the GPU build, no --cuda-libs: every missing soname named before ORT is asked"
ort="$(sed -n 's|.*<onnxruntime.version>\(.*\)</onnxruntime.version>.*|\1|p' pom.xml)"
need="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$props" | sed -n "s/^${ort//./\\.}\.needed *= *//p")"
pat="missing $(echo $need | sed 's/ /, /g')"
expect "missing sonames named" 2 "$pat" -- "${run[@]}" "${bench[@]}"

echo "== 2. --cuda-libs without the driver library: everything resolves, the CUDA runtime finds no driver"
expect "preload, no driver" 2 "CUDA failure 35|driver version is insufficient" -- \
  "${run[@]}" "${bench[@]}" --cuda-libs "$dir/org"

echo "== 3. --cuda-libs with the driver's libcuda.so.1: everything resolves, there is no GPU"
expect "preload with driver" 2 "CUDA failure 100|no CUDA-capable device" -- \
  "${run[@]}" "${bench[@]}" --cuda-libs "$dir"

echo "== 4. validate and fixtures take the same folder (FCN_CUDA_LIBS)"
expect "validate" 2 "CUDA failure 100|no CUDA-capable device" -- env FCN_CUDA_LIBS="$dir" "${run[@]}" validate \
  fixtures/default/model.onnx --fixtures fixtures/default --device cuda
fx="$(mktemp -d)"
expect "fixtures" 2 "CUDA failure 100|no CUDA-capable device" -- "${run[@]}" fixtures fixtures/default/model.onnx \
  --input-shape 1,3,64,64 --device cuda --cuda-libs "$dir" -o "$fx/out"
rm -rf "$fx"

echo "== 5. fcn doctor --cuda-libs DIR"
expect "doctor" 1 "libcudnn.so.9 +$dir" -- "${run[@]}" doctor --cuda-libs "$dir"

[ "$fail" = 0 ] && echo "check-cuda-preload: all checks passed" || echo "check-cuda-preload: FAILED"
exit "$fail"
