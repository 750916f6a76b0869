import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { col2im, im2col } from '../../src/kernels/conv2dIm2col';
import { col2imCpu, im2colCpu } from '../../src/kernels/conv2dIm2col.cpu';
import {
  conv2dGeometry,
  im2colShape,
  type Conv2dGeometry,
  type Conv2dInputShape,
  type Padding,
} from '../../src/kernels/geometry';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

const shape = (N: number, C: number, H: number, W: number): Conv2dInputShape => ({ N, C, H, W });
const xCount = (g: Conv2dGeometry): number => g.N * g.C * g.H * g.W;
const colsCount = (g: Conv2dGeometry): number => im2colShape(g).reduce((a, b) => a * b, 1);

type Pair = number | [number, number];
// [what, H, W, kernel, stride, padding, expected [OH, OW, padTop, padLeft]]
const geometryCases: [string, number, number, Pair, Pair, Padding, number[]][] = [
  // valid / numeric / per-axis padding follow PyTorch: OH = floor((H + 2p - KH) / s) + 1
  ['valid 5x5', 28, 28, 5, 1, 'valid', [24, 24, 0, 0]],
  ['padding 1, stride 2', 7, 5, 3, 2, 1, [4, 3, 1, 1]],
  ['3x2, stride [2, 1], padding [2, 0]', 7, 5, [3, 2], [2, 1], [2, 0], [5, 4, 2, 0]],
  ['floor mode drops a remainder row: (8 - 3) / 2 = 2.5', 8, 8, 3, 2, 'valid', [3, 3, 0, 0]],
  ['padding 2 with a 5x5 kernel on 3x4 (3 + 4 = 7 >= 5)', 3, 4, 5, 1, 2, [3, 4, 2, 2]],
  // 'same' follows TensorFlow: OH = ceil(H / s), total = max((OH-1)s + K - H, 0), half on top
  ['same 5x5', 28, 28, 5, 1, 'same', [28, 28, 2, 2]],
  ['same stride 2: totals (4-1)*2+3-7 = 2 and (3-1)*2+3-5 = 2', 7, 5, 3, 2, 'same', [4, 3, 1, 1]],
  ['same 4x4: total 3, 1 on top, the extra on the bottom', 6, 6, 4, 1, 'same', [6, 6, 1, 1]],
  ['same 2x2: total 1, all of it at the bottom/right', 6, 6, 2, 1, 'same', [6, 6, 0, 0]],
  ['same with stride = kernel tiles exactly', 6, 6, 2, 2, 'same', [3, 3, 0, 0]],
  ['same 1x1 stride 2 needs no padding', 7, 7, 1, 2, 'same', [4, 4, 0, 0]],
  ['same pads a kernel larger than the input', 2, 2, 5, 1, 'same', [2, 2, 2, 2]],
];

