import { guideResources } from "./guideResources.js"
import { imageLineage, imageLs, imageRead } from "./imageResources.js"
import { importOperation, instanceOperation } from "./operationResources.js"
import type { ResourceTemplate, StaticResource } from "./Resource.js"

export const allResources: ReadonlyArray<StaticResource> = guideResources

export const allResourceTemplates: ReadonlyArray<ResourceTemplate> = [
  imageRead,
  imageLs,
  imageLineage,
  instanceOperation,
  importOperation
]
