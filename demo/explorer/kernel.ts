/**
 * What the explorer knows of one kernel: its size fields, the unit of its throughput, the entry
 * points it dispatches, and the plan of a run on given sizes (buffers, twin cost, work, and the
 * bench/cases case that runs it). The kernel lists (./kernels, ./transformerKernels) build on it.
 */
import { type Gpu } from '../../src/index';
import { type KernelCase } from '../../bench/cases';
import { parseValues, type Field, type Values } from './fields';

export type Unit = 'GFLOP/s' | 'GB/s';

/** What a run on given sizes needs, worked out before any buffer is made. */
export interface Plan {
  /** Elements (4 bytes each) of every buffer the case makes, by name. */
  buffers: Readonly<Record<string, number>>;
  /** Multiply-adds (or element visits) of the CPU twin: the page refuses what would take long. */
  twinCost: number;
  /** Flops or bytes of one run of the timed calls. */
  work: number;
  build(gpu: Gpu): KernelCase;
}

export interface ExplorerKernel {
  /** `family.name`, also the URL's ?kernel=. */
  id: string;
  family: string;
  name: string;
  fields: readonly Field[];
  unit: Unit;
  /** Needs the adapter's `subgroups` feature. */
  subgroups?: boolean;
  /** The entry points a run dispatches (shown before the first run; a run shows the real ones). */
  entryPoints(gpu: Gpu | undefined): readonly string[];
  /**
   * Sizes of the small case the race detector interprets (over the fields' initial values), for
   * kernels whose entry points use workgroup memory; the interpreter is slow, so keep them tiny.
   */
  raceSizes?: Readonly<Record<string, string>>;
  /** Throws an Error naming the bad value when the sizes make no sense. */
  plan(values: Values): Plan;
}

/** A kernel whose id is `family.name`. */
export function kernel(
  family: string,
  name: string,
  spec: Omit<ExplorerKernel, 'id' | 'family' | 'name'>,
): ExplorerKernel {
  return { id: `${family}.${name}`, family, name, ...spec };
}

/** The kernel's plan on `sizes` typed over its fields' initial values (a preset's, the detector's). */
export function planWith(k: ExplorerKernel, sizes: Readonly<Record<string, string>>): Plan {
  const raw = (key: string): string =>
    sizes[key] ?? String(k.fields.find((f) => f.key === key)?.initial);
  return k.plan(parseValues(k.fields, raw));
}
