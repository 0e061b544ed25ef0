package org.vfioosgi.ffm;

import java.util.function.Consumer;
import org.vfioosgi.api.display.DisplayDmaBuf;
import org.vfioosgi.api.display.DisplayPlane;
import org.vfioosgi.ffm.sys.FileDescriptor;

/** An exported dma-buf: its descriptor, closed once, by its holder or with the display's device. */
final class FfmDisplayDmaBuf implements DisplayDmaBuf {

    private final DisplayPlane plane;
    private final FileDescriptor fd;
    private final long size;
    private final Consumer<FfmDisplayDmaBuf> onClose;

    FfmDisplayDmaBuf(DisplayPlane plane, FileDescriptor fd, long size, Consumer<FfmDisplayDmaBuf> onClose) {
        this.plane = plane;
        this.fd = fd;
        this.size = size;
        this.onClose = onClose;
    }

    @Override
    public DisplayPlane plane() {
        return plane;
    }

    @Override
    public int fd() {
        requireOpen();
        return fd.fd();
    }

    @Override
    public long size() {
        requireOpen();
        return size;
    }

    private void requireOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException(fd.path() + " is closed");
        }
    }

    @Override
    public boolean isOpen() {
        return fd.isOpen();
    }

    @Override
    public void close() {
        try {
            fd.close();
        } finally {
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "DisplayDmaBuf[" + fd + ", " + size + " bytes, " + plane.fourcc() + " " + plane.width() + "x"
                + plane.height() + "]";
    }
}
