/*
 * The C baseline of the benchmarks: the same operations as HotPathBenchmarks on the same edu device, timed like
 * JMH's AverageTime mode (warm-up, then 5 iterations of about 1 s; the score is their mean).
 * Prints one line per operation: "operation ns_per_op".
 * Usage: vfio-bench [--single-threaded] GROUP_NUMBER PCI_ADDRESS
 *        vfio-bench [--single-threaded] --cpu-bound GROUP_NUMBER PCI_ADDRESS
 *                                                edu's operations whose time is the CPU's, not the device's (for the
 *                                                instruction-counting clock, on which device accesses take no time)
 *        vfio-bench [--single-threaded] --any-device GROUP_NUMBER PCI_ADDRESS
 *                                                the operations any device bound to vfio-pci supports, on a real one
 *        vfio-bench [--single-threaded] --host   the operations that need no device (eventfd), on any machine
 *
 * --any-device leaves out what only edu can take: MMIO and register writes (a real device's registers may act on
 * reads and writes), its interrupt, bus mastering. What stays only queries the device, reads its config space and
 * maps DMA into the IOMMU, so it can run on whatever device is bound to vfio-pci, to measure on real hardware.
 *
 * Built with -DVFIO_BENCH_LIBRARY it is a shared library instead, for the paired baseline: the JMH fork loads it and,
 * next to each measured iteration of a Java benchmark (before or after it, alternately), runs the C twin of that
 * benchmark for as long (50 ms) in the same process, on the same descriptors and DMA buffers (vfio_bench_attach,
 * vfio_bench_run). C and Java then take turns in one process, where the standalone runs are minutes apart and in
 * another one.
 *
 * The process has a second, idle thread unless --single-threaded: every JVM has several threads, and in a process
 * whose descriptor table is not shared the kernel skips the file's reference count on every descriptor call (the
 * fast path of fdget), which is worth ~30 ns per call on a real CPU and has nothing to do with Java. The single-
 * threaded figures are reported next to the baseline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define IOVA (1ULL << 24)

static int container, device, msi_fd = -1, event_fd;
/* Whether the device is edu: otherwise only the operations marked any_device run (see --any-device). */
static int edu = 1;
static volatile uint8_t *bar0 = MAP_FAILED;
static uint64_t bar0_offset, config_offset;
static struct vfio_region_info region_info = { .argsz = sizeof region_info, .index = VFIO_PCI_BAR0_REGION_INDEX };
static struct vfio_irq_info irq_info = { .argsz = sizeof irq_info, .index = VFIO_PCI_MSI_IRQ_INDEX };
static void *small, *large;
static uint8_t buffer64[64];
static volatile uint64_t sink;

static void fail(const char *what) {
	fprintf(stderr, "vfio-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void map_unmap(void *memory, uint64_t size) {
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof map, .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)memory, .iova = IOVA, .size = size };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof unmap, .iova = IOVA, .size = size };
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map)) fail("VFIO_IOMMU_MAP_DMA");
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)) fail("VFIO_IOMMU_UNMAP_DMA");
}

static void op_mmio_read32(void) { sink = *(volatile uint32_t *)(bar0 + 0x00); }
static void op_mmio_read64(void) { sink = *(volatile uint64_t *)(bar0 + 0x80); }
static void op_mmio_write32(void) { *(volatile uint32_t *)(bar0 + 0x04) = 0x12345678; }
static void op_mmio_write64(void) { *(volatile uint64_t *)(bar0 + 0x80) = 0x1000; }
static void op_config_pread32(void) {
	uint32_t v;
	if (pread(device, &v, 4, config_offset) != 4) fail("pread config");
	sink = v;
}
static void op_region_read_64b(void) { if (pread(device, buffer64, 64, config_offset) != 64) fail("pread 64"); }
static void op_region_pwrite32(void) {
	uint32_t v = 0x12345678;
	if (pwrite(device, &v, 4, bar0_offset + 0x04) != 4) fail("pwrite");
}
static void op_ioctl_region_info(void) {
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &region_info)) fail("GET_REGION_INFO");
	sink = region_info.size;
}
static void op_ioctl_irq_info(void) {
	if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq_info)) fail("GET_IRQ_INFO");
	sink = irq_info.count;
}
static void op_dma_map_unmap_4k(void) { map_unmap(small, 4096); }
static void op_dma_map_unmap_2m(void) { map_unmap(large, 2 << 20); }
/* Takes an eventfd's counter; waits in poll(2) when the descriptor is non-blocking and the counter empty (the JVM's
   descriptors are non-blocking; Java's await does the same). */
