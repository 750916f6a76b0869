/** The demo's sentence about the autotuner's choices (demo/tuning.ts). */
import { describe, expect, it } from 'vitest';
import type { TunedProduct, TuningReport } from '../../src/index';
import { tuningSummary } from '../../demo/tuning';

function product(source: TunedProduct['source'], ms?: number, defaultMs?: number): TunedProduct {
  const times = ms !== undefined && defaultMs !== undefined ? { ms, defaultMs } : {};
  return { label: 'p', key: 'k', flops: 1e9, choice: 'registerTile 8x8', source, ...times };
}

function report(products: TunedProduct[]): TuningReport {
  return {
    mode: 'cached',
    defaults: 'subgroupTile 8',
    stored: 'IndexedDB',
    seconds: 11.94,
    products,
  };
}

describe('tuningSummary', () => {
  it('counts each source, and sums the chosen and default times of those compared', () => {
    const text = tuningSummary(
      report([
        product('timed', 100, 250),
        product('timed', 50, 50),
        product('cached', 10, 20),
        product('small'),
        product('budget'),
        product('budget'),
      ]),
    );
    expect(text).toBe(
      'Kernel choices of the training step: 2 timed on this device, 1 kept from an earlier ' +
        'visit, 1 too small to time, 2 past the time budget (timed on the next build), in ' +
        '11.9 s. The chosen kernels take 160.0 ms where the defaults take 320.0 ms (2.00x).',
    );
  });

  it('says nothing of speed when nothing was compared, and names the defaults when untuned', () => {
    expect(tuningSummary(report([product('small')]))).toBe(
      'Kernel choices of the training step: 0 timed on this device, 1 too small to time, in 11.9 s.',
    );
    expect(tuningSummary(undefined)).toContain('Not timed');
  });
});
