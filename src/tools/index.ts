import { contreeCancelOperation } from "./contree_cancel_operation.js"
import { contreeDownload } from "./contree_download.js"
import { contreeGetGuide } from "./contree_get_guide.js"
import { contreeGetImage } from "./contree_get_image.js"
import { contreeGetOperation } from "./contree_get_operation.js"
import { contreeGrep } from "./contree_grep.js"
import { contreeImportImage } from "./contree_import_image.js"
import { contreeListFiles } from "./contree_list_files.js"
import { contreeListImages } from "./contree_list_images.js"
import { contreeListOperations } from "./contree_list_operations.js"
import { contreeReadFile } from "./contree_read_file.js"
import { contreeRegistryAuth } from "./contree_registry_auth.js"
import { contreeRegistryTokenObtain } from "./contree_registry_token_obtain.js"
import { contreeRsync } from "./contree_rsync.js"
import { contreeRun } from "./contree_run.js"
import { contreeSetTag } from "./contree_set_tag.js"
import { contreeUpload } from "./contree_upload.js"
import { contreeWaitOperations } from "./contree_wait_operations.js"
import { contreeWhoami } from "./contree_whoami.js"
import type { Tool } from "./Tool.js"

/** Every tool, in the order clients list them. */
export const allTools: ReadonlyArray<Tool> = [
  contreeRun,
  contreeListImages,
  contreeGetImage,
  contreeSetTag,
  contreeListFiles,
  contreeReadFile,
  contreeGrep,
  contreeUpload,
  contreeRsync,
  contreeDownload,
  contreeGetOperation,
  contreeListOperations,
  contreeWaitOperations,
  contreeCancelOperation,
  contreeWhoami,
  contreeGetGuide,
  contreeImportImage,
  contreeRegistryTokenObtain,
  contreeRegistryAuth
]
