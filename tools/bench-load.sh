#!/usr/bin/env bash
# Load-time benchmark of the full-size voc-fcn8s, every figure in ONE run so they share the
# machine's state (issue 11 point 4, issue 13 point 3): Caffe's own load of the caffemodel (the
# anchor), fcn convert of it (wall, peak RSS, CPU), ONNX Runtime session creation for the
# converted model (plain ORT Java; fcn without its session cache; fcn storing and then hitting
# the cache), and JVM start-up to a ready ORT with fcn's extracted-once natives vs ORT's own
# extraction. Each figure is the median of REPS fresh JVMs, interleaved. Appends one row to
# reports/load-voc-fcn8s.csv (reports/README.md) and prints the figures against Caffe's load.
#   flock /work/heavy.lock tools/bench-load.sh [REPS]      (default 3; ~1 GB of temp files)
# Needs ../shared (the published deploy.prototxt); makes work-tmp/voc-fcn8s/random.caffemodel
# with real Caffe first if it is missing (tools/bench-voc-fcn8s.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
reps="${1:-3}"
proto=../shared/caffe/fcn-berkeley/voc-fcn8s/deploy.prototxt
caffemodel=work-tmp/voc-fcn8s/random.caffemodel
report=reports/load-voc-fcn8s.csv
[ -f "$proto" ] || { echo "bench-load: $proto not found (needs ../shared)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-load: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ ! -f "$caffemodel" ]; then
  echo "== making $caffemodel with real Caffe (once)"
  FCN_JAVA_OPTS="-Xmx8g" tools/caffe-java.sh tools/BenchVocFcn8s.java "$proto" "$caffemodel" 1
fi

FCN_WITH_CAFFE=1 ./fcn --version >/dev/null # builds fcn, fetches the Caffe class path once
tmp="$(mktemp -d "${TMPDIR:-/tmp}/bench-load.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp="target/fcn.jar:$(cat target/runtime.classpath)"
javac -nowarn -d "$tmp/classes" -cp "$cp:$(cat target/caffe.classpath)" tools/BenchLoad.java
cp="$cp:$tmp/classes"
java_opts=(-XX:ErrorFile="${TMPDIR:-/tmp}/fcn-hs_err_pid%p.log")
export GLOG_minloglevel=2
onnx="$tmp/voc-fcn8s.onnx"

# key=value lines of every measurement go to $tmp/all, one "key value" per line.
record() { tr ' ' '\n' | grep '=' | sed 's/=/ /' >>"$tmp/all"; }
run_java() { java "${java_opts[@]}" "$@"; }

for r in $(seq 1 "$reps"); do
  echo "== round $r of $reps"
  run_java -Xmx8g -Djavacpp.platform=linux-x86_64 -cp "$cp:$(cat target/caffe.classpath)" \
    BenchLoad caffe "$proto" "$caffemodel" | tee -a /dev/stderr | record
  FCN_JAVA_OPTS="-Xmx3g" /usr/bin/time -o "$tmp/time" -f "convert_wall_s=%e convert_peak_rss_mb=%M convert_user_s=%U convert_sys_s=%S" \
    ./fcn convert "$proto" "$caffemodel" -o "$onnx" >/dev/null
  # %M is in KiB
  awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "convert_peak_rss_mb") $i = kv[1] "=" sprintf("%.0f", kv[2] / 1024) } print}' \
    "$tmp/time" | tee -a /dev/stderr | record
  run_java -Xmx3g -cp "$cp" BenchLoad ort "$onnx" | tee -a /dev/stderr | record
  run_java -Xmx3g -cp "$cp" BenchLoad ort "$onnx" NO_OPT | tee -a /dev/stderr | record
  run_java -Xmx3g -cp "$cp" BenchLoad fcn "$onnx" off | tee -a /dev/stderr | sed 's/^fcn_/nocache_/; s/ fcn_/ nocache_/g' | record
  rm -rf "$tmp/cache"
  run_java -Xmx3g -cp "$cp" BenchLoad fcn "$onnx" "$tmp/cache" | tee -a /dev/stderr | sed 's/^fcn_/store_/; s/ fcn_/ store_/g' | record
  run_java -Xmx3g -cp "$cp" BenchLoad fcn "$onnx" "$tmp/cache" | tee -a /dev/stderr | sed 's/^fcn_/hit_/; s/ fcn_/ hit_/g' | record
  # Start-up: ORT extracting its natives into a new /tmp folder, vs fcn's cache folder.
  /usr/bin/time -o "$tmp/time" -f "start_ort_wall_s=%e" java "${java_opts[@]}" -cp "$cp" BenchLoad start-ort | record
  record <"$tmp/time"
  /usr/bin/time -o "$tmp/time" -f "start_fcn_wall_s=%e" java "${java_opts[@]}" -cp "$cp" BenchLoad start-fcn | record
  record <"$tmp/time"
  /usr/bin/time -o "$tmp/time" -f "fcn_version_wall_s=%e" ./fcn --version >/dev/null
  record <"$tmp/time"
