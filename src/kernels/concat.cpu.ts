/** CPU twin of shaders/concat.wgsl: concatenation along the channels, one slice per call. */
import type { FloatArray } from './common.cpu';

export interface ConcatForwardArgs<T> {
  /** [N, C, S] */
  x: T;
  /** [N, outC, S]; channels channelOffset .. channelOffset + C - 1 are written. */
  out: T;
  N: number;
  C: number;
  S: number;
  outC: number;
  channelOffset: number;
}

export interface ConcatBackwardArgs<T> {
  /** [N, outC, S] */
  dOut: T;
  /** [N, C, S] = dOut's slice. */
  dX: T;
  N: number;
  C: number;
  S: number;
  outC: number;
  channelOffset: number;
}

/** Calls visit(sliceIndex, fullIndex) for every element of the slice. */
function forEachSlice(
  d: { N: number; C: number; S: number; outC: number; channelOffset: number },
  visit: (i: number, j: number) => void,
): void {
  for (let n = 0; n < d.N; n++)
    for (let c = 0; c < d.C; c++)
      for (let s = 0; s < d.S; s++)
        visit((n * d.C + c) * d.S + s, (n * d.outC + d.channelOffset + c) * d.S + s);
}

export function concatForwardCpu(args: ConcatForwardArgs<FloatArray>): void {
  forEachSlice(args, (i, j) => (args.out[j] = args.x[i] ?? 0));
}

export function concatBackwardCpu(args: ConcatBackwardArgs<FloatArray>): void {
  forEachSlice(args, (i, j) => (args.dX[i] = args.dOut[j] ?? 0));
}
