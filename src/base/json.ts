/** Shapes of parsed JSON, one rule each (config files, the tune cache). Imports nothing. */

/** A JSON object: not null, not an array. */
export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
