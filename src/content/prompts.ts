/**
 * MCP prompts: reusable task templates that walk an agent through the usual ConTree flows.
 */

export interface PromptArgument {
  readonly name: string
  readonly description: string
  readonly required: boolean
  readonly default?: string
}

export interface PromptDefinition {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly arguments: ReadonlyArray<PromptArgument>
  readonly render: (args: Readonly<Record<string, string | undefined>>) => string
}

type Args = Readonly<Record<string, string | undefined>>

const STANDARD_EXCLUDES = [".git", "node_modules", "__pycache__", "*.pyc", ".venv", "venv", ".mypy_cache", ".pytest_cache"]
const excludesJson = JSON.stringify(STANDARD_EXCLUDES)

const required = (name: string, description: string): PromptArgument => ({ name, description, required: true })
const optional = (name: string, description: string, dflt?: string): PromptArgument =>
  dflt === undefined ? { name, description, required: false } : { name, description, required: false, default: dflt }

/** Value of an argument after applying its default; empty or blank values count as missing. */
const argValue = (spec: ReadonlyArray<PromptArgument>, args: Args, name: string): string | undefined => {
  const raw = args[name]
  if (raw !== undefined && raw.trim() !== "") return raw
  const def = spec.find((a) => a.name === name)
  if (def === undefined) return undefined
  if (def.required) throw new Error(`Missing required argument: ${name}`)
  return def.default
}

const define = (
  name: string,
  title: string,
  description: string,
  args: ReadonlyArray<PromptArgument>,
  build: (get: (name: string) => string | undefined) => string,
): PromptDefinition => ({
  name,
  title,
  description,
  arguments: args,
  render: (input) => {
    // Validate required arguments up front so the error names the first missing one.
    for (const a of args) argValue(args, input, a.name)
    return build((n) => argValue(args, input, n))
  },
})

/** Non-optional lookup for arguments that are required or have a default. */
const must = (get: (name: string) => string | undefined, name: string): string => get(name) ?? ""

/** The package name of the first requirement: `numpy==1.26 pandas` → `numpy`, `uvicorn[standard]` → `uvicorn`. */
export const firstPackageName = (packages: string | undefined): string | undefined => {
  const first = packages?.trim().split(/\s+/)[0]
  if (first === undefined || first === "") return undefined
  const name = first.split(/[[<>=!~;@]/)[0]?.trim()
  return name === undefined || name === "" ? undefined : name
}

/** Suggested tag `{scope}/{purpose}/{base}` for an environment with these packages. */
export const suggestEnvironmentTag = (base: string, packages?: string, project?: string): string => {
  const scope = project !== undefined && project.trim() !== "" ? project.trim() : "common"
  const pkg = firstPackageName(packages)
  const purpose = pkg === undefined ? "custom-env" : `${pkg.toLowerCase()}-env`
  return `${scope}/${purpose}/${base}`
}

/** `docker://` URL for a Docker Hub style image name such as `ubuntu:noble` or `bitnami/redis:7`. */
export const registryUrlFor = (image: string): string => {
  const firstSegment = image.split("/")[0] ?? image
  if (image.includes("/") && (firstSegment.includes(".") || firstSegment.includes(":") || firstSegment === "localhost")) {
    return `docker://${image}`
  }
  return image.includes("/") ? `docker://docker.io/${image}` : `docker://docker.io/library/${image}`
}

/** An image argument as a tool would take it: UUIDs and `tag:` references unchanged, bare names as `tag:NAME`. */
const imageRef = (image: string): string =>
  image.startsWith("tag:") || /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(image)
    ? image
    : `tag:${image}`

/** Numbered steps to find an image by name, importing it only when it is missing. */
const findOrImport = (image: string, first = 1): string => {
  const name = image.split(":")[0] ?? image
  return `${first}. Find the image: \`contree_list_images(tag_prefix="${name}")\`. Use \`image="tag:${image}"\` if that tag exists; a closely matching tagged image is also fine.
${first + 1}. Only if nothing fits, import it: \`contree_import_image(registry_url="${registryUrlFor(image)}", tag="${image}")\`. Without stored registry credentials this fails; then follow the registry steps in the \`errors\` guide or, if the user agrees to rate-limited anonymous pulls, pass \`i_accept_that_anonymous_access_might_be_rate_limited=true\`.`
}

/** Inline code span that survives backticks inside the text. */
const code = (text: string): string => {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length))
  const ticks = "`".repeat(longest + 1)
  return longest === 0 ? `${ticks}${text}${ticks}` : `${ticks} ${text} ${ticks}`
}

const fence = (text: string): string => {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length))
  const ticks = "`".repeat(longest + 1)
  return `${ticks}\n${text}\n${ticks}`
}

