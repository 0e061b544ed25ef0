package org.vfioosgi.ffm.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vfioosgi.ffm.sys.PollFd;

/**
 * Every struct layout and ioctl number of this package, checked against the kernel's own {@code linux/vfio.h}: a C
 * program compiled against the header prints sizes, offsets and numbers, and they must equal the Java ones; every
 * named Java field must be a field of the C structure, and every structure the probe prints must have its Java class.
 * What a header older than Linux 6.2 lacks (pre-copy, the stop-copy data size) is reported and left out; the system
 * property {@code vfio.abi.include} names a directory holding a newer {@code linux/vfio.h} (a kernel's uapi header) to
 * check against instead. The iommufd and VFIO character-device part (structures and numbers whose name starts with
 * {@code iommu_}/{@code IOMMU_} or holds {@code iommufd}/{@code IOMMUFD}) needs a {@code linux/iommufd.h} of Linux 6.7
 * or newer; without one it is left out and {@link #iommufdAbiChecked()} is reported skipped, not passed. A Java
 * structure may be longer than an older header's by trailing padding only (the {@code pad} newer headers added to
 * {@code vfio_device_info}).
 */
class AbiTest {

    private static final Map<String, Long> C = new LinkedHashMap<>();
    /** Structures and numbers the header predates (the probe says "older NAME"): not checked. */
    private static final java.util.Set<String> OLDER = new java.util.TreeSet<>();
    /** Why the probe printed no iommufd facts, or null when it did. */
    private static String noIommufd;
    /** The structures of linux/vfio.h, and the one of poll.h that the system-call layer fills in. */
    private static final Map<String, StructLayout> LAYOUTS = new LinkedHashMap<>(Structs.all());

    static {
        LAYOUTS.put(PollFd.LAYOUT.name().orElseThrow(), PollFd.LAYOUT);
    }

    @BeforeAll
    static void compileAndRunTheHeaderProbe() throws IOException, InterruptedException {
        Path exe = Path.of("target", "vfio_abi");
        Files.createDirectories(exe.getParent());
        List<String> gcc = new ArrayList<>(List.of("gcc", "-Wall", "-Werror", "-o", exe.toString()));
        String include = System.getProperty("vfio.abi.include", "");
        if (!include.isEmpty()) {
            gcc.addAll(List.of("-I", include, "-D__user=")); // a kernel's uapi header, not headers_install'ed
        }
        gcc.add("src/test/c/vfio_abi.c");
        run(gcc.toArray(String[]::new));
        for (String line : run(exe.toString()).split("\n")) {
            String[] parts = line.trim().split(" ");
            if (parts[0].equals("noiommufd")) {
                noIommufd = parts[1];
                continue;
            }
            if (parts[0].equals("older")) {
                OLDER.add(parts[1]);
                continue;
            }
            C.put(parts[0] + " " + parts[1], Long.parseUnsignedLong(parts[2]));
        }
        if (noIommufd != null) {
            LAYOUTS.keySet().stream().filter(AbiTest::isIommufd).forEach(OLDER::add);
            for (Field f : Ioctls.class.getDeclaredFields()) {
                if (isIommufd(f.getName())) {
                    OLDER.add(f.getName());
                }
            }
            System.err.println("AbiTest: SKIPPED the iommufd and VFIO cdev ABI (" + noIommufd + "): run with"
                    + " -Dvfio.abi.include=DIR, DIR/linux holding Linux 6.7+ uapi vfio.h and iommufd.h");
        }
        List<String> older = OLDER.stream().filter(name -> !isIommufd(name)).toList();
        if (!older.isEmpty()) {
            System.err.println("AbiTest: the C header predates " + older + ": not checked (see vfio.abi.include)");
        }
        assertTrue(C.size() > 100, "the probe printed too little: " + C.size() + " facts");
    }

    /** Whether a structure or number belongs to the iommufd and VFIO character-device part. */
    private static boolean isIommufd(String name) {
        return name.startsWith("iommu_") || name.startsWith("IOMMU_") || name.toLowerCase().contains("iommufd");
    }

    @Test
    void iommufdAbiChecked() {
        assumeTrue(noIommufd == null, "the iommufd and VFIO cdev ABI was NOT checked (" + noIommufd + "): run with"
                + " -Dvfio.abi.include=DIR, DIR/linux holding Linux 6.7+ uapi vfio.h and iommufd.h");
        long structs = LAYOUTS.keySet().stream().filter(AbiTest::isIommufd).count();
        long checkedStructs = C.keySet().stream().filter(k -> k.startsWith("size ") && isIommufd(k.substring(5)))
                .count();
        long offsets = C.keySet().stream().filter(k -> k.startsWith("offset ") && isIommufd(k.substring(7))).count();
        long numbers = C.keySet().stream().filter(k -> (k.startsWith("ioctl ") || k.startsWith("const "))
                && isIommufd(k.substring(6))).count();
        assertEquals(structs, checkedStructs, "iommufd structures the probe does not print");
        System.err.println("AbiTest: iommufd and VFIO cdev ABI checked: " + checkedStructs + " structures, " + offsets
                + " offsets, " + numbers + " ioctl numbers and constants");
    }

