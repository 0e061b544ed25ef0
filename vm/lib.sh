# Shared settings of the test VM harness; sourced by vm/provision and vm/run.
# Everything pinned here; override by environment only for experiments.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${VFIO_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-osgi/vm}

# Debian's kernel with vfio-pci, vfio_iommu_type1 and 9p as modules. bookworm-backports moves on, so the pin
# is tried first and the newest 6.12 image of the suite is the fallback (its checksum comes from the signed index).
KERNEL_SUITE=${VFIO_VM_KERNEL_SUITE:-bookworm-backports}
KERNEL_PKG=${VFIO_VM_KERNEL_PKG:-linux-image-6.12.95+deb12-amd64}
KERNEL_FALLBACK_RE='^linux-image-6\.12\.[0-9]+\+deb12-amd64$'

# Modules loaded in the guest (their dependencies are resolved from the modules' own modinfo).
# nvme: so tests can show a device on its host driver is left alone unless a claim may take it
GUEST_MODULES="9p 9pnet_virtio vfio-pci vfio_iommu_type1 overlay nvme"
# Kernel directories the modules above (and their dependencies) live in: only these are extracted.
KERNEL_MODULE_DIRS="fs/netfs fs/9p net/9p fs/overlayfs drivers/vfio virt/lib drivers/nvme"

HOST_PACKAGES="qemu-system-x86 busybox-static xz-utils cpio gcc libc6-dev linux-libc-dev openssh-client chromium-headless-shell make dwarves"
# The arm64 guest (vfio-platform): Debian's arm64 kernel of the same version, vfio-platform built from Debian's
# linux-source for it (no Debian kernel enables it), and an arm64 user space with Java 25 from trixie.
ARM64_KERNEL_PKG=${VFIO_VM_ARM64_KERNEL_PKG:-linux-image-6.12.95+deb12-arm64}
ARM64_KERNEL_FALLBACK_RE='^linux-image-6\.12\.[0-9]+\+deb12-arm64$'
ARM64_USER_SUITE=trixie
ARM64_USER_PACKAGES="openjdk-25-jre-headless bash coreutils busybox-static"
ARM64_GUEST_MODULES="9p 9pnet_virtio overlay vfio_iommu_type1 vfio-platform virtio_mmio"
ARM64_KERNEL_MODULE_DIRS="fs/netfs fs/9p net/9p fs/overlayfs drivers/vfio drivers/virtio"
ARM64_HOST_PACKAGES="qemu-system-arm gcc-aarch64-linux-gnu make dwarves device-tree-compiler xz-utils cpio"
ARM64_JAVA_HOME=/usr/lib/jvm/java-25-openjdk-arm64
# QEMU virt with an SMMUv3; the device tree puts these platform devices behind it (stream IDs 0x1000, 0x1001)
ARM64_MACHINE="virt,gic-version=3,iommu=smmuv3"
ARM64_CPU="-cpu cortex-a57 -smp 2 -m 2G"

