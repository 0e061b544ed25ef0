/**
 * The FFM implementation of the VFIO API, in three layers so that a reader sees where safety lives:
 * <ul>
 * <li>{@link org.vfioosgi.ffm.abi}: the kernel's structures, one class per {@code linux/vfio.h} struct with every
 * field read and written by name (checked against the header by {@code AbiTest}), and capability chains walked with
 * every kernel-given offset checked;</li>
 * <li>{@link org.vfioosgi.ffm.sys}: the system calls behind {@link org.vfioosgi.ffm.sys.Kernel}, errno captured on
 * each, memory passed as segments, never raw addresses, and descriptors never closed (nor their numbers reused) while
 * a call is inside them;</li>
 * <li>this package: the domain objects (container, group, device, regions, DMA buffers, arenas and mappings,
 * eventfds), which own what they make and close it in the kernel's order, keep DMA memory alive while an IOMMU maps
 * it, check bounds and alignment before a call, and turn failures into {@link org.vfioosgi.api.VfioException}s. They
 * make every call through a {@code Kernel}, so host tests run them against an in-memory model of VFIO.</li>
 * </ul>
 *
 * <p>Only {@link org.vfioosgi.ffm.FfmVfio}, the service component, is public; no package of the bundle is exported.
 */
package org.vfioosgi.ffm;
