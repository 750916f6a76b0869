/**
 * CPU twin of shaders/sample.wgsl: the next token drawn from one row of a language model's logits
 * [rows, V], with a temperature and top-k, as the inverse CDF at a host-drawn u in [0, 1) over the
 * kept ids in index order. The GPU adds its weights in per-invocation chunks, this twin in one
 * pass: the same token unless u sits within rounding of a boundary between two ids.
 */
import { ShadergradError } from '../base/errors';
import type { FloatArray } from './common.cpu';

/** What a draw reads besides the logits, written to the GPU per token (packDraw). */
export interface Draw {
  /** The row of logits to draw from (a causal model: the window's last real position). */
  row: number;
  /** Uniform in [0, 1), rounded to float32 below 1. */
  u: number;
  /** Divides the logits: < 1 sharpens, > 1 flattens; > 0. */
  temperature: number;
  /** Draw among the k largest logits only; 0 (or >= V) keeps all. */
  topK: number;
}

export interface SampleTokenArgs<T> {
  /** [rows, V] logits. */
  logits: T;
  rows: number;
  V: number;
  draw: Draw;
}

/** No id could be drawn: the row's weights do not sum to a positive finite number. */
export const NO_TOKEN = 0xffffffff;

/** The largest float32 below 1: u = fround(0.99999999) would otherwise round up to 1. */
const BELOW_ONE = 1 - 2 ** -24;

/** The draw as the kernel's u32 [4]: row, u's f32 bits, temperature's f32 bits, topK. */
export function packDraw(d: Draw): Uint32Array<ArrayBuffer> {
  const packed = new Uint32Array(4);
  const floats = new Float32Array(packed.buffer);
  packed[0] = d.row;
  floats[1] = Math.min(Math.fround(d.u), BELOW_ONE);
  floats[2] = d.temperature;
  packed[3] = d.topK;
  return packed;
}

/** Checks a draw against the logits' shape, with one line naming what is wrong. */
export function checkDraw(label: string, d: Draw, rows: number): void {
  if (!(Number.isInteger(d.row) && d.row >= 0 && d.row < rows))
    throw new ShadergradError(`${label}: row = ${d.row}, expected a whole number below ${rows}`);
  if (!(d.u >= 0 && d.u < 1)) throw new ShadergradError(`${label}: u = ${d.u}, expected [0, 1)`);
  const t = Math.fround(d.temperature);
  if (!(t > 0 && Number.isFinite(t)))
    throw new ShadergradError(
      `${label}: temperature = ${d.temperature}, expected a finite float32 > 0`,
    );
  if (!(Number.isInteger(d.topK) && d.topK >= 0 && d.topK < 2 ** 32))
    throw new ShadergradError(`${label}: topK = ${d.topK}, expected a whole number >= 0 (0: all)`);
}

/** Ids ranked by logit (ties: lower index first); the first `k` are kept. */
function keptIds(logits: FloatArray, base: number, V: number, k: number): Set<number> {
  const ids = Array.from({ length: V }, (_, i) => i);
  if (k === 0 || k >= V) return new Set(ids);
  const value = (i: number) => logits[base + i] ?? 0;
  return new Set(ids.sort((a, b) => value(b) - value(a) || a - b).slice(0, k));
}

/**
 * The draw's kept ids (the top k of its row) and per id exp((logit - top) / temperature) if kept,
 * else 0, with top the row's largest logit (float64, the temperature as the GPU reads it).
 */
function keptWeights(
  logits: FloatArray,
  V: number,
  d: Draw,
): { kept: Set<number>; weights: number[] } {
  const base = d.row * V;
  const kept = keptIds(logits, base, V, d.topK);
  let top = -Infinity;
  for (let i = 0; i < V; i++) top = Math.max(top, logits[base + i] ?? NaN);
  const temperature = Math.fround(d.temperature);
  const weights = Array.from({ length: V }, (_, i) =>
    kept.has(i) ? Math.exp(((logits[base + i] ?? NaN) - top) / temperature) : 0,
  );
  return { kept, weights };
}

/**
 * The float64 CDF a draw inverts: for each kept id of the draw's row, in index order, the
 * interval [start, end) of u that draws it (normalized to end at 1). What checks of the GPU's
 * draw measure against: an id drawn for a u outside its interval is wrong, unless u lies within
 * rounding of the interval's edge.
 */
export function drawIntervals(
  logits: FloatArray,
  V: number,
  d: Draw,
): { id: number; start: number; end: number }[] {
  const { kept, weights } = keptWeights(logits, V, d);
  const total = weights.reduce((a, b) => a + b, 0);
  let running = 0;
  return weights.flatMap((w, id) => {
    if (!kept.has(id)) return [];
    const start = running / total;
    running += w;
    return [{ id, start, end: running / total }];
  });
}

/** The drawn id, or NO_TOKEN for a row holding a NaN or whose weights' sum is not finite and > 0. */
export function sampleTokenCpu({ logits, rows, V, draw }: SampleTokenArgs<FloatArray>): number {
  checkDraw('sampleTokenCpu', draw, rows);
  const base = draw.row * V;
  const u = new Float32Array(packDraw(draw).buffer)[1] ?? 0;
  for (let i = 0; i < V; i++) if (Number.isNaN(logits[base + i])) return NO_TOKEN;
  const { kept, weights } = keptWeights(logits, V, draw);
  let total = 0;
  for (let i = 0; i < V; i++) if (kept.has(i)) total += weights[i] ?? 0;
  if (!(total > 0 && Number.isFinite(total))) return NO_TOKEN;
  const target = u * total;
  let running = 0;
  for (let i = 0; i < V; i++) {
    if (!kept.has(i)) continue;
    running += weights[i] ?? 0;
    if (target < running) return i;
  }
  return Math.max(...kept);
}
