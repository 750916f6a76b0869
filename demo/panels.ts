/**
 * The demo's read-outs: first-layer filters, confusion matrix, memory plan, kernel choices, class
 * probabilities.
 */
import {
  filterGrid,
  layerOutputShapes,
  layerParamCounts,
  tuningLines,
  type Evaluation,
  type LayerSpec,
  type MemoryReport,
  type ModelConfig,
  type TuningReport,
} from './api';
import { css, inkOn, shade, type Rgb } from './contrast';
import { tuningSummary } from './tuning';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  className = '',
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

/**
 * Conv filters [O, C, KH, KW] (input channel 0) as gray tiles, each scaled to its own range. The
 * grid is drawn small (a few pixels per weight) and scaled up by CSS without smoothing, so the
 * 1-pixel gaps between tiles stay visible.
 */
export function drawFilters(
  canvas: HTMLCanvasElement,
  weights: Float32Array,
  shape: readonly number[],
): void {
  const [, , , KW = 1] = shape;
  const grid = filterGrid(weights, shape, KW > 7 ? 2 : 4);
  canvas.width = grid.width;
  canvas.height = grid.height;
  const c = canvas.getContext('2d');
  if (!c) return;
  const image = c.createImageData(grid.width, grid.height);
  grid.pixels.forEach((v, i) => {
    image.data.set([v, v, v, 255], i * 4);
  });
  c.putImageData(image, 0, 0);
}

/**
 * One line per layer: what it is, its output shape per sample, its parameter count; `run` names
 * the comparison run the network belongs to.
 */
export function renderModel(host: HTMLElement, model: ModelConfig, run?: string): void {
  const shapes = layerOutputShapes(model);
  const params = layerParamCounts(model);
  const describe = (l: LayerSpec): string => {
    switch (l.type) {
      case 'conv2d':
        return `conv ${l.features}@${l.kernel}x${l.kernel} /${l.stride} ${l.padding} ${l.activation}`;
      case 'maxPool':
      case 'avgPool':
        return `${l.type} ${l.kernel}x${l.kernel} /${l.stride}`;
      case 'dense':
        return `dense ${l.units} ${l.activation}`;
      case 'flatten':
        return 'flatten';
      case 'dropout':
        return `dropout ${l.rate}`;
      case 'batchNorm':
        return `batch norm ${l.activation}`;
      case 'add':
        return `add ${l.activation}`;
      case 'concat':
        return 'concat';
      case 'globalAvgPool':
        return 'global avg pool';
      case 'activation':
        return l.activation;
      case 'patchEmbedding':
        return `patches ${l.patch}x${l.patch} -> ${l.features}`;
      case 'positionEmbedding':
        return 'position embedding';
      case 'transformerBlock':
        return `transformer block, ${l.heads} heads${l.causal ? ', causal' : ''}`;
      case 'layerNorm':
        return 'layer norm';
      case 'tokenMean':
        return 'mean over tokens';
      default:
        return l satisfies never;
    }
  };
  // A graph model's layers are named (torchvision's names for the resnet); a layer that does not
  // simply take the one above it says where its inputs come from, so the skips show.
  const line = (l: LayerSpec, i: number): string => {
    const above = i === 0 ? 'input' : model.layers[i - 1]?.name;
    const [first, ...more] = l.inputs ?? [];
    const from = first !== undefined && (more.length > 0 || first !== above);
    const what = l.name !== undefined ? `${l.name}: ${describe(l)}` : describe(l);
    return from ? `${what} <- ${[first, ...more].join(', ')}` : what;
  };
  const { channels, height, width } = model.input;
  const table = el('table', '', 'layers');
  const add = (what: string, shape: readonly number[], count: number): void => {
    const row = table.insertRow();
    row.append(
      el('td', what, 'what'),
      el('td', `[${shape.join(',')}]`),
      el('td', count > 0 ? count.toLocaleString('en') : '', 'num'),
    );
  };
  add('input', [channels, height, width], 0);
  model.layers.forEach((l, i) => add(line(l, i), shapes[i] ?? [], params[i] ?? 0));
  const total = params.reduce((a, b) => a + b, 0);
  const caption = `${total.toLocaleString('en')} parameters${run ? ` (${run})` : ''}`;
  host.replaceChildren(table, el('p', caption, 'caption'));
}

