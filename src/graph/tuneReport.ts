/**
 * The autotuner's options and report (./tuner.ts does the tuning): a module of its own so that
 * a page that never tunes does not load the tuner, which compilePlan imports only when asked.
 */
import type { StoredText } from '../gpu/platform';

/**
 * off: the adapter's default (preferredPolicy), nothing timed. cached: stored choices where the cache has
 * them, the other products timed and stored. full: every product timed again and stored.
 */
export type TuneMode = 'off' | 'cached' | 'full';

export const TUNE_MODES: readonly TuneMode[] = ['off', 'cached', 'full'];

export interface TuneOptions {
  mode: TuneMode;
  /** Where choices are kept between runs; default the platform's (Node: a file, browser: IndexedDB). */
  store?: StoredText;
  /**
   * Milliseconds of timing per plan: later products keep the default, and in `cached` mode are
   * timed by the next compile. Default 20 000 in `cached` mode, none in `full` mode.
   */
  budgetMs?: number;
  /** Products under this many flops keep the default (default MIN_FLOPS). */
  minFlops?: number;
  /** Progress, one line per product timed. */
  log?: (line: string) => void;
  /**
   * The choices of an earlier compile (its report's products): a product or convolution found
   * here takes the same choice, nothing timed and nothing stored, whatever the cache holds now
   * (reported as it was then, a timed one as cached); anything else is tuned as `mode` says. How a resumed run gets
   * the kernels of the run it continues, so that its weights stay bit-identical.
   */
  replay?: readonly TunedProduct[];
}

/** A `cached` compile's time budget: the next compile times what is left (TuneOptions.budgetMs). */
const CACHED_BUDGET_MS = 20_000;

/**
 * Milliseconds of timing a compile may spend: the options' budget, else CACHED_BUDGET_MS in
 * `cached` mode, whose next compiles time what is left, and none in `full` mode, which was asked to
 * time everything (with a budget, the products after it were never timed in that mode: on
 * SwiftShader in Node the reference CNN's five smaller products, 1.0-1.3x faster tuned).
 */
export function tuningBudgetMs(options: Pick<TuneOptions, 'mode' | 'budgetMs'>): number {
  return (
    options.budgetMs ?? (options.mode === 'full' ? Number.POSITIVE_INFINITY : CACHED_BUDGET_MS)
  );
}

/** What the tuner did for one product. */
export interface TunedProduct {
  /** The chosen kernel's label (entry point, shape, sizes). */
  label: string;
  key: string;
  flops: number;
  choice: string;
  /** timed now, read from the cache, or left at the default (small, or past the budget). */
  source: 'timed' | 'cached' | 'small' | 'budget';
  /** Median ms of the choice and of the default choice (timed or cached products). */
  ms?: number;
  defaultMs?: number;
  /** Every candidate timed: its median, or why it was not kept. */
  candidates?: { choice: string; ms?: number; rejected?: string }[];
}

export interface TuningReport {
  mode: TuneMode;
  /** The default choice the table falls back to, in the tuner's words ("registerTile 8x8 quadK"). */
  defaults: string;
  /** Where choices are kept, or why they are not. */
  stored: string;
  /** Wall time spent tuning (loading, checking, timing, saving). */
  seconds: number;
  products: TunedProduct[];
}

/** The entry without its candidates' times: the choice alone, as a checkpoint keeps it. */
export function choiceOnly(p: TunedProduct): TunedProduct {
  const entry = { ...p };
  delete entry.candidates;
  return entry;
}

/** An earlier compile's entry as this one reports it: what was timed then is cached now. */
export function replayedEntry(earlier: TunedProduct, label: string): TunedProduct {
  const source = earlier.source === 'timed' ? 'cached' : earlier.source;
  return { ...choiceOnly(earlier), label, source };
}

/**
 * The report in lines: what was tuned and where it is kept, then one line per product that was
 * timed or cached ("conv2 ... registerTile 8x4: 41.2 ms, default 53.5 ms, 1.30x").
 */
export function tuningLines(report: TuningReport): string[] {
  const counted = (source: TunedProduct['source']): number =>
    report.products.filter((p) => p.source === source).length;
  const head = `tuning (${report.mode}): ${counted('timed')} products timed, ${counted('cached')} from the cache, ${counted('small') + counted('budget')} left at ${report.defaults} (${counted('budget')} past the budget), in ${report.seconds.toFixed(1)} s; choices ${report.stored}`;
  const lines = report.products
    .filter((p) => p.ms !== undefined && p.defaultMs !== undefined)
    .map((p) => {
      const ratio = (p.defaultMs ?? 0) / (p.ms ?? 1);
      return `  ${p.choice.padEnd(16)} ${(p.ms ?? 0).toFixed(2).padStart(8)} ms, default ${(p.defaultMs ?? 0).toFixed(2).padStart(8)} ms, ${ratio.toFixed(2)}x  ${p.source === 'cached' ? '(cached) ' : ''}${p.label}`;
    });
  return [head, ...lines];
}
