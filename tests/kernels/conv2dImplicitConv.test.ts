/**
 * The forward and the weight gradient by the implicit product (conv2dImplicitForward, or
 * conv2dImplicitForwardTaps where C % 4 != 0, and conv2dImplicitWeightGrad) against the direct
 * convolution's twin (conv2d.cpu.ts) and their own twins (the flip or the taps layout of the
 * weight, and the weight-gradient formula over the padded tensors).
 */
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { conv2dBackwardCpu, conv2dForwardCpu } from '../../src/kernels/conv2d.cpu';
import {
  conv2dImplicitForward,
  conv2dImplicitWeightGrad,
  forwardByTaps,
  implicitConvProblem,
  inputPaddedShape,
  outputRowsShape,
  weightForwardShape,
  weightGradPadsRows,
} from '../../src/kernels/conv2dImplicitConv';
import {
  conv2dPadGradientCpu,
  conv2dWeightGradCpu,
  conv2dWeightTapsCpu,
  conv2dWeightsFlipCpu,
} from '../../src/kernels/conv2dImplicit.cpu';
import { activateCpu, type Activation } from '../../src/kernels/common.cpu';
import { conv2dGeometry, type Conv2dGeometry } from '../../src/kernels/geometry';
import { convCases, type ConvCase } from '../helpers/cases';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput, type GuardedTensor } from '../helpers/sentinel';

const gpu = useTestGpu();

