/** pg returns bigint and numeric as strings; ids become numbers only when that is exact. */
export function toSafeInteger(value: string | number, column: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`${column} value ${String(value)} is not a safe integer`);
  return n;
}