// [what, input, kernel, stride, padding, message]
const errorCases: [string, Conv2dInputShape, Pair, Pair, Padding, RegExp][] = [
  ['kernel > input height', shape(1, 1, 3, 4), 5, 1, 'valid', /kernel 5 is larger.*\(height/],
  ['kernel > padded input width', shape(1, 1, 3, 4), [3, 7], 1, 1, /kernel 7 is larger.*\(width/],
  ['zero images', shape(0, 1, 3, 3), 1, 1, 'valid', /N = 0/],
  ['negative height', shape(1, 1, -3, 3), 1, 1, 'valid', /H = -3/],
  ['fractional channels', shape(1, 2.5, 3, 3), 1, 1, 'valid', /C = 2.5/],
  ['zero kernel', shape(1, 1, 3, 4), 0, 1, 'valid', /KH = 0/],
  ['fractional kernel', shape(1, 1, 3, 4), 1.5, 1, 'valid', /KH = 1.5/],
  ['zero stride', shape(1, 1, 3, 4), 2, [1, 0], 'valid', /strideW = 0/],
  ['NaN stride', shape(1, 1, 3, 4), 2, Number.NaN, 'same', /strideH = NaN/],
  ['negative padding', shape(1, 1, 3, 4), 2, 1, -1, /padding \(height\) = -1/],
  ['fractional padding', shape(1, 1, 3, 4), 2, 1, [0, 0.5], /padding \(width\) = 0.5/],
];

describe('conv2dGeometry', () => {
  it.each(geometryCases)('%s', (_what, H, W, kernel, stride, padding, expected) => {
    const g = conv2dGeometry(shape(2, 3, H, W), kernel, stride, padding);
    expect([g.OH, g.OW, g.padTop, g.padLeft]).toEqual(expected);
    const [KH, KW] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const [strideH, strideW] = typeof stride === 'number' ? [stride, stride] : stride;
    expect(g).toMatchObject({ N: 2, C: 3, H, W, KH, KW, strideH, strideW });
  });

  it("'same' equals PyTorch's symmetric (K - 1)/2 for stride 1 and odd kernels", () => {
    for (const k of [1, 3, 5, 7]) {
      const same = conv2dGeometry(shape(1, 1, 9, 6), k, 1, 'same');
      expect(same).toEqual(conv2dGeometry(shape(1, 1, 9, 6), k, 1, (k - 1) / 2));
      expect([same.OH, same.OW]).toEqual([9, 6]);
    }
  });

  it.each(errorCases)('rejects %s', (_what, input, kernel, stride, padding, message) => {
    expect(() => conv2dGeometry(input, kernel, stride, padding)).toThrow(message);
  });
});

describe('im2col / col2im twins', () => {
  it('im2col matches hand-computed windows (valid, and padding 1 with stride 2)', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]); // 3x3
    const g = conv2dGeometry(shape(1, 1, 3, 3), 2, 1, 'valid');
    const cols = new Float64Array(16);
    im2colCpu({ x, cols, geometry: g });
    // rows (kh, kw) = (0,0), (0,1), (1,0), (1,1); columns are the 4 windows in raster order
    expect([...cols]).toEqual([1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);

    // 2x2 input [[1, 2], [3, 4]] padded to 4x4, 2x2 windows at padded (0,0), (0,2), (2,0), (2,2):
    // each input element lands in one (window, tap): 4 = padded (2,2) = window 3, tap (0,0)
    const gPad = conv2dGeometry(shape(1, 1, 2, 2), 2, 2, 1);
    const colsPad = new Float64Array(16);
    im2colCpu({ x: Float64Array.from([1, 2, 3, 4]), cols: colsPad, geometry: gPad });
    expect([...colsPad]).toEqual([0, 0, 0, 4, 0, 0, 3, 0, 0, 2, 0, 0, 1, 0, 0, 0]);
  });

  it('col2im counts how many windows cover each input element', () => {
    const dX = new Float64Array(9);
    col2imCpu({
      dCols: new Float64Array(16).fill(1),
      dX,
      geometry: conv2dGeometry(shape(1, 1, 3, 3), 2, 1, 'valid'),
    });
    expect([...dX]).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
    const dXPad = new Float64Array(4).fill(Number.NaN); // col2im overwrites dX, never accumulates
    col2imCpu({
      dCols: new Float64Array(16).fill(1),
      dX: dXPad,
      geometry: conv2dGeometry(shape(1, 1, 2, 2), 2, 2, 1),
    });
    expect([...dXPad]).toEqual([1, 1, 1, 1]);
  });

  const adjointCases: [string, Conv2dGeometry][] = [
    ['3x3 same', conv2dGeometry(shape(2, 3, 6, 5), 3, 1, 'same')],
    ['3x3 stride 2 same', conv2dGeometry(shape(1, 2, 7, 5), 3, 2, 'same')],
    ['3x2 padding 2', conv2dGeometry(shape(2, 1, 5, 4), [3, 2], 1, 2)],
    ['4x3 stride [2, 3] padding [1, 2]', conv2dGeometry(shape(1, 2, 9, 8), [4, 3], [2, 3], [1, 2])],
    ['2x2 stride 3 valid (gaps between windows)', conv2dGeometry(shape(1, 1, 8, 7), 2, 3, 'valid')],
  ];
  it.each(adjointCases)(
    'col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)> (%s, float64)',
    (_name, g) => {
      const x = toF64(randomFloats(xCount(g), 11, -1, 1));
      const c = toF64(randomFloats(colsCount(g), 12, -1, 1));
      const cols = new Float64Array(colsCount(g));
      const dX = new Float64Array(xCount(g));
      im2colCpu({ x, cols, geometry: g });
      col2imCpu({ dCols: c, dX, geometry: g });
      const lhs = weightedSum(cols, c);
      const rhs = weightedSum(x, dX);
      // Both are float64 sums of the same O(100) products in different orders: 1e-12 relative.
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(lhs)));
      expect(Math.abs(lhs)).toBeGreaterThan(0); // a vacuous 0 = 0 would prove nothing
    },
  );
});

