package io.imstatus.v2;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The JVM's own count of JNI global references: dumps the heap (HotSpot's HPROF writer emits one
 * "ROOT JNI GLOBAL" record per JNI global reference to a Java object) and counts those records.
 * This sees every global reference in the process, including any the natives made without
 * counting them, and tells the class of what each refers to.
 */
final class Hprof {
    private static final int STRING = 0x01;
    private static final int LOAD_CLASS = 0x02;
    private static final int HEAP_DUMP = 0x0C;
    private static final int HEAP_DUMP_SEGMENT = 0x1C;

    private Hprof() {}

    /** Dumps live objects (after a full GC) and counts the JNI global roots. */
    static int jniGlobalRefs() {
        int total = 0;
        for (int n : jniGlobalRefsByClass().values()) {
            total += n;
        }
        return total;
    }

    /**
     * Dumps live objects (after a full GC); answers the JNI global roots by the class of the
     * object each refers to.
     */
    static Map<String, Integer> jniGlobalRefsByClass() {
        File file;
        try {
            file = File.createTempFile("imstatus-", ".hprof");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        if (!file.delete()) {
            throw new AssertionError("cannot prepare " + file);
        }
        try {
            HotSpotDiagnosticMXBean bean =
                    ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            bean.dumpHeap(file.getPath(), true);
            // Pass 1 finds the roots (HotSpot writes them after the objects), pass 2 their classes.
            Scan roots = new Scan(null);
            roots.read(file);
            Scan classes = new Scan(roots.roots);
            classes.read(file);
            return classes.byClass();
        } catch (IOException e) {
            throw new AssertionError("heap dump", e);
        } finally {
            if (!file.delete()) {
                file.deleteOnExit();
            }
        }
    }

    /** One pass over a dump. */
    private static final class Scan {
        /** JNI global roots: referent object ID, one entry per root. */
        final List<Long> roots = new ArrayList<Long>();
        /** When resolving: the referents wanted, and what was found for them. */
        private final Set<Long> wanted;
        private final Map<Long, Long> objectClass = new HashMap<Long, Long>();
        private final Map<Long, String> primitiveArrays = new HashMap<Long, String>();
        private final Set<Long> classObjects = new HashSet<Long>();
        private final Map<Long, Long> classNameIds = new HashMap<Long, Long>();
        private final Map<Long, String> strings = new HashMap<Long, String>();
        private final Set<Long> wantedNames = new HashSet<Long>();
        private int idSize;

        Scan(List<Long> wanted) {
            this.wanted = wanted == null ? null : new HashSet<Long>(wanted);
            if (wanted != null) {
                roots.addAll(wanted);
            }
        }

        Map<String, Integer> byClass() {
            Map<String, Integer> out = new TreeMap<String, Integer>();
            for (long id : roots) {
                String name;
                if (classObjects.contains(id)) {
                    name = "java.lang.Class";
                } else if (primitiveArrays.containsKey(id)) {
                    name = primitiveArrays.get(id);
                } else {
                    Long cls = objectClass.get(id);
                    Long nameId = cls == null ? null : classNameIds.get(cls);
                    String s = nameId == null ? null : strings.get(nameId);
                    name = s == null ? "?" : s.replace('/', '.');
                }
                Integer n = out.get(name);
                out.put(name, n == null ? 1 : n + 1);
            }
            return out;
        }

        void read(File file) throws IOException {
            try (DataInputStream in = new DataInputStream(
                    new BufferedInputStream(new FileInputStream(file), 1 << 16))) {
                // Header: "JAVA PROFILE 1.0.2\0", u4 identifier size, u8 timestamp.
                while (in.readByte() != 0) {
                    // version string
                }
                idSize = in.readInt();
                in.readLong();
                while (true) {
                    int tag;
                    try {
                        tag = in.readUnsignedByte();
                    } catch (EOFException e) {
                        return;
                    }
                    in.readInt(); // time
                    long length = in.readInt() & 0xffffffffL;
                    if (tag == HEAP_DUMP || tag == HEAP_DUMP_SEGMENT) {
                        segment(in, length);
                    } else if (tag == STRING && wanted != null) {
                        long id = id(in);
                        byte[] utf8 = new byte[(int) (length - idSize)];
                        in.readFully(utf8);
                        strings.put(id, new String(utf8, StandardCharsets.UTF_8));
                    } else if (tag == LOAD_CLASS && wanted != null) {
                        in.readInt();
                        long classId = id(in);
                        in.readInt();
                        classNameIds.put(classId, id(in));
                    } else {
                        skip(in, length);
                    }
                }
            }
        }

        private long id(DataInputStream in) throws IOException {
            return idSize == 8 ? in.readLong() : in.readInt() & 0xffffffffL;
        }

        private void segment(DataInputStream in, long length) throws IOException {
            int id = idSize;
            long left = length;
            while (left > 0) {
                int sub = in.readUnsignedByte();
                long used;
                switch (sub) {
                    case 0xFF: // root unknown
                    case 0x05: // root sticky class
                    case 0x07: // root monitor used
                        used = skip(in, id);
                        break;
                    case 0x01: { // root JNI global: object id, JNI global ref id
                        long object = id(in);
                        if (wanted == null) {
                            roots.add(object);
                        }
                        used = id + skip(in, id);
                        break;
                    }
                    case 0x02: // root JNI local
                    case 0x03: // root Java frame
                    case 0x08: // root thread object
                        used = skip(in, id + 8L);
                        break;
                    case 0x04: // root native stack
                    case 0x06: // root thread block
                        used = skip(in, id + 4L);
                        break;
                    case 0x20: { // class dump
                        long object = id(in);
                        if (wanted != null && wanted.contains(object)) {
                            classObjects.add(object);
                        }
                        used = id + classDump(in, id);
                        break;
                    }
                    case 0x21: { // instance dump
                        long object = id(in);
                        in.readInt();
                        long cls = id(in);
                        if (wanted != null && wanted.contains(object)) {
                            objectClass.put(object, cls);
                        }
                        long bytes = in.readInt() & 0xffffffffL;
                        used = 2L * id + 8 + skip(in, bytes);
                        break;
                    }
                    case 0x22: { // object array dump
                        long object = id(in);
                        in.readInt();
                        long n = in.readInt() & 0xffffffffL;
                        long cls = id(in);
                        if (wanted != null && wanted.contains(object)) {
                            objectClass.put(object, cls);
                        }
                        used = 2L * id + 8 + skip(in, n * id);
                        break;
                    }
                    case 0x23: { // primitive array dump
                        long object = id(in);
                        in.readInt();
                        long n = in.readInt() & 0xffffffffL;
                        int type = in.readUnsignedByte();
                        if (wanted != null && wanted.contains(object)) {
                            primitiveArrays.put(object, "primitive array of type " + type);
                        }
                        used = id + 9L + skip(in, n * size(type, id));
                        break;
                    }
                    default:
                        throw new IOException(
                                "unknown HPROF heap sub-record 0x" + Integer.toHexString(sub));
                }
                left -= 1 + used;
            }
        }
    }

    /** A class dump after its class object ID. */
    private static long classDump(DataInputStream in, int id) throws IOException {
        long used = skip(in, 4L + 6L * id + 4);
        int constants = in.readUnsignedShort();
        used += 2;
        for (int i = 0; i < constants; i++) {
            in.readUnsignedShort();
            int type = in.readUnsignedByte();
            used += 3 + skip(in, size(type, id));
        }
        int statics = in.readUnsignedShort();
        used += 2;
        for (int i = 0; i < statics; i++) {
            skip(in, id);
            int type = in.readUnsignedByte();
            used += id + 1 + skip(in, size(type, id));
        }
        int fields = in.readUnsignedShort();
        used += 2;
        for (int i = 0; i < fields; i++) {
            used += skip(in, id + 1L);
        }
        return used;
    }

    private static int size(int type, int id) throws IOException {
        switch (type) {
            case 2:
                return id; // object
            case 4:
            case 8:
                return 1; // boolean, byte
            case 5:
            case 9:
                return 2; // char, short
            case 6:
            case 10:
                return 4; // float, int
            case 7:
            case 11:
                return 8; // double, long
            default:
                throw new IOException("unknown HPROF basic type " + type);
        }
    }

    private static long skip(DataInputStream in, long n) throws IOException {
        long left = n;
        while (left > 0) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                in.readByte();
                skipped = 1;
            }
            left -= skipped;
        }
        return n;
    }
}