const prepareEnvironment = define(
  "prepare-environment",
  "Prepare environment",
  "Find or build a tagged, reusable image for a task, then run the task on it.",
  [
    required("task", "What needs to be done"),
    optional("base", "Base image to build on", "python:3.11-slim"),
    optional("project", "Project name; makes the tag project-scoped instead of common"),
    optional("packages", "Packages the task needs, space-separated (e.g. \"numpy pandas\")"),
  ],
  (get) => {
    const task = must(get, "task")
    const base = must(get, "base")
    const project = get("project")
    const packages = get("packages")
    const tag = suggestEnvironmentTag(base, packages, project)
    const scopePrefix = tag.split("/")[0] ?? "common"
    return `Task: ${task}

Prepare a ConTree environment for this task and run it, reusing prepared images wherever possible.
Base image: ${base}${project === undefined ? "" : `\nProject: ${project}`}${packages === undefined ? "" : `\nPackages: ${packages}`}
Suggested tag: ${tag}

1. Check for a prepared image: \`contree_list_images(tag_prefix="${tag}")\`, then more broadly \`contree_list_images(tag_prefix="${scopePrefix}/")\`. If a suitable image exists, skip to step 4.
2. Get the base image:
${findOrImport(base).replace(/^/gm, "   ")}
3. Prepare it: ${packages === undefined ? "install what the task needs" : `install ${packages}`} with \`contree_run(..., disposable=false, timeout=300)\`, one install step per run, each starting from the previous \`result_image\`. Continue only when \`exit_code\` is 0. Then \`contree_set_tag(image_uuid="<result_image>", tag="${tag}")\`.
4. Run the task with \`contree_run(image="tag:${tag}", ...)\`, disposable by default. Sync local code with \`contree_rsync\` and pass its \`directory_state_id\` if the task needs it.
5. Report \`exit_code\` and the relevant output. Check \`exit_code\`, not just \`status\`: SUCCESS only means the operation completed.`
  },
)

const runPython = define(
  "run-python",
  "Run Python",
  "Run a piece of Python code in a sandbox.",
  [required("code", "Python code to run")],
  (get) => {
    const code = must(get, "code")
    return `Run this Python code in a ConTree sandbox:

${fence(code)}

1. Find an image with Python, preferring existing ones over importing: \`contree_list_images(tag_prefix="common/python")\`, then \`contree_list_images(tag_prefix="python")\`. An Ubuntu image with python3 also works. Import \`docker://docker.io/library/python:3.11-slim\` (tag "python:3.11-slim") only if nothing is found.
2. Run it without quoting problems by passing the code on stdin: \`contree_run(command="python3 -", stdin=<the code above>, image="tag:<found tag>")\`. Raise \`timeout\` (default 30 seconds) if the code needs longer. If it needs extra packages, use an image that has them (see the install-packages prompt).
3. Report \`exit_code\`, \`stdout\` and \`stderr\`. A SUCCESS status with a non-zero \`exit_code\` means the code failed.`
  },
)

const runShell = define(
  "run-shell",
  "Run shell command",
  "Run a shell command in a sandbox.",
  [required("command", "Shell command to run"), optional("image", "Image name to run it on", "ubuntu:noble")],
  (get) => {
    const command = must(get, "command")
    const image = must(get, "image")
    return `Run this shell command in a ConTree sandbox on ${image}:

${fence(command)}

${findOrImport(image)}
3. Run it: \`contree_run(command=<the command above>, image="tag:${image}")\`. It is disposable by default, so even destructive commands are safe. Raise \`timeout\` (default 30 seconds) for slow commands.
4. Report \`exit_code\`, \`stdout\` and \`stderr\`; if \`stdout_truncated\` is true, say so.`
  },
)

const syncAndRun = define(
  "sync-and-run",
  "Sync and run",
  "Copy a local directory into a sandbox and run a command in it.",
  [
    required("source", "Absolute path of the local directory"),
    required("command", "Command to run in /app"),
    optional("image", "Image name to run on", "alpine:latest"),
  ],
  (get) => {
    const source = must(get, "source")
    const command = must(get, "command")
    const image = must(get, "image")
    return `Sync ${source} into a ConTree sandbox and run this command there:

${fence(command)}

${findOrImport(image)}
3. Sync the files: \`contree_rsync(source="${source}", destination="/app", exclude=${excludesJson})\`. Add project-specific build or data folders to \`exclude\`. Keep the returned integer \`directory_state_id\`.
4. Run: \`contree_run(command=${JSON.stringify(command)}, image="tag:${image}", directory_state_id=<id>, cwd="/app")\`.
5. Report \`exit_code\`, \`stdout\` and \`stderr\`. After editing local files, sync again and use the new id; unchanged files are not re-uploaded.`
  },
)

