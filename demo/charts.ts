/**
 * Line charts on a 2D canvas for the training curves: a title, labelled axes with ticks, a
 * legend, any number of series. A chart is drawn at the size it is shown (CSS pixels times the
 * device pixel ratio), so its text stays legible when a phone shows it narrower than its width
 * attribute; the attributes only set the chart's proportions.
 */
import { fitToDisplay, redrawOnResize } from './fitCanvas';

export interface Series {
  /** The legend's text; '' leaves the series out of the legend (e.g. a run's test markers). */
  label: string;
  color: string;
  /** [x, y] pairs in increasing x. */
  points: readonly (readonly [number, number])[];
  /** Draw markers instead of a line (sparse series such as test accuracy). */
  markers?: boolean;
  lineWidth?: number;
}

export interface ChartOptions {
  /** What the chart shows, above the legend. */
  title?: string;
  /** Fixed y range; otherwise [0 or min, max] of the data. */
  yRange?: readonly [number, number];
  xLabel: string;
  /** The y axis's quantity, written up the left edge. */
  yLabel?: string;
}

/** Margins around the plot, in CSS pixels: the y label and ticks, title and legend, x ticks and label. */
const PAD = { left: 60, right: 12, top: 46, bottom: 34 };
/** The least height a chart is drawn at, in CSS pixels: a phone shows it narrow, and flatter is unreadable. */
const MIN_HEIGHT = 180;

/** Exponential moving average of the y values (smoothing 0..1, higher is smoother). */
export function smooth(points: readonly (readonly [number, number])[], smoothing = 0.9) {
  let avg: number | undefined;
  return points.map(([x, y]): [number, number] => {
    avg = avg === undefined ? y : smoothing * avg + (1 - smoothing) * y;
    return [x, avg];
  });
}

/** A tick label without float noise (0.6, not 0.6000000000000001). */
function label(v: number): string {
  return String(Number(v.toPrecision(3)));
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

/** Draws `series` into `canvas`, replacing what was there. */
export function drawChart(
  canvas: HTMLCanvasElement,
  series: readonly Series[],
  o: ChartOptions,
): void {
  const c = canvas.getContext('2d');
  if (!c) return;
  const { width, height } = fitToDisplay(canvas, c, MIN_HEIGHT);
  redrawOnResize(canvas, () => drawChart(canvas, series, o));
  c.fillStyle = '#fff';
  c.fillRect(0, 0, width, height);
  const all = series.flatMap((s) => s.points);
  // Steps are whole numbers: at least 10 on the axis, so an empty chart has sensible ticks.
  const xMax = Math.max(10, ...all.map((p) => p[0]));
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const [y0, y1] = o.yRange ?? (ys.length > 0 ? [Math.min(0, ...ys), Math.max(...ys)] : [0, 1]);
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const px = (x: number): number => PAD.left + (x / xMax) * plotW;
  const py = (y: number): number => PAD.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  c.font = '11px system-ui, sans-serif';
  c.strokeStyle = '#e3e3e3';
  c.fillStyle = '#555';
  c.lineWidth = 1;
  const yStep = niceStep(y1 - y0 || 1, 4);
  for (let y = Math.ceil(y0 / yStep) * yStep; y <= y1 + 1e-9; y += yStep) {
    c.beginPath();
    c.moveTo(PAD.left, py(y));
    c.lineTo(width - PAD.right, py(y));
    c.stroke();
    c.textAlign = 'right';
    c.fillText(label(y), PAD.left - 4, py(y) + 4);
  }
  const xStep = Math.max(1, niceStep(xMax, 5));
  c.textAlign = 'center';
  for (let x = 0; x <= xMax + 1e-9; x += xStep)
    c.fillText(label(x), px(x), height - PAD.bottom + 14);
  c.fillText(o.xLabel, PAD.left + plotW / 2, height - 5);
  if (o.yLabel !== undefined) {
    c.save();
    c.translate(13, PAD.top + plotH / 2);
    c.rotate(-Math.PI / 2);
    c.fillText(o.yLabel, 0, 0);
    c.restore();
  }
  c.strokeStyle = '#888';
  c.strokeRect(PAD.left, PAD.top, plotW, plotH);
  for (const s of series) drawSeries(c, s, px, py);
  drawTitleAndLegend(c, series, o.title, width);
}

/**
 * The title on the first line, the legend on the second; a legend entry that would run past
 * the right edge starts a third line in the top margin's remaining space.
 */
function drawTitleAndLegend(
  c: CanvasRenderingContext2D,
  series: readonly Series[],
  title: string | undefined,
  width: number,
): void {
  c.textAlign = 'left';
  c.fillStyle = '#222';
  if (title !== undefined) {
    c.font = 'bold 12px system-ui, sans-serif';
    c.fillText(title, 8, 14);
  }
  c.font = '11px system-ui, sans-serif';
  let [x, y] = [PAD.left, 22];
  for (const s of series) {
    if (s.label === '') continue;
    const w = 24 + c.measureText(s.label).width;
    if (x > PAD.left && x + w > width) [x, y] = [PAD.left, y + 12];
    c.fillStyle = s.color;
    c.fillRect(x, y + 1, 9, 9);
    c.fillStyle = '#333';
    c.fillText(s.label, x + 13, y + 9);
    x += w;
  }
}

function drawSeries(
  c: CanvasRenderingContext2D,
  s: Series,
  px: (x: number) => number,
  py: (y: number) => number,
): void {
  c.strokeStyle = s.color;
  c.fillStyle = s.color;
  c.lineWidth = s.lineWidth ?? 2;
  if (s.markers) {
    for (const [x, y] of s.points) {
      c.beginPath();
      c.arc(px(x), py(y), 3.5, 0, 2 * Math.PI);
      c.fill();
    }
    return;
  }
  // At most ~1000 vertices: a long run is drawn through every k-th point.
  const stride = Math.max(1, Math.floor(s.points.length / 1000));
  c.beginPath();
  s.points.forEach(([x, y], i) => {
    if (i % stride !== 0 && i !== s.points.length - 1) return;
    if (i === 0) c.moveTo(px(x), py(y));
    else c.lineTo(px(x), py(y));
  });
  c.stroke();
}
