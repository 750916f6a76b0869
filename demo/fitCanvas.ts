/**
 * A canvas drawn at the size it is shown: its pixels are set to its CSS size times the device
 * pixel ratio and its context scaled to match, so drawing code works in CSS pixels and its text
 * stays legible when a phone shows the canvas narrower than its width attribute. The width and
 * height attributes in the HTML only give the proportions. Shared by the pages' line charts
 * (demo/charts.ts) and the benchmark page's bar chart (bench/page/chart.ts).
 */

/** The drawing area in CSS pixels. */
export interface Size {
  width: number;
  height: number;
}

/**
 * Sizes `canvas` to its shown width, at its attributes' proportions but at least `minHeight`
 * CSS pixels tall, and scales `c` to CSS pixels. A canvas not laid out (hidden) keeps its
 * attributes.
 */
export function fitToDisplay(
  canvas: HTMLCanvasElement,
  c: CanvasRenderingContext2D,
  minHeight: number,
): Size {
  // The attributes' proportions, remembered before the first resize changes them.
  canvas.dataset.aspect ??= String(canvas.height / canvas.width);
  const shown = canvas.clientWidth;
  if (shown === 0) return { width: canvas.width, height: canvas.height };
  const dpr = window.devicePixelRatio || 1;
  const size = {
    width: shown,
    height: Math.max(minHeight, Math.round(shown * Number(canvas.dataset.aspect))),
  };
  const [w, h] = [Math.round(size.width * dpr), Math.round(size.height * dpr)];
  // Setting a dimension clears the canvas even when unchanged; only a real change is written.
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  return size;
}
