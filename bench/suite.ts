/**
 * What one bench:train run measures, whatever the model: its names for the report, the options
 * at the default batch size, and how each framework trains it at a given batch size. bench/train.ts
 * builds the image models' suite; bench/gptBench.ts the GPT's.
 */
import type { BenchOptions, FrameworkSlot } from './peers/common';
import type { Framework, ModelKind } from './trainFlags';

/** One framework's run at `o.batch`: its result, or why it did not run. */
export type SuiteRunner = (o: BenchOptions) => Promise<FrameworkSlot>;

export interface BenchSuite {
  kind: ModelKind;
  /** The model, for the table's title and the JSON's `model`. */
  description: string;
  /** The data in a word or two, for the table's title. */
  dataset: string;
  /** The data and how it is ordered, for the JSON's `dataset`. */
  datasetDetail: string;
  /** Positions per sample (the GPT's context): reported too as tokens/s = samples/s × this. */
  tokensPerSample?: number;
  /** The options at the default batch size; `--batch` replaces the size. */
  options: BenchOptions;
  runners: Record<Framework, SuiteRunner>;
}
