/**
 * bench:train's report: the table per batch size (samples/s, and tokens/s for a sequence model),
 * the ratios line, the JSON report, and the batch-scaling summary's rows.
 */
import type { FrameworkResult, FrameworkSlot, BenchOptions } from './peers/common';
import { printTable, progress, type Row } from './report';
import { dawnPolling } from '../src/gpu/dawnPolling';
import { median } from '../src/gpu/timing';
import type { BenchSuite } from './suite';
import { FRAMEWORKS, type Framework } from './trainFlags';
import { roundRatios } from './turns';

export type Slots = Record<Framework, FrameworkSlot>;

const ok = (s: FrameworkSlot | undefined): s is FrameworkResult =>
  s !== undefined && 'samplesPerS' in s;

/** The slot with tokens/s added when the suite's samples are sequences. */
export function withTokens(
  slot: FrameworkSlot,
  tokensPerSample: number | undefined,
): FrameworkSlot {
  if (tokensPerSample === undefined || !ok(slot)) return slot;
  return { ...slot, tokensPerS: slot.samplesPerS * tokensPerSample };
}

function tableRow(name: Framework, s: FrameworkSlot): Row {
  if (!ok(s))
    return {
      framework: name,
      backend: 'error' in s ? `error: ${s.error}` : `skipped: ${s.skipped}`,
    };
  return {
    framework: name,
    backend: s.backend,
    'samples/s': s.samplesPerS,
    ...(s.tokensPerS === undefined ? {} : { 'tokens/s': s.tokensPerS }),
    'step ms (median)': s.stepMsMedian,
    'min ms': s.stepMsMin,
    'max ms': s.stepMsMax,
    loss: s.lossMean,
    'submits/step': s.submitsPerStep,
    'buffers/step': s.buffersPerStep,
    'bindGroups/step': s.bindGroupsPerStep,
  };
}

type RatioName = 'shadergrad/tfjs' | 'shadergrad/jaxjs';

/** `of(shadergrad, peer)` for each peer, null where either did not run. */
function perPeer<T>(
  slots: Slots,
  of: (base: FrameworkResult, peer: FrameworkResult) => T,
): Record<RatioName, T | null> {
  const base = slots.shadergrad;
  const against = (peer: FrameworkSlot): T | null => (ok(base) && ok(peer) ? of(base, peer) : null);
  return { 'shadergrad/tfjs': against(slots.tfjs), 'shadergrad/jaxjs': against(slots.jaxjs) };
}

/** shadergrad's samples/s over each peer's (> 1: shadergrad is faster); null if one is missing. */
const ratios = (slots: Slots): Record<RatioName, number | null> =>
  perPeer(slots, (base, peer) => base.samplesPerS / peer.samplesPerS);

/** The same ratio from each round's medians, in round order. */
const perRoundRatios = (slots: Slots): Record<RatioName, number[] | null> =>
  perPeer(slots, (base, peer) => roundRatios(base.roundMsMedians, peer.roundMsMedians));

/** What the ratios compare: tokens/s for a sequence model (the same ratio), else samples/s. */
const rateName = (suite: BenchSuite): string =>
  suite.tokensPerSample === undefined ? 'samples/s' : 'tokens/s';

