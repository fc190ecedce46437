/**
 * Agent guide sections, served as `contree://guide/{section}` resources and by `contree_get_guide`.
 */

export const guideSectionNames = ["async", "errors", "quickstart", "reference", "state", "tagging", "workflow"] as const

export type GuideSection = (typeof guideSectionNames)[number]

export interface Guide {
  readonly section: GuideSection
  readonly title: string
  readonly description: string
  /** Markdown. */
  readonly content: string
}

export const isGuideSection = (value: string): value is GuideSection =>
  (guideSectionNames as ReadonlyArray<string>).includes(value)

const asyncContent = `# Async Execution

## Sequential or parallel

- \`wait=true\` (default): \`contree_run\` returns when the command has finished. Use it when the next step depends on this one.
- \`wait=false\`: \`contree_run\` (or \`contree_import_image\`) returns \`{operation_id, status}\` at once while the sandbox works. Use it for independent jobs: test matrices, parameter sweeps, alternative fixes.

## Launch, then collect

\`\`\`
contree_run(command="pytest tests/unit", image="<uuid>", wait=false)   → operation_id "op-1"
contree_run(command="pytest tests/api",  image="<uuid>", wait=false)   → operation_id "op-2"
contree_run(command="ruff check .",      image="<uuid>", wait=false)   → operation_id "op-3"
contree_wait_operations(operation_ids=["op-1", "op-2", "op-3"], mode="all", timeout=600)
\`\`\`

The answer:

\`\`\`
{"results":   {"op-1": {...}, "op-2": {...}, "op-3": {...}},
 "completed": ["op-2", "op-1", "op-3"],   # in finishing order
 "cancelled": [],
 "timed_out": false}
\`\`\`

Each entry in \`results\` carries the operation's outcome; as with a direct run, check \`status\` and then \`exit_code\`.

## Modes and the timeout

| \`mode\` | Returns when | Unfinished operations |
|---|---|---|
| \`all\` (default) | Every operation has finished, or the timeout hits | Cancelled at the timeout |
| \`any\` | The first operation finishes, or the timeout hits | Cancelled |

\`timeout\` (300 seconds by default) covers the whole call, not each operation. Operations cancelled by the call are listed in \`cancelled\`, and \`timed_out\` is true when the limit was reached. Cancelled work is lost, so give long jobs a generous \`timeout\` here as well as in each \`contree_run\`.

Use \`any\` only for races where the first answer is enough (which of several fixes works first). To handle results as they come in without losing the rest, poll with \`contree_get_operation\` instead.

## Operation statuses

| Status | Meaning | Terminal |
|---|---|---|
| \`PENDING\` | Accepted, waiting for a sandbox | no |
| \`ASSIGNED\` | A sandbox has been allocated | no |
| \`EXECUTING\` | The command or import is in progress | no |
| \`SUCCESS\` | The operation completed; for runs, check \`exit_code\` | yes |
| \`FAILED\` | The operation itself failed; read \`error\` | yes |
| \`CANCELLED\` | Cancelled by you, by a wait timeout or by \`any\` mode | yes |

## Other operation tools

- \`contree_get_operation(operation_id)\`: current status, and the result once finished.
- \`contree_list_operations(status="EXECUTING", type="instance")\`: what is in flight; \`type\` is \`instance\` (runs) or \`image_import\`; \`since\` accepts ISO-8601 or relative times like \`1h\`.
- \`contree_cancel_operation(operation_id)\`: stop an operation; returns \`{cancelled, operation_id, status}\`.
- \`contree://operations/instance/{operation_id}\` and \`contree://operations/import/{operation_id}\`: the same information as resources.

## Tips

- Record which \`operation_id\` belongs to which task; the ids are all you get back at launch.
- Parallel runs can share one input image; each gets its own copy.
- Every launched run costs a sandbox, so avoid launching dozens when a loop inside one command would do.
- Prepare the shared image first (\`disposable=false\`, \`wait=true\`), then fan out.
`

