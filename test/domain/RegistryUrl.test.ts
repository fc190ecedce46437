import { assert, describe, it } from "@effect/vitest"
import { Either, Option } from "effect"
import {
  allowsPlainHttp,
  canonicalImportUrl,
  isKnownRegistry,
  isLoopbackHost,
  parseLocalImportUrl,
  parseRegistryUrl,
  parseWwwAuthenticate,
  patPageOf,
  registryApiHost
} from "../../src/domain/RegistryUrl.js"

const parsed = (url: string) => {
  const result = parseRegistryUrl(url)
  if (Either.isLeft(result)) return assert.fail(`'${url}' did not parse: ${result.left}`)
  return result.right
}
const hostOf = (url: string) => parsed(url).registry
const canonical = (url: string) => Option.getOrUndefined(canonicalImportUrl(parsed(url)))
const failure = (url: string) => {
  const result = parseRegistryUrl(url)
  if (Either.isRight(result)) return assert.fail(`'${url}' parsed as ${JSON.stringify(result.right)}`)
  return result.left
}

describe("parseRegistryUrl: the registry host (reference §16 cases)", () => {
  it("takes the host of docker:// and oci:// URLs", () => {
    assert.strictEqual(hostOf("docker://docker.io/library/alpine:latest"), "docker.io")
    assert.strictEqual(hostOf("docker://ghcr.io/org/image:tag"), "ghcr.io")
    assert.strictEqual(hostOf("docker://registry.gitlab.com/group/project/image:1"), "registry.gitlab.com")
    assert.strictEqual(hostOf("oci://registry.gitlab.com/group/project/image:1"), "registry.gitlab.com")
    assert.strictEqual(hostOf("oci://ghcr.io/org/image"), "ghcr.io")
  })

  it("reads bare names as Docker Hub", () => {
    assert.strictEqual(hostOf("alpine"), "docker.io")
    assert.strictEqual(hostOf("library/alpine:latest"), "docker.io")
    assert.strictEqual(hostOf("myorg/myimage:v1"), "docker.io")
    assert.strictEqual(hostOf("docker.io/library/python:3.11-slim"), "docker.io")
  })
})

describe("parseRegistryUrl: where we do better than the reference", () => {
  it("reads a schemeless host/repository as that host, as Docker does", () => {
    assert.strictEqual(hostOf("ghcr.io/org/img"), "ghcr.io")
    assert.strictEqual(hostOf("quay.io/org/img:1.0"), "quay.io")
    assert.strictEqual(hostOf("localhost:5000/img"), "localhost:5000")
    assert.strictEqual(hostOf("localhost/img"), "localhost")
  })

  it("keeps the port, since a registry is host:port", () => {
    assert.strictEqual(hostOf("docker://127.0.0.1:5000/team/app:1"), "127.0.0.1:5000")
    assert.strictEqual(hostOf("[::1]:5000/app"), "[::1]:5000")
  })

  it("reads docker://name:tag as a Docker Hub image, not a host called name", () => {
    const ref = parsed("docker://python:3.11-slim")
    assert.strictEqual(ref.registry, "docker.io")
    assert.deepStrictEqual(ref.repository, Option.some("library/python"))
    assert.deepStrictEqual(ref.reference, Option.some(":3.11-slim"))
  })

  it("maps Docker Hub's other names to docker.io and lower-cases hosts", () => {
    assert.strictEqual(hostOf("index.docker.io/library/alpine"), "docker.io")
    assert.strictEqual(hostOf("docker://registry-1.docker.io/library/alpine"), "docker.io")
    assert.strictEqual(hostOf("GHCR.IO/org/img"), "ghcr.io")
  })

  it("accepts a registry on its own, for the authentication tools", () => {
    for (const url of ["ghcr.io", "docker://ghcr.io", "oci://ghcr.io/", "  ghcr.io  "]) {
      const ref = parsed(url)
      assert.strictEqual(ref.registry, "ghcr.io", url)
      assert.isTrue(Option.isNone(ref.repository), url)
    }
    assert.strictEqual(hostOf("docker.io"), "docker.io")
    assert.strictEqual(hostOf("127.0.0.1:5000"), "127.0.0.1:5000")
    assert.strictEqual(hostOf("localhost:5000"), "localhost:5000")
  })

  it("rejects what is not an image reference, saying why", () => {
    assert.include(failure("https://ghcr.io/org/img"), "unsupported scheme 'https://'")
    assert.include(failure(""), "names no registry or image")
    assert.include(failure("docker://"), "names no registry or image")
    assert.include(failure("my image"), "whitespace")
    assert.include(failure("ghcr.io/Org/Img"), "'Org' is not a valid repository name component")
    assert.include(failure("ghcr.io/org//img"), "empty component")
    assert.include(failure("alpine:bad tag!"), "whitespace")
    assert.include(failure("alpine:b@d"), "not a valid digest")
    assert.include(failure("alpine:-x"), "'-x' is not a valid tag")
  })
})

