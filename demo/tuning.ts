/** The demo's words for what the autotuner did when the training step was compiled. Pure code. */
import type { TunedProduct, TuningReport } from './api';

function count(report: TuningReport, source: TunedProduct['source']): number {
  return report.products.filter((p) => p.source === source).length;
}

/**
 * One paragraph: how many kernel choices were timed here or taken from the browser's store, in
 * how long, which kept their default and why, and the chosen kernels' summed time against the
 * defaults' (each timed alone, as the tuner timed them).
 */
export function tuningSummary(report: TuningReport | undefined): string {
  if (!report) return 'Not timed (Kernels: defaults): every product runs the adapter’s default.';
  const parts = [`${count(report, 'timed')} timed on this device`];
  const cached = count(report, 'cached');
  if (cached > 0) parts.push(`${cached} kept from an earlier visit`);
  const [small, budget] = [count(report, 'small'), count(report, 'budget')];
  if (small > 0) parts.push(`${small} too small to time`);
  if (budget > 0) parts.push(`${budget} past the time budget (timed on the next build)`);
  const compared = report.products.filter((p) => p.ms !== undefined && p.defaultMs !== undefined);
  const chosenMs = compared.reduce((sum, p) => sum + (p.ms ?? 0), 0);
  const defaultMs = compared.reduce((sum, p) => sum + (p.defaultMs ?? 0), 0);
  const speed =
    chosenMs > 0
      ? ` The chosen kernels take ${chosenMs.toFixed(1)} ms where the defaults take ` +
        `${defaultMs.toFixed(1)} ms (${(defaultMs / chosenMs).toFixed(2)}x).`
      : '';
  return `Kernel choices of the training step: ${parts.join(', ')}, in ${report.seconds.toFixed(1)} s.${speed}`;
}
