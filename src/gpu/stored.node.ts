/**
 * Text kept between runs in Node (the autotuner's choices): `<name>.json` in shadergrad's cache
 * folder, SHADERGRAD_CACHE_DIR if set, else $XDG_CACHE_HOME/shadergrad, else ~/.cache/shadergrad.
 * Writes go to a temporary file renamed over the old one, so a reader never sees half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ShadergradError } from '../base/errors';
import type { StoredText } from './platform';

function cacheFolder(): string {
  const env = process.env;
  if (env.SHADERGRAD_CACHE_DIR) return env.SHADERGRAD_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shadergrad');
}

export const storedText: StoredText = {
  where: (name) => join(cacheFolder(), `${name}.json`),
  async read(name) {
    const path = this.where(name);
    try {
      return await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ShadergradError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
    }
  },
  async write(name, text) {
    const path = this.where(name);
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      await mkdir(cacheFolder(), { recursive: true });
      await writeFile(temporary, text);
      await rename(temporary, path);
    } catch (cause) {
      throw new ShadergradError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
    }
  },
};
