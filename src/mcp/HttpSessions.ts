import type { ServerResponse } from "node:http"

/** What the session table needs of a transport: closing it ends its MCP server too. */
export interface ClosableTransport {
  readonly close: () => Promise<void>
}

interface Entry<T extends ClosableTransport> {
  readonly transport: T
  /** Requests (an SSE stream included) whose response is still open. */
  active: number
  lastSeen: number
}

/** A session nobody used for this long is closed; a client that resumes gets 404 and starts a new one. */
export const SESSION_IDLE_MS = 30 * 60 * 1000

/**
 * Streamable-HTTP sessions by id. A client that goes away without DELETE would otherwise keep its
 * session, and its MCP server, for the life of the process: `sweep` closes the ones that have no
 * open response and saw no request for `idleMs`.
 */
export const makeHttpSessions = <T extends ClosableTransport>(idleMs = SESSION_IDLE_MS, now: () => number = Date.now) => {
  const entries = new Map<string, Entry<T>>()

  return {
    add: (id: string, transport: T) => {
      entries.set(id, { transport, active: 0, lastSeen: now() })
    },
    remove: (id: string) => {
      entries.delete(id)
    },
    get: (id: string): T | undefined => entries.get(id)?.transport,
    /** Marks the session busy until `res` closes: a long tool call or an open SSE stream is not idleness. */
    track: (id: string, res: ServerResponse) => {
      const entry = entries.get(id)
      if (entry === undefined) return
      entry.active += 1
      entry.lastSeen = now()
      res.once("close", () => {
        entry.active -= 1
        entry.lastSeen = now()
      })
    },
    /** Closes idle sessions; returns how many. */
    sweep: async (): Promise<number> => {
      const idle = [...entries].filter(([, entry]) => entry.active === 0 && now() - entry.lastSeen >= idleMs)
      for (const [id] of idle) entries.delete(id)
      await Promise.all(idle.map(([, entry]) => entry.transport.close()))
      return idle.length
    },
    closeAll: async () => {
      const all = [...entries.values()]
      entries.clear()
      await Promise.all(all.map((entry) => entry.transport.close()))
    }
  }
}
