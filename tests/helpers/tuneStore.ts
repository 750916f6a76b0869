/** A tune cache in memory, for tests of the autotuner and of what keeps its choices. */
import type { StoredText } from '../../src/gpu/platform';
import { TUNE_CACHE_NAME } from '../../src/graph/tuneCache';

/** A store in memory that counts its writes; `text` is what it holds. */
export function memoryStore(text?: string): StoredText & { text?: string; writes: number } {
  const store = {
    text,
    writes: 0,
    read: (name: string) => Promise.resolve(name === TUNE_CACHE_NAME ? store.text : undefined),
    write: (_name: string, value: string) => {
      store.text = value;
      store.writes++;
      return Promise.resolve();
    },
    where: (name: string) => `memory:${name}`,
  };
  return store;
}

/** Every product's choice in `store` replaced by `choice` (paths kept), as another machine might store. */
export function forceChoices(store: { text?: string }, choice: string): string {
  store.text = (store.text ?? '').replace(
    /"choice": "(?!implicit|im2col")[^"]*"/g,
    `"choice": "${choice}"`,
  );
  return store.text;
}

/** The stored choice of every entry whose key starts with `keyStart` set to `choice`. */
export function setStoredChoice(store: { text?: string }, keyStart: string, choice: string): void {
  const file = JSON.parse(store.text ?? '{}') as {
    devices?: Record<string, Record<string, { choice: string }>>;
  };
  let found = 0;
  for (const entries of Object.values(file.devices ?? {}))
    for (const [key, entry] of Object.entries(entries))
      if (key.startsWith(keyStart)) {
        entry.choice = choice;
        found++;
      }
  if (found === 0) throw new Error(`no stored choice for ${keyStart}`);
  store.text = JSON.stringify(file, null, 1);
}
