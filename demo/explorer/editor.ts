/**
 * The WGSL editor: any shader the chosen kernel uses can be edited in the page (the family's own
 * file, the lines compile errors and race reports count in), and the next run compiles the edit
 * instead of the library's source. Edits are kept per shader file until Reset, which restores the
 * library's source; a compile error shows beside the editor and the page stays usable. "Break it"
 * presets make a known bug in one click and run it.
 */
import { kernelFamilies, type KernelCall } from '../../src/kernelApi';
import { editedShader, errorLocation, fileText, offsetOf, type ShaderSource } from './edits';
import { applyPreset, presetsOf, type Preset } from './presets';
import type { SourceView } from './source';

export interface EditorElements {
  /** The read-only view, hidden while the editor shows. */
  source: HTMLElement;
  editor: HTMLTextAreaElement;
  edit: HTMLButtonElement;
  reset: HTMLButtonElement;
  compileError: HTMLElement;
  presets: HTMLElement;
}

/** The library's source of a shader module, by name (the registry's). */
function library(name: string): ShaderSource | undefined {
  return kernelFamilies.find((f) => f.shader.name === name)?.shader;
}

export class Editor {
  /** Edited file text by shader name. */
  private readonly texts = new Map<string, string>();
  private active: ShaderSource | undefined;
  /** The preset the current edit came from, until the text is changed by hand or reset. */
  preset: Preset | undefined;

  constructor(
    private readonly ui: EditorElements,
    /** Called after the edits change (the page re-renders its source views). */
    private readonly changed: () => void,
  ) {
    ui.edit.addEventListener('click', () => this.setEditing(ui.editor.hidden));
    ui.reset.addEventListener('click', () => this.reset());
    ui.editor.addEventListener('input', () => {
      if (this.active) this.setText(this.active.name, ui.editor.value);
      this.preset = undefined;
    });
  }

  /** The edits as shaders, by name, for a case's calls. */
  shaders(): Map<string, ShaderSource> {
    const out = new Map<string, ShaderSource>();
    for (const [name, text] of this.texts) {
      const lib = library(name);
      if (lib) out.set(name, editedShader(lib, text));
    }
    return out;
  }

  /** The edits the calls run (an edit of a shader they do not use changes nothing). */
  shadersOf(calls: readonly KernelCall[]): Map<string, ShaderSource> {
    const used = new Set(calls.map((x) => x.shader.name));
    return new Map([...this.shaders()].filter(([name]) => used.has(name)));
  }

  /** The calls' source for the runs table: 'library', 'edited <shaders>' or the preset. */
  label(calls: readonly KernelCall[]): string {
    const edits = this.shadersOf(calls);
    if (this.preset && edits.has(this.preset.shader)) return `preset: ${this.preset.title}`;
    return edits.size > 0 ? `edited ${[...edits.keys()].join(', ')}` : 'library';
  }

  /** The views with the current edits, and the library's source where there is none. */
  apply(views: readonly SourceView[]): SourceView[] {
    const edits = this.shaders();
    const shader = (s: ShaderSource): ShaderSource => edits.get(s.name) ?? library(s.name) ?? s;
    return views.map((v) => ({ ...v, shader: shader(v.shader) }));
  }

  /** The shader tab now shown: the editor edits it. */
  show(view: SourceView): void {
    this.active = library(view.shader.name) ?? view.shader;
    this.ui.editor.value = this.texts.get(this.active.name) ?? fileText(this.active);
    this.ui.editor.setAttribute('aria-label', `${this.active.name}.wgsl, editable`);
  }

  setEditing(on: boolean): void {
    this.ui.editor.hidden = !on;
    this.ui.source.hidden = on;
    this.ui.edit.textContent = on ? 'Show highlighted' : 'Edit';
    this.ui.edit.setAttribute('aria-pressed', String(on));
  }

  /** Shows the report beside the editor, and puts the cursor where it points in the shown file. */
  showCompileError(message: string | undefined): void {
    this.ui.compileError.textContent = message ?? '';
    this.ui.compileError.hidden = message === undefined;
    const at = message && this.active && errorLocation(message, this.active.name);
    if (!at) return;
    const offset = offsetOf(this.ui.editor.value, at.line, at.col);
    this.ui.editor.focus();
    this.ui.editor.setSelectionRange(offset, offset);
  }

  /** Restores every shader's library source. */
  reset(): void {
    this.texts.clear();
    this.preset = undefined;
    this.showCompileError(undefined);
    if (this.active) this.ui.editor.value = fileText(this.active);
    this.changed();
  }

  /** The preset's bug made in the library's source of its shader; the editor shows it. */
  applyPreset(preset: Preset): void {
    const lib = library(preset.shader);
    if (!lib) throw new Error(`no shader ${preset.shader} in the registry`);
    this.setText(preset.shader, applyPreset(fileText(lib), preset));
    this.preset = preset;
    this.showCompileError(undefined);
    this.changed();
    this.setEditing(true);
  }

  /** One button per preset of the kernel; `run` is called after the edit is made. */
  renderPresets(kernel: string, run: (preset: Preset) => void): void {
    const presets = presetsOf(kernel);
    const buttons = presets.map((p) => {
      const b = Object.assign(document.createElement('button'), {
        type: 'button',
        textContent: p.title,
        title: `${p.bug}; caught by the ${p.catcher}`,
      });
      b.dataset.preset = p.id;
      b.addEventListener('click', () => run(p));
      return b;
    });
    const label = Object.assign(document.createElement('span'), {
      className: 'muted',
      textContent: presets.length > 0 ? 'Break it: ' : 'No "break it" presets for this kernel.',
    });
    this.ui.presets.replaceChildren(label, ...buttons);
  }

  private setText(name: string, text: string): void {
    const lib = library(name);
    if (lib && text === fileText(lib)) this.texts.delete(name);
    else this.texts.set(name, text);
  }
}