const times = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(2)}x`);

/** "lowest-highest (median m)" of one peer's round ratios. */
function roundSpread(r: readonly number[] | null): string {
  if (r === null || r.length === 0) return 'n/a';
  return `${times(Math.min(...r))}-${times(Math.max(...r))} (median ${times(median(r))})`;
}

export function printReport(slots: Slots, suite: BenchSuite, o: BenchOptions): void {
  printTable(
    `Training throughput, ${suite.description}, ${suite.dataset}, batch ${o.batch}, ` +
      `Adam ${o.lr} (median of ${o.steps} steps after ${o.warmup} warm-up, timed in ` +
      `${o.rounds} round(s) taken in turns; each step awaited)`,
    FRAMEWORKS.map((name) => tableRow(name, slots[name])),
  );
  const r = ratios(slots);
  console.log(
    `\n${rateName(suite)} ratios: shadergrad/tfjs ${times(r['shadergrad/tfjs'])}, ` +
      `shadergrad/jaxjs ${times(r['shadergrad/jaxjs'])}`,
  );
  if (o.rounds > 1) {
    const byRound = perRoundRatios(slots);
    console.log(
      `per round (${o.rounds}): shadergrad/tfjs ${roundSpread(byRound['shadergrad/tfjs'])}, ` +
        `shadergrad/jaxjs ${roundSpread(byRound['shadergrad/jaxjs'])}`,
    );
  }
  for (const name of FRAMEWORKS) {
    const s = slots[name];
    if (ok(s)) console.log(`${name}: ${s.backend} on ${s.adapter}, ${s.parameters} parameters`);
  }
  console.log(`Dawn's poll loop: ${dawnPolling()} (SHADERGRAD_DAWN_POLL, src/gpu/dawnPolling.ts)`);
}

/** Each framework's tokens/s (null where it did not run), for a sequence model's JSON. */
function tokenRates(slots: Slots): Record<Framework, number | null> {
  const rate = (s: FrameworkSlot): number | null => (ok(s) ? (s.tokensPerS ?? null) : null);
  return { shadergrad: rate(slots.shadergrad), tfjs: rate(slots.tfjs), jaxjs: rate(slots.jaxjs) };
}

export function jsonReport(slots: Slots, suite: BenchSuite, o: BenchOptions): object {
  const done = FRAMEWORKS.map((n) => slots[n]).filter(ok);
  const adapters = [...new Set(done.map((s) => s.adapter))];
  const parameterCounts = [...new Set(done.map((s) => s.parameters))];
  if (adapters.length > 1)
    progress(`WARNING: frameworks ran on different adapters: ${adapters.join(' | ')}`);
  if (parameterCounts.length > 1)
    progress(`WARNING: parameter counts differ: ${parameterCounts.join(', ')}`);
  const base = slots.shadergrad;
  const tokens = suite.tokensPerSample;
  return {
    bench: 'train',
    model: suite.description,
    modelKind: suite.kind,
    dataset: suite.datasetDetail,
    batch: o.batch,
    ...(tokens === undefined ? {} : { context: tokens, tokensPerS: tokenRates(slots) }),
    optimizer: { kind: 'adam', lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps },
    warmup: o.warmup,
    rounds: o.rounds,
    timing:
      'per step: launch, then await GPU completion; median over timed steps; the frameworks ' +
      'take turns, one block of steps per round',
    dawnPolling: dawnPolling(),
    adapter: adapters.join(' | ') || 'none',
    sameAdapter: adapters.length === 1,
    sameParameterCount: parameterCounts.length <= 1,
    submitsPerStep: ok(base) ? base.submitsPerStep : null,
    buffersPerStep: ok(base) ? base.buffersPerStep : null,
    bindGroupsPerStep: ok(base) ? base.bindGroupsPerStep : null,
    ...slots,
    ratios: ratios(slots),
    roundRatios: perRoundRatios(slots),
  };
}

/** One line of the batch-scaling summary: the rate per framework, shadergrad's planned bytes. */
export function scalingRow(batch: number, slots: Slots, suite: BenchSuite): Row {
  const unit = rateName(suite);
  const rates = FRAMEWORKS.map((name) => {
    const s = slots[name];
    const rate = ok(s) ? (unit === 'tokens/s' ? s.tokensPerS : s.samplesPerS) : undefined;
    return [`${name} ${unit}`, rate ?? 'n/a'] as const;
  });
  const sg = slots.shadergrad;
  const planned = ok(sg) && sg.plannedBytes !== undefined ? sg.plannedBytes / 2 ** 20 : 'n/a';
  return { batch, ...Object.fromEntries(rates), 'shadergrad planned MiB': planned };
}
