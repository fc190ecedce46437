import { Effect } from "effect"
import { guides, guideSectionNames } from "../content/guides.js"
import type { StaticResource } from "./Resource.js"

/** Each guide section as a listed markdown resource, `contree://guide/{section}`. */
export const guideResources: ReadonlyArray<StaticResource> = guideSectionNames.map((section) => ({
  uri: `contree://guide/${section}`,
  name: section,
  title: guides[section].title,
  description: guides[section].description,
  mimeType: "text/markdown",
  read: Effect.succeed(guides[section].content)
}))
