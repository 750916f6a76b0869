/**
 * Pictures of a 2-D classifier on canvases: the decision boundary (each grid cell tinted by the
 * predicted class probabilities, the training and test points on top, misclassified ones ringed)
 * and each hidden unit's output over the same grid as a small heatmap.
 *
 * Grid layout: G x G cells, row 0 at the top (largest y), so cell (r, c) is pixel (c, r).
 */
import type { Activation, Toy2d } from '../api';

/** Square region of the plane shown: [x0, x1] x [y0, y1]. */
export interface Extent {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Class colours (colour-blind friendly, the first two far apart). */
export const classColors: readonly [number, number, number][] = [
  [230, 126, 34],
  [41, 128, 185],
  [39, 174, 96],
  [192, 57, 43],
  [142, 68, 173],
  [22, 160, 133],
  [241, 196, 15],
  [127, 140, 141],
  [211, 84, 0],
  [44, 62, 80],
];

const css = ([r, g, b]: readonly number[]): string => `rgb(${r}, ${g}, ${b})`;

/** A square around the points with a margin, so the boundary is seen beyond the data. */
export function extentOf(points: Float32Array): Extent {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i] ?? 0;
    const y = points[i + 1] ?? 0;
    [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  }
  const half = Math.max(x1 - x0, y1 - y0, 0.5) * 0.65;
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  return { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half };
}

/** Cell centres of a G x G grid over `e`, [G*G, 2], row 0 at the top. */
export function gridPoints(e: Extent, G: number): Float32Array {
  const out = new Float32Array(G * G * 2);
  for (let r = 0; r < G; r++)
    for (let c = 0; c < G; c++) {
      out[2 * (r * G + c)] = e.x0 + ((c + 0.5) / G) * (e.x1 - e.x0);
      out[2 * (r * G + c) + 1] = e.y1 - ((r + 0.5) / G) * (e.y1 - e.y0);
    }
  return out;
}

/** Probability of each class at one cell; a single sigmoid output p means [1 - p, p]. */
function probabilityAt(outputs: Float32Array, width: number, cell: number, k: number): number {
  if (width === 1) {
    const p = outputs[cell] ?? 0;
    return k === 1 ? p : 1 - p;
  }
  return outputs[cell * width + k] ?? 0;
}

/** Draws a G x G image with `color(cell)` scaled (smoothly) onto the whole canvas. */
function paintGrid(canvas: HTMLCanvasElement, G: number, color: (cell: number) => number[]): void {
  const c = canvas.getContext('2d');
  if (!c) return;
  const image = new ImageData(G, G);
  for (let cell = 0; cell < G * G; cell++) {
    const [r = 0, g = 0, b = 0] = color(cell);
    image.data.set([r, g, b, 255], 4 * cell);
  }
  const small = document.createElement('canvas');
  small.width = G;
  small.height = G;
  small.getContext('2d')?.putImageData(image, 0, 0);
  c.imageSmoothingEnabled = true;
  c.drawImage(small, 0, 0, canvas.width, canvas.height);
}

/** Points drawn on a boundary: a dataset, the class predicted for each point, and its role. */
export interface PointSet {
  data: Toy2d;
  predicted?: Int32Array;
  /** Test points (held out, never trained on) are squares; training points are discs. */
  role: 'train' | 'test';
}

/**
 * The boundary: each cell is the probability-weighted mix of the class colours, washed towards
 * white where the network is unsure; then the points in their class colour (discs for training
 * points, squares for test points), larger and ringed in black while misclassified.
 */
export function drawBoundary(
  canvas: HTMLCanvasElement,
  grid: { outputs: Float32Array; width: number },
  G: number,
  classes: number,
  e: Extent,
  sets: readonly PointSet[],
): void {
  paintGrid(canvas, G, (cell) => {
    const mix = [0, 0, 0];
    let top = 0;
    for (let k = 0; k < classes; k++) {
      const p = probabilityAt(grid.outputs, grid.width, cell, k);
      top = Math.max(top, p);
      (classColors[k] ?? [0, 0, 0]).forEach((v, i) => (mix[i] = (mix[i] ?? 0) + p * v));
    }
    // top runs from 1/classes (unsure) to 1 (sure): sure cells get more colour
    const sure = (top - 1 / classes) / (1 - 1 / classes);
    const w = 0.25 + 0.45 * sure;
    return mix.map((v) => 255 * (1 - w) + v * w);
  });
  const c = canvas.getContext('2d');
  if (c) for (const set of sets) drawPoints(c, canvas, e, set);
}

function drawPoints(
  c: CanvasRenderingContext2D,
  canvas: HTMLCanvasElement,
  e: Extent,
  { data, predicted, role }: PointSet,
): void {
  const r = Math.max(2.5, Math.min(6, canvas.width / 60));
  for (let i = 0; i < data.count; i++) {
    const x = (((data.points[2 * i] ?? 0) - e.x0) / (e.x1 - e.x0)) * canvas.width;
    const y = ((e.y1 - (data.points[2 * i + 1] ?? 0)) / (e.y1 - e.y0)) * canvas.height;
    const label = data.labels[i] ?? 0;
    const wrong = predicted !== undefined && predicted[i] !== label;
    const size = wrong ? r * 1.5 : r;
    c.beginPath();
    if (role === 'test') c.rect(x - size, y - size, 2 * size, 2 * size);
    else c.arc(x, y, size, 0, 2 * Math.PI);
    c.fillStyle = css(classColors[label] ?? [0, 0, 0]);
    c.fill();
    c.lineWidth = wrong ? 2.5 : 1;
    c.strokeStyle = wrong ? '#000' : '#fff';
    c.stroke();
  }
}

/** Value range shown for a unit: the activation's own range, or symmetric around 0. */
function rangeOf(values: Float32Array, activation: Activation): [number, number] {
  if (activation === 'sigmoid') return [0, 1];
  if (activation === 'tanh') return [-1, 1];
  const m = values.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-6);
  return [activation === 'relu' ? 0 : -m, m];
}

/** One heatmap: low values in class 0's colour, high values in class 1's, the middle white. */
export function drawUnit(
  canvas: HTMLCanvasElement,
  values: Float32Array,
  G: number,
  activation: Activation,
): void {
  const [lo, hi] = rangeOf(values, activation);
  const [low, high] = [classColors[0] ?? [0, 0, 0], classColors[1] ?? [0, 0, 0]];
  paintGrid(canvas, G, (cell) => {
    const t = (2 * ((values[cell] ?? 0) - lo)) / (hi - lo || 1) - 1; // -1..1
    const color = t < 0 ? low : high;
    const a = Math.min(1, Math.abs(t));
    return color.map((v) => 255 * (1 - a) + v * a);
  });
}