const errorsContent = `# Error Handling

## The command failed, but \`status\` is SUCCESS

\`status\` describes the operation, not your command. SUCCESS with \`exit_code\` 1 means the sandbox ran the command and the command failed. Always read \`exit_code\`, then \`stderr\`.

| \`exit_code\` | Usual cause |
|---|---|
| 1, 2 | Ordinary failure: read \`stderr\` |
| 126 | Not executable (missing \`chmod +x\`, or a directory) |
| 127 | Command not found: install it, or pick another image |
| 137 | Killed, often out of memory |
| -1 | Timed out (\`timed_out\` is true) |

## \`status\` FAILED or CANCELLED

FAILED means the operation itself broke (bad image, backend or sandbox problem); the reason is in \`error\`, and \`exit_code\` may be null. CANCELLED means \`contree_cancel_operation\`, a \`contree_wait_operations\` timeout or \`any\` mode stopped it. Retry if the cause was transient.

## Timeouts

A run that exceeds \`timeout\` (30 seconds by default) is killed: \`timed_out\` is true and \`exit_code\` -1. Raise \`timeout\` for installs and test suites (300 or more), or split the work into checkpoint steps. \`contree_wait_operations\` has its own \`timeout\` (300 seconds for the whole call); operations still unfinished then are cancelled and listed in \`cancelled\`.

## Truncated output

Each stream is cut at \`truncate_output_at\` bytes (8000 by default) and \`stdout_truncated\`/\`stderr_truncated\` become true. The end of a log often matters most, so:

- print less (\`pytest -q\`, \`| tail -100\`), or
- raise \`truncate_output_at\`, or
- redirect to a file in a \`disposable=false\` run and read it with \`contree_read_file\` on the \`result_image\`.

## Binary output

When the bytes are not valid UTF-8, \`stdout_encoding\` or \`stderr_encoding\` is "base64" and the stream is base64 text. Decode it, or make the command print text (\`| xxd | head\`, \`| base64\`).

## Image not found or invalid

Image arguments take a UUID or \`tag:NAME\`; a bare \`python:3.11\` is rejected. If a tag does not resolve, it was never set or has been removed: check with \`contree_list_images(tag_prefix="...")\`, then use another image or prepare one. Tags containing \`/\` must be percent-encoded inside resource URIs.

## Directory state errors

A \`directory_state_id\` that is unknown (no \`contree_rsync\` on this machine returned it), or whose last sync found no files (everything was excluded, or the directory is empty), is rejected. Run \`contree_rsync\` on an absolute directory path and use the id it returns; check its \`files\` and \`skipped\` counts.

## Registry authentication

\`contree_import_image\` fails with a "not authenticated" error when no valid credentials are stored for the registry. Either:

1. call \`contree_registry_token_obtain(registry_url=...)\`, give the user the returned URL, then STOP and wait for their username and read-only token, then call \`contree_registry_auth(registry_url, username, token)\`; or
2. if the user agrees to anonymous, rate-limited pulls, retry with \`i_accept_that_anonymous_access_might_be_rate_limited=true\`.

Never invent a token. If stored credentials stop working (for example, the token was revoked), authenticate again.

## Debugging routine

1. \`contree_get_operation(operation_id)\`: \`status\`, \`error\`, \`exit_code\`, \`timed_out\`, truncation flags.
2. Read \`stderr\` (and \`stdout\`), fetching full logs via a file if truncated.
3. Inspect the image for free: \`contree_list_files\` and \`contree_read_file\` (config files, installed packages, paths).
4. Reproduce the failing step alone in a disposable run with extra diagnostics (\`set -x\`, \`--verbose\`, \`env\`).
5. Fix it, and rerun from the last good UUID instead of starting over.
`

