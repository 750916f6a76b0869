/** The CLI's autotuner settings: a --tune mode, with each product's tuning printed as it starts. */
import type { TuneMode, TuneOptions } from '../core';

export function cliTune(mode: TuneMode, print: (line: string) => void = console.log): TuneOptions {
  return { mode, log: print };
}
