/**
 * The kernel explorer's editing logic in Node on the test device: edited sources keep the
 * prelude and replace only the family's file; a case runs the edit in every call of that shader;
 * each "break it" preset still applies to the library's source and is caught by the check it
 * names (the race detector on the kernel's small case, or the max error against the twin), while
 * the library's source passes both; the roofline figures and the verdict follow their formulas.
 */
import { describe, expect, it } from 'vitest';
import { compareCase } from '../../bench/cases';
import { kernelFamilies } from '../../src/kernelApi';
import {
  editedShader,
  errorLocation,
  fileText,
  offsetOf,
  withEdits,
  type ShaderSource,
} from '../../demo/explorer/edits';
import { planWith, type ExplorerKernel } from '../../demo/explorer/kernel';
import { EXPLORER_KERNELS } from '../../demo/explorer/kernels';
import { applyPreset, PRESETS, type Preset } from '../../demo/explorer/presets';
import { detectCallRaces } from '../../demo/explorer/raceCheck';
import { findRaces } from '../../demo/explorer/races';
import { planBytes, roofline } from '../../demo/explorer/roofline';
import { verdictOf } from '../../demo/explorer/runner';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();
const detect = (input: Parameters<typeof detectCallRaces>[0]) =>
  Promise.resolve(detectCallRaces(input));

function kernelOf(id: string): ExplorerKernel {
  const k = EXPLORER_KERNELS.find((x) => x.id === id);
  if (!k) throw new Error(`the explorer lists no ${id}`);
  return k;
}

function library(name: string): ShaderSource {
  const shader = kernelFamilies.find((f) => f.shader.name === name)?.shader;
  if (!shader) throw new Error(`no family ${name}`);
  return shader;
}

/** The preset's edit of its shader, as the editor makes it. */
const edits = (p: Preset): Map<string, ShaderSource> => {
  const lib = library(p.shader);
  return new Map([[p.shader, editedShader(lib, applyPreset(fileText(lib), p))]]);
};

/** Races the detector finds in the kernel's small case, with `shaders` in place. */
async function raceCount(k: ExplorerKernel, shaders: Map<string, ShaderSource>): Promise<number> {
  if (!k.raceSizes) throw new Error(`${k.id} has no race case`);
  const c = withEdits(planWith(k, k.raceSizes).build(gpu()), shaders);
  try {
    const findings = await findRaces(gpu(), c, detect);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) expect(f.errors).toEqual([]);
    return findings.reduce((a, f) => a + f.raceCount, 0);
  } finally {
    c.destroy();
  }
}

/** Whether every output of the kernel's case (the preset's sizes) is within tolerance. */
async function passes(k: ExplorerKernel, shaders: Map<string, ShaderSource>, sizes = {}) {
  const c = withEdits(planWith(k, sizes).build(gpu()), shaders);
  try {
    return (await compareCase(gpu(), c)).every((x) => x.mismatches === 0);
  } finally {
    c.destroy();
  }
}

describe('edited shaders', () => {
  it('keep the prelude and the name, and replace only the file', () => {
    for (const f of kernelFamilies) {
      expect(editedShader(f.shader, fileText(f.shader))).toEqual(f.shader);
      const edited = editedShader(f.shader, '// nothing');
      expect(edited.code.split('\n').slice(f.shader.prefixLines)).toEqual(['// nothing']);
      expect(edited.name).toBe(f.shader.name);
    }
  });

  it('replace the shader of every call (setup too) of that family only', () => {
    const k = kernelOf('conv2d.backward');
    const c = planWith(k, { N: '1', C: '2', H: '5', W: '5', O: '3' }).build(gpu());
    try {
      const matmul = editedShader(library('matmul'), fileText(library('matmul')) + '\n');
      const swapped = withEdits(c, new Map([['matmul', matmul]]));
      for (const [before, after] of [...c.setup, ...c.calls].map(
        (x, i) => [x, [...swapped.setup, ...swapped.calls][i]] as const,
      ))
        expect(after?.shader).toBe(before.shader.name === 'matmul' ? matmul : before.shader);
      expect([...c.setup, ...c.calls].some((x) => x.shader.name === 'matmul')).toBe(true);
    } finally {
      c.destroy();
    }
  });
});

