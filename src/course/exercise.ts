/**
 * What an exercise of the course is, as data the autograder (./grade.ts) runs: the entry point a
 * student writes, the buffers it binds in @binding order (with their roles), and cases of
 * awkward shapes whose expected outputs come from the library's CPU twin. Each exercise also
 * names a small case for the race detector and a large one to time against the library's own
 * kernel. Exercises are listed in ./exercises/index.ts; their starters and questions live in the
 * package's course/ folder.
 */
import type { Tolerance } from '../base/compare';
import type { Gpu } from '../gpu/device';
import type { KernelCall, Workgroups } from '../gpu/dispatch';
import type { DType } from '../gpu/tensor';

export type BufferRole = 'read' | 'write' | 'read_write';

/** One storage buffer of a case, in binding order. */
export interface CaseBuffer {
  /** The name the starter file gives the binding (used in messages only). */
  name: string;
  role: BufferRole;
  dtype: DType;
  /** Initial contents (inputs, and read_write buffers); outputs start as NaN sentinels. */
  data: Float32Array | Int32Array | Uint32Array;
  /** Expected contents after the kernel ran (outputs and read_write buffers). */
  want?: Float32Array | Int32Array | Uint32Array;
  /** How close `want` must be matched; exact when absent. */
  tolerance?: Tolerance;
}

/** One run of the student's kernel: its buffers, its uniform Params and its dispatch. */
export interface ExerciseCase {
  /** Shapes in words, e.g. "M=1 K=7 N=65". */
  label: string;
  buffers: readonly CaseBuffer[];
  /** The packed Params struct, bound after the buffers. */
  params: ArrayBuffer;
  workgroups: Workgroups;
  constants?: Readonly<Record<string, number>>;
}

/** The library's kernel for the same work, for the speed comparison. */
export interface LibraryRun {
  calls: readonly KernelCall[];
  release(): void;
}

export interface Exercise {
  /** The command-line name, e.g. `relu`; also the folder course/<order>-<id>/. */
  id: string;
  title: string;
  /** The compute entry point the student writes. */
  entryPoint: string;
  /** Awkward shapes (1, non-multiples of the tile, large values), expected outputs included. */
  cases(): ExerciseCase[];
  /** A small case the race detector interprets invocation by invocation; omit for kernels without workgroup memory. */
  raceCase?(): ExerciseCase;
  /** A larger case to time, and the library kernel doing the same work on the same sizes. */
  timing?: {
    case(): ExerciseCase;
    /** Work of one run in flops (or bytes for memory-bound kernels), for the throughput line. */
    work: number;
    unit: 'GFLOP/s' | 'GB/s';
    /** The library's calls on copies of the timing case's inputs (the grader builds the case once). */
    library(gpu: Gpu, timed: ExerciseCase): LibraryRun;
  };
}