    @Test
    void structSizesEqualTheHeaders() {
        List<String> checked = new ArrayList<>();
        for (var entry : LAYOUTS.entrySet()) {
            if (OLDER.contains(entry.getKey())) {
                continue;
            }
            Long size = C.get("size " + entry.getKey());
            assertTrue(size != null, "the header probe does not know struct " + entry.getKey());
            long javaSize = entry.getValue().byteSize();
            if (size != javaSize && size == javaSize - trailingPadding(entry.getValue())) {
                System.err.println("AbiTest: struct " + entry.getKey() + " is " + size + " bytes in the header, "
                        + javaSize + " in Java: only trailing padding differs (a newer header's)");
            } else {
                assertEquals(size, javaSize, "sizeof(struct " + entry.getKey() + ")");
            }
            checked.add(entry.getKey());
        }
        long inHeader = C.keySet().stream().filter(k -> k.startsWith("size ")).count();
        assertEquals(inHeader, checked.size(), "structs the probe prints but Java lacks");
    }

    private static long trailingPadding(StructLayout layout) {
        List<MemoryLayout> members = layout.memberLayouts();
        MemoryLayout last = members.isEmpty() ? null : members.getLast();
        return last instanceof java.lang.foreign.PaddingLayout ? last.byteSize() : 0;
    }

    @Test
    void everyFieldOffsetEqualsTheHeaders() {
        int checked = 0;
        for (var fact : C.entrySet()) {
            if (!fact.getKey().startsWith("offset ")) {
                continue;
            }
            String[] structField = fact.getKey().substring("offset ".length()).split("\\.");
            StructLayout layout = LAYOUTS.get(structField[0]);
            long javaOffset = layout.memberLayouts().stream().anyMatch(m -> m.name().orElse("").equals(structField[1]))
                    ? layout.byteOffset(MemoryLayout.PathElement.groupElement(structField[1]))
                    : layout.byteSize(); // a flexible array member starts where the fixed part ends
            assertEquals(fact.getValue(), javaOffset, "offsetof(struct " + structField[0] + ", " + structField[1] + ")");
            checked++;
        }
        assertTrue(checked > 60, "only " + checked + " offsets checked");
    }

    @Test
    void everyJavaFieldIsInTheHeaders() {
        for (var entry : LAYOUTS.entrySet()) {
            if (OLDER.contains(entry.getKey())) {
                continue;
            }
            for (MemoryLayout member : entry.getValue().memberLayouts()) {
                member.name().ifPresent(field -> assertTrue(C.containsKey("offset " + entry.getKey() + "." + field),
                        "struct " + entry.getKey() + " has no field " + field + " in the header probe"));
            }
        }
    }

    @Test
    void scalarArgumentsEqualTheHeaders() {
        for (var entry : Structs.scalarArguments().entrySet()) {
            Long size = C.get("scalar " + entry.getKey());
            assertTrue(size != null, "the header probe does not know " + entry.getKey());
            assertEquals(size, entry.getValue().byteSize(), "sizeof(" + entry.getKey() + ")");
        }
        long inHeader = C.keySet().stream().filter(k -> k.startsWith("scalar ")).count();
        assertEquals(inHeader, Structs.scalarArguments().size(), "types the probe prints but Java lacks");
    }

    @Test
    void ioctlNumbersEqualTheHeaders() throws IllegalAccessException {
        int checked = 0;
        for (Field f : Ioctls.class.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || Modifier.isPrivate(f.getModifiers())
                    || !(f.getName().startsWith("VFIO_") || f.getName().startsWith("IOMMU_"))
                    || OLDER.contains(f.getName())) {
                continue;
            }
            f.setAccessible(true);
            long javaValue = ((Number) f.get(null)).longValue();
            Long cValue = C.getOrDefault("ioctl " + f.getName(), C.get("const " + f.getName()));
            assertTrue(cValue != null, "the header probe does not print " + f.getName());
            assertEquals(cValue, javaValue, f.getName());
            checked++;
        }
        long inHeader = C.keySet().stream().filter(k -> k.startsWith("ioctl ") || k.startsWith("const ")).count();
        assertEquals(inHeader, checked, "numbers the probe prints but Ioctls lacks");
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }
}