done

median() { # median of key $1 over the rounds
  awk -v k="$1" '$1 == k {print $2}' "$tmp/all" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
status() { awk -v k="$1" '$1 == k {print $2}' "$tmp/all" | sort -u | paste -sd/; }

cols=(caffe_init_s caffe_load_s convert_wall_s convert_peak_rss_mb convert_user_s convert_sys_s
  ort_env_s ort_create_s ort_create_no_opt_s ort_first_run_s nocache_open_s nocache_first_run_s store_open_s hit_open_s
  hit_first_run_s start_ort_s start_fcn_s start_ort_wall_s start_fcn_wall_s fcn_version_wall_s)
store_status="$(status cache)"
ort_version="$(./fcn --version | sed -n 's/^ONNX Runtime \([^ ]*\).*/\1/p')"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr ',' ' ')"
header="timestamp,host,cpu,cores,ort_version,rounds,$(IFS=,; echo "${cols[*]}"),cache_statuses"
row="$(date -u +%Y-%m-%dT%H:%M:%SZ),$(hostname),$cpu,$(nproc),$ort_version,$reps"
declare -A med
for c in "${cols[@]}"; do
  med[$c]="$(median "$c")"
  row="$row,${med[$c]}"
done
row="$row,$store_status"
if [ ! -s "$report" ]; then
  echo "$header" >"$report"
elif [ "$(head -1 "$report")" != "$header" ]; then
  echo "bench-load: $report has another header; not appending (expected: $header)" >&2
  exit 2
fi
echo "$row" >>"$report"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "?" }'; }
caffe="${med[caffe_load_s]}"
echo
echo "== voc-fcn8s load times (medians of $reps rounds; appended to $report)"
printf '  %-46s %8s s\n' "Caffe load of the caffemodel (the anchor)" "$caffe"
printf '  %-46s %8s s  %s of Caffe, peak RSS %s MB\n' "fcn convert (wall, whole JVM)" "${med[convert_wall_s]}" \
  "$(ratio "${med[convert_wall_s]}" "$caffe")" "${med[convert_peak_rss_mb]}"
printf '  %-46s %8s s  %s\n' "plain ORT Java createSession" "${med[ort_create_s]}" "$(ratio "${med[ort_create_s]}" "$caffe")"
printf '  %-46s %8s s  %s\n' "plain ORT Java createSession, no optimisation" "${med[ort_create_no_opt_s]}" "$(ratio "${med[ort_create_no_opt_s]}" "$caffe")"
printf '  %-46s %8s s  %s\n' "fcn session, cache off" "${med[nocache_open_s]}" "$(ratio "${med[nocache_open_s]}" "$caffe")"
printf '  %-46s %8s s  %s\n' "fcn session, first open (stores the cache)" "${med[store_open_s]}" "$(ratio "${med[store_open_s]}" "$caffe")"
printf '  %-46s %8s s  %s\n' "fcn session, from the cache" "${med[hit_open_s]}" "$(ratio "${med[hit_open_s]}" "$caffe")"
printf '  %-46s %8s s / %s s\n' "first run 224x224: cache off / from the cache" "${med[nocache_first_run_s]}" "${med[hit_first_run_s]}"
printf '  %-46s %8s s / %s s (JVM uptime; wall %s / %s s)\n' "start-up to ORT ready: ORT extracts / fcn cache" \
  "${med[start_ort_s]}" "${med[start_fcn_s]}" "${med[start_ort_wall_s]}" "${med[start_fcn_wall_s]}"
printf '  %-46s %8s s\n' "./fcn --version (wall)" "${med[fcn_version_wall_s]}"
printf '  cache statuses seen: %s\n' "$store_status"
