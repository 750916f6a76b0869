/** The CLI's autotuner settings: a --tune mode, with each product's tuning printed as it starts. */
import type { TuneMode, TuneOptions, TunedProduct } from '../core';

export function cliTune(mode: TuneMode, print: (line: string) => void = console.log): TuneOptions {
  return { mode, log: print };
}

/**
 * The train command's settings. A run that resumes one whose checkpoint names its kernels
 * (`resumed`) replays them, so the weights go on bit for bit; with `--tune off` it does not (off
 * takes the adapter's defaults), and a line says what that costs.
 */
export function trainTune(
  mode: TuneMode,
  resumed: readonly TunedProduct[] | undefined,
  print: (line: string) => void = console.log,
): TuneOptions {
  if (!resumed) return cliTune(mode, print);
  if (mode === 'off')
    print(
      `--tune off: the checkpoint names the kernels the run was tuned to (${resumed.length} choices); this run takes the adapter's defaults instead, so its weights will not match an uninterrupted run's bit for bit`,
    );
  return { ...cliTune(mode, print), replay: resumed };
}