// [what, input [N, C, H, W], kernel, stride, padding, value scale]
const gpuCases: [string, [number, number, number, number], Pair, Pair, Padding, number][] = [
  ['N=1 C=1 28x28 5x5 same', [1, 1, 28, 28], 5, 1, 'same', 1],
  ['N=2 C=3 7x5 3x3 stride 2 same', [2, 3, 7, 5], 3, 2, 'same', 1],
  ['N=1 C=3 7x5 3x2 padding 2, values 1e4', [1, 3, 7, 5], [3, 2], 1, 2, 1e4],
  ['N=1 C=3 7x5 3x2 stride [2, 1] padding 0', [1, 3, 7, 5], [3, 2], [2, 1], 0, 1],
  ['N=2 C=1 7x5 1x1 stride 2 valid', [2, 1, 7, 5], 1, 2, 'valid', 1],
  ['N=3 C=3 9x6 4x4 stride 2 same, values 1e4', [3, 3, 9, 6], 4, 2, 'same', 1e4],
  ['N=1 C=1 7x5 2x2 stride 3 padding [1, 2] (gaps)', [1, 1, 7, 5], 2, 3, [1, 2], 1],
];

describe.each(gpuCases)(
  'conv2dIm2col on the GPU: %s',
  (_what, input, kernel, stride, padding, scale) => {
    const g = conv2dGeometry(shape(...input), kernel, stride, padding);

    it.each(['im2colPlaneVec4', 'im2colPlane', 'im2col'] as const)(
      '%s copies exactly what the twin copies',
      async (entry) => {
        const xHost = randomFloats(xCount(g), xCount(g), -scale, scale);
        const cols = guardedOutput(gpu(), im2colShape(g));
        const args = { x: upload(gpu(), xHost, input), cols: cols.tensor, geometry: g };
        if (entry === 'im2colPlaneVec4' && (g.OH * g.OW) % 4 !== 0) {
          expect(() => im2col(args, { im2colEntry: entry })).toThrow(/OH\*OW % 4 == 0/);
          expect(im2col(args).entryPoint).toBe('im2colPlane'); // the default falls back
          return;
        }
        const call = im2col(args, { im2colEntry: entry });
        expect(call.entryPoint).toBe(entry);
        const got = await runAndRead(gpu(), call, cols.tensor);
        const want = new Float32Array(colsCount(g));
        im2colCpu({ x: xHost, cols: want, geometry: g });
        expectAllClose(got, want, { atol: 0, rtol: 0 }); // a pure copy: bit-exact, zeros included
        await cols.check();
      },
    );

    it('col2im matches the twin up to summation order', async () => {
      const dColsHost = randomFloats(colsCount(g), colsCount(g) + 1, -scale, scale);
      const dX = guardedOutput(gpu(), input);
      const got = await runAndRead(
        gpu(),
        col2im({ dCols: upload(gpu(), dColsHost, im2colShape(g)), dX: dX.tensor, geometry: g }),
        dX.tensor,
      );
      const want = new Float32Array(xCount(g));
      col2imCpu({ dCols: dColsHost, dX: want, geometry: g });
      // Each dX is a float32 sum of at most ceil(KH/sH)*ceil(KW/sW) terms of size <= scale.
      const terms = Math.ceil(g.KH / g.strideH) * Math.ceil(g.KW / g.strideW);
      expectAllClose(got, want, dotTolerance(terms, terms * scale));
      await dX.check();
    });
  },
);

