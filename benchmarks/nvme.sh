#!/bin/bash
# In the test VM (benchmarks/run --nvme boots it): QEMU's NVMe controller, bound to vfio-pci at boot, goes to the
# kernel's nvme driver (with POLL_QUEUES polled queues) and fio runs 4 KiB randread and randwrite on it at each QD and
# job count with libaio, io_uring and io_uring with polled completions (hipri, where the kernel made poll queues);
# then the controller goes back to vfio-pci and NvmeBench runs the same workloads on vfio-nvme, polled and by MSI-X.
# The namespace is written whole first, so neither side reads holes of the host's sparse image.
# Usage: nvme.sh OUT_DIR CLASSPATH FIO   (env: SECONDS_EACH, RAMP, QDS, JOBS, ENGINES, MODES, POLL_QUEUES)
set -euo pipefail
out=$1; cp=$2; fio=$3
seconds=${SECONDS_EACH:-5}; ramp=${RAMP:-2}; qds=${QDS:-1,32}; jobs=${JOBS:-1,2}
engines=${ENGINES:-libaio,io_uring,io_uring-hipri}; modes=${MODES:-poll,irq}; poll_queues=${POLL_QUEUES:-1}
pci=/sys/bus/pci
nvme=
for d in $pci/devices/*; do
  if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1b36:0x0010" ]; then nvme=$(basename "$d"); break; fi
done
[ -n "$nvme" ] || { echo "no QEMU NVMe controller in the guest" >&2; exit 1; }
dev=$pci/devices/$nvme
group=$(basename "$(readlink "$dev/iommu_group")")
driver() { basename "$(readlink "$dev/driver" 2>/dev/null || echo none)"; }
wait_for() {   # wait_for WHAT TEST...: up to 60 s
  local what=$1 i; shift
  for i in $(seq 600); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for $what" >&2; exit 1
}
disk_of() {   # the namespace's block device: its sysfs path runs through the controller's PCI device
  local b
  for b in /sys/block/nvme*n1; do
    case $(readlink -f "$b") in */$nvme/*) basename "$b"; return 0;; esac
  done
  return 1
}
kernel_has_disk() { disk=$(disk_of) && [ -b "/dev/$disk" ]; }
vfio_has_it() { [ "$(driver)" = vfio-pci ] && [ -e "/dev/vfio/$group" ]; }

echo "NVMe $nvme (group $group) on $(driver); $(grep -c ^processor /proc/cpuinfo) CPU, kernel $(uname -r)"
mkdir -p "$out/fio" "$out/fio-failed"
# the kernel's nvme driver (a module of Debian's kernel, loaded by the guest's init) reads poll_queues at probe
echo "$poll_queues" > /sys/module/nvme/parameters/poll_queues
[ "$(driver)" = none ] || echo "$nvme" > "$dev/driver/unbind"
echo > "$dev/driver_override"
echo "$nvme" > $pci/drivers_probe
wait_for "the nvme driver's block device" kernel_has_disk
{
  echo "controller $nvme on $(driver), block device /dev/$disk ($(cat /sys/block/$disk/size) sectors)"
  echo "nvme.poll_queues=$(cat /sys/module/nvme/parameters/poll_queues)"
  echo "hardware queues: $(ls /sys/block/$disk/mq | wc -l); io_poll=$(cat /sys/block/$disk/queue/io_poll)"
  echo "kernel.io_uring_disabled=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo absent)"
  dmesg | grep -E 'nvme[0-9]+: .*queues' || true
} | tee "$out/kernel.txt"
poll=$(cat /sys/block/$disk/queue/io_poll)
dd if=/dev/urandom of=/dev/$disk bs=1M count=$(($(cat /sys/block/$disk/size) / 2048)) oflag=direct status=none
# uniformly random offsets, as NvmeBench draws them (no map of blocks already hit)
fio_common=(--filename=/dev/$disk --bs=4k --direct=1 --norandommap --randrepeat=0 --time_based
  --runtime="$seconds" --ramp_time="$ramp" --group_reporting --lat_percentiles=1 --percentile_list=50:99:99.9
  --output-format=json)
for rw in randread randwrite; do
  for qd in ${qds//,/ }; do
    for n in ${jobs//,/ }; do
      for engine in ${engines//,/ }; do
        name=$rw-qd$qd-j$n-$engine
        args=(--ioengine="${engine%-hipri}")
        if [ "$engine" = io_uring-hipri ]; then
          [ "$poll" = 1 ] || { echo "$name: skipped, the kernel made no poll queues (io_poll=0)"; continue; }
          # polled completions, the kernel's fastest path: registered buffers and file too
          args+=(--hipri=1 --fixedbufs=1 --registerfiles=1)
        fi
        # the CPU's busy time over the measured window: /proc/stat when the ramp ends and when the job ends (fio
        # runs these through system(), its output redirected to NAME.prerun.txt / .postrun.txt in the working
        # directory, hence the parentheses)
        if (cd "$out/fio" && "$fio" --name="$name" "${fio_common[@]}" --rw=$rw --iodepth=$qd --numjobs=$n "${args[@]}" \
            --exec_prerun="(sleep $ramp; head -1 /proc/stat > $name.cpu.0) &" \
            --exec_postrun="(head -1 /proc/stat > $name.cpu.1)" --output="$name.json" 2> "$name.err"); then
          cat "$out/fio/$name.cpu.0" "$out/fio/$name.cpu.1" > "$out/fio/$name.cpu" 2>/dev/null \
            || { rm -f "$out/fio/$name.cpu"; echo "$name: no CPU time"; }
          rm -f "$out/fio/$name".{err,cpu.0,cpu.1,prerun.txt,postrun.txt}
          echo "$name: done"
        else
          mv "$out/fio/$name".* "$out/fio-failed/" 2>/dev/null || true
          echo "$name: fio failed: $(tail -1 "$out/fio-failed/$name.err" 2>/dev/null)"
        fi
      done
    done
  done
done
# back to vfio-pci, as the guest's init bound it
echo "$nvme" > "$dev/driver/unbind"
echo vfio-pci > "$dev/driver_override"
echo "$nvme" > $pci/drivers_probe
wait_for "vfio-pci with /dev/vfio/$group" vfio_has_it
echo "controller back on $(driver)"
rm -f "$out/java.csv"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$cp" \
  org.vfioosgi.benchmarks.NvmeBench "$out/java.csv" "$seconds" "$ramp" "$qds" "$jobs" "$modes"
