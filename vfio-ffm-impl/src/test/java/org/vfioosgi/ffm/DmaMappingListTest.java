package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class DmaMappingListTest {

    private static FfmDmaMapping mapping(long iova) {
        return new FfmDmaMapping(null, iova, 4096, false);
    }

    @Test
    void removesFromAnyPositionAndDrainsNewestFirst() {
        DmaMappingList list = new DmaMappingList();
        FfmDmaMapping a = mapping(0x1000);
        FfmDmaMapping b = mapping(0x2000);
        FfmDmaMapping c = mapping(0x3000);
        FfmDmaMapping d = mapping(0x4000);
        List.of(a, b, c, d).forEach(list::add);
        list.remove(b);  // middle
        list.remove(d);  // newest
        list.remove(d);  // twice: nothing
        assertEquals(List.of(c, a), list.drain());
        assertEquals(List.of(), list.drain());
        list.remove(a);  // drained already: nothing
        list.add(b);
        list.remove(b);  // the only one
        assertEquals(List.of(), list.drain());
        list.add(a);
        list.add(c);
        list.remove(a);  // oldest
        assertEquals(List.of(c), list.drain());
    }
}
