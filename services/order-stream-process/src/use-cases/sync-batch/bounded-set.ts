/** A Set that forgets its oldest entries past `limit`: memory of recent work that must not grow forever. */
export class BoundedSet<T> {
  private readonly entries = new Set<T>();

  constructor(private readonly limit: number) {}

  has(value: T): boolean {
    return this.entries.has(value);
  }

  add(value: T): void {
    this.entries.delete(value);
    this.entries.add(value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.values().next().value!);
  }

  delete(value: T): void {
    this.entries.delete(value);
  }
}

/** A Map that forgets its least recently written entries past `limit`. */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }
}