static uint64_t take(int fd) {
	uint64_t n;
	while (read(fd, &n, 8) != 8) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (errno != EAGAIN || poll(&p, 1, -1) < 0) fail("read eventfd");
	}
	return n;
}
static void op_msi_round_trip(void) {
	*(volatile uint32_t *)(bar0 + 0x60) = 1;
	uint64_t n = take(msi_fd);
	*(volatile uint32_t *)(bar0 + 0x64) = 1;
	sink = n;
}
static void op_eventfd_signal_wait(void) {
	uint64_t one = 1, n;
	if (write(event_fd, &one, 8) != 8) fail("write eventfd");
	if (read(event_fd, &n, 8) != 8) fail("read eventfd");
	sink = n;
}

/* Runs op for warm_ns, growing batches until one takes at least 1 ms (that keeps the clock out of the result). */
static long warm_up(void (*op)(void), double warm_ns) {
	long batch = 1;
	double start = now();
	while (now() - start < warm_ns) {
		double t = now();
		for (long i = 0; i < batch; i++) op();
		if (now() - t < 1e6) batch *= 2;
	}
	return batch;
}

/* Runs op in batches for at least run_ns; adds the time and the count to the totals. */
static void run_for(void (*op)(void), long batch, double run_ns, double *total, long *count) {
	double t0 = now(), t;
	long n = 0;
	do {
		for (long i = 0; i < batch; i++) op();
		n += batch;
		t = now();
	} while (t - t0 < run_ns);
	*total += t - t0;
	*count += n;
}

/* Region offsets known, DMA buffers allocated (unless given), an eventfd of our own and, on edu, BAR0 mapped and bus
   master on: what the operations need besides the descriptors. */
static void prepare_device(void) {
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &region_info)) fail("BAR0 info");
	bar0_offset = region_info.offset;
	struct vfio_region_info config = { .argsz = sizeof config, .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &config)) fail("config info");
	config_offset = config.offset;
	if (edu) {
		bar0 = mmap(NULL, region_info.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, region_info.offset);
		if (bar0 == MAP_FAILED) fail("mmap BAR0");
		uint16_t command;
		if (pread(device, &command, 2, config_offset + 4) != 2) fail("read command");
		command |= 0x4; /* bus master: MSI */
		if (pwrite(device, &command, 2, config_offset + 4) != 2) fail("write command");
	}
	if (!small && (posix_memalign(&small, 4096, 4096) || posix_memalign(&large, 2 << 20, 2 << 20)))
		fail("posix_memalign");
	memset(small, 1, 4096);
	memset(large, 1, 2 << 20);
	event_fd = eventfd(0, EFD_CLOEXEC);
	if (event_fd < 0) fail("eventfd");
}

/*
 * any_device: the operation runs on any device bound to vfio-pci (BenchmarkRound.ANY_DEVICE names the same ones).
 * device_bound: its time is mostly the device's (MMIO, the interrupt), not the CPU's (--cpu-bound leaves it out;
 * BenchmarkRound.CPU_BOUND names the others).
 */
static const struct { const char *name; void (*op)(void); int any_device, device_bound; } ops[] = {
	{ "mmio_read32", op_mmio_read32, 0, 1 }, { "mmio_read64", op_mmio_read64, 0, 1 },
	{ "mmio_write32", op_mmio_write32, 0, 1 }, { "mmio_write64", op_mmio_write64, 0, 1 },
	{ "config_pread32", op_config_pread32, 1, 0 }, { "region_read_64b", op_region_read_64b, 1, 0 },
	{ "region_pwrite32", op_region_pwrite32, 0, 0 }, { "ioctl_region_info", op_ioctl_region_info, 1, 0 },
	{ "ioctl_irq_info", op_ioctl_irq_info, 1, 0 }, { "dma_map_unmap_4k", op_dma_map_unmap_4k, 1, 0 },
	{ "dma_map_unmap_2m", op_dma_map_unmap_2m, 1, 0 }, { "msi_round_trip", op_msi_round_trip, 0, 1 },
	{ "eventfd_signal_wait", op_eventfd_signal_wait, 1, 0 },
};

#ifdef VFIO_BENCH_LIBRARY

/* The descriptor whose /proc/self/fd link reads target, or -1. */
static int find_fd(const char *target) {
	char path[64], link[128];
	for (int fd = 3; fd < 4096; fd++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n < 0) continue;
		link[n] = 0;
		if (strcmp(link, target) == 0) return fd;
	}
	return -1;
}