describe('conv2dIm2col dispatch past 65535 workgroups', () => {
  // One invocation per row: im2col has N*C*KH*KW*OH = 4*8*4*2048 = 262144 rows, col2im
  // N*C*H = 131072; workgroups of 1 make both grids spill into y while x stays 262144 floats
  // (2x2 stride 2 windows tile the tall, narrow input exactly).
  const g = conv2dGeometry(shape(4, 8, 4096, 2), 2, 2, 'valid');
  const tuning = { workgroupSize: 1 };

  it('im2col and col2im cover every element of a 2-D grid', async () => {
    const xHost = randomFloats(xCount(g), 5, -1, 1);
    const cols = guardedOutput(gpu(), im2colShape(g));
    const call = im2col(
      { x: upload(gpu(), xHost, [4, 8, 4096, 2]), cols: cols.tensor, geometry: g },
      { ...tuning, im2colEntry: 'im2col' },
    );
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const got = await runAndRead(gpu(), call, cols.tensor);
    const want = new Float32Array(colsCount(g));
    im2colCpu({ x: xHost, cols: want, geometry: g });
    expectAllClose(got, want, { atol: 0, rtol: 0 });
    await cols.check();

    // Windows do not overlap, so col2im(im2col(x)) = x exactly.
    const dX = guardedOutput(gpu(), [4, 8, 4096, 2]);
    const back = col2im({ dCols: cols.tensor, dX: dX.tensor, geometry: g }, tuning);
    expect(back.workgroups[1]).toBeGreaterThan(1);
    expectAllClose(await runAndRead(gpu(), back, dX.tensor), xHost, { atol: 0, rtol: 0 });
    await dX.check();
  });

  it('im2colPlane covers every cols row of a 2-D grid', async () => {
    // N*C*KH*KW = 4*4096*4 = 65536 cols rows of one column each, one invocation per workgroup.
    const planes = conv2dGeometry(shape(4, 4096, 2, 2), 2, 1, 'valid');
    const xHost = randomFloats(xCount(planes), 6, -1, 1);
    const cols = guardedOutput(gpu(), im2colShape(planes));
    const call = im2col(
      { x: upload(gpu(), xHost, [4, 4096, 2, 2]), cols: cols.tensor, geometry: planes },
      tuning,
    );
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const want = new Float32Array(colsCount(planes));
    im2colCpu({ x: xHost, cols: want, geometry: planes });
    expectAllClose(await runAndRead(gpu(), call, cols.tensor), want, { atol: 0, rtol: 0 });
    await cols.check();
  });
});

describe('conv2dIm2col wrappers', () => {
  it('reject tensors whose sizes do not match the geometry', () => {
    const g = conv2dGeometry(shape(1, 2, 5, 5), 3, 1, 'same');
    const x = upload(gpu(), new Float32Array(50), [1, 2, 5, 5]);
    const cols = upload(gpu(), new Float32Array(colsCount(g)), im2colShape(g));
    const short = upload(gpu(), new Float32Array(49), [49]);
    expect(() => im2col({ x: short, cols, geometry: g })).toThrow(ShadergradError);
    expect(() => im2col({ x, cols: short, geometry: g })).toThrow(/cols has 49 elements/);
    expect(() => col2im({ dCols: short, dX: x, geometry: g })).toThrow(/dCols has 49 elements/);
    expect(() => col2im({ dCols: cols, dX: short, geometry: g })).toThrow(/dX has 49 elements/);
    expect(() => im2col({ x, cols, geometry: { ...g, strideH: 0 } })).toThrow(/strideH = 0/);
    expect(() => im2col({ x, cols, geometry: g }, { workgroupSize: 0 })).toThrow(/workgroupSize/);
    expect(im2col({ x, cols, geometry: g }).label).toBe(
      'conv2dIm2col.im2colPlane([1, 2, 5, 5] k3x3 s1x1 p1,1 -> 5x5)',
    );
  });
});