GUEST_JAVA_HOME=${VFIO_VM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

say() { printf '[vm %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[vm] error: %s\n' "$*" >&2; exit 2; }

# Installs the named Debian packages that are missing (root needed only then).
install_host_packages() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return
  [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
  say "installing host packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}


# Copies the named kernel modules and, from their modinfo, their dependencies out of MODDIR into OUT (uncompressed),
# and writes OUT/order: the load order.
collect_modules() {
  local moddir=$1 out=$2; shift 2
  declare -A seen=(); local order=()
  add() {
    local name=$1 f dep; [ -n "${seen[$name]:-}" ] && return; seen[$name]=1
    f=$(find "$moddir" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" -o -name "${name//-/_}.ko*" \) | head -1)
    [ -n "$f" ] || die "module $name not found in $moddir (add its directory to the module directories)"
    case $f in *.xz) xz -dc "$f";; *.zst) zstd -dcq "$f";; *) cat "$f";; esac > "$out/$name.ko"
    for dep in $(strings -n 3 "$out/$name.ko" | sed -n 's/^depends=//p' | tr , ' '); do add "$dep"; done
    order+=("$name")
  }
  for m in "$@"; do add "$m"; done
  echo "${order[*]}" > "$out/order"
}

# apt-get with its own state, cache and sources in DIR, for ARCH, over SUITES (Debian main): the system's apt sources
# stay untouched. The dpkg status is empty, so that a download brings a package's whole closure.
# Usage: papt DIR ARCH "SUITE..." apt-get|apt-cache ARGS...
papt() {
  local d=$1 arch=$2 suites=$3 s; shift 3
  mkdir -p "$d/lists/partial" "$d/archives/partial"; touch "$d/status"
  for s in $suites; do
    echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main"
  done > "$d/sources.list"
  "$@" -o Dir::State="$d" -o Dir::State::status="$d/status" -o Dir::Cache="$d" \
    -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null -o Debug::NoLocking=1 \
    -o APT::Architecture="$arch" -o APT::Architectures="$arch" -o Acquire::Languages=none -o APT::Sandbox::User=root \
    -o APT::Install-Recommends=false
}

# Downloads package PKG at version VER into $VM_CACHE/debs unless a file with the SHA256 of the signed index is there
# already, checks that checksum, and prints the deb's path. Usage: fetch_deb DIR ARCH "SUITE..." PKG VER
fetch_deb() {
  local d=$1 arch=$2 suites=$3 p=$4 ver=$5 info sha a deb
  info=$(papt "$d" "$arch" "$suites" apt-cache show "$p=$ver")
  sha=$(sed -n 's/^SHA256: //p' <<< "$info" | head -1)
  a=$(sed -n 's/^Architecture: //p' <<< "$info" | head -1)
  [ -n "$sha" ] || die "$p $ver is not in $suites"
  mkdir -p "$VM_CACHE/debs"
  deb=$VM_CACHE/debs/${p}_${ver//:/%3a}_$a.deb   # apt-get download's name: the epoch's colon escaped
  if ! echo "$sha  $deb" | sha256sum -c --status 2>/dev/null; then
    (cd "$VM_CACHE/debs" && papt "$d" "$arch" "$suites" apt-get download -qq "$p=$ver" >&2)
  fi
  echo "$sha  $deb" | sha256sum -c --status || die "checksum mismatch for $deb"
  echo "$deb"
}

# The kernel image package to fetch: PIN while the suite still has it, else the newest one matching FALLBACK_RE
# (bookworm-backports moves on). Usage: kernel_package DIR ARCH "SUITE..." PIN FALLBACK_RE
kernel_package() {
  local d=$1 arch=$2 suites=$3 pin=$4 re=$5 pkg
  if papt "$d" "$arch" "$suites" apt-cache show "$pin" >/dev/null 2>&1; then echo "$pin"; return; fi
  pkg=$(papt "$d" "$arch" "$suites" apt-cache pkgnames linux-image-6.12 | grep -E "$re" | sort -V | tail -1)
  [ -n "$pkg" ] || die "no $arch 6.12 kernel image in $suites"
  say "$pin is gone from $suites; using $pkg"
  echo "$pkg"
}

# Unpacks vmlinuz and the modules under the kernel directories DIRS from the image package DEB into OUT/vmlinuz
# and OUT/modules. Usage: extract_kernel DEB OUT "DIR..."
extract_kernel() {
  local deb=$1 out=$2 dirs=$3 d
  local patterns=("./boot/vmlinuz-*")
  for d in $dirs; do patterns+=("*/kernel/$d/*"); done
  mkdir -p "$out/x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out/x" --wildcards "${patterns[@]}"
  mv "$out"/x/boot/vmlinuz-* "$out/vmlinuz"
  mv "$(ls -d "$out"/x/lib/modules/* "$out"/x/usr/lib/modules/* 2>/dev/null | head -1)" "$out/modules"
  rm -rf "$out/x"
}

# QEMU 10 for the SR-IOV guest run (vm/run --sriov, vm/qemu10): bookworm's QEMU 7.2 has no igb (82576, SR-IOV).
QEMU10_SUITE=bookworm-backports
QEMU10_PACKAGES="qemu-system-x86 qemu-system-common qemu-system-data"

# fio for the NVMe benchmark (benchmarks/run --nvme, vm/fio): bookworm's, with libaio; the libraries it links (Ceph,
# GlusterFS, PMDK, libnbd: engines the benchmark does not use) are taken from the same suite where the host lacks them.
FIO_SUITE=bookworm
FIO_VERSION=${VFIO_VM_FIO_VERSION:-3.33-3}
FIO_PACKAGES="libaio1"
