/**
 * The system calls under the VFIO domain objects: the {@link org.vfioosgi.ffm.sys.Kernel} interface, one method per
 * call, returning the result or the negated errno; {@link org.vfioosgi.ffm.sys.LinuxKernel}, its downcalls into the C
 * library (errno captured on every call into the thread's {@link org.vfioosgi.ffm.sys.CallFrame}, segments passed as
 * pointers, only non-blocking eventfd reads and writes linked as critical); and
 * {@link org.vfioosgi.ffm.sys.FileDescriptor}, which keeps a descriptor from being closed, and its number reused, while
 * a call is inside it. Host tests put an in-memory model of VFIO behind the interface.
 *
 * <p>Private to the bundle: the package has no {@code @Export}, so bnd does not export it; it is public Java only so
 * that the domain package can use it.
 */
package org.vfioosgi.ffm.sys;