const quickstartContent = `# Quickstart

## 1. Run a command

\`\`\`
contree_run(command="cat /etc/os-release && python3 --version", image="tag:python:3.11-slim")
\`\`\`

Read \`exit_code\` first (0 means the command succeeded), then \`stdout\` and \`stderr\`. \`status\` SUCCESS alone only says the operation completed. No suitable tag? Find one with \`contree_list_images(tag_prefix="python")\`.

## 2. Run local code

\`\`\`
contree_rsync(source="/home/me/proj", destination="/app",
              exclude=[".git", "node_modules", "__pycache__", "*.pyc", ".venv"])
→ {"directory_state_id": 42, ...}
contree_run(command="python main.py", image="tag:python:3.11-slim",
            directory_state_id=42, cwd="/app")
\`\`\`

Sync again after editing; unchanged files are not uploaded twice. For one or two files, \`contree_upload(content="print('hi')")\` returns a \`uuid\` that you place with \`files={"/app/hi.py": "<uuid>"}\`.

## 3. Checkpoint dependencies

\`\`\`
contree_run(command="pip install -r requirements.txt", image="tag:python:3.11-slim",
            directory_state_id=42, cwd="/app", disposable=false, timeout=300)
→ exit_code 0, result_image "<uuid-A>"
contree_run(command="pytest -q", image="<uuid-A>", directory_state_id=42, cwd="/app")
\`\`\`

Each later run starts from \`<uuid-A>\` with the dependencies already there. Tag it (\`contree_set_tag\`) if it is worth keeping beyond this task; see the \`tagging\` guide.

## 4. Import a base image

\`\`\`
contree_list_images(tag_prefix="alpine")          # search first
contree_import_image(registry_url="docker://docker.io/library/alpine:latest",
                     tag="alpine:latest")
contree_run(command="apk add --no-cache curl", image="tag:alpine:latest", disposable=false)
\`\`\`

Importing needs registry credentials, or \`i_accept_that_anonymous_access_might_be_rate_limited=true\`. To set up credentials: \`contree_registry_token_obtain(registry_url=...)\`, then STOP and wait until the user gives you a username and token, then \`contree_registry_auth(...)\`.

## 5. Get results out

- Small text: print it, or write it to a file in a \`disposable=false\` run and read it with \`contree_read_file(image="<result_image>", path="/app/report.txt")\`.
- Binaries or large files: \`contree_download(image="<result_image>", path="/app/dist/tool", destination="/home/me/tool", executable=true)\`.

## Best practices

- **UUIDs vs tags.** Use UUIDs within a chain of steps: they never change. Use tags to find environments across sessions.
- **Output limits.** Each stream is cut at \`truncate_output_at\` bytes (8000 by default); \`stdout_truncated\`/\`stderr_truncated\` tell you when. Filter the output (\`| tail -50\`, \`-q\`), raise the limit, or write to a file and read it with \`contree_read_file\`.
- **Environment variables.** Pass them with \`env={"DEBUG": "1"}\` instead of building \`export ...;\` into the command.
- **Excludes.** Always exclude VCS data, dependency folders and caches when syncing; they are slow to upload and usually rebuilt in the sandbox anyway.
- **Timeouts.** The default is 30 seconds. Raise \`timeout\` for installs, builds and test suites.
`

