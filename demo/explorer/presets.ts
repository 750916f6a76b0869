/**
 * "Break it" presets: one known bug each, written as an edit of one entry point's code, and the
 * check that should catch it. A removed barrier may still give the right numbers on a given GPU
 * (the race is there, the schedule just did not expose it), which is why the race detector runs:
 * it interprets one workgroup and reports every unordered pair of accesses. An off-by-one or a
 * wrong stride computes something else, which the comparison with the CPU twin catches.
 */
import { functionLines } from './source';

/** Which check should flag the bug. */
export type Catcher = 'race detector' | 'max error';

export interface Preset {
  id: string;
  /** The explorer kernel it applies to (`family.name`). */
  kernel: string;
  /** The shader family whose file is edited. */
  shader: string;
  /** The entry point whose body the edit is made in. */
  entryPoint: string;
  title: string;
  /** The bug in words, shown with the result. */
  bug: string;
  catcher: Catcher;
  find: string;
  replace: string;
  /** Sizes typed into the fields before the run (a stride bug hides on square matrices). */
  sizes?: Readonly<Record<string, string>>;
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'matmul-staging-barrier',
    kernel: 'matmul.workgroupTile',
    shader: 'matmul',
    entryPoint: 'matmulWorkgroupTile',
    title: 'remove the staging barrier',
    bug: 'invocations read tiles of A and B before the others have finished writing them',
    catcher: 'race detector',
    find: '        workgroupBarrier();\n',
    replace: '',
  },
  {
    id: 'reduce-tree-barrier',
    kernel: 'reduce.lossMean',
    shader: 'reduce',
    entryPoint: 'lossMean',
    title: 'remove the tree barrier',
    bug: 'a step of the tree reads partial sums the previous step may not have written yet',
    catcher: 'race detector',
    find: '      partialSums[lid] += partialSums[lid + stride];\n    }\n    workgroupBarrier();\n',
    replace: '      partialSums[lid] += partialSums[lid + stride];\n    }\n',
  },
  {
    id: 'matmul-k-off-by-one',
    kernel: 'matmul.naive',
    shader: 'matmul',
    entryPoint: 'matmulNaive',
    title: 'off by one: stop the k loop one short',
    bug: 'each C[row, col] leaves out the product of the last column of A and row of B',
    catcher: 'max error',
    find: 'k < params.K; k++',
    replace: 'k + 1u < params.K; k++',
  },
  {
    id: 'matmul-output-stride',
    kernel: 'matmul.naive',
    shader: 'matmul',
    entryPoint: 'matmulNaive',
    title: 'wrong stride: step C rows by K',
    bug: 'C is written with a row stride of K instead of N, so rows land in the wrong places',
    catcher: 'max error',
    find: 'row * params.N + col]',
    replace: 'row * params.K + col]',
    sizes: { M: '37', K: '43', N: '29' },
  },
];

/** The presets of one explorer kernel. */
export function presetsOf(kernel: string): Preset[] {
  return PRESETS.filter((p) => p.kernel === kernel);
}

/** `file` with the preset's edit made inside its entry point; throws if the code is not there. */
export function applyPreset(file: string, preset: Preset): string {
  const lines = file.split('\n');
  const range = functionLines(lines, preset.entryPoint);
  if (!range) throw new Error(`${preset.shader}.wgsl has no fn ${preset.entryPoint}`);
  const body = lines.slice(range[0], range[1]).join('\n');
  const at = body.indexOf(preset.find);
  if (at < 0)
    throw new Error(
      `preset "${preset.title}": fn ${preset.entryPoint} no longer contains ${JSON.stringify(preset.find)}`,
    );
  const edited = body.slice(0, at) + preset.replace + body.slice(at + preset.find.length);
  return [...lines.slice(0, range[0]), edited, ...lines.slice(range[1])].join('\n');
}
