/**
 * Attention maps as heat maps: one small canvas per layer and head, row t = how the prompt's
 * character t (the query) spreads its attention over characters 0..t (the keys). The characters
 * label the axes when the cells are big enough to hold them; hovering a cell names the pair and
 * its weight.
 */

/** About this many pixels per map side, whatever the prompt's length. */
const MAP_PX = 216;
/** Cells narrower than this get no character labels (they would overlap). */
const LABEL_MIN_CELL = 9;
const LABEL_PX = 12;

/** A character as an axis label: blanks made visible. */
export function visible(c: string): string {
  return c === ' ' ? '␣' : c === '\n' ? '↵' : c === '\t' ? '⇥' : c;
}

/** White to dark blue; the square root keeps the many small weights of a long row visible. */
function shade(weight: number): string {
  const v = Math.sqrt(Math.min(1, Math.max(0, weight)));
  const [r, g, b] = [255 - 219 * v, 255 - 174 * v, 255 - 76 * v].map(Math.round);
  return `rgb(${r},${g},${b})`;
}

interface Geometry {
  n: number;
  cell: number;
  /** Room left of and above the map for labels (0 without them). */
  margin: number;
}

function geometry(n: number): Geometry {
  const cell = Math.max(2, Math.min(18, Math.floor(MAP_PX / n)));
  return { n, cell, margin: cell >= LABEL_MIN_CELL ? LABEL_PX : 0 };
}

function drawMap(canvas: HTMLCanvasElement, map: Float32Array, chars: string[], g: Geometry): void {
  const c = canvas.getContext('2d');
  if (!c) return;
  const { n, cell, margin } = g;
  c.fillStyle = '#fff';
  c.fillRect(0, 0, canvas.width, canvas.height);
  for (let t = 0; t < n; t++)
    for (let s = 0; s < n; s++) {
      // Above the diagonal the causal mask hides the key: gray, not "zero attention" white.
      c.fillStyle = s > t ? '#eceef1' : shade(map[t * n + s] ?? 0);
      c.fillRect(margin + s * cell, margin + t * cell, cell, cell);
    }
  if (margin === 0) return;
  c.fillStyle = '#444';
  c.font = `${Math.min(11, cell)}px ui-monospace, monospace`;
  c.textAlign = 'center';
  c.textBaseline = 'middle';
  chars.forEach((ch, i) => {
    const mid = margin + (i + 0.5) * cell;
    c.fillText(visible(ch), mid, margin / 2); // keys along the top
    c.fillText(visible(ch), margin / 2, mid); // queries down the side
  });
}

/** Says which query, key and weight the pointer is on. */
function hoverText(map: Float32Array, chars: string[], g: Geometry, x: number, y: number): string {
  const s = Math.floor((x - g.margin) / g.cell);
  const t = Math.floor((y - g.margin) / g.cell);
  if (s < 0 || t < 0 || s >= g.n || t >= g.n) return '';
  const q = `"${visible(chars[t] ?? '')}" (${t})`;
  const k = `"${visible(chars[s] ?? '')}" (${s})`;
  if (s > t) return `${q} cannot see ${k}: it comes later`;
  return `${q} → ${k}: ${(map[t * g.n + s] ?? 0).toFixed(3)}`;
}

function figure(
  map: Float32Array,
  chars: string[],
  caption: string,
  readout: HTMLElement,
): HTMLElement {
  const g = geometry(chars.length);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = g.margin + g.n * g.cell;
  canvas.setAttribute('aria-label', `attention map, ${caption}`);
  drawMap(canvas, map, chars, g);
  const read = (e: PointerEvent): void => {
    // The canvas may be scaled down by CSS (max-width: 100%): map the pointer back to pixels.
    const box = canvas.getBoundingClientRect();
    const scale = canvas.width / (box.width || 1);
    const at = hoverText(
      map,
      chars,
      g,
      (e.clientX - box.left) * scale,
      (e.clientY - box.top) * scale,
    );
    readout.textContent = at === '' ? '' : `${caption}: ${at}`;
  };
  // A mouse reads a cell by hovering, a finger by touching it.
  canvas.addEventListener('pointermove', read);
  canvas.addEventListener('pointerdown', read);
  const f = document.createElement('figure');
  f.append(canvas, Object.assign(document.createElement('figcaption'), { textContent: caption }));
  return f;
}

/**
 * Replaces `container`'s maps with `maps` (per layer, per head, [n, n] row-major) of the
 * characters `chars` (n of them); returns how many maps were drawn.
 */
export function drawAttention(
  container: HTMLElement,
  readout: HTMLElement,
  maps: readonly (readonly Float32Array[])[],
  chars: string[],
): number {
  readout.textContent = '';
  const rows = maps.map((heads, layer) => {
    const row = document.createElement('div');
    row.className = 'layer';
    row.append(
      ...heads.map((map, head) =>
        figure(map, chars, `layer ${layer + 1}, head ${head + 1}`, readout),
      ),
    );
    return row;
  });
  container.replaceChildren(...rows);
  return maps.reduce((count, heads) => count + heads.length, 0);
}