const installPackages = define(
  "install-packages",
  "Install packages",
  "Install Python packages into a new image and tag it for reuse.",
  [required("packages", "Packages to install, space-separated"), optional("image", "Base image name", "ubuntu:noble")],
  (get) => {
    const packages = must(get, "packages")
    const image = must(get, "image")
    const tag = suggestEnvironmentTag(image, packages)
    return `Create a reusable image with these Python packages: ${packages}
Base image: ${image}
Suggested tag (convention {scope}/{purpose}/{base}:{tag}): ${tag}

1. Check whether it exists already: \`contree_list_images(tag_prefix="${tag}")\`. If it does and contains the packages, use it and stop.
${findOrImport(image, 2)}
4. Plain Ubuntu or Debian images have no pip: if so, first run \`contree_run(command="apt-get update && apt-get install -y python3-pip", image="tag:${image}", disposable=false, timeout=300)\` and continue from its \`result_image\`.
5. Install, keeping the result: \`contree_run(command="pip install ${packages}", image=<the image from the steps above>, disposable=false, timeout=600)\`. If pip refuses with "externally-managed-environment", add \`--break-system-packages\`. Continue only if \`exit_code\` is 0; the install output usually suffices, so skip a separate \`pip list\` run.
6. Tag the result: \`contree_set_tag(image_uuid="<result_image>", tag="${tag}")\`. Use a project name instead of \`common\` as the scope if the packages are specific to one project.
7. Report the tag and the UUID.`
  },
)

const parallelTasks = define(
  "parallel-tasks",
  "Parallel tasks",
  "Run several independent commands in parallel sandboxes and collect the results.",
  [required("tasks", "Commands to run, one per line"), optional("image", "Image name to run them on", "ubuntu:noble")],
  (get) => {
    const tasks = must(get, "tasks")
    const image = must(get, "image")
    const lines = tasks
      .split("\n")
      .map((t) => t.trim())
      .filter((t) => t !== "")
    return `Run ${lines.length === 1 ? "this task" : `these ${lines.length} tasks`} in parallel ConTree sandboxes on ${image}:

${lines.map((t) => `- ${code(t)}`).join("\n")}

${findOrImport(image)}
3. Launch every task without waiting: \`contree_run(command=<task>, image="tag:${image}", wait=false)\`. Each call returns an \`operation_id\` at once; note which id belongs to which task.
4. Collect them: \`contree_wait_operations(operation_ids=[...], mode="all", timeout=600)\`. Operations unfinished at the timeout are cancelled and listed in \`cancelled\`.
5. For each task report the status, \`exit_code\` and the key lines of \`stdout\`/\`stderr\`. SUCCESS with a non-zero \`exit_code\` is a failed task.`
  },
)

const buildProject = define(
  "build-project",
  "Build project",
  "Sync a project, install its dependencies into a checkpoint image, and run its tests.",
  [
    required("source", "Absolute path of the local project directory"),
    optional("install_cmd", "Command that installs dependencies", "pip install -e ."),
    optional("test_cmd", "Command that runs the tests", "pytest"),
  ],
  (get) => {
    const source = must(get, "source")
    const installCmd = must(get, "install_cmd")
    const testCmd = must(get, "test_cmd")
    return `Build and test the project in ${source} with ConTree.

1. Choose an image with the right toolchain: look at the project files locally, then \`contree_list_images(tag_prefix="common/")\` or \`contree_list_images(tag_prefix="python")\`. Import a base only if nothing fits.
2. Sync: \`contree_rsync(source="${source}", destination="/app", exclude=${excludesJson})\` → \`directory_state_id\`.
3. Install into a checkpoint: \`contree_run(command=${JSON.stringify(installCmd)}, image=<image>, directory_state_id=<id>, cwd="/app", disposable=false, timeout=600)\`. Continue only if \`exit_code\` is 0; keep \`result_image\`.
4. Test: \`contree_run(command=${JSON.stringify(testCmd)}, image="<result_image>", directory_state_id=<id>, cwd="/app", timeout=600)\`. After code changes, re-sync and rerun only this step on the same checkpoint; redo step 3 only when dependencies change.
5. Report the test outcome (\`exit_code\`, failures from \`stdout\`/\`stderr\`) and the checkpoint UUID. If the dependencies are worth reusing, tag it (\`contree_set_tag\`) with a project-scoped tag such as \`<project>/deps/<base image>\`.`
  },
)

