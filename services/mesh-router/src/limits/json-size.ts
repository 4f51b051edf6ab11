/** UTF-8 size of a value as JSON (what is stored and delivered); 0 for undefined. */
export function jsonSize(value: unknown): number {
  if (value === undefined) return 0;
  return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
}
