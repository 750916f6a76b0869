/**
 * The kernel explorer's transformer and language-model entries (demo/explorer/transformerKernels)
 * in Node on the test device: each plans from the form's strings, builds its case and passes its
 * check against the CPU twin on small, awkward sizes; the work formulas are the ones stated; and
 * every entry point the page names before a run is a registered one (its source panel finds it).
 * The page itself, every kernel at its default sizes, is tests/e2e/explorer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compare, compareCase } from '../../bench/cases';
import { kernelFamilies, NO_TOKEN, readTensor, writeTensor } from '../../src/kernelApi';
import { parseValues } from '../../demo/explorer/fields';
import { type ExplorerKernel } from '../../demo/explorer/kernel';
import { EXPLORER_KERNELS } from '../../demo/explorer/kernels';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

function entry(id: string): ExplorerKernel {
  const k = EXPLORER_KERNELS.find((x) => x.id === id);
  if (!k) throw new Error(`the explorer lists no ${id}`);
  return k;
}

/** The plan for `sizes` typed over the fields' initial values, as the page parses them. */
function planOf(id: string, sizes: Record<string, string>) {
  const k = entry(id);
  const raw = (key: string): string => {
    const field = k.fields.find((f) => f.key === key);
    return sizes[key] ?? String(field?.initial);
  };
  return k.plan(parseValues(k.fields, raw));
}

/** Builds, runs once and compares; returns the comparisons (the case is destroyed). */
async function runChecked(id: string, sizes: Record<string, string>) {
  const c = planOf(id, sizes).build(gpu());
  try {
    return await compareCase(gpu(), c);
  } finally {
    c.destroy();
  }
}

const NEW_ENTRIES: [string, Record<string, string>][] = [
  ['gelu.forward', { count: '1001', approximate: 'none' }],
  ['gelu.forward', { count: '1001', approximate: 'tanh' }],
  ['gelu.backward', { count: '1001', approximate: 'none' }],
  ['gelu.backward', { count: '1001', approximate: 'tanh' }],
  ['transpose.transpose', { A: '3', B: '13', C: '5', D: '7' }],
  ['embedding.forward', { N: '130', V: '11', C: '16' }],
  ['embedding.backward', { N: '130', V: '11', C: '16' }],
  ['embedding.backward', { N: '50', V: '300', C: '8' }], // most rows never drawn: zeros
  ['sample.sampleToken', { rows: '3', V: '65', topK: '5', temperature: '1.5' }],
  ['sample.sampleToken', { rows: '1', V: '1000', topK: '0', temperature: '0.5' }],
];

describe('explorer transformer entries', () => {
  it.each(NEW_ENTRIES)('%s %o passes its check against the twin', async (id, sizes) => {
    const comparisons = await runChecked(id, sizes);
    expect(comparisons.length).toBeGreaterThan(0);
    for (const c of comparisons) {
      expect(c.mismatches, `${c.output}: ${c.firstMismatch}`).toBe(0);
      expect(Number.isFinite(c.maxError)).toBe(true); // within atol + rtol·|want| elementwise
    }
  });

  it('states the work of a run in bytes', () => {
    const n = 1001;
    expect(planOf('gelu.forward', { count: `${n}` }).work).toBe(4 * 2 * n); // x, y
    expect(planOf('gelu.backward', { count: `${n}` }).work).toBe(4 * 3 * n); // x, dY, dX
    const abcd = { A: '3', B: '13', C: '5', D: '7' };
    expect(planOf('transpose.transpose', abcd).work).toBe(8 * 3 * 13 * 5 * 7); // x, out
    const [N, V, C] = [130, 11, 16];
    const nvc = { N: `${N}`, V: `${V}`, C: `${C}` };
    expect(planOf('embedding.forward', nvc).work).toBe(4 * (N + 2 * N * C));
    expect(planOf('embedding.backward', nvc).work).toBe(4 * (N + N * C + V * C));
    expect(planOf('sample.sampleToken', { V: '65' }).work).toBe(4 * (65 + 4 + 1));
  });

  it("fails the draw's check on an id that does not hold u, and on NO_TOKEN", async () => {
    const c = planOf('sample.sampleToken', { rows: '2', V: '65', topK: '0' }).build(gpu());
    try {
      expect((await compareCase(gpu(), c))[0]?.mismatches).toBe(0);
      const token = c.calls[0]?.tensors[2]; // sampleToken's logits, draw, token
      if (!token) throw new Error('sampleToken has no token tensor');
      const id = (await readTensor(gpu(), token))[0] ?? 0;
      // Half the vocabulary away: far from u's interval, whichever it is.
      for (const wrong of [(id + 32) % 65, NO_TOKEN]) {
        writeTensor(gpu(), token, Uint32Array.of(wrong));
        const [bad] = (await c.check()).map(compare);
        expect(bad?.output).toBe(`token ${wrong} (twin ${id})`);
        expect(bad?.mismatches).toBe(1);
      }
    } finally {
      c.destroy();
    }
  });

  it('names only registered entry points, so the source panel shows each', () => {
    const registered = new Set(kernelFamilies.flatMap((f) => Object.keys(f.entryPoints)));
    for (const k of EXPLORER_KERNELS)
      for (const e of k.entryPoints(undefined)) expect(registered, k.id).toContain(e);
  });
});
