/**
 * The settings form: filled from settings (for presets, dataset switches and links), read back
 * field by field, and showing only the fields that matter for the current dataset and mode.
 */
import type { Toy2dKind } from '../api';
import { switchDataset } from './datasets';
import { readSettings, settingsToFields, type ReadSettings, type Settings } from './options';
import { ui } from './view';

/** The value of the form field `name`, or undefined when the form has no such field. */
export function fieldValue(name: string): string | undefined {
  const field = ui.form.elements.namedItem(name);
  return field instanceof HTMLInputElement || field instanceof HTMLSelectElement
    ? field.value
    : undefined;
}

/** Writes `s` into the form. */
export function fillForm(s: Settings): void {
  for (const [name, value] of settingsToFields(s)) {
    const field = ui.form.elements.namedItem(name);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement)
      field.value = value;
  }
  showFields(s);
}

/** Only the fields that matter for these settings. */
export function showFields(s: Settings): void {
  ui.form.querySelectorAll<HTMLElement>('[data-show]').forEach((e) => {
    const [name, value] = (e.dataset.show ?? '').split('=');
    e.hidden = (name === 'dataset' ? s.dataset : s.mode) !== value;
  });
}

/** The form's settings; a bad field keeps its value in `current` and gets a message. */
export function readForm(current: Settings): ReadSettings {
  const fallback = (d: Toy2dKind) => (d === current.dataset ? current : switchDataset(current, d));
  return readSettings(fieldValue, fallback, current.dataset);
}
