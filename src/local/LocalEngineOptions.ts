import { availableParallelism, totalmem } from "node:os"
import type { NetworkHelperName, NetworkPolicy } from "./sandbox/SandboxNetwork.js"

/**
 * How the local engine is set up. Only `stateDir` is required; the server passes
 * `$XDG_DATA_HOME/contree-mcp` (or its flag). A `null` limit means "no cap".
 */
export interface LocalEngineOptions {
  /** Images, layers, uploads and operations live here and survive restarts. */
  readonly stateDir: string
  /** Runs executing at once in this process; more wait PENDING. Default: 4 per CPU, at most one per 512 MiB of memory, at least 2. */
  readonly maxConcurrentRuns?: number | undefined
  /** The longest `timeout` a run may ask for, seconds. Default 86,400 (a day): a longer local run is a mistake, not a plan. */
  readonly maxTimeoutSeconds?: number | undefined
  /** Memory of one run, bytes (cgroup memory limit, else RLIMIT_DATA per process). Default 4 GiB. */
  readonly memoryBytes?: number | null | undefined
  /** Processes of one run (cgroup pids limit, else RLIMIT_NPROC). Default 4096. */
  readonly pids?: number | null | undefined
  /** CPUs of one run (cgroup CPU quota; there is no rlimit equivalent). Default: no cap. */
  readonly cpus?: number | null | undefined
  /** Bytes a run may write (the size of its tmpfs upper dir). Default 4 GiB. */
  readonly diskBytes?: number | null | undefined
  /**
   * Bytes one import may unpack in all (file contents, plus 512 per entry). Default: the data
   * directory's free space when the import starts, less a tenth of its filesystem (at most 1 GiB). null: no cap.
   */
  readonly maxImportBytes?: number | null | undefined
  /** First host uid/gid of the 65,536 the sandbox's ids map to when the server runs as root; fixed for a state directory. */
  readonly idBase?: number | undefined
  /** An image deeper than this many layers is squashed into one when a run commits onto it. Default 64. */
  readonly maxLayers?: number | undefined
  /** Build the offline busybox base image on first start. Default true. */
  readonly baseImages?: boolean | undefined
  /** Registries (`host` or `host:port`) an import may reach over plain HTTP; loopback ones always may. */
  readonly insecureRegistries?: ReadonlyArray<string> | undefined
  /** Which runs get outbound network access (see SandboxNetwork). Default `off`: loopback only. */
  readonly network?: NetworkPolicy | undefined
  /** The helper to use when it is installed; default the first installed of slirp4netns and pasta. */
  readonly networkHelper?: NetworkHelperName | undefined
}

/** The options with every default filled in. */
export interface LocalSettings {
  readonly stateDir: string
  readonly maxConcurrentRuns: number
  readonly maxTimeoutSeconds: number
  readonly memoryBytes: number | null
  readonly pids: number | null
  readonly cpus: number | null
  readonly diskBytes: number | null
  readonly maxImportBytes: number | null | "free-space"
  readonly idBase: number
  readonly maxLayers: number
  readonly baseImages: boolean
  readonly insecureRegistries: ReadonlyArray<string>
  readonly network: NetworkPolicy
  readonly networkHelper: NetworkHelperName | undefined
}

const GiB = 1024 ** 3

/**
 * The default queue: runs often wait (on the network, a sleep, a disk) rather than compute, so
 * a few per core keep the cores busy; each still holds memory (its processes, its tmpfs upper
 * dir), so no more than one per 512 MiB. A CPU-bound burst is limited by the cores either way.
 */
const defaultConcurrency = (): number => Math.max(2, Math.min(4 * availableParallelism(), Math.floor(totalmem() / (GiB / 2))))

// Far above the ranges distributions hand out in /etc/subuid (100000+) and systemd-nspawn's pool.
const DEFAULT_ID_BASE = 0x70000000

export const resolveSettings = (options: LocalEngineOptions): LocalSettings => ({
  stateDir: options.stateDir,
  maxConcurrentRuns: options.maxConcurrentRuns ?? defaultConcurrency(),
  maxTimeoutSeconds: options.maxTimeoutSeconds ?? 86_400,
  memoryBytes: options.memoryBytes === undefined ? 4 * GiB : options.memoryBytes,
  pids: options.pids === undefined ? 4096 : options.pids,
  cpus: options.cpus ?? null,
  diskBytes: options.diskBytes === undefined ? 4 * GiB : options.diskBytes,
  maxImportBytes: options.maxImportBytes === undefined ? "free-space" : options.maxImportBytes,
  idBase: options.idBase ?? DEFAULT_ID_BASE,
  maxLayers: options.maxLayers ?? 64,
  baseImages: options.baseImages ?? true,
  insecureRegistries: options.insecureRegistries ?? [],
  network: options.network ?? "off",
  networkHelper: options.networkHelper
})
