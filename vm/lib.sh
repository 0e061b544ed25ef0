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

HOST_PACKAGES="qemu-system-x86 busybox-static xz-utils cpio gcc libc6-dev linux-libc-dev openssh-client"
GUEST_JAVA_HOME=${VFIO_VM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

say() { printf '[vm %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[vm] error: %s\n' "$*" >&2; exit 2; }
