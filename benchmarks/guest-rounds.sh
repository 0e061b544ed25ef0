#!/bin/bash
# In the guest: ROUNDS alternations of the C baseline (with an idle second thread, then single-threaded for reference)
# and the JMH round on the edu device.
# Usage: guest-rounds.sh OUT_DIR CLASSPATH ROUNDS [JMH_INCLUDE]
set -euo pipefail
out=$1; cp=$2; rounds=$3; include=${4:-}
edu=
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1234:0x11e8" ]; then edu=$(basename "$d"); break; fi
done
[ -n "$edu" ] || { echo "no edu device in the guest" >&2; exit 1; }
group=$(basename "$(readlink "/sys/bus/pci/devices/$edu/iommu_group")")
echo "edu $edu in group $group; $(grep -c ^processor /proc/cpuinfo) CPU, kernel $(uname -r)"
for round in $(seq "$rounds"); do
  echo "round $round: C"
  "$out/vfio-bench" "$group" "$edu" > "$out/c-$round.txt"
  "$out/vfio-bench" --single-threaded "$group" "$edu" > "$out/c1-$round.txt"
  echo "round $round: Java (JMH)"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.vfioosgi.benchmarks.BenchmarkRound "$out/java-$round.txt" \
    ${include:+"$include"} > "$out/jmh-$round.log" 2>&1 || { tail -30 "$out/jmh-$round.log"; exit 1; }
done
