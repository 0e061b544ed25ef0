#!/bin/bash
# ROUNDS alternations of the C baseline (with an idle second thread, then single-threaded for reference) and the JMH
# round. In the test VM, on the edu device; with --host, on this machine, the operations that need no device.
# Usage: [FIRST_ROUND=N] rounds.sh OUT_DIR CLASSPATH ROUNDS [JMH_INCLUDE] [--host]   (files numbered from N, default 1)
set -euo pipefail
out=$1; cp=$2; rounds=$3; include=${4:-}
if [ "${5:-}" = --host ]; then
  target=(--host)
  include=${include:-org.vfioosgi.benchmarks.HostBenchmarks.*}
else
  edu=
  for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1234:0x11e8" ]; then edu=$(basename "$d"); break; fi
  done
  [ -n "$edu" ] || { echo "no edu device in the guest" >&2; exit 1; }
  group=$(basename "$(readlink "/sys/bus/pci/devices/$edu/iommu_group")")
  echo "edu $edu in group $group; $(grep -c ^processor /proc/cpuinfo) CPU, kernel $(uname -r)"
  target=("$group" "$edu")
fi
first=${FIRST_ROUND:-1}
for round in $(seq "$first" $((first + rounds - 1))); do
  echo "round $round: C"
  "$out/vfio-bench" "${target[@]}" > "$out/c-$round.txt"
  "$out/vfio-bench" --single-threaded "${target[@]}" > "$out/c1-$round.txt"
  echo "round $round: Java (JMH)"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.vfioosgi.benchmarks.BenchmarkRound \
    "$out/java-$round.txt" ${include:+"$include"} > "$out/jmh-$round.log" 2>&1 \
    || { tail -30 "$out/jmh-$round.log"; exit 1; }
done