/** Right answers green, confusions red, at full strength for a whole row's share. */
const RIGHT: Rgb = [34, 130, 66];
const WRONG: Rgb = [192, 48, 36];

/**
 * Rows: true class; columns: predicted; each cell shaded by its share of the row, its number in
 * dark or white text, whichever reads better on that shade.
 */
export function renderConfusion(host: HTMLElement, m: Evaluation, names: readonly string[]): void {
  const table = el('table', '', 'confusion');
  const thead = table.createTHead();
  const axis = thead.insertRow();
  axis.append(el('th', '', 'axis'));
  const predicted = el('th', 'predicted →', 'axis');
  predicted.colSpan = m.classes;
  axis.append(predicted);
  const head = thead.insertRow();
  head.append(el('th', 'true ↓', 'axis'));
  // Columns by index so long class names (Fashion-MNIST) keep the table narrow.
  for (let k = 0; k < m.classes; k++) head.append(el('th', String(k)));
  const body = table.createTBody();
  for (let t = 0; t < m.classes; t++) {
    const row = body.insertRow();
    const name = names[t] ?? '';
    row.append(el('th', name === String(t) || name === '' ? String(t) : `${t} ${name}`));
    let rowTotal = 0;
    for (let p = 0; p < m.classes; p++) rowTotal += m.counts[t * m.classes + p] ?? 0;
    for (let p = 0; p < m.classes; p++) {
      const n = m.counts[t * m.classes + p] ?? 0;
      const cell = el('td', n > 0 ? String(n) : '');
      if (n > 0) {
        // Even one image in a cell shows a tint: the share is floored at 8%.
        const background = shade(t === p ? RIGHT : WRONG, Math.max(0.08, n / rowTotal));
        cell.style.background = css(background);
        cell.style.color = css(inkOn(background));
      }
      row.append(cell);
    }
  }
  const caption = `${(100 * m.accuracy).toFixed(1)}% right on the first ${m.total} test images`;
  host.replaceChildren(el('p', caption, 'caption'), table);
}

const MB = 2 ** 20;

/** Planned GPU bytes of the training step by kind, as bars. */
export function renderMemory(host: HTMLElement, m: MemoryReport): void {
  const rows: [string, number][] = [
    ['parameters', m.parameters],
    ['gradients', m.gradients],
    ['optimizer state', m.optimizerState],
    ['inputs, logits, losses', m.persistent],
    ['activations (planned)', m.planned],
  ];
  const table = el('table', '', 'memory');
  for (const [name, bytes] of rows) {
    const row = table.insertRow();
    row.append(el('th', name), el('td', `${(bytes / MB).toFixed(2)} MB`, 'num'));
    const bar = el('div', '', 'bar');
    bar.style.width = `${(100 * bytes) / Math.max(1, m.total)}%`;
    const cell = el('td', '', 'bar-cell');
    cell.append(bar);
    row.append(cell);
  }
  const saved = m.unplanned - m.planned;
  const note = el(
    'p',
    `Total ${(m.total / MB).toFixed(2)} MB. Buffer reuse keeps activations in ` +
      `${(m.planned / MB).toFixed(2)} MB instead of ${(m.unplanned / MB).toFixed(2)} MB ` +
      `(${(saved / MB).toFixed(2)} MB saved).`,
    'caption',
  );
  host.replaceChildren(table, note);
}

/** What the autotuner chose, in a sentence, and each choice's line (as `--profile` prints it). */
export function renderTuning(host: HTMLElement, report: TuningReport | undefined): void {
  const summary = el('p', tuningSummary(report));
  if (!report) return host.replaceChildren(summary);
  const details = el('details', '', 'tuning');
  details.append(el('summary', 'Each choice'), el('pre', tuningLines(report).join('\n')));
  host.replaceChildren(summary, details);
}

/** One bar per class; the most likely class is highlighted. */
export function renderProbabilities(
  host: HTMLElement,
  probs: Float32Array,
  names: readonly string[],
): void {
  const best = probs.indexOf(Math.max(...probs));
  const rows = Array.from(probs, (p, k) => {
    const row = el('div', '', k === best ? 'prob best' : 'prob');
    const bar = el('div', '', 'bar');
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    const track = el('div', '', 'track');
    track.append(bar);
    row.append(
      el('span', names[k] ?? String(k), 'name'),
      track,
      el('span', `${(100 * p).toFixed(1)}%`, 'num'),
    );
    return row;
  });
  host.replaceChildren(...rows);
}
