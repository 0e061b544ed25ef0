package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/** A failed call's exception carries the hint apart from the message, and the errno names agree with the API's. */
class FailuresTest {

    private static final Kernel KERNEL = new LinuxKernel();

    @Test
    void theHintIsApartAndInTheMessage() {
        VfioException e = Failures.syscall(KERNEL, Operation.MAP_DMA, "ioctl(VFIO_IOMMU_MAP_DMA)", "/dev/vfio/vfio",
                Errno.EEXIST);
        assertTrue(e.is(org.vfioosgi.api.Errno.EEXIST));
        assertEquals("EEXIST", e.errnoName());
        assertTrue(e.hint().startsWith("The IOVA range overlaps"), e.hint());
        assertTrue(e.getMessage().startsWith("failed to map DMA memory into /dev/vfio/vfio: ioctl(VFIO_IOMMU_MAP_DMA)"
                + " returned EEXIST ("), e.getMessage());
        assertTrue(e.getMessage().endsWith(". " + e.hint()), e.getMessage());
    }

    @Test
    void noAdviceLeavesTheHintEmpty() {
        VfioException e = Failures.syscall(KERNEL, Operation.DEVICE_INFO, "ioctl(VFIO_DEVICE_GET_INFO)", "0000:00:01.0",
                Errno.EFAULT);
        assertEquals("", e.hint());
        assertTrue(e.getMessage().endsWith(")"), e.getMessage());
    }

    @Test
    void everyIntConstantHasTheApisName() throws IllegalAccessException {
        for (Field f : Errno.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                int number = f.getInt(null);
                assertEquals(f.getName(), Errno.name(number));
                assertEquals(number, org.vfioosgi.api.Errno.valueOf(f.getName()).number());
            }
        }
    }
}