const referenceContent = `# Tools Reference

**Cost**: "sandbox" tools start a sandbox (time and money); "free" tools only touch metadata, caches or local files.

| Tool | Key parameters | Returns | Cost |
|---|---|---|---|
| \`contree_run\` | command, image, disposable, wait, directory_state_id, files | Flat run result (below) | sandbox |
| \`contree_import_image\` | registry_url, tag, wait | Import operation; new image in \`result_image\` | sandbox |
| \`contree_list_images\` | tag_prefix, tagged, since, until, limit, offset | Images (uuid, tag, created_at) | free |
| \`contree_get_image\` | image | uuid, tag, created_at | free |
| \`contree_set_tag\` | image_uuid, tag (empty removes) | The image | free |
| \`contree_registry_token_obtain\` | registry_url | Token-page URL; then STOP for the user | free |
| \`contree_registry_auth\` | registry_url, username, token | Whether the credentials work | free |
| \`contree_upload\` | path, content or content_base64 | uuid, sha256 | free |
| \`contree_rsync\` | source, destination, exclude | directory_state_id (integer), counts | free |
| \`contree_download\` | image, path (file or directory), destination | Local copy | free |
| \`contree_list_files\` | image, path="/" | Directory entries | free |
| \`contree_read_file\` | image, path | content, encoding | free |
| \`contree_grep\` | image, pattern, path, glob | Matching lines | free |
| \`contree_whoami\` | | Permissions, limits | free |
| \`contree_get_operation\` | operation_id | Status and result | free |
| \`contree_list_operations\` | status, type, since, limit | Operations | free |
| \`contree_wait_operations\` | operation_ids, mode, timeout | results, completed, cancelled, timed_out | free |
| \`contree_cancel_operation\` | operation_id | cancelled, operation_id, status | free |
| \`contree_get_guide\` | section | Guide markdown | free |

## contree_run

Defaults: \`shell=true\`, \`cwd\` the image's WorkingDir (else "/root"), \`timeout=30\` (seconds), \`disposable=true\`, \`wait=true\`, \`truncate_output_at=8000\` (bytes per stream), \`preserve_env=false\`; \`env\`, \`stdin\`, \`files\`, \`directory_state_id\`, \`network\`, \`uid\`, \`gid\`, \`max_layer_bytes\` null.

- \`network\`: \`true\` asks for outbound access (local backend: as its network setting allows).
- \`uid\`/\`gid\`: run as that user. \`preserve_env\` bakes \`env\` into the result image; an \`env\` value of null unsets a baked one. \`max_layer_bytes\` caps the saved changes.
- \`files\`: \`{"/container/path": "<uuid from contree_upload>"}\`.
- \`directory_state_id\`: the integer from \`contree_rsync\`; the synced tree is placed before the command starts.
- Result fields: \`operation_id, status, exit_code, timed_out, stdout, stderr, stdout_encoding, stderr_encoding, stdout_truncated, stderr_truncated, result_image, duration, error\`.
- \`status\` SUCCESS means the operation completed; the command succeeded only if \`exit_code\` is 0.
- \`result_image\`: the new image when \`disposable=false\` succeeded; else null.
- Encodings are "utf-8", or "base64" when the bytes are not valid UTF-8.
- \`wait=false\` returns \`{operation_id, status}\` at once (see the \`async\` guide).

## Image references

- A UUID: exact and immutable.
- \`tag:NAME\`, e.g. \`tag:common/python-ml/python:3.11-slim\`: resolved at each call, so it follows the tag.

\`contree_set_tag\` takes a UUID in \`image_uuid\`.

## contree_rsync

\`source\` is an absolute local directory and \`destination\` an absolute directory in the sandbox. \`exclude\` takes .gitignore patterns relative to \`source\` (\`__pycache__/\`, \`/build\`, \`!keep.log\`); \`.gitignore\` files are honoured unless \`gitignore=false\`. Symlinks and special files are not followed but listed in \`skipped_entries\`. Re-syncing after small edits is cheap: only changed content is read and sent. The same source, destination, exclude and gitignore always give the same \`directory_state_id\`, which then names the latest sync; deleted files disappear from it.

## contree_import_image

\`registry_url\` looks like \`docker://docker.io/library/alpine:latest\`. Pass \`tag\` to tag the result directly. Importing needs stored credentials (\`contree_registry_token_obtain\`, then \`contree_registry_auth\`) unless you set \`i_accept_that_anonymous_access_might_be_rate_limited=true\`.

## Resources

| URI | Content |
|---|---|
| \`contree://image/{image}/read/{path}\` | File content |
| \`contree://image/{image}/ls/{path}\` | \`ls -l\` style listing |
| \`contree://image/{image}/lineage\` | JSON: image, parent, children, ancestors, root, depth, is_known, data |
| \`contree://operations/instance/{operation_id}\` | Run operation state and output |
| \`contree://operations/import/{operation_id}\` | Import operation state |
| \`contree://guide/{section}\` | A guide section |

\`{image}\` is a UUID or \`tag:NAME\`; percent-encode any \`/\` in the tag (\`tag:common%2Fpython-ml%2Fpython:3.11-slim\`).

Guide sections: workflow, reference, quickstart, state, async, tagging, errors. Without resource support, call \`contree_get_guide(section="...")\`.
`

