/**
 * An operation's event log (spec §1.5), for `GET /operations/{id}/events`: numbered events
 * appended as the fake runs (init and spawn when it starts executing, output as the shell writes
 * it, exit, shutdown and completion when it ends), and a wake-up for followers.
 */
export interface FakeEvent {
  readonly id: number
  readonly ts: string
  readonly spid: number
  readonly type: string
  readonly data: unknown
}

export class FakeEventLog {
  readonly events: FakeEvent[] = []
  private readonly listeners = new Set<() => void>()

  get completed(): boolean {
    return this.events.some((event) => event.type === "completion")
  }

  push(type: string, spid: number, data: unknown): void {
    if (this.completed) return
    this.events.push({ id: this.events.length + 1, ts: new Date().toISOString(), spid, type, data })
    for (const listener of this.listeners) listener()
  }

  /** Calls `listener` on every new event until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
