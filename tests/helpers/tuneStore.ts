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
