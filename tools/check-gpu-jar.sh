#!/usr/bin/env bash
# Checks that the CUDA libraries fcn's diagnostics expect (`fcn doctor`, --device cuda, --cuda-libs:
# <version>.needed in src/main/resources/fcn/runtime/cuda-libraries.properties) are exactly the
# DT_NEEDED entries of the GPU jar's libonnxruntime_providers_cuda.so (readelf -d), so that an ORT
# upgrade that changes them fails here instead of misleading users.
#   tools/check-gpu-jar.sh [ONNXRUNTIME_GPU.jar]   (default: onnxruntime_gpu of pom.xml's version, from ~/.m2,
#                                                   fetched with Maven when absent)
# Exit 0 when they agree, 1 when they differ, 2 when the jar or readelf cannot be had.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
props=src/main/resources/fcn/runtime/cuda-libraries.properties
ort="$(sed -n 's|.*<onnxruntime.version>\(.*\)</onnxruntime.version>.*|\1|p' pom.xml)"
jar="${1:-$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime_gpu/$ort/onnxruntime_gpu-$ort.jar}"
if [ $# -eq 0 ] && [ ! -f "$jar" ]; then
  mvn -q -B dependency:get -Dtransitive=false -Dartifact="com.microsoft.onnxruntime:onnxruntime_gpu:$ort" >&2 || true
fi
[ -f "$jar" ] || { echo "check-gpu-jar: $jar not found" >&2; exit 2; }
if ! command -v readelf >/dev/null; then
  apt-get install -y -qq binutils >/dev/null 2>&1 || { echo "check-gpu-jar: readelf missing (apt-get install binutils)" >&2; exit 2; }
fi
# The jar's version (its manifest), which picks the list; a jar given by path may differ from pom.xml.
ver="$(unzip -p "$jar" META-INF/MANIFEST.MF | sed -n 's/^Implementation-Version: *//p' | tr -d '\r')"
ver="${ver:-$ort}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
so=ai/onnxruntime/native/linux-x64/libonnxruntime_providers_cuda.so
unzip -q -o "$jar" "$so" -d "$tmp" || { echo "check-gpu-jar: $jar has no $so" >&2; exit 2; }

# System libraries (glibc, the C++ runtime) are every Linux's; the check is about CUDA's.
system='^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so'
readelf -d "$tmp/$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev "$system" | sort > "$tmp/jar.txt"
runpath="$(readelf -d "$tmp/$so" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')"
# The list fcn keeps: an exact entry, else the one fcn falls back to (the highest listed below).
joined="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$props")"
listed="$(sed -n 's/^\([0-9][0-9.]*\)\.needed *=.*/\1/p' <<<"$joined" | sort -V)"
pick="$(awk -v v="$ver" 'BEGIN{split(v,a,".")} {split($0,b,"."); le=1; for(i=1;i<=3;i++){if(b[i]+0<a[i]+0){break} if(b[i]+0>a[i]+0){le=0;break}} if(le) p=$0} END{print p}' <<<"$listed")"
[ -n "$pick" ] || pick="$(head -1 <<<"$listed")"
sed -n "s/^${pick//./\\.}\.needed *= *//p" <<<"$joined" | tr ' ' '\n' | sed '/^$/d' | sort > "$tmp/fcn.txt"

echo "jar: $jar (ONNX Runtime $ver)"
echo "provider: $so, $(stat -c %s "$tmp/$so") bytes, RUNPATH: ${runpath:-none}"
echo "DT_NEEDED (CUDA, non-system): $(tr '\n' ' ' < "$tmp/jar.txt")"
echo "fcn expects ($props, $pick.needed): $(tr '\n' ' ' < "$tmp/fcn.txt")"
if [ "$pick" != "$ver" ]; then
  echo "check-gpu-jar: FAIL: $props lists no $ver.needed (fcn would use $pick's list); add one" >&2
  exit 1
fi
if diff -u "$tmp/fcn.txt" "$tmp/jar.txt" > "$tmp/diff.txt"; then
  echo "check-gpu-jar: OK: fcn's list matches the provider's DT_NEEDED"
else
  echo "check-gpu-jar: FAIL: fcn's list (-) differs from the provider's DT_NEEDED (+):"
  sed -n '3,$p' "$tmp/diff.txt" | grep '^[-+]'
  exit 1
fi
