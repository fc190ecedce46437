/** Server instructions sent to clients in the `initialize` response. */
export const serverInstructions: string = `# ConTree: isolated sandboxes over immutable images

Run anything, destructive commands included, in a sandbox; every image is an immutable snapshot you can return to by UUID.

## MANDATORY WORKFLOW

1. **Check**: \`contree_list_images(tag_prefix="common/<purpose>")\` (or \`"<project>/"\`) for a prepared image.
2. **Prepare** only if none fits: find or import a base (\`contree_import_image\`), install with \`contree_run(..., disposable=false)\` one step at a time, confirm \`exit_code\` is 0, then \`contree_set_tag\` the \`result_image\`.
3. **Execute** the task on \`image="tag:<tag>"\`, usually with \`disposable=true\`.

\`status\` SUCCESS only means the operation completed: always check \`exit_code\`.

## Tagging convention

\`{scope}/{purpose}/{base}:{tag}\`: scope is \`common\` for reusable environments or the project name; purpose says what was added; \`{base}:{tag}\` is the base image's name. Examples: \`common/python-ml/python:3.11-slim\`, \`myapp/deps/node:20-bookworm\`. A tag names one image; setting it elsewhere moves it.

## Never do these

| Anti-pattern | Cost | Instead |
|---|---|---|
| Import without searching | A slow pull and a duplicate image | \`contree_list_images\` first |
| Leave prepared images untagged | The next session rebuilds them | \`contree_set_tag\` |
| Chain setup and task in one command | One failure loses everything | One \`disposable=false\` step each |
| Install with \`disposable=true\` | The install is discarded | \`disposable=false\` |

## Tool costs

\`contree_run\` and \`contree_import_image\` start a sandbox (time and money). All other tools are free.

## Free image inspection

Use \`contree_list_files\`, \`contree_read_file\` and \`contree_grep\` (or the \`contree://image/{image}/ls/{path}\` and \`/read/{path}\` resources) instead of a \`contree_run\` with \`ls\`, \`cat\` or \`grep\`.

## Guides

| Guide | Resource | Tool call |
|---|---|---|
| Workflow | \`contree://guide/workflow\` | \`contree_get_guide(section="workflow")\` |
| Quickstart | \`contree://guide/quickstart\` | \`contree_get_guide(section="quickstart")\` |
| Tools reference | \`contree://guide/reference\` | \`contree_get_guide(section="reference")\` |
| State and rollback | \`contree://guide/state\` | \`contree_get_guide(section="state")\` |
| Parallel runs | \`contree://guide/async\` | \`contree_get_guide(section="async")\` |
| Tagging | \`contree://guide/tagging\` | \`contree_get_guide(section="tagging")\` |
| Errors | \`contree://guide/errors\` | \`contree_get_guide(section="errors")\` |

If your client cannot read resources, use \`contree_get_guide\`.
`