/* Takes the container and the device the calling process opened (one of each), whether that device is edu (otherwise
   only the any_device operations run, see --any-device), the eventfd that edu's MSI signals (-1 for another device)
   and the caller's DMA buffers (4 KiB and 2 MiB, aligned to their size): where a buffer lies decides much of what
   pinning it costs, so both sides map the same memory. Returns 0, or -1 when either descriptor is missing. */
int vfio_bench_attach(int is_edu, int msi, void *dma_small, void *dma_large) {
	container = find_fd("/dev/vfio/vfio");
	device = find_fd("anon_inode:[vfio-device]");
	if (container < 0 || device < 0) return -1;
	edu = is_edu;
	msi_fd = msi;
	small = dma_small;
	large = dma_large;
	prepare_device();
	return 0;
}

/* Runs the named operation for about seconds; returns its mean ns per operation, or -1 for an unknown name (or one
   this device cannot take). The first
   run of an operation warms it up for a fifth of that and finds its batch; later runs start measuring at once, as a
   measured JMH iteration does. */
double vfio_bench_run(const char *name, double seconds) {
	static long batches[sizeof ops / sizeof ops[0]];
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].name, name) == 0) {
			if (!edu && !ops[i].any_device) return -1;
			if (!batches[i]) batches[i] = warm_up(ops[i].op, seconds * 0.2e9);
			double total = 0;
			long count = 0;
			run_for(ops[i].op, batches[i], seconds * 1e9, &total, &count);
			return total / count;
		}
	}
	return -1;
}

/* Gives back what vfio_bench_attach took: the BAR0 mapping and the eventfd of its own. */
void vfio_bench_detach(void) {
	if (bar0 != MAP_FAILED) munmap((void *)bar0, region_info.size);
	close(event_fd);
}

#else

/* Warm-up 1 s, then 5 iterations of ~1 s; prints the mean ns per operation. */
static void measure(const char *name, void (*op)(void)) {
	long batch = warm_up(op, 1e9);
	double total = 0;
	long count = 0;
	for (int iteration = 0; iteration < 5; iteration++) run_for(op, batch, 1e9, &total, &count);
	printf("%s %.2f\n", name, total / count);
	fflush(stdout);
}

static void *idle(void *unused) {
	for (;;) pause();
	return unused;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--single-threaded") == 0) {
		argc--;
		argv++;
	} else {
		pthread_t thread;
		if (pthread_create(&thread, NULL, idle, NULL)) fail("pthread_create");
	}
	if (argc == 2 && strcmp(argv[1], "--host") == 0) {
		event_fd = eventfd(0, EFD_CLOEXEC);
		if (event_fd < 0) fail("eventfd");
		measure("eventfd_signal_wait", op_eventfd_signal_wait);
		return 0;
	}
	int cpu_bound = 0;
	if (argc == 4 && strcmp(argv[1], "--any-device") == 0) {
		edu = 0;
		argc--;
		argv++;
	} else if (argc == 4 && strcmp(argv[1], "--cpu-bound") == 0) {
		cpu_bound = 1;
		argc--;
		argv++;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: vfio-bench [--single-threaded] [--any-device | --cpu-bound] GROUP_NUMBER PCI_ADDRESS"
			" | --host\n");
		return 2;
	}
	char path[64];
	snprintf(path, sizeof path, "/dev/vfio/%s", argv[1]);
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0) fail("open container");
	int group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0) fail(path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) fail("SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) fail("SET_IOMMU");
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
	if (device < 0) fail("GET_DEVICE_FD");
	prepare_device();
	if (edu) {
		msi_fd = eventfd(0, EFD_CLOEXEC);
		if (msi_fd < 0) fail("eventfd");
		char set_buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
		struct vfio_irq_set *set = (struct vfio_irq_set *)set_buf;
		*set = (struct vfio_irq_set){ .argsz = sizeof set_buf,
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSI_IRQ_INDEX,
			.start = 0, .count = 1 };
		memcpy(set->data, &msi_fd, sizeof msi_fd);
		if (ioctl(device, VFIO_DEVICE_SET_IRQS, set)) fail("SET_IRQS MSI");
	}
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if ((edu || ops[i].any_device) && !(cpu_bound && ops[i].device_bound)) measure(ops[i].name, ops[i].op);
	return 0;
}

#endif
