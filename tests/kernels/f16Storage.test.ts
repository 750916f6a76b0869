/**
 * Half-precision storage (mixed precision): the host's f16 conversion, matmul reading f16 operands,
 * im2col writing f16 cols, and the implicit convolution padding x into f16 and reading it back,
 * each against the CPU twin given the same f16-rounded values.
 *
 * Tolerances: the GPU and the twin multiply the same f16 values (exact in f32), so an f16 product
 * is held to the f32 dot-product tolerance of tests/helpers/matmulCheck.ts. f16 cols are one
 * rounding of an exact copy: WGSL lets the conversion pick either f16 neighbour of a value it
 * cannot represent, so each must be within one f16 step (ulp) of the twin's value. The implicit
 * convolution's sums are held to the f32 tolerance against the twin run on the f16 values the GPU
 * stored (read back), which separates the one rounding from the sums. On a device
 * without `shader-f16` (SwiftShader, the plain device) the same calls must be refused by name.
 */
import { describe, expect, it } from 'vitest';
import { f16Bits, f16Value, fromF16, roundToF16, toF16 } from '../../src/base/f16';
import { createTensor, readFloat32, readTensor, uploadTensor } from '../../src/gpu/buffers';
import { runCalls } from '../../src/gpu/dispatch';
import { elementCount } from '../../src/gpu/tensor';
import { matmul, type MatmulChoice, type MatmulVariant } from '../../src/kernels/matmul';
import { im2col, type Im2colEntry } from '../../src/kernels/conv2dIm2col';
import { im2colCpu } from '../../src/kernels/conv2dIm2col.cpu';
import { conv2dGeometry, type Conv2dGeometry } from '../../src/kernels/geometry';
import { conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import {
  conv2dImplicitForward,
  conv2dImplicitWeightGrad,
  forwardProductGeometry,
  implicitConvProblem,
  inputPaddedShape,
  outputRowsShape,
  weightForwardShape,
  weightGradPadsRows,
} from '../../src/kernels/conv2dImplicitConv';
import { conv2dPadGradientCpu, conv2dWeightGradCpu } from '../../src/kernels/conv2dImplicit.cpu';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { randomFloats } from '../../src/base/random';
import { checkCase, type Case } from '../helpers/matmulCheck';
import { onF16Device, plainTestGpu, upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('f16 on the host', () => {
  it('rounds to nearest, ties to even, like an f16 store', () => {
    expect(f16Bits(1)).toBe(0x3c00);
    expect(f16Bits(-2)).toBe(0xc000);
    expect(f16Bits(65504)).toBe(0x7bff); // the largest finite f16
    expect(f16Bits(65519)).toBe(0x7bff); // below the tie with 65536
    expect(f16Bits(65520)).toBe(0x7c00); // the tie rounds to even: infinity
    expect(f16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1 + 2^-10: even is 1
    expect(f16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between odd and even: even above
    expect(f16Bits(2 ** -24)).toBe(0x0001); // the smallest subnormal
    expect(f16Bits(2 ** -25)).toBe(0x0000); // half of it: the tie rounds to even zero
    expect(f16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(f16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // the top subnormal rounds up to a normal
    expect(f16Bits(-0)).toBe(0x8000);
    expect(f16Bits(Infinity)).toBe(0x7c00);
    expect(f16Value(f16Bits(NaN))).toBeNaN();
  });

  it('maps every finite f16 back to itself', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue; // infinities and NaNs: checked above
      const value = f16Value(bits);
      if (f16Bits(value) !== bits) throw new Error(`0x${bits.toString(16)} -> ${value}`);
    }
    expect(fromF16(toF16([0.1, -3.75, 1e-6]))).toEqual(roundToF16([0.1, -3.75, 1e-6]));
  });
});

// Products of the graph's f16 uses (B = cols: conv forward and weight gradient; A = dense input)
// and awkward shapes, on every variant; each new module costs a compile, so the list stays short.
const halfCases: Case[] = [
  { name: 'B f16, 7x3x5', M: 7, K: 3, N: 5, half: ['b'] },
  { name: 'B f16 as vec4, conv forward, batch 3', M: 9, K: 27, N: 36, batch: 3, aBatchStride: 0, biasMode: 'row', activation: 'relu', half: ['b'] }, // prettier-ignore
  { name: 'Bᵀ f16, summed (weight gradient) in runs of 2', M: 8, K: 52, N: 25, batch: 5, transB: true, sumBatches: true, productsPerSum: 2, half: ['b'] }, // prettier-ignore
  { name: 'A f16, A·Bᵀ (dense) 33x70x129', M: 33, K: 70, N: 129, transB: true, biasMode: 'col', half: ['a'] }, // prettier-ignore
  { name: 'A and B f16, transA 20x8x36', M: 20, K: 8, N: 36, transA: true, half: ['a', 'b'] },
  { name: 'B f16, entries ~1e3', M: 21, K: 300, N: 20, scale: 1e3, biasMode: 'row', half: ['b'] },
];

const choices: (MatmulVariant | MatmulChoice)[] = [
  'naive',
  'registerTile',
  'workgroupTile',
  'subgroupTile',
  { variant: 'registerTile', quadK: true },
];

/** The distance between the f16 values on either side of `x` (f16's ulp at x; normal range). */
function f16Step(x: number): number {
  return Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10));
}

/**
 * Indices where `got` (values read back from an f16 tensor) is more than one f16 step from the
 * twin's `want`: a conversion may take either f16 neighbour of a value it cannot represent.
 */
function beyondOneF16Step(got: Float32Array, want: Float32Array): number[] {
  return [...got.keys()].filter(
    (i) => !(Math.abs((got[i] ?? NaN) - (want[i] ?? NaN)) <= f16Step(want[i] ?? NaN)),
  );
}

describe.each(choices)('matmul %j with f16 operands', (choice) => {
  it.each(halfCases)('$name matches the twin', async (c) => {
    const variant = typeof choice === 'string' ? choice : choice.variant;
    if (variant === 'subgroupTile' && !gpu().hasSubgroups) return; // matmulSubgroup.test.ts
    await onF16Device(gpu(), () => checkCase(gpu(), c, choice));
  });
});

describe('matmul f16 labels and refusals', () => {
  it('names the f16 operands in the label, and refuses other dtypes', () => {
    const g = gpu();
    const a = uploadTensor(g, toF16([1, 2, 3, 4]), [4]);
    const b = upload(g, [1, 2, 3, 4], [4]);
    const out = createTensor(g, [4]);
    expect(matmul({ a, b, out, M: 2, K: 2, N: 2 }).label).toContain('A·B, M=2 K=2 N=2, A f16');
    const ints = createTensor(g, [4], { dtype: 'i32' });
    expect(() => matmul({ a: ints, b, out, M: 2, K: 2, N: 2 })).toThrow(
      /a is i32, expected f32 or f16/,
    );
    const halfOut = createTensor(g, [4], { dtype: 'f16' });
    expect(() => matmul({ a, b, out: halfOut, M: 2, K: 2, N: 2 })).toThrow(
      /out is f16, expected f32/,
    );
  });

  it('is refused on a device without shader-f16, naming the feature', async () => {
    const plain = await plainTestGpu();
    try {
      const c: Case = { name: 'plain', M: 3, K: 4, N: 5, half: ['b'] };
      await expect(checkCase(plain, c, 'registerTile')).rejects.toThrow(
        /matmul\.matmulRegisterTile.*needs the device feature shader-f16, which this device lacks/,
      );
    } finally {
      plain.destroy();
    }
  });
});

describe('im2col writing f16 cols', () => {
  const entries: Im2colEntry[] = ['im2colPlaneVec4', 'im2colPlane', 'im2col'];
  const geometries = [
    { name: 'reference conv2, batch 1', g: conv2dGeometry({ N: 1, C: 3, H: 14, W: 14 }, 5, 1, 'same') }, // prettier-ignore
    { name: 'odd 7x9 input, stride 2, valid', g: conv2dGeometry({ N: 2, C: 2, H: 7, W: 9 }, 3, 2, 'valid') }, // prettier-ignore
  ];
  it.each(geometries)('$name: cols are the twin rounded to f16', async ({ g }) => {
    await onF16Device(gpu(), async () => {
      // up to 6e4: near the top of f16's range (65504), where a step is 32
      const x = randomFloats(g.N * g.C * g.H * g.W, 11, -6e4, 6e4);
      const want = new Float32Array(g.N * g.C * g.KH * g.KW * g.OH * g.OW);
      im2colCpu({ x, cols: want, geometry: g });
      const xTensor = upload(gpu(), x, [x.length]);
      for (const im2colEntry of entries) {
        const cols = createTensor(gpu(), [want.length], { dtype: 'f16' });
        const call = im2col({ x: xTensor, cols, geometry: g }, { im2colEntry });
        expect(call.label).toContain('cols f16');
        await runCalls(gpu(), [call]);
        const got = fromF16(await readTensor(gpu(), cols));
        const far = beyondOneF16Step(got, want);
        expect(far.slice(0, 3), `${im2colEntry}: cols more than one f16 step off`).toEqual([]);
      }
    });
  });
});

describe('the implicit forward and weight gradient reading an f16 padded x', () => {
  const geometries = [
    { name: 'conv2 of the CNN, smaller (4 channels per vec4)', g: conv2dGeometry({ N: 2, C: 8, H: 14, W: 14 }, 5, 1, 2), O: 16 }, // prettier-ignore
    { name: 'one channel by taps (conv1), odd width 13', g: conv2dGeometry({ N: 2, C: 1, H: 9, W: 13 }, 5, 1, 2), O: 8 }, // prettier-ignore
    { name: 'batch 1, k3, dOut rows padded (OW 7)', g: conv2dGeometry({ N: 1, C: 4, H: 6, W: 7 }, 3, 1, 1), O: 12 }, // prettier-ignore
  ];
  it.each(geometries)('$name: the twin on the values stored', async ({ g, O }) => {
    if (!gpu().hasSubgroups) {
      expect(implicitConvProblem(g, O, false)).toMatch(/subgroups/);
      return;
    }
    await onF16Device(gpu(), async () => {
      const on = gpu();
      const x = randomFloats(g.N * g.C * g.H * g.W, 71, -1, 1);
      const weight = randomFloats(O * g.C * g.KH * g.KW, 72, -1, 1);
      const bias = randomFloats(O, 73, -1, 1);
      const dOut = randomFloats(g.N * O * g.OH * g.OW, 74, -1, 1);
      const xPadded = createTensor(on, inputPaddedShape(g, O), { dtype: 'f16' });
      const out = createTensor(on, [g.N, O, g.OH, g.OW]);
      const forward = conv2dImplicitForward({
        x: upload(on, x, [g.N, g.C, g.H, g.W]),
        weight: upload(on, weight, [O, g.C, g.KH, g.KW]),
        bias: upload(on, bias, [O]),
        out,
        xPadded,
        weightForward: createTensor(on, weightForwardShape(g, O)),
        geometry: g,
        O,
        activation: 'relu',
      });
      expect(forward.at(-1)?.label).toContain('x stored as f16');
      await runCalls(on, forward);

      // x padded: the twin's padding rounded to f16, within one f16 step (either neighbour)
      const stored = fromF16(await readTensor(on, xPadded));
      const padded = new Float32Array(stored.length);
      const pg = forwardProductGeometry(g, O);
      conv2dPadGradientCpu({ dOut: x, dOutPadded: padded, geometry: pg, O: g.C });
      const far = beyondOneF16Step(stored, padded);
      expect(far.slice(0, 3), 'padded x more than one f16 step off').toEqual([]);

      // out: the direct twin on the f16 values the GPU stored, summed in f32
      const xStored = unpadded(stored, g, O);
      const want = new Float64Array(elementCount(out.shape));
      conv2dForwardCpu({ x: xStored, weight, bias, out: want, geometry: g, O });
      const terms = g.C * g.KH * g.KW + 1;
      const outTol = dotTolerance(terms, terms);
      expectAllClose(
        await readFloat32(on, out),
        want.map((v) => Math.max(v, 0)),
        outTol,
        'out',
      );

      // dWeight: the twin over the same stored values (one run of the whole batch)
      const rows = weightGradPadsRows(g) ? createTensor(on, outputRowsShape(g, O)) : undefined;
      const dWeight = createTensor(on, [1, O, g.C * g.KH * g.KW]);
      const backward = conv2dImplicitWeightGrad({
        dOut: upload(on, dOut, [g.N, O, g.OH, g.OW]),
        xPadded,
        ...(rows ? { dOutRows: rows } : {}),
        dWeightRuns: dWeight,
        geometry: g,
        O,
        run: g.N,
      });
      expect(backward.at(-1)?.label).toContain('x stored as f16');
      await runCalls(on, backward);
      const dOutRows = rows ? await readFloat32(on, rows) : dOut; // rows: an exact copy
      const twin = new Float64Array(O * g.C * g.KH * g.KW);
      conv2dWeightGradCpu({ dOutRows, xPadded: stored, dWeightRuns: twin, geometry: g, O, run: g.N }); // prettier-ignore
      const sums = g.N * g.OH * g.OW;
      expectAllClose(await readFloat32(on, dWeight), twin, dotTolerance(sums, sums), 'dWeight');
    });
  });
});

/** x[n, c, h, w] as the padded x holds it: shifted by the padding (inputPaddedShape's layout). */
function unpadded(stored: Float32Array, g: Conv2dGeometry, O: number): Float32Array {
  const [, , rows = 0, width = 0] = inputPaddedShape(g, O);
  const x = new Float32Array(g.N * g.C * g.H * g.W);
  let i = 0;
  for (let plane = 0; plane < g.N * g.C; plane++)
    for (let h = 0; h < g.H; h++)
      for (let w = 0; w < g.W; w++)
        x[i++] = stored[(plane * rows + h + g.padTop) * width + w + g.padLeft] ?? NaN;
  return x;
}
