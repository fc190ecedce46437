import { type PromptDefinition, prompts } from "../content/prompts.js"
import { serverInstructions } from "../content/instructions.js"
import { allResources, allResourceTemplates } from "../resources/index.js"
import type { ResourceTemplate, StaticResource } from "../resources/Resource.js"
import { allTools } from "../tools/index.js"
import type { Tool } from "../tools/Tool.js"

/** Everything the server offers. The MCP adapter and the HTML docs page are both built from it. */
export interface Registry {
  readonly instructions: string
  readonly tools: ReadonlyArray<Tool>
  readonly resources: ReadonlyArray<StaticResource>
  readonly resourceTemplates: ReadonlyArray<ResourceTemplate>
  readonly prompts: ReadonlyArray<PromptDefinition>
}

export const defaultRegistry: Registry = {
  instructions: serverInstructions,
  tools: allTools,
  resources: allResources,
  resourceTemplates: allResourceTemplates,
  prompts
}
