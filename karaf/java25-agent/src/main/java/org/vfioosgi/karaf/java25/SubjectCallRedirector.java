package org.vfioosgi.karaf.java25;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.lang.classfile.Opcode;
import java.lang.classfile.constantpool.MemberRefEntry;
import java.lang.classfile.constantpool.MethodRefEntry;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Rewrites static calls to {@code Subject.getSubject/doAs/doAsPrivileged} and Karaf's {@code JaasHelper.doAs} into
 * calls to {@link SubjectCompat} with the same name and descriptor. Only calls that {@code SubjectCompat} can take
 * are touched; classes that mention neither owner are returned untouched without being parsed.
 */
public final class SubjectCallRedirector {
    static final String SUBJECT = "javax/security/auth/Subject";
    static final String KARAF_JAAS_HELPER = "org/apache/karaf/util/jaas/JaasHelper";
    private static final ClassDesc COMPAT = ClassDesc.of(SubjectCompat.class.getName());
    private static final Set<String> COMPAT_METHODS = compatMethods();
    private static final byte[][] OWNER_MARKERS = {
        SUBJECT.getBytes(StandardCharsets.UTF_8), KARAF_JAAS_HELPER.getBytes(StandardCharsets.UTF_8)};

    private SubjectCallRedirector() {
    }

    /**
     * The class with its calls redirected, or {@code null} when nothing needed to change (the transformer
     * convention). {@code loader} is the defining loader, used to find supertypes when stack maps are rebuilt.
     */
    public static byte[] redirect(byte[] classBytes, ClassLoader loader) {
        if (!mentionsAnOwner(classBytes)) {
            return null;
        }
        ClassModel model = ClassFile.of().parse(classBytes);
        if (model.constantPool().size() == 0 || !callsARedirectedMethod(model)) {
            return null;
        }
        ClassHierarchyResolver hierarchy = ClassHierarchyResolver.defaultResolver()
                .orElse(ClassHierarchyResolver.ofResourceParsing(loader == null ? ClassLoader.getSystemClassLoader() : loader));
        CodeTransform rewrite = (code, element) -> {
            if (element instanceof InvokeInstruction call && isRedirected(call.opcode(), call.method())) {
                code.invokestatic(COMPAT, call.name().stringValue(), call.typeSymbol());
            } else {
                code.with(element);
            }
        };
        return ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(hierarchy))
                .transformClass(model, ClassTransform.transformingMethodBodies(rewrite));
    }

    private static boolean callsARedirectedMethod(ClassModel model) {
        for (var entry : model.constantPool()) {
            if (entry instanceof MethodRefEntry method && isRedirected(Opcode.INVOKESTATIC, method)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isRedirected(Opcode opcode, MemberRefEntry method) {
        if (opcode != Opcode.INVOKESTATIC) {
            return false;
        }
        String owner = method.owner().asInternalName();
        if (!owner.equals(SUBJECT) && !owner.equals(KARAF_JAAS_HELPER)) {
            return false;
        }
        if (owner.equals(KARAF_JAAS_HELPER) && !method.name().equalsString("doAs")) {
            return false;
        }
        return COMPAT_METHODS.contains(method.name().stringValue() + method.type().stringValue());
    }

    private static boolean mentionsAnOwner(byte[] classBytes) {
        for (byte[] marker : OWNER_MARKERS) {
            if (indexOf(classBytes, marker) >= 0) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static Set<String> compatMethods() {
        Set<String> methods = new HashSet<>();
        for (Method m : SubjectCompat.class.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && Modifier.isStatic(m.getModifiers())) {
                MethodTypeDesc type = MethodTypeDesc.of(m.getReturnType().describeConstable().orElseThrow(),
                        Arrays.stream(m.getParameterTypes()).map(p -> p.describeConstable().orElseThrow())
                                .toArray(ClassDesc[]::new));
                methods.add(m.getName() + type.descriptorString());
            }
        }
        return Set.copyOf(methods);
    }
}
