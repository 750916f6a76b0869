/**
 * Text kept between runs in a browser (the autotuner's choices): one IndexedDB database,
 * "shadergrad", with a key-value store; IndexedDB also exists in workers, where the demo trains.
 * Without IndexedDB (some private modes) nothing is kept and reads find nothing.
 */
import { ShadergradError } from '../base/errors';
import type { StoredText } from './platform';

const DATABASE = 'shadergrad';
const STORE = 'stored';

function openDatabase(): Promise<IDBDatabase | undefined> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      reject(new ShadergradError(`IndexedDB ${DATABASE}: ${String(request.error)}`));
  });
}

async function withStore<T>(
  mode: IDBTransactionMode,
  use: (store: IDBObjectStore) => IDBRequest,
): Promise<T | undefined> {
  const db = await openDatabase();
  if (!db) return undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = use(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result as T);
      request.onerror = () =>
        reject(new ShadergradError(`IndexedDB ${DATABASE}: ${String(request.error)}`));
    });
  } finally {
    db.close();
  }
}

export const storedText: StoredText = {
  where: (name) => `IndexedDB ${DATABASE}/${STORE}/${name}`,
  async read(name) {
    const value = await withStore<unknown>('readonly', (s) => s.get(name));
    return typeof value === 'string' ? value : undefined;
  },
  async write(name, text) {
    await withStore('readwrite', (s) => s.put(text, name));
  },
};
