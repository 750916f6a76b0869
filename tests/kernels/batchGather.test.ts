import { describe, expect, it } from 'vitest';
import { readTensor, uploadTensor } from '../../src/gpu/buffers';
import { dispatchFor, runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { gatherImages, gatherLabels } from '../../src/kernels/batchGather';
import { gatherImagesCpu, gatherLabelsCpu } from '../../src/kernels/batchGather.cpu';
import { expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { mulberry32 } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

// byte / 255 is one f32 division, which WGSL allows to be off by 2.5 ulp: 2.5 * 2^-23 relative.
const pixelTol = { atol: 0, rtol: 2.5 * 2 ** -23 };
// Output fill before the kernel runs: a NaN unlike the kernel's own, so unwritten NaNs show.
const UNWRITTEN = 0x7fc0dead;

const gpu = useTestGpu();

function randomBytes(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** A shuffled 0..count-1 (Fisher-Yates), then `extra` indices >= count appended. */
function permutation(count: number, seed: number, extra: number[] = []): Uint32Array {
  const r = mulberry32(seed);
  const p = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j] ?? 0, p[i] ?? 0];
  }
  return Uint32Array.from([...p, ...extra]);
}

/** Pixels match within pixelTol; where the twin has NaN, the GPU wrote its own NaN. */
function expectPixels(got: Float32Array, want: Float32Array): void {
  const bits = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const nan = [...want.keys()].filter((i) => Number.isNaN(want[i]));
  for (const i of nan)
    expect(
      Number.isNaN(got[i]) && bits[i] !== UNWRITTEN,
      `pixel ${i} should be a written NaN`,
    ).toBe(true);
  const keep = (_: number, i: number) => !Number.isNaN(want[i]);
  expectAllClose(got.filter(keep), want.filter(keep), pixelTol, 'pixels');
}

async function gpuImages(
  bytes: Uint8Array,
  count: number,
  P: number,
  perm: Uint32Array,
  batch: number,
  offset: number,
  tweak = (c: KernelCall) => c,
) {
  const images = uploadTensor(gpu(), bytes, [count, P], { dtype: 'u8' });
  const out = guardedOutput(gpu(), [batch, P], 'f32', UNWRITTEN);
  await runCalls(gpu(), [
    tweak(
      gatherImages({
        images,
        perm: uploadTensor(gpu(), perm, [perm.length]),
        out: out.tensor,
        offset,
        batch,
      }),
    ),
  ]);
  const got = Float32Array.from(await readTensor(gpu(), out.tensor));
  await out.check();
  const want = new Float32Array(batch * P);
  gatherImagesCpu({ images: bytes, perm, out: want, offset, batch });
  return { got, want };
}

describe('batchGather twin', () => {
  it('matches a hand-worked batch', () => {
    // 3 images of 5 pixels; perm [2, 0, 1, 7], batch of 3 from offset 1: images 0, 1 and 7 (bad).
    const images = Uint8Array.from([0, 255, 128, 1, 2, 10, 20, 30, 40, 50, 3, 6, 9, 12, 255]);
    const perm = [2, 0, 1, 7];
    const out = new Float64Array(15);
    gatherImagesCpu({ images, perm, out, offset: 1, batch: 3 });
    expect([...out.subarray(0, 10)]).toEqual([
      0,
      1,
      128 / 255,
      1 / 255,
      2 / 255,
      10 / 255,
      20 / 255,
      30 / 255,
      40 / 255,
      50 / 255,
    ]);
    expect(out.subarray(10).every(Number.isNaN)).toBe(true);
    const labels = new Int32Array(4);
    gatherLabelsCpu({ labels: Uint8Array.from([4, 9, 1]), perm, out: labels, offset: 0, batch: 4 });
    expect([...labels]).toEqual([1, 4, 9, -1]);
  });
});