describe("canonicalImportUrl", () => {
  it("sends the form the vendor CLI sends: docker://host/repository:tag", () => {
    assert.strictEqual(canonical("alpine"), "docker://docker.io/library/alpine:latest")
    assert.strictEqual(canonical("ubuntu:noble"), "docker://docker.io/library/ubuntu:noble")
    assert.strictEqual(canonical("myorg/myimage:v1"), "docker://docker.io/myorg/myimage:v1")
    assert.strictEqual(canonical("ghcr.io/o/i:t"), "docker://ghcr.io/o/i:t")
    assert.strictEqual(canonical("oci://ghcr.io/org/image"), "docker://ghcr.io/org/image:latest")
    assert.strictEqual(canonical("docker://docker.io/library/alpine:latest"), "docker://docker.io/library/alpine:latest")
    assert.strictEqual(canonical("docker://127.0.0.1:5000/app:1"), "docker://127.0.0.1:5000/app:1")
  })

  it("keeps a digest, which pins the image, and drops a tag given with it", () => {
    const digest = `sha256:${"a".repeat(64)}`
    assert.strictEqual(canonical(`alpine@${digest}`), `docker://docker.io/library/alpine@${digest}`)
    assert.strictEqual(canonical(`ghcr.io/o/i:1.0@${digest}`), `docker://ghcr.io/o/i@${digest}`)
  })

  it("has nothing to import for a registry alone", () => {
    assert.isTrue(Option.isNone(canonicalImportUrl(parsed("ghcr.io"))))
  })
})

describe("registry facts", () => {
  it("maps docker.io to its API host and leaves others alone", () => {
    assert.strictEqual(registryApiHost("docker.io"), "registry-1.docker.io")
    assert.strictEqual(registryApiHost("ghcr.io"), "ghcr.io")
    assert.strictEqual(registryApiHost("127.0.0.1:5000"), "127.0.0.1:5000")
  })

  it("knows the token pages of the well-known registries only", () => {
    assert.include(Option.getOrThrow(patPageOf("docker.io")), "docker")
    assert.include(Option.getOrThrow(patPageOf("ghcr.io")), "github")
    assert.include(Option.getOrThrow(patPageOf("registry.gitlab.com")), "gitlab")
    for (const gcr of ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io"]) assert.include(Option.getOrThrow(patPageOf(gcr)), "google")
    assert.isTrue(Option.isNone(patPageOf("quay.io")))
    assert.isTrue(Option.isNone(patPageOf("toString")))
    assert.isTrue(isKnownRegistry("docker.io"))
    assert.isTrue(isKnownRegistry("ghcr.io"))
    assert.isFalse(isKnownRegistry("unknown.example.com"))
    assert.isFalse(isKnownRegistry("constructor"))
  })

  it("treats only loopback hosts as loopback", () => {
    for (const host of ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "registry.localhost"]) {
      assert.isTrue(isLoopbackHost(host), host)
    }
    for (const host of ["127.0.0.1.nip.io", "10.0.0.1:5000", "example.com", "localhost.example.com", "[::2]:5000"]) {
      assert.isFalse(isLoopbackHost(host), host)
    }
  })

  it("allows plain HTTP for loopback and listed registries only, by host or host:port", () => {
    assert.isTrue(allowsPlainHttp("127.0.0.1:5000", []))
    assert.isFalse(allowsPlainHttp("registry.lan:5000", []))
    assert.isTrue(allowsPlainHttp("registry.lan:5000", ["registry.lan"]))
    assert.isTrue(allowsPlainHttp("registry.lan:5000", [" Registry.LAN:5000 "]))
    assert.isFalse(allowsPlainHttp("registry.lan:5001", ["registry.lan:5000"]))
    assert.isFalse(allowsPlainHttp("other.lan", ["registry.lan", ""]))
  })
})

