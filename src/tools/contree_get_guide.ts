import { Effect, Schema } from "effect"
import { guides, guideSectionNames, isGuideSection } from "../content/guides.js"
import { defineTool } from "./Tool.js"
import { invalidInput } from "./ToolError.js"

export const contreeGetGuide = defineTool({
  name: "contree_get_guide",
  title: "Read a usage guide",
  description:
    "Read a section of the ConTree agent guide, for clients that cannot read contree://guide/{section} resources. Free: no sandbox.",
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({
    section: Schema.String.annotations({
      description: "Guide section",
      jsonSchema: { type: "string", enum: [...guideSectionNames], description: "Guide section" }
    })
  }),
  output: Schema.Struct({ section: Schema.String, content: Schema.String, available_sections: Schema.Array(Schema.String) }),
  handler: Effect.fn("contree_get_guide")(function*({ section }) {
    if (!isGuideSection(section)) {
      return yield* invalidInput(`Unknown guide section '${section}'. Available sections: ${guideSectionNames.join(", ")}`)
    }
    return { section, content: guides[section].content, available_sections: [...guideSectionNames] }
  })
})
