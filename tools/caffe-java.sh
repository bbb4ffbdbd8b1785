#!/usr/bin/env bash
# Runs a single-file Java program from tools/ with fcn and real Caffe on the class path:
#   tools/caffe-java.sh tools/Program.java ARGS...
# Builds the tool (through ./fcn) and fetches org.bytedeco:caffe-platform with Maven the first time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
FCN_WITH_CAFFE=1 ./fcn --version >/dev/null
export GLOG_minloglevel="${GLOG_minloglevel:-2}"
# shellcheck disable=SC2086
exec "${JAVA:-java}" ${FCN_JAVA_OPTS:-} -Djavacpp.platform=linux-x86_64 \
  -cp "target/fcn.jar:$(cat target/runtime.classpath):$(cat target/caffe.classpath)" "$@"
