/**
 * The --out folder of a training run. A folder that already holds a run is never written into
 * unless the user said how: `--resume DIR` continues that run (its folder is the default --out),
 * `--overwrite` replaces it, or another --out starts a new one. Without this a plain re-run
 * replaced the previous checkpoint and appended to its metrics.jsonl (epochs 1, 2, 1).
 */
import { lstatSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ShadergradError } from '../core';
import { CHECKPOINT_FILE } from './checkpoint';

/** The files that make a folder hold a run; --overwrite removes them before training. */
export const RUN_FILES = [
  CHECKPOINT_FILE,
  'metrics.jsonl',
  'model.safetensors',
  'optimizer.safetensors',
  'config.json',
] as const;

/** What the train command says about its folders. */
export interface OutFolderArgs {
  out: string;
  resume?: string;
  overwrite: boolean;
}

/** `s` as one shell word, so a printed command can be pasted as it is. */
export function shellWord(s: string): string {
  return /^[\w./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The run files already in --out that this run would replace (removed later with clearRun, once
 * every check has passed). Throws the one-line refusal when the user did not ask for that.
 */
export function runFilesToReplace(a: OutFolderArgs): string[] {
  const held = RUN_FILES.filter((f) => isRegularFile(join(a.out, f)));
  if (held.length === 0) return [];
  if (a.resume !== undefined && resolve(a.resume) === resolve(a.out)) return [];
  if (a.overwrite) return held.map((f) => join(a.out, f));
  const dir = shellWord(a.out);
  throw new ShadergradError(
    `--out ${a.out}: already holds a run (${held.join(', ')}); continue it with --resume ${dir}, replace it with --overwrite, or choose another --out`,
  );
}

/**
 * A run writes its files as regular files; anything else under such a name (a link to a device,
 * say) is the user's own arrangement, not a run to protect.
 */
function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Removes the previous run's files (--overwrite), so none of them mixes into the new run. */
export async function clearRun(files: readonly string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}