const stateContent = `# State Management

## Images are immutable snapshots

An image is a frozen filesystem identified by a UUID. A run never changes its input image: it works on a copy. What happens to that copy depends on \`disposable\`.

| \`disposable\` | Filesystem changes | \`result_image\` |
|---|---|---|
| \`true\` (default) | Discarded when the run ends | null |
| \`false\` | Saved as a new image whose parent is the input | New UUID (when the run succeeded) |

Use \`disposable=true\` for tests, experiments and anything whose only product is output. Use \`disposable=false\` for installs, builds and any step whose files later steps need. Files placed by \`directory_state_id\` or \`files\` are part of the run's filesystem, so a non-disposable run keeps them in its result image.

A non-disposable run still reports \`exit_code\`, \`stdout\` and \`stderr\`. A command that exits non-zero can leave a half-finished image behind: check \`exit_code\` before building on \`result_image\`.

## Rollback and branching

Every UUID stays valid, so history costs nothing to keep:

- **Rollback**: a step went wrong? Run the next attempt on the previous UUID. The broken image is simply not used again.
- **Branching**: run different commands on the same UUID to try alternatives side by side, for example two dependency versions.

\`\`\`
base (python:3.11-slim)
└─ A: pip install -r requirements.txt          disposable=false
   ├─ B1: pip install "numpy<2"                 disposable=false
   │   └─ pytest                                disposable=true
   └─ B2: pip install "numpy>=2"                disposable=false
       └─ pytest                                disposable=true
\`\`\`

If B2 fails, B1 and A are untouched. Branches can run in parallel with \`wait=false\` (see the \`async\` guide).

Dangerous commands are safe for the same reason: \`rm -rf /\` in a sandbox destroys only that run's copy.

## Keeping track

- Note each \`result_image\` together with what produced it; UUIDs are the rollback points.
- Tag the images worth reusing (\`contree_set_tag\`, see the \`tagging\` guide). A tag moves when set on another image; the old image keeps its UUID.
- \`contree_get_image(image="tag:...")\` shows which UUID a tag currently points to.
- \`contree://image/{image}/lineage\` returns \`{image, parent, children, ancestors, root, depth, is_known, data}\`: the parent, all known descendants, the ancestor chain (nearest first) and the import it started from. Lineage is recorded by this server as it sees runs and imports finish; for images it never saw, \`is_known\` is false.

## Inspecting a snapshot

\`contree_list_files\` and \`contree_read_file\` read any image without starting a sandbox, which is the cheap way to check what a step changed: compare the same path in the parent and the result image.
`

