/**
 * The comparison chart, on a plain canvas: grouped bars of GFLOP/s per matmul size (one bar per
 * shadergrad variant plus tf.matMul), and a second panel of training-step samples/s (shadergrad's
 * Trainer.trainStep against tfjs). Linear value axes from 0, labelled, with a legend. Drawn at
 * the size it is shown (demo/fitCanvas.ts), so it stays legible on a phone.
 */
import { fitToDisplay, redrawOnResize } from '../../demo/fitCanvas';
import type { BenchRow } from './common';
import type { TfjsTiming } from './tfjsSuite';

// Blues and greys for shadergrad; orange is kept for tfjs.
const COLORS = ['#9aa5b1', '#4c8bf5', '#1a5fd0', '#0b3a8a', '#5f6b7a', '#7aa7f0'];
const TFJS_COLOR = '#e8710a';
/** The least height the chart is drawn at, in CSS pixels (a phone shows it narrow). */
const MIN_HEIGHT = 260;

interface Group {
  label: string;
  bars: { series: string; value: number }[];
}

interface Panel {
  title: string;
  unit: string;
  groups: Group[];
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

function tick(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

/** One panel in the box (x, y, w, h): y axis with 5 ticks, bars, group labels, unit label. */
function drawPanel(
  g: CanvasRenderingContext2D,
  p: Panel,
  box: [number, number, number, number],
  color: (series: string) => string,
): void {
  const [x0, y0, w, h] = box;
  const [left, top, bottom] = [x0 + 56, y0 + 26, y0 + h - 40];
  const right = x0 + w - 8;
  const max = niceMax(Math.max(...p.groups.flatMap((gr) => gr.bars.map((b) => b.value))));
  const yOf = (v: number) => bottom - ((bottom - top) * v) / max;
  g.fillStyle = '#222';
  g.font = 'bold 13px system-ui, sans-serif';
  g.textAlign = 'left';
  g.fillText(p.title, x0 + 4, y0 + 14);
  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = '#e3e5e8';
  g.textAlign = 'right';
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    g.beginPath();
    g.moveTo(left, yOf(v));
    g.lineTo(right, yOf(v));
    g.stroke();
    g.fillText(tick(v), left - 4, yOf(v) + 4);
  }
  g.save();
  g.translate(x0 + 12, (top + bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText(p.unit, 0, 0);
  g.restore();
  const slot = (right - left) / Math.max(p.groups.length, 1);
  p.groups.forEach((gr, i) => {
    const barW = Math.min(28, (slot * 0.8) / Math.max(gr.bars.length, 1));
    const start = left + slot * i + (slot - barW * gr.bars.length) / 2;
    gr.bars.forEach((b, j) => {
      g.fillStyle = color(b.series);
      g.fillRect(start + j * barW, yOf(b.value), barW - 2, bottom - yOf(b.value));
    });
    g.fillStyle = '#222';
    g.textAlign = 'center';
    g.fillText(gr.label, left + slot * (i + 0.5), bottom + 16);
  });
  g.strokeStyle = '#444';
  g.beginPath();
  g.moveTo(left, top);
  g.lineTo(left, bottom);
  g.lineTo(right, bottom);
  g.stroke();
}

function panels(rows: readonly BenchRow[], tfjs: readonly TfjsTiming[]): Panel[] {
  const shapes = [...new Set(rows.filter((r) => r.suite === 'matmul').map((r) => r.shape))];
  const matmul = shapes.map((shape) => ({
    label: shape,
    bars: [
      ...rows
        .filter((r) => r.suite === 'matmul' && r.shape === shape)
        .map((r) => ({ series: r.kernel, value: r.value })),
      ...tfjs
        .filter((t) => t.unit === 'GFLOP/s' && t.shape === shape)
        .map((t) => ({ series: t.kernel, value: t.value })),
    ],
  }));
  const steps = rows.filter((r) => r.suite === 'train' && r.kernel.startsWith('Trainer'));
  const train = steps.map((r) => ({
    label: r.shape.split(',')[0] ?? r.shape,
    bars: [
      { series: 'shadergrad Trainer.trainStep', value: r.value },
      ...tfjs
        .filter((t) => t.unit === 'samples/s' && t.shape === r.shape)
        .map((t) => ({ series: t.kernel, value: t.value })),
    ],
  }));
  return [
    { title: 'Square matmul C[N,N] = A·B (N x N x N)', unit: 'GFLOP/s', groups: matmul },
    { title: 'Training step', unit: 'samples/s', groups: train },
  ].filter((p) => p.groups.length > 0);
}

/** Draws the chart; returns false (and clears the canvas) when there is nothing to draw. */
export function drawChart(
  canvas: HTMLCanvasElement,
  rows: readonly BenchRow[],
  tfjs: readonly TfjsTiming[],
): boolean {
  const g = canvas.getContext('2d');
  if (!g) return false;
  const { width, height } = fitToDisplay(canvas, g, MIN_HEIGHT);
  redrawOnResize(canvas, () => drawChart(canvas, rows, tfjs));
  g.clearRect(0, 0, width, height);
  const ps = panels(rows, tfjs);
  if (ps.length === 0) return false;
  const series = [
    ...new Set(ps.flatMap((p) => p.groups.flatMap((gr) => gr.bars.map((b) => b.series)))),
  ];
  const color = (s: string) =>
    s.startsWith('tf') ? TFJS_COLOR : (COLORS[series.indexOf(s) % COLORS.length] ?? '#888');
  const legendH = drawLegend(g, series, color, width);
  const widths = ps.map((p) => (p.unit === 'GFLOP/s' ? 0.72 : 0.28));
  const scale = widths.reduce((a, b) => a + b, 0);
  let x = 0;
  ps.forEach((p, i) => {
    const w = (width * (widths[i] ?? 1)) / scale;
    drawPanel(g, p, [x, legendH, w, height - legendH], color);
    x += w;
  });
  return true;
}

/** The legend across the top, wrapped into as many lines as `width` needs; returns its height. */
function drawLegend(
  g: CanvasRenderingContext2D,
  series: readonly string[],
  color: (s: string) => string,
  width: number,
): number {
  const LINE = 20;
  g.font = '12px system-ui, sans-serif';
  g.textAlign = 'left';
  let [x, y] = [8, 6];
  for (const s of series) {
    const w = g.measureText(s).width + 32;
    if (x > 8 && x + w - 16 > width) [x, y] = [8, y + LINE];
    g.fillStyle = color(s);
    g.fillRect(x, y, 12, 12);
    g.fillStyle = '#222';
    g.fillText(s, x + 16, y + 10);
    x += w;
  }
  return y + LINE - 2;
}
