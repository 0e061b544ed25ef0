/*
 * Baseline in C for the first end-to-end slice: open the container, attach the edu device's IOMMU group (type1v2),
 * get the device, map BAR0 and read the identification register. Prints "ident=0x........".
 * Usage: vfio-edu-ident GROUP_NUMBER PCI_ADDRESS
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static void fail(const char *what) {
	fprintf(stderr, "vfio-edu-ident: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: %s GROUP_NUMBER PCI_ADDRESS\n", argv[0]);
		return 2;
	}
	char group_path[64];
	snprintf(group_path, sizeof group_path, "/dev/vfio/%s", argv[1]);

	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0) fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) fail("VFIO_GET_API_VERSION");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) fail("no type1v2");

	int group = open(group_path, O_RDWR | O_CLOEXEC);
	if (group < 0) fail(group_path);
	struct vfio_group_status status = { .argsz = sizeof status };
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status)) fail("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) { errno = EINVAL; fail("group not viable"); }
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) fail("VFIO_SET_IOMMU");

	int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
	if (device < 0) fail("VFIO_GROUP_GET_DEVICE_FD");
	struct vfio_region_info bar0 = { .argsz = sizeof bar0, .index = VFIO_PCI_BAR0_REGION_INDEX };
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar0)) fail("VFIO_DEVICE_GET_REGION_INFO");
	if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP)) { errno = EINVAL; fail("BAR0 not mappable"); }
	volatile uint32_t *mmio = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, bar0.offset);
	if (mmio == MAP_FAILED) fail("mmap BAR0");

	printf("ident=0x%08x\n", mmio[0]);

	munmap((void *)mmio, bar0.size);
	close(device);
	close(group);
	close(container);
	return 0;
}
