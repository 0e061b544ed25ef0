#!/bin/bash
# Runs inside the guest, chrooted into the host's root: replays the caller's working directory, environment and
# arguments (files in the run directory), with stdin/stdout/stderr carried by the virtio-serial ports
# "vm-in", "vm-out" and "vm-err". Writes the exit status to RUN/rc.
RUN=$1
port() { local p; for p in /sys/class/virtio-ports/*; do [ "$(cat "$p/name")" = "$1" ] && echo "/dev/${p##*/}"; done; }
while IFS= read -r -d '' kv; do export "$kv" 2>/dev/null; done < "$RUN/env"
cd "$(cat "$RUN/cwd")" || { echo 126 > "$RUN/rc"; exit; }
mapfile -d '' -t args < "$RUN/args"
in=$(port vm-in); out=$(port vm-out); err=$(port vm-err)
echo "VM_COMMAND_START uptime=$(cut -d' ' -f1 /proc/uptime) ${args[0]}" > /dev/console
# A virtio port has no FIONREAD (Java's System.in.available() fails with "Illegal seek"): hand stdin over as a pipe.
if [ -n "$in" ]; then
  exec 3<"$in"
  "${args[@]}" < <(exec cat <&3) >"$out" 2>"$err" 3<&-
else
  "${args[@]}" </dev/null >"$out" 2>"$err"
fi
rc=$?
echo $rc > "$RUN/rc"
echo "VM_COMMAND_END uptime=$(cut -d' ' -f1 /proc/uptime) rc=$rc" > /dev/console
