/**
 * A Map that holds at most `max` entries: adding one more drops the oldest inserted (a Map
 * iterates in insertion order). The per-process memos of the request path (verified cookie
 * signatures, CSRF tokens, ISO dates, near-cache entries, failed touches) use it, so each is
 * bounded the same way and none of them empties itself all at once when it fills up.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
