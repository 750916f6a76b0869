/**
 * Reads the run folders of the seed-experiment lab (`shadergrad check seed-experiment [DIR]`):
 * each subfolder of DIR that holds a config.json is a run; its config and metrics.jsonl are read
 * as the rest of the CLI reads files (regular files, bounded sizes), and a folder that cannot be
 * read becomes a line in the report rather than a crash.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ShadergradError } from '../base/errors';
import { readFileCapped } from '../base/filesNode';
import { parseTrainConfigText } from '../models/configJson';
import type { EpochResult, RunRecord } from '../course/seedExperiment';

const MAX_RUNS = 200;
const MAX_FILE_BYTES = 1 << 20;

const text = async (path: string) =>
  new TextDecoder().decode(await readFileCapped(path, MAX_FILE_BYTES));

/** The epoch lines of metrics.jsonl that carry the numbers the lab reads. */
function epochsOf(jsonl: string, source: string): EpochResult[] {
  return jsonl
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new ShadergradError(`${source}: line ${i + 1} is not JSON`);
      }
      const v = value as Partial<Record<keyof EpochResult, unknown>>;
      if (
        typeof v.epoch !== 'number' ||
        typeof v.testAccuracy !== 'number' ||
        typeof v.samplesPerS !== 'number'
      )
        throw new ShadergradError(
          `${source}: line ${i + 1} lacks epoch, testAccuracy or samplesPerS`,
        );
      return { epoch: v.epoch, testAccuracy: v.testAccuracy, samplesPerS: v.samplesPerS };
    });
}

/** A run folder whose file names `files` were already listed. */
async function readRun(dir: string, name: string, files: string[]): Promise<RunRecord> {
  const folder = join(dir, name);
  const config = parseTrainConfigText(
    await text(join(folder, 'config.json')),
    join(folder, 'config.json'),
  );
  const metricsPath = join(folder, 'metrics.jsonl');
  const epochs = files.includes('metrics.jsonl')
    ? epochsOf(await text(metricsPath), metricsPath)
    : [];
  return { folder: name, config, epochs, files };
}

/** The runs below `dir`, and one line per subfolder that looked like a run but could not be read. */
export async function readRunFolders(
  dir: string,
): Promise<{ runs: RunRecord[]; problems: string[] }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const reason = e instanceof Error && 'code' in e ? String(e.code) : 'unreadable';
    throw new ShadergradError(
      `check seed-experiment: cannot list ${dir} (${reason}); give the folder that holds your run folders`,
    );
  }
  const folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (folders.length > MAX_RUNS)
    throw new ShadergradError(
      `${dir}: ${folders.length} folders, more than the ${MAX_RUNS} a lab reads`,
    );
  const runs: RunRecord[] = [];
  const problems: string[] = [];
  for (const name of folders) {
    const files = await readdir(join(dir, name));
    if (!files.includes('config.json')) continue;
    try {
      runs.push(await readRun(dir, name, files));
    } catch (e) {
      problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { runs, problems };
}