const taggingContent = `# Tagging Convention

Tags make prepared images findable across tasks and sessions. Without one, an environment survives only as a UUID that nobody remembers.

## Format

\`\`\`
{scope}/{purpose}/{base}:{tag}
\`\`\`

| Part | Meaning | Examples |
|---|---|---|
| \`scope\` | \`common\` for environments anyone could reuse, otherwise the project name | \`common\`, \`billing-api\` |
| \`purpose\` | What was added, short and lower-case | \`python-ml\`, \`node-build\`, \`deps\` |
| \`base\` | The name of the image it was built from | \`python\`, \`ubuntu\`, \`alpine\` |
| \`tag\` | The base image's version | \`3.11-slim\`, \`noble\`, \`latest\` |

\`{base}:{tag}\` is simply the base image's own name, which keeps the origin visible.

Examples:

- \`common/python-ml/python:3.11-slim\`: numpy, pandas and scikit-learn on Python 3.11.
- \`common/node-build/node:20-bookworm\`: Node.js 20 with build tools.
- \`billing-api/deps/python:3.12-slim\`: the billing-api project's locked dependencies.

Freshly imported, unmodified images carry their plain registry name instead, e.g. \`python:3.11-slim\` or \`ubuntu:noble\` (set it with \`contree_import_image(..., tag="ubuntu:noble")\`). The scoped form is for images you changed.

## Choosing the scope

Use \`common\` when the image holds generic tools or popular packages and nothing project-specific: a task in a different repository could use it unchanged.

Use the project name when the contents come from one project's requirements or lock file, include its code, or pin versions only that project wants.

## Search before you create

\`\`\`
contree_list_images(tag_prefix="common/python-ml")   # exact purpose
contree_list_images(tag_prefix="common/")            # everything shared
contree_list_images(tag_prefix="myproj/")            # this project
\`\`\`

Reuse a hit if it contains what you need; check with \`contree_read_file\` or \`contree_list_files\` (free) rather than a run. Build a new image only when nothing fits, and then prefer extending the closest existing one.

## Rules

- A tag points to exactly one image. Setting it on another image moves it; the old image remains reachable by UUID.
- \`contree_set_tag(image_uuid="<uuid>", tag="common/python-ml/python:3.11-slim")\` sets or moves a tag. \`image_uuid\` must be a UUID.
- Omitting \`tag\`, or passing an empty one, removes the image's tag.
- Tag only images whose build steps exited with code 0.
- Moving a \`common/\` tag changes what other tasks get. Do it only for a compatible improvement; otherwise choose a new purpose name.
- In resource URIs, percent-encode the slashes: \`contree://image/tag:common%2Fpython-ml%2Fpython:3.11-slim/ls/usr\`.

## Common tags

| Tag | Typical use |
|---|---|
| \`ubuntu:noble\`, \`alpine:latest\`, \`python:3.11-slim\` | Plain imported bases |
| \`common/python-ml/python:3.11-slim\` | Data analysis and ML scripts |
| \`common/build/ubuntu:noble\` | C/C++ builds (gcc, make, cmake) |
| \`common/node-build/node:20-bookworm\` | JavaScript and TypeScript projects |

Whether any of these exists depends on what has been built before; search, don't assume.
`