function geometryOf(c: ConvCase): Conv2dGeometry {
  return conv2dGeometry({ N: c.N, C: c.C, H: c.H, W: c.W }, c.k, c.stride, c.padding);
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The shared table's cases these kernels take (stride 1, KW <= 8), chosen by shape so that a kernel
 * refusing one by mistake fails, and shapes that reach their corners: output channels past one
 * 32-row tile and short of 4, kernel widths with no tail (3), one dot (5), a second block (6, 7),
 * widths 1-3 quads wide and odd, batch 1, no padding, C * KH lanes short of a workgroup, and input
 * channels that are not a multiple of 4 (1, 2, 3, 5, 7: the forward by taps).
 */
const cases: ConvCase[] = [
  ...convCases.filter((c) => c.stride === 1 && geometryOf(c).KW <= 8),
  { N: 2, C: 1, H: 13, W: 14, O: 32, k: 5, stride: 1, padding: 2 }, // the CNN's conv1, smaller
  { N: 1, C: 3, H: 9, W: 11, O: 33, k: 3, stride: 1, padding: 1 }, // RGB, past one tile
  { N: 3, C: 2, H: 7, W: 6, O: 4, k: 7, stride: 1, padding: 3 }, // taps 4..6 by a second block
  { N: 1, C: 1, H: 5, W: 5, O: 8, k: [1, 8], stride: 1, padding: [0, 3] },
  { N: 1, C: 8, H: 9, W: 11, O: 36, k: 3, stride: 1, padding: 1 },
  { N: 3, C: 4, H: 7, W: 6, O: 4, k: 7, stride: 1, padding: 3 },
  { N: 2, C: 12, H: 6, W: 13, O: 6, k: [3, 6], stride: 1, padding: [1, 2] },
  { N: 2, C: 4, H: 8, W: 9, O: 8, k: 2, stride: 1, padding: 'same' },
  { N: 1, C: 8, H: 10, W: 10, O: 33, k: 5, stride: 1, padding: 'valid' },
  { N: 5, C: 4, H: 5, W: 5, O: 8, k: [1, 8], stride: 1, padding: [0, 3] },
];

/** out = act(conv(x) + bias) by the direct twin. */
function twinForward(g: Conv2dGeometry, O: number, host: Host, activation: Activation) {
  const out = new Float64Array(g.N * O * g.OH * g.OW);
  conv2dForwardCpu({ x: host.x, weight: host.weight, bias: host.bias, out, geometry: g, O });
  return out.map((v) => activateCpu(v, activation));
}

interface Host {
  x: Float32Array;
  weight: Float32Array;
  bias: Float32Array;
  dOut: Float32Array;
}

function hostData(g: Conv2dGeometry, O: number, seed: number, scale = 1): Host {
  return {
    x: randomFloats(g.N * g.C * g.H * g.W, seed, -scale, scale),
    weight: randomFloats(O * g.C * g.KH * g.KW, seed + 1, -scale, scale),
    bias: randomFloats(O, seed + 2, -scale, scale),
    dOut: randomFloats(g.N * O * g.OH * g.OW, seed + 3, -scale, scale),
  };
}

async function runForward(
  g: Conv2dGeometry,
  O: number,
  host: Host,
  activation: Activation,
  tweak: (call: KernelCall) => KernelCall = (call) => call,
) {
  const on = gpu();
  const x = upload(on, host.x, [g.N, g.C, g.H, g.W]);
  const weight = upload(on, host.weight, [O, g.C, g.KH, g.KW]);
  const bias = upload(on, host.bias, [O]);
  const out = guardedOutput(on, [g.N, O, g.OH, g.OW]);
  const xPadded = guardedOutput(on, inputPaddedShape(g, O));
  const weightForward = guardedOutput(on, weightForwardShape(g, O));
  const calls = conv2dImplicitForward({
    x,
    weight,
    bias,
    out: out.tensor,
    xPadded: xPadded.tensor,
    weightForward: weightForward.tensor,
    geometry: g,
    O,
    activation,
  });
  await runCalls(on, calls.map(tweak));
  return readChecked({ out, xPadded, weightForward });
}

/** Each output read back, once its guard words are checked. */
async function readChecked<K extends string>(
  outputs: Record<K, GuardedTensor>,
): Promise<Record<K, Float32Array>> {
  const read = {} as Record<K, Float32Array>;
  for (const [name, guarded] of Object.entries(outputs) as [K, GuardedTensor][]) {
    read[name] = await readFloat32(gpu(), guarded.tensor);
    await guarded.check();
  }
  return read;
}

async function runWeightGrad(
  g: Conv2dGeometry,
  O: number,
  host: Host,
  run: number,
  tweak: (call: KernelCall) => KernelCall = (call) => call,
) {
  const on = gpu();
  // The forward leaves xPadded; the weight gradient reads it.
  const forward = await runForward(g, O, host, 'none');
  const xPadded = upload(on, forward.xPadded, inputPaddedShape(g, O));
  const dOut = upload(on, host.dOut, [g.N, O, g.OH, g.OW]);
  const runs = Math.ceil(g.N / run);
  const dWeightRuns = guardedOutput(on, [runs, O, g.C * g.KH * g.KW]);
  const args = { dOut, xPadded, dWeightRuns: dWeightRuns.tensor, geometry: g, O, run };
  if (!weightGradPadsRows(g)) {
    // Rows of whole vec4s: dOut is read in place, nothing is padded.
    const calls = conv2dImplicitWeightGrad(args);
    expect(calls.map((call) => call.entryPoint)).toEqual(['conv2dImplicitWeightGrad']);
    await runCalls(on, calls.map(tweak));
    const read = await readChecked({ dWeightRuns });
    return { ...read, dOutRows: host.dOut, xPadded: forward.xPadded };
  }
  const dOutRows = guardedOutput(on, outputRowsShape(g, O));
  const calls = conv2dImplicitWeightGrad({ ...args, dOutRows: dOutRows.tensor });
  await runCalls(on, calls.map(tweak));
  return { ...(await readChecked({ dOutRows, dWeightRuns })), xPadded: forward.xPadded };
}

/** Σ over runs of the GPU's partial sums, in run order. */
function sumRuns(parts: Float32Array, runs: number): Float64Array {
  const size = parts.length / runs;
  const total = new Float64Array(size);
  for (let z = 0; z < runs; z++)
    for (let i = 0; i < size; i++) total[i] = (total[i] ?? 0) + (parts[z * size + i] ?? 0);
  return total;
}

const skipWithoutSubgroups = (): boolean => {
  if (gpu().hasSubgroups) return false;
  expect(implicitConvProblem(geometryOf(cases[0] as ConvCase), 8, false)).toMatch(/subgroups/);
  return true;
};

describe('the implicit forward equals the direct convolution', () => {
  it.each(cases)('N$N C$C $H x $W O$O k$k p$padding', async (c) => {
    if (skipWithoutSubgroups()) return;
    const g = geometryOf(c);
    const host = hostData(g, c.O, 31);
    const got = await runForward(g, c.O, host, 'relu');
    // The weight's layout only moves values: exact against its twin.
    const layout = new Float32Array(count(weightForwardShape(g, c.O)));
    if (forwardByTaps(g)) conv2dWeightTapsCpu(host.weight, layout, g, c.O);
    else conv2dWeightsFlipCpu({ weight: host.weight, weightCko: layout, geometry: g, O: c.O });
    expectAllClose(got.weightForward, layout, { atol: 0, rtol: 0 }, 'weightForward');
    // Sums of C * KH * KW products of values in [-1, 1], plus the bias.
    const terms = g.C * g.KH * g.KW + 1;
    expectAllClose(got.out, twinForward(g, c.O, host, 'relu'), dotTolerance(terms, terms), 'out');
  });

  it.each([8, 3])(
    'stays within tolerance for values of +-1e3, with tanh and without a bias (C = %i)',
    async (C) => {
      if (skipWithoutSubgroups()) return;
      const g = geometryOf({ N: 2, C, H: 6, W: 7, O: 12, k: 3, stride: 1, padding: 1 });
      const host = hostData(g, 12, 41, 1e3);
      const noBias = { ...host, bias: new Float32Array(12) };
      const got = await runForward(g, 12, noBias, 'none', (call) =>
        call.entryPoint.startsWith('conv2dImplicitForward')
          ? { ...call, constants: { ...call.constants, hasBias: 0 } }
          : call,
      );
      const terms = g.C * g.KH * g.KW;
      const tol = dotTolerance(terms, terms * 1e6);
      expectAllClose(got.out, twinForward(g, 12, noBias, 'none'), tol, 'out');
      const tanh = await runForward(g, 12, host, 'tanh');
      expectAllClose(tanh.out, twinForward(g, 12, host, 'tanh'), tol, 'tanh out');
    },
  );
});

describe('the implicit weight gradient equals the direct convolution', () => {
  it.each(cases)('N$N C$C $H x $W O$O k$k p$padding', async (c) => {
    if (skipWithoutSubgroups()) return;
    const g = geometryOf(c);
    const host = hostData(g, c.O, 51);
    const run = Math.max(1, Math.ceil(g.N / 2)); // two runs where N > 1, the last maybe short
    const runs = Math.ceil(g.N / run);
    const got = await runWeightGrad(g, c.O, host, run);
    const dWeight = new Float64Array(host.weight.length);
    conv2dBackwardCpu({ ...host, dWeight, geometry: g, O: c.O });
    const terms = g.N * g.OH * g.OW;
    expectAllClose(sumRuns(got.dWeightRuns, runs), dWeight, dotTolerance(terms, terms), 'dWeight');
    // Its own twin, run by run, from the tensors the GPU padded (the row padding exactly), or
    // from dOut itself where its rows are whole vec4s.
    let dOutRows = host.dOut;
    if (weightGradPadsRows(g)) {
      dOutRows = new Float32Array(count(outputRowsShape(g, c.O)));
      const rows = { ...g, H: g.OH, W: g.OW, KH: 1, KW: 1, padTop: 0, padLeft: 0 };
      conv2dPadGradientCpu({ dOut: host.dOut, dOutPadded: dOutRows, geometry: rows, O: c.O });
      expectAllClose(got.dOutRows, dOutRows, { atol: 0, rtol: 0 }, 'dOutRows');
    }
    const twin = new Float64Array(got.dWeightRuns.length);
    const args = { dOutRows, xPadded: got.xPadded, dWeightRuns: twin, geometry: g, O: c.O, run };
    conv2dWeightGradCpu(args);
    expectAllClose(got.dWeightRuns, twin, dotTolerance(terms, terms), 'dWeightRuns');
  });

  it('stays within tolerance for values of +-1e3 in one run', async () => {
    if (skipWithoutSubgroups()) return;
    const g = geometryOf({ N: 3, C: 4, H: 9, W: 10, O: 8, k: 5, stride: 1, padding: 2 });
    const host = hostData(g, 8, 61, 1e3);
    const got = await runWeightGrad(g, 8, host, 3);
    const dWeight = new Float64Array(host.weight.length);
    conv2dBackwardCpu({ ...host, dWeight, geometry: g, O: 8 });
    const terms = g.N * g.OH * g.OW;
    expectAllClose(got.dWeightRuns, dWeight, dotTolerance(terms, terms * 1e6), 'dWeight');
  });

  // wgSize 4 is below lavapipe's 8-lane subgroups: both kernels then take their stepDirect path
  // (every lane loads every quad), as on SwiftShader's 4-lane subgroups.
  it.each([8, 1])(
    'the kernels match with subgroups they cannot share (wgSize 4, C = %i)',
    async (C) => {
      if (skipWithoutSubgroups()) return;
      const c: ConvCase = { N: 2, C, H: 7, W: 9, O: 12, k: 5, stride: 1, padding: 2 };
      const g = geometryOf(c);
      const host = hostData(g, c.O, 71);
      const narrow = (call: KernelCall): KernelCall => {
        if (call.entryPoint.startsWith('conv2dImplicitForward'))
          return {
            ...call,
            constants: { ...call.constants, wgSize: 4 },
            workgroups: [call.workgroups[0], Math.ceil((g.OH * Math.ceil(g.OW / 4)) / 4), g.N],
          };
        if (call.entryPoint === 'conv2dImplicitWeightGrad')
          return {
            ...call,
            constants: { ...call.constants, wgSize: 4 },
            workgroups: [call.workgroups[0], Math.ceil((g.C * g.KH) / 4), call.workgroups[2]],
          };
        return call;
      };
      const forward = await runForward(g, c.O, host, 'relu', narrow);
      const terms = g.C * g.KH * g.KW + 1;
      expectAllClose(forward.out, twinForward(g, c.O, host, 'relu'), dotTolerance(terms, terms));
      const grad = await runWeightGrad(g, c.O, host, 2, narrow);
      const dWeight = new Float64Array(host.weight.length);
      conv2dBackwardCpu({ ...host, dWeight, geometry: g, O: c.O });
      const n = g.N * g.OH * g.OW;
      expectAllClose(grad.dWeightRuns, dWeight, dotTolerance(n, n), 'dWeight');
    },
  );

  it('gives fewer than 32 channels a smaller row tile (tileRows), rounded up to 8', () => {
    const shapes = [
      [12, 16, 1],
      [33, 32, 2],
      [4, 8, 1],
    ] as const;
    for (const [O, tileRows, bands] of shapes) {
      const g = geometryOf({ N: 1, C: 8, H: 6, W: 6, O, k: 3, stride: 1, padding: 1 });
      const t = (shape: readonly number[]) => upload(gpu(), new Float32Array(count(shape)), shape);
      const x = t([1, 8, 6, 6]);
      const forward = conv2dImplicitForward({
        x,
        weight: t([O, 8, 3, 3]),
        out: t([1, O, 6, 6]),
        xPadded: t(inputPaddedShape(g, O)),
        weightForward: t(weightForwardShape(g, O)),
        geometry: g,
        O,
      }).find((call) => call.entryPoint === 'conv2dImplicitForward');
      const grad = conv2dImplicitWeightGrad({
        dOut: t([1, O, 6, 6]),
        xPadded: t(inputPaddedShape(g, O)),
        dOutRows: t(outputRowsShape(g, O)),
        dWeightRuns: t([1, O, 72]),
        geometry: g,
        O,
        run: 1,
      }).find((call) => call.entryPoint === 'conv2dImplicitWeightGrad');
      for (const call of [forward, grad]) {
        expect(call?.constants?.tileRows).toBe(tileRows);
        expect(call?.workgroups[0]).toBe(bands);
      }
    }
  });

  it('names what it cannot run', () => {
    const geometry = (c: Partial<ConvCase>) =>
      geometryOf({ N: 1, C: 8, H: 8, W: 8, O: 8, k: 3, stride: 1, padding: 1, ...c });
    expect(implicitConvProblem(geometry({}), 8, true)).toBeUndefined();
    expect(implicitConvProblem(geometry({}), 8, false)).toMatch(/subgroups/);
    expect(implicitConvProblem(geometry({ stride: 2 }), 8, true)).toMatch(/stride 1/);
    // Input channels that are not a multiple of 4 take the forward by taps.
    expect(implicitConvProblem(geometry({ C: 6 }), 8, true)).toBeUndefined();
    expect(forwardByTaps(geometry({ C: 6 }))).toBe(true);
    expect(forwardByTaps(geometry({}))).toBe(false);
    expect(implicitConvProblem(geometry({ k: 9, padding: 4 }), 8, true)).toMatch(/KW <= 8/);
    expect(implicitConvProblem(geometry({ padding: 3 }), 8, true)).toMatch(/padding below/);
  });
});
