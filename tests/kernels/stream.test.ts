import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { randomFloats } from '../../src/base/random';
import { streamCopy } from '../../src/kernels/stream';
import { streamCopyBytes, streamCopyCpu } from '../../src/kernels/stream.cpu';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

describe('streamCopy twin', () => {
  it('copies every element and counts 8 bytes per element', () => {
    const y = new Float64Array(3);
    streamCopyCpu({ x: new Float64Array([1.5, -2, 3e30]), y });
    expect(Array.from(y)).toEqual([1.5, -2, 3e30]);
    expect(() => streamCopyCpu({ x: new Float64Array(2), y })).toThrow(/x has 2, y 3/);
    expect(streamCopyBytes(1000)).toBe(8000);
  });
});

describe('streamCopy on the GPU', () => {
  // Scalar: 1 and 255/257 straddle one workgroup of 256; 65537 needs 257 workgroups with a ragged
  // last. Vec4 (counts % 4 == 0): 4, one round short of a workgroup's 1024 vec4s (4092), a ragged
  // last workgroup (4100), and 65540.
  it.each([
    [1, 'streamCopy'],
    [7, 'streamCopy'],
    [255, 'streamCopy'],
    [257, 'streamCopy'],
    [65537, 'streamCopy'],
    [4, 'streamCopyVec4'],
    [4092, 'streamCopyVec4'],
    [4100, 'streamCopyVec4'],
    [65540, 'streamCopyVec4'],
  ] as const)('matches the twin exactly, count = %i (%s)', async (count, entry) => {
    const xHost = randomFloats(count, count, -1e6, 1e6);
    const y = guardedOutput(gpu(), [count]);
    const call = streamCopy({ x: upload(gpu(), xHost, [count]), y: y.tensor });
    expect(call.entryPoint).toBe(entry);
    const got = await runAndRead(gpu(), call, y.tensor);
    const want = new Float32Array(count);
    streamCopyCpu({ x: xHost, y: want });
    // A copy does no arithmetic: bit for bit, and every element written (the output starts NaN).
    expect(got).toEqual(want);
    await y.check();
  });

  it('refuses a destination of another size', () => {
    const x = upload(gpu(), new Float32Array(4), [4]);
    expect(() => streamCopy({ x, y: upload(gpu(), new Float32Array(3), [3]) })).toThrow(
      ShadergradError,
    );
  });
});
