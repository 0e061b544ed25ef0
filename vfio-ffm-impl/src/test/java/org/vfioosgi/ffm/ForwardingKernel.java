package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.ffm.sys.Kernel;

/** A {@link Kernel} passing every call to another: a test model overrides the calls it answers itself. */
abstract class ForwardingKernel implements Kernel {

    final Kernel delegate;

    ForwardingKernel(Kernel delegate) {
        this.delegate = delegate;
    }

    @Override
    public int open(String path, int flags) {
        return delegate.open(path, flags);
    }

    @Override
    public int close(int fd) {
        return delegate.close(fd);
    }

    @Override
    public int ioctl(int fd, long request, MemorySegment arg) {
        return delegate.ioctl(fd, request, arg);
    }

    @Override
    public int ioctl(int fd, long request, long arg) {
        return delegate.ioctl(fd, request, arg);
    }

    @Override
    public long pread(int fd, MemorySegment buffer, long count, long offset) {
        return delegate.pread(fd, buffer, count, offset);
    }

    @Override
    public long pwrite(int fd, MemorySegment source, long count, long offset) {
        return delegate.pwrite(fd, source, count, offset);
    }

    @Override
    public long readNonBlocking(int fd, MemorySegment buffer, long count) {
        return delegate.readNonBlocking(fd, buffer, count);
    }

    @Override
    public long writeNonBlocking(int fd, MemorySegment source, long count) {
        return delegate.writeNonBlocking(fd, source, count);
    }

    @Override
    public long read(int fd, MemorySegment buffer, long count) {
        return delegate.read(fd, buffer, count);
    }

    @Override
    public long write(int fd, MemorySegment source, long count) {
        return delegate.write(fd, source, count);
    }

    @Override
    public long lseek(int fd, long offset, int whence) {
        return delegate.lseek(fd, offset, whence);
    }

    @Override
    public int poll(int fd, short events, int timeoutMillis) {
        return delegate.poll(fd, events, timeoutMillis);
    }

    @Override
    public int eventfd(int initialValue, int flags) {
        return delegate.eventfd(initialValue, flags);
    }

    @Override
    public long mmap(long length, int prot, int flags, int fd, long offset) {
        return delegate.mmap(length, prot, flags, fd, offset);
    }

    @Override
    public long mmapAnonymous(long length, int extraFlags) {
        return delegate.mmapAnonymous(length, extraFlags);
    }

    @Override
    public int munmap(long address, long length) {
        return delegate.munmap(address, length);
    }

    @Override
    public long pageSize() {
        return delegate.pageSize();
    }

    @Override
    public String strerror(int errno) {
        return delegate.strerror(errno);
    }
}
