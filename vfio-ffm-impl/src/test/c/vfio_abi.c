/*
 * Prints the VFIO ABI as the kernel's own header defines it, one fact per line, for AbiTest to compare with the Java
 * layouts:  "size STRUCT N", "offset STRUCT.FIELD N", "scalar TYPE N" (an argument that is no structure),
 * "ioctl NAME N", "const NAME N"; and "older NAME 0" for what an older header (Linux 6.1's) lacks, so the test can
 * say what it could not check. Compile with -I DIR -D__user= to check against another kernel's uapi header.
 * The iommufd and VFIO character-device part needs Linux 6.7's headers or newer (dirty tracking, hw info); without
 * them the probe prints "noiommufd REASON" instead.
 */
#include <linux/vfio.h>
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#include <poll.h>
#include <stddef.h>
#include <stdio.h>

#define SIZE(s) printf("size %s %zu\n", #s, sizeof(struct s))
#define OFF(s, f) printf("offset %s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define IOCTL(n) printf("ioctl %s %lu\n", #n, (unsigned long)(n))
#define SCALAR(t) printf("scalar %s %zu\n", #t, sizeof(t))
#define CONST(n) printf("const %s %lu\n", #n, (unsigned long)(n))

static void iommufd(void) {
#if !defined(IOMMUFD_TYPE)
	printf("noiommufd no-linux/iommufd.h\n");
#elif !defined(IOMMU_HWPT_GET_DIRTY_BITMAP) || !defined(VFIO_DEVICE_BIND_IOMMUFD)
	printf("noiommufd linux/iommufd.h-or-vfio.h-older-than-Linux-6.7\n");
#else
	SIZE(vfio_device_bind_iommufd); OFF(vfio_device_bind_iommufd, argsz); OFF(vfio_device_bind_iommufd, flags);
	OFF(vfio_device_bind_iommufd, iommufd); OFF(vfio_device_bind_iommufd, out_devid);
	SIZE(vfio_device_attach_iommufd_pt); OFF(vfio_device_attach_iommufd_pt, argsz);
	OFF(vfio_device_attach_iommufd_pt, flags); OFF(vfio_device_attach_iommufd_pt, pt_id);
	SIZE(vfio_device_detach_iommufd_pt); OFF(vfio_device_detach_iommufd_pt, argsz);
	OFF(vfio_device_detach_iommufd_pt, flags);
	IOCTL(VFIO_DEVICE_BIND_IOMMUFD); IOCTL(VFIO_DEVICE_ATTACH_IOMMUFD_PT); IOCTL(VFIO_DEVICE_DETACH_IOMMUFD_PT);
	SIZE(iommu_destroy); OFF(iommu_destroy, size); OFF(iommu_destroy, id);
	SIZE(iommu_ioas_alloc); OFF(iommu_ioas_alloc, size); OFF(iommu_ioas_alloc, flags); OFF(iommu_ioas_alloc, out_ioas_id);
	SIZE(iommu_ioas_map); OFF(iommu_ioas_map, size); OFF(iommu_ioas_map, flags); OFF(iommu_ioas_map, ioas_id);
	OFF(iommu_ioas_map, __reserved); OFF(iommu_ioas_map, user_va); OFF(iommu_ioas_map, length);
	OFF(iommu_ioas_map, iova);
	SIZE(iommu_ioas_unmap); OFF(iommu_ioas_unmap, size); OFF(iommu_ioas_unmap, ioas_id); OFF(iommu_ioas_unmap, iova);
	OFF(iommu_ioas_unmap, length);
	SIZE(iommu_iova_range); OFF(iommu_iova_range, start); OFF(iommu_iova_range, last);
	SIZE(iommu_ioas_iova_ranges); OFF(iommu_ioas_iova_ranges, size); OFF(iommu_ioas_iova_ranges, ioas_id);
	OFF(iommu_ioas_iova_ranges, num_iovas); OFF(iommu_ioas_iova_ranges, __reserved);
	OFF(iommu_ioas_iova_ranges, allowed_iovas); OFF(iommu_ioas_iova_ranges, out_iova_alignment);
	SIZE(iommu_ioas_allow_iovas); OFF(iommu_ioas_allow_iovas, size); OFF(iommu_ioas_allow_iovas, ioas_id);
	OFF(iommu_ioas_allow_iovas, num_iovas); OFF(iommu_ioas_allow_iovas, __reserved);
	OFF(iommu_ioas_allow_iovas, allowed_iovas);
	SIZE(iommu_hw_info); OFF(iommu_hw_info, size); OFF(iommu_hw_info, flags); OFF(iommu_hw_info, dev_id);
	OFF(iommu_hw_info, data_len); OFF(iommu_hw_info, data_uptr); OFF(iommu_hw_info, out_data_type);
	OFF(iommu_hw_info, out_max_pasid_log2); OFF(iommu_hw_info, __reserved); OFF(iommu_hw_info, out_capabilities);
	SIZE(iommu_hw_info_vtd); OFF(iommu_hw_info_vtd, flags); OFF(iommu_hw_info_vtd, __reserved);
	OFF(iommu_hw_info_vtd, cap_reg); OFF(iommu_hw_info_vtd, ecap_reg);
	SIZE(iommu_hwpt_alloc); OFF(iommu_hwpt_alloc, size); OFF(iommu_hwpt_alloc, flags); OFF(iommu_hwpt_alloc, dev_id);
	OFF(iommu_hwpt_alloc, pt_id); OFF(iommu_hwpt_alloc, out_hwpt_id); OFF(iommu_hwpt_alloc, __reserved);
	OFF(iommu_hwpt_alloc, data_type); OFF(iommu_hwpt_alloc, data_len); OFF(iommu_hwpt_alloc, data_uptr);
	OFF(iommu_hwpt_alloc, fault_id); OFF(iommu_hwpt_alloc, __reserved2);
	SIZE(iommu_hwpt_set_dirty_tracking); OFF(iommu_hwpt_set_dirty_tracking, size);
	OFF(iommu_hwpt_set_dirty_tracking, flags); OFF(iommu_hwpt_set_dirty_tracking, hwpt_id);
	OFF(iommu_hwpt_set_dirty_tracking, __reserved);
	SIZE(iommu_hwpt_get_dirty_bitmap); OFF(iommu_hwpt_get_dirty_bitmap, size); OFF(iommu_hwpt_get_dirty_bitmap, hwpt_id);
	OFF(iommu_hwpt_get_dirty_bitmap, flags); OFF(iommu_hwpt_get_dirty_bitmap, __reserved);
	OFF(iommu_hwpt_get_dirty_bitmap, iova); OFF(iommu_hwpt_get_dirty_bitmap, length);
	OFF(iommu_hwpt_get_dirty_bitmap, page_size); OFF(iommu_hwpt_get_dirty_bitmap, data);
	SIZE(iommu_option); OFF(iommu_option, size); OFF(iommu_option, option_id); OFF(iommu_option, op);
	OFF(iommu_option, __reserved); OFF(iommu_option, object_id); OFF(iommu_option, val64);
	IOCTL(IOMMU_DESTROY); IOCTL(IOMMU_IOAS_ALLOC); IOCTL(IOMMU_IOAS_ALLOW_IOVAS); IOCTL(IOMMU_IOAS_IOVA_RANGES);
	IOCTL(IOMMU_IOAS_MAP); IOCTL(IOMMU_IOAS_UNMAP); IOCTL(IOMMU_OPTION); IOCTL(IOMMU_HWPT_ALLOC);
	IOCTL(IOMMU_GET_HW_INFO); IOCTL(IOMMU_HWPT_SET_DIRTY_TRACKING); IOCTL(IOMMU_HWPT_GET_DIRTY_BITMAP);
	CONST(IOMMU_IOAS_MAP_FIXED_IOVA); CONST(IOMMU_IOAS_MAP_WRITEABLE); CONST(IOMMU_IOAS_MAP_READABLE);
	CONST(IOMMU_OPTION_RLIMIT_MODE); CONST(IOMMU_OPTION_HUGE_PAGES); CONST(IOMMU_OPTION_OP_SET);
	CONST(IOMMU_OPTION_OP_GET); CONST(IOMMU_HWPT_ALLOC_NEST_PARENT); CONST(IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	CONST(IOMMU_HWPT_DATA_NONE); CONST(IOMMU_HW_INFO_TYPE_NONE); CONST(IOMMU_HW_INFO_TYPE_INTEL_VTD);
	CONST(IOMMU_HW_CAP_DIRTY_TRACKING); CONST(IOMMU_HW_CAP_PCI_PASID_EXEC); CONST(IOMMU_HW_CAP_PCI_PASID_PRIV);
	CONST(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17); CONST(IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	CONST(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
#endif
}

int main(void) {
	SIZE(vfio_group_status); OFF(vfio_group_status, argsz); OFF(vfio_group_status, flags);
	SIZE(vfio_device_info); OFF(vfio_device_info, argsz); OFF(vfio_device_info, flags);
	OFF(vfio_device_info, num_regions); OFF(vfio_device_info, num_irqs); OFF(vfio_device_info, cap_offset);
	SIZE(vfio_region_info); OFF(vfio_region_info, argsz); OFF(vfio_region_info, flags); OFF(vfio_region_info, index);
	OFF(vfio_region_info, cap_offset); OFF(vfio_region_info, size); OFF(vfio_region_info, offset);
	SIZE(vfio_info_cap_header); OFF(vfio_info_cap_header, id); OFF(vfio_info_cap_header, version);
	OFF(vfio_info_cap_header, next);
	SIZE(vfio_region_sparse_mmap_area); OFF(vfio_region_sparse_mmap_area, offset); OFF(vfio_region_sparse_mmap_area, size);
	SIZE(vfio_region_info_cap_sparse_mmap); OFF(vfio_region_info_cap_sparse_mmap, header);
	OFF(vfio_region_info_cap_sparse_mmap, nr_areas); OFF(vfio_region_info_cap_sparse_mmap, reserved);
	OFF(vfio_region_info_cap_sparse_mmap, areas);
	SIZE(vfio_region_info_cap_type); OFF(vfio_region_info_cap_type, header); OFF(vfio_region_info_cap_type, type);
	OFF(vfio_region_info_cap_type, subtype);
	SIZE(vfio_irq_info); OFF(vfio_irq_info, argsz); OFF(vfio_irq_info, flags); OFF(vfio_irq_info, index);
	OFF(vfio_irq_info, count);
	SIZE(vfio_irq_set); OFF(vfio_irq_set, argsz); OFF(vfio_irq_set, flags); OFF(vfio_irq_set, index);
	OFF(vfio_irq_set, start); OFF(vfio_irq_set, count); OFF(vfio_irq_set, data);
	SIZE(vfio_pci_dependent_device); OFF(vfio_pci_dependent_device, group_id); OFF(vfio_pci_dependent_device, segment);
	OFF(vfio_pci_dependent_device, bus); OFF(vfio_pci_dependent_device, devfn);
	SIZE(vfio_pci_hot_reset_info); OFF(vfio_pci_hot_reset_info, argsz); OFF(vfio_pci_hot_reset_info, flags);
	OFF(vfio_pci_hot_reset_info, count); OFF(vfio_pci_hot_reset_info, devices);
	SIZE(vfio_device_feature); OFF(vfio_device_feature, argsz); OFF(vfio_device_feature, flags);
	OFF(vfio_device_feature, data);
	SIZE(vfio_iommu_type1_info); OFF(vfio_iommu_type1_info, argsz); OFF(vfio_iommu_type1_info, flags);
	OFF(vfio_iommu_type1_info, iova_pgsizes); OFF(vfio_iommu_type1_info, cap_offset);
	SIZE(vfio_iova_range); OFF(vfio_iova_range, start); OFF(vfio_iova_range, end);
	SIZE(vfio_iommu_type1_info_cap_iova_range); OFF(vfio_iommu_type1_info_cap_iova_range, header);
	OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas); OFF(vfio_iommu_type1_info_cap_iova_range, reserved);
	OFF(vfio_iommu_type1_info_cap_iova_range, iova_ranges);
	SIZE(vfio_iommu_type1_info_cap_migration); OFF(vfio_iommu_type1_info_cap_migration, header);
	OFF(vfio_iommu_type1_info_cap_migration, flags); OFF(vfio_iommu_type1_info_cap_migration, pgsize_bitmap);
	OFF(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size);
	SIZE(vfio_iommu_type1_info_dma_avail); OFF(vfio_iommu_type1_info_dma_avail, header);
	OFF(vfio_iommu_type1_info_dma_avail, avail);
	SIZE(vfio_iommu_type1_dma_map); OFF(vfio_iommu_type1_dma_map, argsz); OFF(vfio_iommu_type1_dma_map, flags);
	OFF(vfio_iommu_type1_dma_map, vaddr); OFF(vfio_iommu_type1_dma_map, iova); OFF(vfio_iommu_type1_dma_map, size);
	SIZE(vfio_iommu_type1_dma_unmap); OFF(vfio_iommu_type1_dma_unmap, argsz); OFF(vfio_iommu_type1_dma_unmap, flags);
	OFF(vfio_iommu_type1_dma_unmap, iova); OFF(vfio_iommu_type1_dma_unmap, size); OFF(vfio_iommu_type1_dma_unmap, data);
	SIZE(vfio_device_feature_migration); OFF(vfio_device_feature_migration, flags);
	SIZE(vfio_device_feature_mig_state); OFF(vfio_device_feature_mig_state, device_state);
	OFF(vfio_device_feature_mig_state, data_fd);
	SIZE(vfio_bitmap); OFF(vfio_bitmap, pgsize); OFF(vfio_bitmap, size); OFF(vfio_bitmap, data);
	SIZE(vfio_iommu_type1_dirty_bitmap); OFF(vfio_iommu_type1_dirty_bitmap, argsz);
	OFF(vfio_iommu_type1_dirty_bitmap, flags); OFF(vfio_iommu_type1_dirty_bitmap, data);
	SIZE(vfio_iommu_type1_dirty_bitmap_get); OFF(vfio_iommu_type1_dirty_bitmap_get, iova);
	OFF(vfio_iommu_type1_dirty_bitmap_get, size); OFF(vfio_iommu_type1_dirty_bitmap_get, bitmap);
	SIZE(vfio_device_feature_dma_logging_control); OFF(vfio_device_feature_dma_logging_control, page_size);
	OFF(vfio_device_feature_dma_logging_control, num_ranges); OFF(vfio_device_feature_dma_logging_control, __reserved);
	OFF(vfio_device_feature_dma_logging_control, ranges);
	SIZE(vfio_device_feature_dma_logging_range); OFF(vfio_device_feature_dma_logging_range, iova);
	OFF(vfio_device_feature_dma_logging_range, length);
	SIZE(vfio_device_feature_dma_logging_report); OFF(vfio_device_feature_dma_logging_report, iova);
	OFF(vfio_device_feature_dma_logging_report, length); OFF(vfio_device_feature_dma_logging_report, page_size);
	OFF(vfio_device_feature_dma_logging_report, bitmap);
#ifdef VFIO_MIG_GET_PRECOPY_INFO /* Linux 6.2 and newer: pre-copy, the stop-copy data size */
	SIZE(vfio_device_feature_mig_data_size); OFF(vfio_device_feature_mig_data_size, stop_copy_length);
	SIZE(vfio_precopy_info); OFF(vfio_precopy_info, argsz); OFF(vfio_precopy_info, flags);
	OFF(vfio_precopy_info, initial_bytes); OFF(vfio_precopy_info, dirty_bytes);
	IOCTL(VFIO_MIG_GET_PRECOPY_INFO);
	CONST(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE); CONST(VFIO_MIGRATION_PRE_COPY);
#else
	printf("older vfio_device_feature_mig_data_size 0\nolder vfio_precopy_info 0\nolder VFIO_MIG_GET_PRECOPY_INFO 0\n"
	       "older VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 0\nolder VFIO_MIGRATION_PRE_COPY 0\n");
#endif
	SIZE(vfio_device_gfx_plane_info); OFF(vfio_device_gfx_plane_info, argsz); OFF(vfio_device_gfx_plane_info, flags);
	OFF(vfio_device_gfx_plane_info, drm_plane_type); OFF(vfio_device_gfx_plane_info, drm_format);
	OFF(vfio_device_gfx_plane_info, drm_format_mod); OFF(vfio_device_gfx_plane_info, width);
	OFF(vfio_device_gfx_plane_info, height); OFF(vfio_device_gfx_plane_info, stride);
	OFF(vfio_device_gfx_plane_info, size); OFF(vfio_device_gfx_plane_info, x_pos); OFF(vfio_device_gfx_plane_info, y_pos);
	OFF(vfio_device_gfx_plane_info, x_hot); OFF(vfio_device_gfx_plane_info, y_hot);
	OFF(vfio_device_gfx_plane_info, region_index); /* then reserved, named since Linux 6.2: padding here */
	/* region_index and dmabuf_id are one anonymous union: Java names the field region_index */
	_Static_assert(offsetof(struct vfio_device_gfx_plane_info, dmabuf_id)
		       == offsetof(struct vfio_device_gfx_plane_info, region_index), "dmabuf_id shares region_index");
	IOCTL(VFIO_DEVICE_QUERY_GFX_PLANE); IOCTL(VFIO_DEVICE_GET_GFX_DMABUF);
	CONST(VFIO_GFX_PLANE_TYPE_PROBE); CONST(VFIO_GFX_PLANE_TYPE_DMABUF); CONST(VFIO_GFX_PLANE_TYPE_REGION);
	SIZE(vfio_pci_hot_reset); OFF(vfio_pci_hot_reset, argsz); OFF(vfio_pci_hot_reset, flags);
	OFF(vfio_pci_hot_reset, count); OFF(vfio_pci_hot_reset, group_fds);
	CONST(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN);
	iommufd();
	SCALAR(__s32); /* VFIO_GROUP_SET_CONTAINER's argument */
	SIZE(pollfd); OFF(pollfd, fd); OFF(pollfd, events); OFF(pollfd, revents); /* poll.h, for the eventfd waits */

	IOCTL(VFIO_GET_API_VERSION); IOCTL(VFIO_CHECK_EXTENSION); IOCTL(VFIO_SET_IOMMU);
	IOCTL(VFIO_IOMMU_GET_INFO); IOCTL(VFIO_IOMMU_MAP_DMA); IOCTL(VFIO_IOMMU_UNMAP_DMA); IOCTL(VFIO_IOMMU_DIRTY_PAGES);
	IOCTL(VFIO_GROUP_GET_STATUS); IOCTL(VFIO_GROUP_SET_CONTAINER); IOCTL(VFIO_GROUP_UNSET_CONTAINER);
	IOCTL(VFIO_GROUP_GET_DEVICE_FD);
	IOCTL(VFIO_DEVICE_GET_INFO); IOCTL(VFIO_DEVICE_GET_REGION_INFO); IOCTL(VFIO_DEVICE_GET_IRQ_INFO);
	IOCTL(VFIO_DEVICE_SET_IRQS); IOCTL(VFIO_DEVICE_RESET); IOCTL(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO);
	IOCTL(VFIO_DEVICE_PCI_HOT_RESET); IOCTL(VFIO_DEVICE_IOEVENTFD); IOCTL(VFIO_DEVICE_FEATURE);
	CONST(VFIO_API_VERSION);
	CONST(VFIO_IRQ_SET_DATA_NONE); CONST(VFIO_IRQ_SET_DATA_BOOL); CONST(VFIO_IRQ_SET_DATA_EVENTFD);
	CONST(VFIO_IRQ_SET_ACTION_MASK); CONST(VFIO_IRQ_SET_ACTION_UNMASK); CONST(VFIO_IRQ_SET_ACTION_TRIGGER);
	CONST(VFIO_DEVICE_FEATURE_GET); CONST(VFIO_DEVICE_FEATURE_SET); CONST(VFIO_DEVICE_FEATURE_PROBE);
	CONST(VFIO_DMA_MAP_FLAG_READ); CONST(VFIO_DMA_MAP_FLAG_WRITE); CONST(VFIO_DMA_UNMAP_FLAG_ALL);
	CONST(VFIO_UNMAP_ALL); CONST(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
	CONST(VFIO_DEVICE_FEATURE_DMA_LOGGING_START); CONST(VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
	CONST(VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT); CONST(VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	CONST(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP); CONST(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);
	CONST(VFIO_DEVICE_FEATURE_MIGRATION); CONST(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
	CONST(VFIO_MIGRATION_STOP_COPY); CONST(VFIO_MIGRATION_P2P);
	return 0;
}
