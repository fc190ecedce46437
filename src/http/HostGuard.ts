import { isIP } from "node:net"

const loopbackNames = ["localhost", "127.0.0.1", "[::1]"]

/** `host[:port]` without the port, keeping IPv6 brackets. */
const hostName = (hostHeader: string): string => hostHeader.replace(/:\d+$/, "").toLowerCase()

const isIpLiteral = (host: string): boolean => isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0

/** The request headers the guard judges; absent headers are `undefined`. */
export interface HostHeaders {
  readonly host: string | undefined
  readonly origin: string | undefined
}

/**
 * DNS-rebinding defence for a server on `listen`: a web page can make a browser send requests to
 * this port under the page's own domain name, so requests are served only when addressed to a
 * loopback name, to the listen address, or (when listening on every interface) to any IP literal,
 * which no DNS answer can forge. Browser requests must come from such an origin too.
 * Used by the MCP HTTP transport and by `contree-mcp serve`.
 */
export const makeHostGuard = (listen: string) => {
  const wildcard = listen === "0.0.0.0" || listen === "::"
  const allowed = new Set([...loopbackNames, isIP(listen) === 6 ? `[${listen}]` : listen.toLowerCase()])
  const acceptable = (host: string) => allowed.has(host) || (wildcard && isIpLiteral(host))
  return ({ host, origin }: HostHeaders): boolean => {
    if (host === undefined || !acceptable(hostName(host))) return false
    if (origin === undefined) return true
    try {
      return acceptable(new URL(origin).hostname.toLowerCase())
    } catch {
      return false
    }
  }
}
