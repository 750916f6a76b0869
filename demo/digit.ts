/**
 * The drawing pad and MNIST-style preprocessing of what is drawn. MNIST digits were scaled so
 * their bounding box fits 20x20 pixels (keeping the aspect ratio, with anti-aliasing), then
 * placed in a 28x28 image so that their centre of mass sits at the centre (LeCun et al., the
 * MNIST page). centerDigit does the same with area averaging; white ink on black, as in MNIST.
 */

const SIDE = 28;
const BOX = 20;

/** Bounding box of pixels above `threshold`, or undefined for a blank image. */
function inkBox(gray: Float32Array, width: number, height: number, threshold = 0.05) {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((gray[y * width + x] ?? 0) > threshold) {
        [x0, y0] = [Math.min(x0, x), Math.min(y0, y)];
        [x1, y1] = [Math.max(x1, x), Math.max(y1, y)];
      }
  return x1 < 0 ? undefined : { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * A 28x28 image in [0, 1] from a width x height grayscale drawing in [0, 1]: the ink's bounding
 * box scaled into 20x20 (each target pixel the mean of the source area it covers), shifted so the
 * centre of mass lands on (14, 14). A blank drawing gives a blank image.
 */
export function centerDigit(gray: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  const box = inkBox(gray, width, height);
  if (!box) return out;
  const scale = BOX / Math.max(box.w, box.h);
  const tw = Math.max(1, Math.round(box.w * scale));
  const th = Math.max(1, Math.round(box.h * scale));
  const small = new Float32Array(tw * th);
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++) {
      const [sx0, sx1] = [box.x0 + (x * box.w) / tw, box.x0 + ((x + 1) * box.w) / tw];
      const [sy0, sy1] = [box.y0 + (y * box.h) / th, box.y0 + ((y + 1) * box.h) / th];
      let sum = 0;
      let n = 0;
      for (let sy = Math.floor(sy0); sy < Math.ceil(sy1); sy++)
        for (let sx = Math.floor(sx0); sx < Math.ceil(sx1); sx++, n++)
          sum += gray[sy * width + sx] ?? 0;
      small[y * tw + x] = n > 0 ? sum / n : 0;
    }
  let [mass, mx, my] = [0, 0, 0];
  small.forEach((v, i) => {
    mass += v;
    mx += v * (i % tw);
    my += v * Math.floor(i / tw);
  });
  // Top-left corner that puts the centre of mass (of pixel centres) at 14, 14, kept inside.
  const left = Math.min(SIDE - tw, Math.max(0, Math.round(SIDE / 2 - 0.5 - mx / mass)));
  const top = Math.min(SIDE - th, Math.max(0, Math.round(SIDE / 2 - 0.5 - my / mass)));
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++) out[(top + y) * SIDE + left + x] = small[y * tw + x] ?? 0;
  return out;
}

/** A canvas to draw on with the mouse, a pen or a finger; white ink on black. */
export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | undefined;

  constructor(
    readonly canvas: HTMLCanvasElement,
    /** Called when a stroke ends, with the drawing as a 28x28 MNIST-style image. */
    onDrawn: (image: Float32Array) => void,
  ) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D canvas context');
    this.ctx = ctx;
    this.clear();
    canvas.style.touchAction = 'none';
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = this.point(e);
      this.stroke(this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (this.last) this.stroke(this.point(e));
    });
    const end = (): void => {
      if (!this.last) return;
      this.last = undefined;
      onDrawn(this.image());
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Shows a 28x28 image (e.g. a test image) scaled up to the whole pad. */
  show(image: Float32Array): void {
    const side = this.canvas.width / SIDE;
    for (let i = 0; i < SIDE * SIDE; i++) {
      const v = Math.round(255 * (image[i] ?? 0));
      this.ctx.fillStyle = `rgb(${v},${v},${v})`;
      this.ctx.fillRect((i % SIDE) * side, Math.floor(i / SIDE) * side, side, side);
    }
  }

  /** The drawing, preprocessed like MNIST. */
  image(): Float32Array {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const gray = new Float32Array(width * height);
    for (let i = 0; i < gray.length; i++) gray[i] = (rgba[i * 4] ?? 0) / 255;
    return centerDigit(gray, width, height);
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * this.canvas.width) / r.width,
      y: ((e.clientY - r.top) * this.canvas.height) / r.height,
    };
  }

  private stroke(to: { x: number; y: number }): void {
    const from = this.last ?? to;
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = this.canvas.width / 14; // ~2 MNIST pixels once the digit is scaled to 20x20
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(from.x, from.y);
    c.lineTo(to.x + 0.01, to.y);
    c.stroke();
    this.last = to;
  }
}
