/**
 * One run of a kernel, edited or not: build its case on the chosen sizes with the edited shaders
 * in place of the library's, compare every output with the CPU twin, run the race detector on a
 * small case when the kernel's entry points use workgroup memory, time the calls and work out the
 * roofline figures. A shader that does not compile throws the pipeline cache's KernelError, whose
 * message has the line:col in the family's file; the page shows it beside the editor.
 */
import { type Gpu } from '../../src/index';
import { timeCalls } from '../../src/kernelApi';
import { throughput } from '../../bench/page/common';
import { compareCase, type KernelCase } from '../../bench/cases';
import { withEdits, type ShaderSource } from './edits';
import { type ExplorerKernel, type Plan } from './kernel';
import { type RaceFinding } from './raceCheck';
import { findRaces, type Detect } from './races';
import { planBytes, roofline, type Peaks } from './roofline';
import type { ExplorerResult } from './view';

export interface RunRequest {
  kernel: ExplorerKernel;
  plan: Plan;
  /** The plan of the race detector's small case, when the kernel has one. */
  racePlan: Plan | undefined;
  reps: number;
  edits: ReadonlyMap<string, ShaderSource>;
  /** How the source differs from the library's (ExplorerResult.source). */
  source: string;
  /** The adapter's roofs (measured once); undefined when they could not be measured. */
  peaks: () => Promise<Peaks | undefined>;
  /** The race detector (in a worker on the page). */
  detect: Detect;
}

async function races(gpu: Gpu, req: RunRequest): Promise<RaceFinding[] | undefined> {
  if (!req.racePlan) return undefined;
  const small = withEdits(req.racePlan.build(gpu), req.edits);
  try {
    return await findRaces(gpu, small, req.detect);
  } finally {
    small.destroy();
  }
}

/**
 * Runs, checks and times `c` (the plan's case, built with the edits in place by the caller);
 * `progress` says what it is doing. Destroys `c` and what it made.
 */
export async function runKernel(
  gpu: Gpu,
  c: KernelCase,
  req: RunRequest,
  progress: (text: string) => void,
): Promise<ExplorerResult> {
  const { kernel: k, plan } = req;
  try {
    progress(`Running ${k.family} ${k.name} and its CPU twin...`);
    const comparisons = await compareCase(gpu, c);
    progress(`Looking for races in ${k.family} ${k.name}...`);
    const raceFindings = await races(gpu, req);
    progress(`Timing ${k.family} ${k.name}...`);
    const timing = await timeCalls(gpu, c.calls, { warmup: 1, samples: req.reps });
    progress('Measuring the FMA peak and the copy bandwidth (once)...');
    const peaks = await req.peaks();
    const bytes = k.unit === 'GB/s' ? plan.work : planBytes(plan.buffers);
    const passed = comparisons.every((x) => x.mismatches === 0);
    const raceCount = raceFindings?.reduce((a, f) => a + f.raceCount, 0) ?? 0;
    return {
      kernel: k.id,
      source: req.source,
      edited: [...req.edits.keys()],
      shape: c.shape,
      calls: c.calls.map((x) => x.label),
      comparisons,
      maxError: Math.max(0, ...comparisons.map((x) => x.maxError)),
      passed,
      races: raceFindings,
      raceCount,
      verdict: verdictOf(passed, raceCount),
      timing,
      unit: k.unit,
      work: plan.work,
      bytes,
      throughput: throughput(k.unit, plan.work, timing.medianMs),
      roofline:
        peaks &&
        roofline({ unit: k.unit, work: plan.work, bytes, medianMs: timing.medianMs }, peaks),
    };
  } finally {
    c.destroy();
  }
}

/** 'pass', or what failed: the twin comparison, the race detector or both. */
export function verdictOf(passed: boolean, raceCount: number): string {
  const failed = [passed ? '' : 'max error', raceCount > 0 ? `${raceCount} races` : ''].filter(
    Boolean,
  );
  return failed.length === 0 ? 'pass' : `FAIL: ${failed.join(', ')}`;
}
