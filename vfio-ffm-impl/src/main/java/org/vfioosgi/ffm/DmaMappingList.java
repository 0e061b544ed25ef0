package org.vfioosgi.ffm;

import java.util.ArrayList;
import java.util.List;

/**
 * A container's live DMA mappings, linked through the mappings themselves: tracking one (on the DMA map/unmap hot
 * path) allocates nothing and hashes nothing, unlike a set.
 */
final class DmaMappingList {

    private FfmDmaMapping newest;

    synchronized void add(FfmDmaMapping mapping) {
        mapping.older = newest;
        mapping.newer = null;
        if (newest != null) {
            newest.newer = mapping;
        }
        newest = mapping;
        mapping.listed = true;
    }

    /** Removes {@code mapping} if it is still listed (a drain may have taken it already). */
    synchronized void remove(FfmDmaMapping mapping) {
        if (!mapping.listed) {
            return;
        }
        if (mapping.newer != null) {
            mapping.newer.older = mapping.older;
        } else {
            newest = mapping.older;
        }
        if (mapping.older != null) {
            mapping.older.newer = mapping.newer;
        }
        mapping.older = null;
        mapping.newer = null;
        mapping.listed = false;
    }

    /** Removes and returns every listed mapping, the newest first. */
    synchronized List<FfmDmaMapping> drain() {
        List<FfmDmaMapping> all = new ArrayList<>();
        for (FfmDmaMapping m = newest; m != null; ) {
            FfmDmaMapping older = m.older;
            m.older = null;
            m.newer = null;
            m.listed = false;
            all.add(m);
            m = older;
        }
        newest = null;
        return all;
    }
}