describe('batchGather on the GPU', () => {
  const count = 101; // not a multiple of 4: the last image's bytes end mid-word
  describe.each([784, 7])('P = %i', (P) => {
    const bytes = randomBytes(count * P, P);
    it.each([
      [1, 0],
      [7, 3],
      [64, 13],
      [64, 37],
    ])('images and labels match the twin, B = %i, offset = %i', async (batch, offset) => {
      const perm = permutation(count, batch + offset);
      const { got, want } = await gpuImages(bytes, count, P, perm, batch, offset);
      expectPixels(got, want);

      const labelBytes = randomBytes(count, 7 * P + batch);
      const out = guardedOutput(gpu(), [batch], 'i32', UNWRITTEN);
      const labels = uploadTensor(gpu(), labelBytes, [count], { dtype: 'u8' });
      await runCalls(gpu(), [
        gatherLabels({
          labels,
          perm: uploadTensor(gpu(), perm, [count]),
          out: out.tensor,
          offset,
          batch,
        }),
      ]);
      const wantLabels = new Int32Array(batch);
      gatherLabelsCpu({ labels: labelBytes, perm, out: wantLabels, offset, batch });
      expect([...(await readTensor(gpu(), out.tensor))]).toEqual([...wantLabels]);
      await out.check();
    });
  });

  it('writes NaN pixels and label -1 for indices >= count, reading nothing out of bounds', async () => {
    const P = 7;
    const bytes = randomBytes(count * P, 1);
    const perm = permutation(count, 2, [count, count + 3, 0xffffffff, count - 1]);
    const offset = count - 2; // the batch: two valid indices, three bad ones, the last image
    const { got, want } = await gpuImages(bytes, count, P, perm, 6, offset);
    expect(want.filter(Number.isNaN).length).toBe(3 * P);
    expectPixels(got, want);

    const labelBytes = randomBytes(count, 3);
    const out = guardedOutput(gpu(), [6], 'i32', UNWRITTEN);
    const labels = uploadTensor(gpu(), labelBytes, [count], { dtype: 'u8' });
    await runCalls(gpu(), [
      gatherLabels({
        labels,
        perm: uploadTensor(gpu(), perm, [perm.length]),
        out: out.tensor,
        offset,
        batch: 6,
      }),
    ]);
    const gotLabels = [...(await readTensor(gpu(), out.tensor))];
    expect(gotLabels.slice(2, 5)).toEqual([-1, -1, -1]);
    expect(gotLabels[5]).toBe(labelBytes[count - 1]);
    await out.check();
  });

  it('covers every element of a grid past 65535 workgroups', async () => {
    // workgroupSize is an override: 32 threads per workgroup need > 65535 workgroups for 2.1M pixels.
    const P = 784;
    const batch = 2700;
    const n = 2703;
    const perm = permutation(n, 5);
    const smallGroups = (c: KernelCall): KernelCall => ({
      ...c,
      constants: { workgroupSize: 32 },
      workgroups: dispatchFor(batch * P, 32),
    });
    expect(dispatchFor(batch * P, 32)[1]).toBeGreaterThan(1);
    const { got, want } = await gpuImages(randomBytes(n * P, 9), n, P, perm, batch, 3, smallGroups);
    expectPixels(got, want);
  });

  it('rejects bad shapes, dtypes and ranges', () => {
    const images = uploadTensor(gpu(), new Uint8Array(10 * 7), [10, 7], { dtype: 'u8' });
    const perm = uploadTensor(gpu(), permutation(10, 1), [10]);
    const out = upload(gpu(), new Float32Array(4 * 7), [4, 7]);
    expect(() => gatherImages({ images, perm, out, offset: 7, batch: 4 })).toThrow(/runs past/);
    expect(() => gatherImages({ images, perm, out, offset: 0, batch: 3 })).toThrow(/P|out/);
    expect(() => gatherImages({ images: out, perm, out, offset: 0, batch: 4 })).toThrow(/u8/);
    expect(() =>
      gatherImages({
        images,
        perm,
        out: upload(gpu(), new Float32Array(4 * 8), [4, 8]),
        offset: 0,
        batch: 4,
      }),
    ).toThrow(/images/);
    expect(() => gatherLabels({ labels: images, perm: out, out, offset: 0, batch: 4 })).toThrow(
      /u32/,
    );
    expect(() => gatherLabels({ labels: images, perm, out, offset: 0, batch: 4 })).toThrow(/i32/);
  });
});
