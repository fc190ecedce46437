import { EventEmitter } from "node:events"
import type { ServerResponse } from "node:http"
import { describe, expect, it } from "vitest"
import { makeHttpSessions } from "../../src/mcp/HttpSessions.js"

const transport = () => {
  const closed = { count: 0 }
  return { closed, close: async () => void (closed.count += 1) }
}
const response = () => new EventEmitter() as unknown as ServerResponse

describe("HttpSessions", () => {
  it("closes a session idle for the limit, and only that one", async () => {
    let clock = 0
    const sessions = makeHttpSessions<ReturnType<typeof transport>>(1000, () => clock)
    const idle = transport()
    const recent = transport()
    sessions.add("idle", idle)
    clock = 600
    sessions.add("recent", recent)
    clock = 1000
    expect(await sessions.sweep()).toBe(1)
    expect(idle.closed.count).toBe(1)
    expect(recent.closed.count).toBe(0)
    expect(sessions.get("idle")).toBeUndefined()
    expect(sessions.get("recent")).toBe(recent)
  })

  it("keeps a session with an open response however long, and counts idleness from when it closes", async () => {
    let clock = 0
    const sessions = makeHttpSessions<ReturnType<typeof transport>>(1000, () => clock)
    const busy = transport()
    sessions.add("busy", busy)
    const res = response()
    sessions.track("busy", res)
    clock = 5000
    expect(await sessions.sweep()).toBe(0)
    ;(res as unknown as EventEmitter).emit("close")
    clock = 5999
    expect(await sessions.sweep()).toBe(0)
    clock = 6000
    expect(await sessions.sweep()).toBe(1)
    expect(busy.closed.count).toBe(1)
  })

  it("closeAll closes every session", async () => {
    const sessions = makeHttpSessions<ReturnType<typeof transport>>()
    const a = transport()
    const b = transport()
    sessions.add("a", a)
    sessions.add("b", b)
    await sessions.closeAll()
    expect([a.closed.count, b.closed.count]).toEqual([1, 1])
    expect(sessions.get("a")).toBeUndefined()
  })
})
