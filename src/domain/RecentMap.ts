/**
 * A Map that keeps only the `limit` most recently set entries: the in-memory copies of what is
 * costly to read or compute again (a synced state's rows, a run's files layer).
 */
export class RecentMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super()
  }

  override set(key: K, value: V): this {
    super.delete(key)
    super.set(key, value)
    if (this.size > this.limit) super.delete(this.keys().next().value!)
    return this
  }
}
