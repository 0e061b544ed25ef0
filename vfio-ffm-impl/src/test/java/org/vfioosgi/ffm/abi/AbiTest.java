package org.vfioosgi.ffm.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * check against instead.
 */
class AbiTest {

    private static final Map<String, Long> C = new LinkedHashMap<>();
    /** Structures and numbers the header predates (the probe says "older NAME"): not checked. */
    private static final java.util.Set<String> OLDER = new java.util.TreeSet<>();
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
            if (parts[0].equals("older")) {
                OLDER.add(parts[1]);
                continue;
            }
            C.put(parts[0] + " " + parts[1], Long.parseUnsignedLong(parts[2]));
        }
        if (!OLDER.isEmpty()) {
            System.err.println("AbiTest: the C header predates " + OLDER + ": not checked (see vfio.abi.include)");
        }
        assertTrue(C.size() > 100, "the probe printed too little: " + C.size() + " facts");
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
            assertEquals(size, entry.getValue().byteSize(), "sizeof(struct " + entry.getKey() + ")");
            checked.add(entry.getKey());
        }
        long inHeader = C.keySet().stream().filter(k -> k.startsWith("size ")).count();
        assertEquals(inHeader, checked.size(), "structs the probe prints but Java lacks");
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
                    || !f.getName().startsWith("VFIO_") || OLDER.contains(f.getName())) {
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