describe('compile error locations', () => {
  it("find the family file's line:col in a report and its offset in the editor's text", () => {
    const report = 'matmul.matmulNaive: shader did not compile:\nmatmul.wgsl:12:7 error: x';
    expect(errorLocation(report, 'matmul')).toEqual({ line: 12, col: 7 });
    expect(errorLocation('common.wgsl:3:1 error', 'matmul')).toBeUndefined();
    expect(errorLocation('submatmul.wgsl:3:1 error', 'matmul')).toBeUndefined();
    const text = 'ab\ncdef\ng';
    expect(offsetOf(text, 2, 3)).toBe(5); // 'e'
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 9, 9)).toBe(text.length);
  });
});

describe('"break it" presets', () => {
  it('are at least three, over more than one kernel, each a change inside its entry point', () => {
    expect(PRESETS.length).toBeGreaterThanOrEqual(3);
    expect(new Set(PRESETS.map((p) => p.kernel)).size).toBeGreaterThan(1);
    for (const p of PRESETS) {
      const file = fileText(library(p.shader));
      const edited = applyPreset(file, p);
      expect(edited, p.id).not.toBe(file);
      expect(edited.split('\n').length).toBeLessThanOrEqual(file.split('\n').length);
      expect(() => applyPreset(edited.replace(p.replace, ''), { ...p, find: '@@' })).toThrow(
        /no longer contains/,
      );
    }
  });

  it.each(PRESETS.filter((p) => p.catcher === 'race detector').map((p) => [p.id, p] as const))(
    '%s: the race detector finds races, none in the library source',
    async (_id, p) => {
      const k = kernelOf(p.kernel);
      expect(await raceCount(k, new Map())).toBe(0);
      expect(await raceCount(k, edits(p))).toBeGreaterThan(0);
    },
  );

  it.each(PRESETS.filter((p) => p.catcher === 'max error').map((p) => [p.id, p] as const))(
    '%s: the twin comparison fails, the library source passes',
    async (_id, p) => {
      const k = kernelOf(p.kernel);
      expect(await passes(k, new Map(), p.sizes)).toBe(true);
      expect(await passes(k, edits(p), p.sizes)).toBe(false);
    },
  );

  it('every kernel with a race case has no races in its library source', async () => {
    const withCase = EXPLORER_KERNELS.filter((k) => k.raceSizes);
    expect(withCase.map((k) => k.id)).toEqual(
      expect.arrayContaining(['matmul.workgroupTile', 'reduce.lossMean']),
    );
    for (const k of withCase) expect(await raceCount(k, new Map()), k.id).toBe(0);
  });
});

describe('roofline and verdict', () => {
  it('computes intensity and the shares of both roofs', () => {
    const peaks = { gflops: 100, gbps: 10 };
    // 2e9 flops and 1e8 bytes in 100 ms: 20 GFLOP/s, 1 GB/s, 20 flops/byte.
    const f = roofline({ unit: 'GFLOP/s', work: 2e9, bytes: 1e8, medianMs: 100 }, peaks);
    expect(f.flopsPerByte).toBe(20);
    expect(f.ofFmaPeak).toBeCloseTo(20, 10);
    expect(f.ofBandwidth).toBeCloseTo(10, 10);
    const g = roofline({ unit: 'GB/s', work: 5e8, bytes: 5e8, medianMs: 100 }, peaks);
    expect(g).toEqual({ ofBandwidth: expect.closeTo(50, 10) as number });
    expect(planBytes({ A: 6, B: 4 })).toBe(40);
  });

  it('fails on either check and names what failed', () => {
    expect(verdictOf(true, 0)).toBe('pass');
    expect(verdictOf(false, 0)).toBe('FAIL: max error');
    expect(verdictOf(true, 3)).toBe('FAIL: 3 races');
    expect(verdictOf(false, 1)).toBe('FAIL: max error, 1 races');
  });
});