describe("parseWwwAuthenticate", () => {
  it("reads a Bearer challenge's realm and service", () => {
    assert.deepStrictEqual(
      parseWwwAuthenticate(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`),
      Option.some({ scheme: "Bearer", realm: "https://auth.docker.io/token", service: "registry.docker.io" })
    )
  })

  it("defaults a missing service to empty, and tolerates case, spaces, scope and unquoted values", () => {
    assert.deepStrictEqual(
      parseWwwAuthenticate(`Bearer realm="https://ghcr.io/token"`),
      Option.some({ scheme: "Bearer", realm: "https://ghcr.io/token", service: "" })
    )
    assert.deepStrictEqual(
      parseWwwAuthenticate(`bearer  Realm = "https://r.example/t" , scope="repository:a/b:pull", service=svc`),
      Option.some({ scheme: "Bearer", realm: "https://r.example/t", service: "svc" })
    )
  })

  it("reads quoted commas and escapes inside values", () => {
    assert.deepStrictEqual(
      parseWwwAuthenticate(`Bearer realm="https://r.example/t?a=1,b=2",service="a \\"b\\""`),
      Option.some({ scheme: "Bearer", realm: "https://r.example/t?a=1,b=2", service: `a "b"` })
    )
  })

  it("reads a Basic challenge (the reference ignored it), with or without a realm", () => {
    assert.deepStrictEqual(parseWwwAuthenticate(`Basic realm="Registry Realm"`), Option.some({ scheme: "Basic", realm: "Registry Realm" }))
    assert.deepStrictEqual(parseWwwAuthenticate("Basic"), Option.some({ scheme: "Basic", realm: "" }))
  })

  it("gives none for an empty header, an unknown scheme, or a Bearer without realm", () => {
    assert.isTrue(Option.isNone(parseWwwAuthenticate("")))
    assert.isTrue(Option.isNone(parseWwwAuthenticate(undefined)))
    assert.isTrue(Option.isNone(parseWwwAuthenticate(`Negotiate abc`)))
    assert.isTrue(Option.isNone(parseWwwAuthenticate(`Bearer service="x"`)))
  })
})

describe("parseLocalImportUrl", () => {
  it("recognises the local schemes, keeping PATH[:REF] for the engine to settle", () => {
    assert.deepStrictEqual(parseLocalImportUrl("oci-archive:/srv/a.tar:v1"), Option.some(Either.right({ scheme: "oci-archive", location: "/srv/a.tar:v1" })))
    assert.deepStrictEqual(parseLocalImportUrl(" oci:/srv/layout "), Option.some(Either.right({ scheme: "oci", location: "/srv/layout" })))
    assert.deepStrictEqual(parseLocalImportUrl("docker-archive:/x.tar"), Option.some(Either.right({ scheme: "docker-archive", location: "/x.tar" })))
    assert.deepStrictEqual(parseLocalImportUrl("tarball:/r.tgz"), Option.some(Either.right({ scheme: "tarball", location: "/r.tgz" })))
  })

  it("leaves registry references alone, oci:// included", () => {
    for (const url of ["oci://ghcr.io/org/app:1", "docker://alpine", "alpine:3.20", "localhost:5000/app"]) {
      assert.isTrue(Option.isNone(parseLocalImportUrl(url)), url)
    }
  })

  it("wants an absolute path, saying so", () => {
    const parsed = parseLocalImportUrl("docker-archive:saved.tar")
    assert.isTrue(Option.isSome(parsed) && Either.isLeft(parsed.value) && parsed.value.left.includes("absolute path"))
  })
})