const debugFailure = define(
  "debug-failure",
  "Debug failure",
  "Find out why an operation failed and suggest a fix.",
  [required("operation_id", "ID of the failed operation")],
  (get) => {
    const operationId = must(get, "operation_id")
    return `Diagnose ConTree operation ${operationId}.

1. Fetch it: \`contree_get_operation(operation_id="${operationId}")\`.
2. Read it in this order:
   - \`status\` FAILED or CANCELLED: the operation itself did not complete; \`error\` says why.
   - \`timed_out\` true (\`exit_code\` -1): it hit \`timeout\` (default 30 seconds).
   - \`exit_code\` non-zero with status SUCCESS: the command failed; read \`stderr\`, then \`stdout\`.
   - \`stdout_truncated\`/\`stderr_truncated\`: the log is cut; the key error may be missing.
3. Inspect the input image for free with \`contree_list_files\` and \`contree_read_file\` (missing files, configs, installed packages) rather than starting a sandbox.
4. Common fixes:
   - exit 127, "command not found": install the tool in a \`disposable=false\` step, or use an image that has it.
   - timed out: raise \`timeout\`, or split the work into checkpoint steps.
   - truncated output: \`| tail -100\`, quieter flags, or a larger \`truncate_output_at\`.
   - exit 137: out of memory; reduce parallelism or data size.
   - network or registry errors: retry; for imports check registry authentication.
5. Reproduce the failing step alone in a disposable \`contree_run\` with more diagnostics (\`set -x\`, verbose flags), fix it, and rerun from the last good image UUID.
6. Report the cause, the evidence and the fix.`
  },
)

const inspectImage = define(
  "inspect-image",
  "Inspect image",
  "Explore an image's contents without starting a sandbox where possible.",
  [required("image", "Image UUID or tag")],
  (get) => {
    const image = must(get, "image")
    const ref = imageRef(image)
    const encoded = ref.replace(/\//g, "%2F")
    return `Inspect the ConTree image ${image}.

1. Metadata: \`contree_get_image(image="${ref}")\` for its UUID, tag and creation time; \`contree://image/${encoded}/lineage\` for its parent and history.
2. Files, free of charge: \`contree_list_files(image="${ref}", path="/")\`, then the interesting directories (\`/etc\`, \`/usr/local/bin\`, \`/app\`, \`/root\`), and \`contree_read_file(image="${ref}", path="/etc/os-release")\` and any other config or manifest files.
3. Only for what needs execution (installed package lists, versions, \`which\`), use a disposable run: \`contree_run(command="...", image="${ref}")\`. Combine several checks in one command to start a single sandbox.
4. Summarise: OS, languages and versions, notable packages and tools, and what the image is suited for.`
  },
)

const multiStageBuild = define(
  "multi-stage-build",
  "Multi-stage build",
  "Install, build and test a project as a chain of checkpoint images.",
  [
    required("source", "Absolute path of the local project directory"),
    optional("install_cmd", "Command that installs dependencies", "pip install -e ."),
    optional("build_cmd", "Command that builds the project", "python -m build"),
    optional("test_cmd", "Command that runs the tests", "pytest"),
  ],
  (get) => {
    const source = must(get, "source")
    const installCmd = must(get, "install_cmd")
    const buildCmd = must(get, "build_cmd")
    const testCmd = must(get, "test_cmd")
    return `Build ${source} in ConTree as a chain of stages, keeping every stage's image as a rollback point.

1. Choose a base image with the right toolchain (\`contree_list_images(tag_prefix="common/")\`, \`contree_list_images(tag_prefix="python")\`); import one only if nothing fits.
2. Sync: \`contree_rsync(source="${source}", destination="/app", exclude=${excludesJson})\` → \`directory_state_id\`.
3. Stage 1, install: \`contree_run(command=${JSON.stringify(installCmd)}, image=<base>, directory_state_id=<id>, cwd="/app", disposable=false, timeout=600)\` → image A.
4. Stage 2, build: \`contree_run(command=${JSON.stringify(buildCmd)}, image="<A>", cwd="/app", disposable=false, timeout=600)\` → image B. If the build tool is missing, install it in its own \`disposable=false\` step on A first.
5. Stage 3, test: \`contree_run(command=${JSON.stringify(testCmd)}, image="<B>", cwd="/app", timeout=600)\`.
6. Move to the next stage only when \`exit_code\` is 0. If a stage fails, fix the cause and rerun just that stage from the previous stage's UUID; earlier stages stay valid.
7. Fetch artifacts with \`contree_download(image="<B>", path="/app/dist/<file>", destination=<absolute local path>)\`, list them first with \`contree_list_files(image="<B>", path="/app/dist")\`.
8. Report each stage's UUID and outcome. Tag A with a project-scoped tag if the dependencies are worth reusing.`
  },
)

export const prompts: ReadonlyArray<PromptDefinition> = [
  prepareEnvironment,
  runPython,
  runShell,
  syncAndRun,
  installPackages,
  parallelTasks,
  buildProject,
  debugFailure,
  inspectImage,
  multiStageBuild,
]
