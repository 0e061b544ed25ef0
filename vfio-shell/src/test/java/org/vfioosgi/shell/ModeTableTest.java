package org.vfioosgi.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.IommuMode;

class ModeTableTest {

    @Test
    void listsEveryModeWithWhetherItIsOfferedAndMarksAutosPick() {
        List<String> lines = ModeTable.render(EnumSet.of(IommuMode.TYPE1, IommuMode.TYPE1V2, IommuMode.IOMMUFD),
                ModeTable.Auto.picked(IommuMode.IOMMUFD)).lines().toList();
        assertEquals(6, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).matches("MODE +AVAILABLE +AUTO"), lines.get(0));
        assertTrue(lines.get(1).matches("type1 +yes"), lines.get(1));
        assertTrue(lines.get(2).matches("type1v2 +yes"), lines.get(2));
        assertTrue(lines.get(3).matches("iommufd-compat-type1 +no"), lines.get(3));
        assertTrue(lines.get(4).matches("iommufd-compat-type1v2 +no"), lines.get(4));
        assertTrue(lines.get(5).matches("iommufd +yes +<- auto"), lines.get(5));
    }

    @Test
    void saysWhyAutoFindsNothing() {
        String text = ModeTable.render(EnumSet.noneOf(IommuMode.class),
                ModeTable.Auto.failed("/dev/vfio/vfio: ENOENT"));
        assertTrue(text.lines().noneMatch(l -> l.contains("<- auto")), text);
        assertTrue(text.contains("auto: none (/dev/vfio/vfio: ENOENT)"), text);
        assertEquals("IOMMU mode of claims with iommu.mode=auto: type1v2 (vfio:modes lists them all)",
                ModeTable.footer(ModeTable.Auto.picked(IommuMode.TYPE1V2)).strip());
    }
}
