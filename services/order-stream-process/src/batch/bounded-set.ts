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
