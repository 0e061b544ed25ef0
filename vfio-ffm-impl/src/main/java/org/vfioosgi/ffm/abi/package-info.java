/**
 * The kernel's VFIO ABI as {@code linux/vfio.h} defines it: the ioctl numbers and flags ({@link
 * org.vfioosgi.ffm.abi.Ioctls}) and one class per kernel structure, named after it and shaped like jextract's output (a
 * {@code LAYOUT}, its size, a handle per named field and static accessors), so no caller writes a field by its offset.
 * {@code AbiTest} compares every layout and number with the header through a compiled C probe. Capability chains are
 * walked with every kernel-given offset checked ({@link org.vfioosgi.ffm.abi.CapabilityChain}).
 *
 * <p>Private to the bundle: the package has no {@code @Export}, so bnd does not export it; it is public Java only so
 * that the domain package can use it.
 */
package org.vfioosgi.ffm.abi;
