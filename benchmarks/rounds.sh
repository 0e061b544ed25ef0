#!/bin/bash
# ROUNDS alternations of the C baseline in its own process (with an idle second thread, like every JVM) and the JMH
# round, in which the C twin (OUT_DIR/libvfio-bench.so) also runs in the JVM next to each measured iteration. In the
# test VM, on the edu device; with --host, on this machine, the operations that need no device (no C twin there); with
# --device, on this machine, the operations any device takes, on that device (bound to vfio-pci).
# Usage: [FIRST_ROUND=N] rounds.sh OUT_DIR CLASSPATH ROUNDS [JMH_INCLUDE] [--host | --device PCI_ADDRESS | --cpu-bound]
#        (files numbered from N, default 1)
set -euo pipefail
out=$1; cp=$2; rounds=$3; include=${4:-}; mode=${5:-}
# selection: the flag by which BenchmarkRound picks its default operations (none: all of edu's)
twin=(-Dvfio.bench.cTwin="$out/libvfio-bench.so" -Dvfio.bench.cTwinOut=PAIRS); device=(); selection=()
case "$mode" in
  --host)
    target=(--host); twin=()
    include=${include:-org.vfioosgi.benchmarks.HostBenchmarks.*};;
  --device)
    address=${6:?rounds.sh: --device needs a PCI address}
    [[ $address == *:*:* ]] || address=0000:$address
    sys=/sys/bus/pci/devices/$address
    [ -d "$sys" ] || { echo "no PCI device $address" >&2; exit 1; }
    driver=$(basename "$(readlink "$sys/driver" 2>/dev/null || echo none)")
    if [ "$driver" != vfio-pci ]; then
      echo "$address is bound to $driver, not vfio-pci; as root: modprobe vfio-pci;" \
        "echo vfio-pci > $sys/driver_override; [ -e $sys/driver ] && echo $address > $sys/driver/unbind;" \
        "echo $address > /sys/bus/pci/drivers_probe" >&2
      exit 1
    fi
    group=$(basename "$(readlink "$sys/iommu_group")")
    echo "device $address ($(cat "$sys/vendor"):$(cat "$sys/device")) in group $group; kernel $(uname -r)"
    target=(--any-device "$group" "$address"); device=(-Dvfio.bench.device="$address"); selection=(--any-device);;
  ""|--cpu-bound)
    edu=
    for d in /sys/bus/pci/devices/*; do
      if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1234:0x11e8" ]; then edu=$(basename "$d"); break; fi
    done
    [ -n "$edu" ] || { echo "no edu device in the guest" >&2; exit 1; }
    group=$(basename "$(readlink "/sys/bus/pci/devices/$edu/iommu_group")")
    echo "edu $edu in group $group; $(grep -c ^processor /proc/cpuinfo) CPU, kernel $(uname -r)"
    target=("$group" "$edu")
    # the operations whose time is the CPU's (for the instruction-counting clock)
    if [ "$mode" = --cpu-bound ]; then target=(--cpu-bound "${target[@]}"); selection=(--cpu-bound); fi;;
  *) echo "rounds.sh: unknown mode $mode" >&2; exit 2;;
esac
first=${FIRST_ROUND:-1}
for round in $(seq "$first" $((first + rounds - 1))); do
  allocation=; [ "$round" = 1 ] && allocation=1   # the GC profiler's pass (allocation does not vary by boot)
  echo "round $round: C"
  "$out/vfio-bench" "${target[@]}" > "$out/c-$round.txt"
  echo "round $round: Java (JMH), each measured iteration paired with as long a run of its C twin in the same JVM"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "${twin[@]/PAIRS/$out/pairs-c-$round.txt}" "${device[@]}" \
    -cp "$cp" org.vfioosgi.benchmarks.BenchmarkRound "$out/java-$round.txt" "$out/pairs-java-$round.txt" \
    ${allocation:+--allocation} "${selection[@]}" ${include:+"$include"} > "$out/jmh-$round.log" 2>&1 \
    || { tail -30 "$out/jmh-$round.log"; exit 1; }
done
