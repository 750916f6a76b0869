/**
 * The WGSL panel: the family's own .wgsl file as the GPU compiles it (the registry's shader, which
 * is common.wgsl followed by the file, imported with ?raw by the kernel wrapper), its header
 * comment first, then the code with line numbers and the entry points a run dispatches
 * highlighted and scrolled to. One tab per shader module the kernel uses (conv2d uses three).
 */
import { kernelFamilies, type KernelCall } from '../../src/kernelApi';

export type ShaderSource = KernelCall['shader'];

/** A shader module and the entry points of it to highlight. */
export interface SourceView {
  shader: ShaderSource;
  entryPoints: string[];
}

/** The family's file split into its header comment and the rest, and the prepended prelude. */
export function splitSource(shader: ShaderSource): {
  header: string;
  body: string[];
  firstBodyLine: number;
  prelude: string;
} {
  const lines = shader.code.split('\n');
  const file = lines.slice(shader.prefixLines);
  let end = 0;
  while (end < file.length && /^\s*(\/\/.*)?$/.test(file[end] ?? '')) end++;
  // The header ends at its last comment line; blank lines after it belong to the body.
  let headerEnd = end;
  while (headerEnd > 0 && (file[headerEnd - 1] ?? '').trim() === '') headerEnd--;
  return {
    header: file.slice(0, headerEnd).join('\n'),
    body: file.slice(headerEnd),
    firstBodyLine: headerEnd + 1,
    prelude: lines.slice(0, shader.prefixLines).join('\n'),
  };
}

/** Lines [start, end) of `fn name(` in `lines`, with its attributes (@compute ...) above it. */
export function functionLines(
  lines: readonly string[],
  name: string,
): [number, number] | undefined {
  const at = lines.findIndex((l) => new RegExp(`^\\s*fn ${name}\\(`).test(l));
  if (at < 0) return undefined;
  let start = at;
  while (start > 0 && (lines[start - 1] ?? '').trimStart().startsWith('@')) start--;
  let end = at;
  while (end < lines.length && lines[end] !== '}') end++;
  return [start, Math.min(end + 1, lines.length)];
}

/** The registry's views of entry points named before a run (a run gives the calls' own). */
export function viewsOf(entryPoints: readonly string[]): SourceView[] {
  const views: SourceView[] = [];
  for (const entry of entryPoints) {
    const family = kernelFamilies.find((f) => entry in f.entryPoints);
    if (!family) continue;
    addView(views, family.shader, entry);
  }
  return views;
}

/** The shader modules and entry points of a list of calls, in order of first use. */
export function viewsOfCalls(calls: readonly KernelCall[]): SourceView[] {
  const views: SourceView[] = [];
  for (const call of calls) addView(views, call.shader, call.entryPoint);
  return views;
}

function addView(views: SourceView[], shader: ShaderSource, entry: string): void {
  const view = views.find((v) => v.shader.name === shader.name);
  if (!view) views.push({ shader, entryPoints: [entry] });
  else if (!view.entryPoints.includes(entry)) view.entryPoints.push(entry);
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The code with line numbers; comments dimmed; entry points marked `.entry`. */
function codeBlock(view: SourceView): HTMLPreElement {
  const { body, firstBodyLine } = splitSource(view.shader);
  const marked = new Set<number>();
  for (const entry of view.entryPoints) {
    const range = functionLines(body, entry);
    for (let i = range?.[0] ?? 0; range && i < range[1]; i++) marked.add(i);
  }
  const pre = element('pre', 'code');
  body.forEach((line, i) => {
    const row = element('span', marked.has(i) ? 'line entry' : 'line');
    row.append(element('span', 'number', String(firstBodyLine + i)));
    const comment = line.indexOf('//');
    row.append(comment < 0 ? line : line.slice(0, comment));
    if (comment >= 0) row.append(element('span', 'comment', line.slice(comment)));
    pre.append(row, '\n');
  });
  return pre;
}

/** Scrolls the code to its first highlighted line (once the panel is laid out). */
function scrollToEntry(pre: HTMLPreElement): void {
  const first = pre.querySelector<HTMLElement>('.entry');
  if (first) pre.scrollTop = Math.max(0, first.offsetTop - 24);
}

/**
 * Renders tabs (one per shader) and the chosen shader's header, code and prelude; `onShow` hears
 * which shader is shown (the editor edits that one).
 */
export function renderSources(
  tabs: HTMLElement,
  panel: HTMLElement,
  views: SourceView[],
  onShow: (view: SourceView) => void = () => undefined,
): void {
  const show = (view: SourceView): void => {
    onShow(view);
    const { header, prelude } = splitSource(view.shader);
    const title = element('h3', 'file', `shaders/${view.shader.name}.wgsl`);
    const entries = element('p', 'muted', `entry points: ${view.entryPoints.join(', ')}`);
    const pre = codeBlock(view);
    const details = element('details', 'prelude');
    details.append(
      element(
        'summary',
        '',
        'common.wgsl, prepended to every family (line numbers above are the file’s own)',
      ),
      element('pre', 'code', prelude),
    );
    panel.replaceChildren(title, element('pre', 'header', header), entries, pre, details);
    scrollToEntry(pre);
    tabs
      .querySelectorAll('button')
      .forEach((b) => b.classList.toggle('active', b.dataset.shader === view.shader.name));
  };
  tabs.replaceChildren(
    ...views.map((view) => {
      const b = element('button', 'tab', `${view.shader.name}.wgsl`);
      b.type = 'button';
      b.dataset.shader = view.shader.name;
      b.addEventListener('click', () => show(view));
      return b;
    }),
  );
  const first = views[0];
  if (first) show(first);
  else panel.replaceChildren(element('p', 'muted', 'This kernel has no shader of its own.'));
}