const workflowContent = `# ConTree Workflow Guide

Every sandbox starts from an immutable image. Preparing an image (import, installs) is the slow and costly part, so find a prepared one first and build only what is missing.

## Picking an image

\`\`\`
contree_list_images(tag_prefix="common/<purpose>")   # e.g. "common/python-ml"
├─ found  → contree_run(image="tag:<that tag>", ...)
└─ none   → contree_list_images(tag_prefix="<project>/")   # project-scoped setups
   ├─ found → run on it
   └─ none  → find a base: contree_list_images(tag_prefix="python")
      ├─ none → contree_import_image(...)
      └─ prepare: contree_run(..., disposable=false) per install step
                  → exit_code 0? → contree_set_tag(...) → run the task
\`\`\`

## Worked example: a Python ML environment

1. Look for it: \`contree_list_images(tag_prefix="common/python-ml")\`. A hit means you go straight to step 5.
2. Find a base: \`contree_list_images(tag_prefix="python:3.11")\`. If nothing comes back, import one:
   \`contree_import_image(registry_url="docker://docker.io/library/python:3.11-slim", tag="python:3.11-slim")\`
   (needs registry credentials or \`i_accept_that_anonymous_access_might_be_rate_limited=true\`; see the \`errors\` guide).
3. Install, keeping the result:
   \`contree_run(command="pip install numpy pandas scikit-learn", image="tag:python:3.11-slim", disposable=false, timeout=300)\`
   Continue only if \`exit_code\` is 0; the new image is \`result_image\`.
4. Tag it: \`contree_set_tag(image_uuid="<result_image>", tag="common/python-ml/python:3.11-slim")\`
5. Use it: \`contree_run(command="python train.py", image="tag:common/python-ml/python:3.11-slim", directory_state_id=<id from contree_rsync>, cwd="/app")\`

Next time, in this or any other session, step 1 finds the tag and the install is skipped.

## Prefixes worth searching

| Prefix | Usually holds |
|---|---|
| \`common/python\` | Python with general or data-science packages (\`common/python-ml/...\`) |
| \`common/node\` | Node.js toolchains and global npm packages |
| \`common/build\` | Compilers and build tools (gcc, make, cmake) |
| \`common/rust\`, \`common/go\` | Language toolchains |
| \`<project>/\` | Environments prepared for one code base |

These are conventions, not guarantees: search before assuming any of them exists. \`contree_list_images(tagged=true)\` shows every tag.

## Anti-patterns

| Don't | Why | Instead |
|---|---|---|
| Import without searching | Pays for a pull and leaves a duplicate | \`contree_list_images\` first |
| Leave a prepared image untagged | The UUID is forgotten and the next session rebuilds | \`contree_set_tag\` right after a good install |
| Chain setup and task in one command (\`apt-get ... && pip ... && pytest\`) | One failure throws away all the work, and nothing is reusable | One \`disposable=false\` run per setup step, then run the task |
| Install with \`disposable=true\` | The installed files are discarded | \`disposable=false\` for anything you want to keep |
| Tag a result whose \`exit_code\` is non-zero | Publishes a broken environment | Fix the command and rerun from the parent image |
| \`contree_run\` with \`ls\` or \`cat\` to look around | Starts a sandbox for a free question | \`contree_list_files\`, \`contree_read_file\` |

## Project-scoped environments

When the dependencies come from one project's lock file or only make sense for it, use the project name as scope, e.g. \`myapp/deps/python:3.12-slim\`. Rebuild (and move the tag) when the lock file changes. Keep \`common/\` for environments that any task could reuse.
`

export const guides: Readonly<Record<GuideSection, Guide>> = {
  async: {
    section: "async",
    title: "ConTree Guide: Async Execution",
    description: "Parallel runs with wait=false, contree_wait_operations modes and timeouts, operation statuses",
    content: asyncContent,
  },
  errors: {
    section: "errors",
    title: "ConTree Guide: Error Handling",
    description: "Exit codes vs status, time-outs, truncated or base64 output, bad image references, registry auth, a debugging routine",
    content: errorsContent,
  },
  quickstart: {
    section: "quickstart",
    title: "ConTree Guide: Quickstart",
    description: "First run, syncing local code, dependency checkpoints, importing images, getting results out, best practices",
    content: quickstartContent,
  },
  reference: {
    section: "reference",
    title: "ConTree Guide: Tools Reference",
    description: "Every tool with its key parameters, results and cost; run and rsync details; image references; resource URIs",
    content: referenceContent,
  },
  state: {
    section: "state",
    title: "ConTree Guide: State Management",
    description: "Immutable images, disposable vs non-disposable runs, rollback, branching and lineage",
    content: stateContent,
  },
  tagging: {
    section: "tagging",
    title: "ConTree Guide: Tagging Convention",
    description: "The {scope}/{purpose}/{base}:{tag} format, choosing a scope, searching before building, tag rules",
    content: taggingContent,
  },
  workflow: {
    section: "workflow",
    title: "ConTree Guide: Workflow",
    description: "Find a prepared image, prepare one only if needed, then run; a worked example and anti-patterns",
    content: workflowContent,
  },
}
