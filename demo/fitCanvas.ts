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

/** Each watched canvas's latest drawing, and the width it was drawn at. */
const drawings = new WeakMap<HTMLCanvasElement, { draw: () => void; width: number }>();
let observer: ResizeObserver | undefined;

/**
 * Calls `draw` again when `canvas` is shown at another width (a window resized, a phone
 * turned), so a chart that is not being updated is redrawn sharp rather than stretched. Each call
 * replaces the canvas's previous `draw`.
 */
export function redrawOnResize(canvas: HTMLCanvasElement, draw: () => void): void {
  drawings.set(canvas, { draw, width: canvas.clientWidth });
  observer ??= new ResizeObserver((entries) => {
    for (const e of entries) {
      const target = e.target as HTMLCanvasElement;
      const d = drawings.get(target);
      // Drawing changes the canvas's height, which reports a resize too: only a new width
      // redraws, in the next frame (a size changed inside this callback would be reported again
      // in the same frame: a ResizeObserver loop error).
      if (d && target.clientWidth !== d.width) requestAnimationFrame(d.draw);
    }
  });
  observer.observe(canvas);
}
