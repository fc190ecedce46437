import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Either, Option, Redacted } from "effect"
import { stat } from "node:fs/promises"
import type { ImportRequest } from "../../domain/Operation.js"
import { type LocalImportUrl, parseLocalImportUrl, parseRegistryUrl } from "../../domain/RegistryUrl.js"
import { describeCause, invalidRequest, type LocalEngineError, notFound } from "../LocalEngineError.js"
import { dockerArchiveSource } from "./DockerArchiveSource.js"
import type { ImageSource } from "./ImageSource.js"
import { ociLayoutSource } from "./OciLayoutSource.js"
import { registrySource } from "./RegistrySource.js"
import { rootfsTarballSource } from "./RootfsTarballSource.js"
import { directoryFiles, tarFiles } from "./SourceFiles.js"

const isKind = async (path: string, directory: boolean) => {
  try {
    const stats = await stat(path)
    return directory ? stats.isDirectory() : stats.isFile()
  } catch {
    return false
  }
}

/**
 * `PATH` or `PATH:REF`: paths may hold colons, so the longest prefix that exists (as a file, or a
 * directory for `oci:`) is the path and the rest the reference.
 */
const splitLocation = async (url: LocalImportUrl): Promise<{ readonly path: string; readonly ref: string | undefined } | undefined> => {
  const directory = url.scheme === "oci"
  if (await isKind(url.location, directory)) return { path: url.location, ref: undefined }
  for (let at = url.location.lastIndexOf(":"); at > 0; at = url.location.lastIndexOf(":", at - 1)) {
    const path = url.location.slice(0, at)
    if (await isKind(path, directory)) return { path, ref: url.location.slice(at + 1) }
  }
  return undefined
}

const openLocal = (url: LocalImportUrl): Effect.Effect<ImageSource, LocalEngineError> =>
  Effect.gen(function*() {
    const name = `${url.scheme}:${url.location}`
    const found = yield* Effect.promise(() => splitLocation(url))
    if (found === undefined) {
      return yield* notFound(`${name}: no ${url.scheme === "oci" ? "directory" : "file"} ${url.location} on the server's machine`)
    }
    const { path, ref } = found
    const opened = (promise: () => Promise<ImageSource>) =>
      Effect.tryPromise({ try: promise, catch: (cause) => invalidRequest(`${name}: ${describeCause(cause)}`) })
    switch (url.scheme) {
      case "oci":
        return ociLayoutSource(name, directoryFiles(path), ref)
      case "oci-archive":
        return yield* opened(async () => ociLayoutSource(name, await tarFiles(path), ref))
      case "docker-archive":
        return yield* opened(async () => dockerArchiveSource(name, await tarFiles(path), ref))
      case "tarball":
        if (ref !== undefined) return yield* invalidRequest(`${name}: a rootfs tarball holds one image; it takes no ':${ref}'`)
        return rootfsTarballSource(name, path)
    }
  })

/**
 * The source an import URL names: a local layout or archive (`oci:`, `oci-archive:`,
 * `docker-archive:`, `tarball:`), else a registry reached with the request's credentials.
 */
export const openSource = (
  request: ImportRequest,
  insecureRegistries: ReadonlyArray<string>
): Effect.Effect<ImageSource, LocalEngineError, HttpClient.HttpClient> =>
  Option.match(parseLocalImportUrl(request.registry.url), {
    onSome: Either.match({ onLeft: (message) => Effect.fail(invalidRequest(message)), onRight: openLocal }),
    onNone: () =>
      Either.match(parseRegistryUrl(request.registry.url), {
        onLeft: (message) => Effect.fail(invalidRequest(`registry.url: ${message}`)),
        onRight: (reference) => {
          const given = request.registry.credentials
          // Empty credentials mean an anonymous pull, as the cloud API takes them.
          const credentials = given === undefined || (given.username === "" && given.password === "")
            ? Option.none()
            : Option.some({ username: given.username, token: Redacted.make(given.password) })
          return registrySource({ reference, credentials, insecureRegistries })
        }
      })
  })
