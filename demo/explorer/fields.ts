/**
 * The size inputs of a kernel: whole numbers with a minimum, or a choice among options. Parsing
 * turns the form's strings into values or throws an Error that names the field and what it wants,
 * which the page shows as is.
 */

export interface IntField {
  kind: 'int';
  key: string;
  label: string;
  initial: number;
  min: number;
}

export interface ChoiceField {
  kind: 'choice';
  key: string;
  label: string;
  options: readonly string[];
  initial: string;
}

export type Field = IntField | ChoiceField;

/** Sizes past this overflow the kernels' u32 indexing long before any buffer fits them. */
const MAX_INT = 2 ** 31 - 1;

export function int(key: string, initial: number, label = key, min = 1): IntField {
  return { kind: 'int', key, label, initial, min };
}

export function choice(
  key: string,
  options: readonly string[],
  initial: string,
  label = key,
): ChoiceField {
  return { kind: 'choice', key, label, options, initial };
}

/** Parsed values by field key. */
export interface Values {
  int(key: string): number;
  text(key: string): string;
}

/** A whole number in [min, max] from a form string, or an Error saying what is wrong with it. */
export function parseWhole(label: string, raw: string, min: number, max = MAX_INT): number {
  const text = raw.trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < min)
    throw new Error(
      `${label} = ${text === '' ? '(empty)' : text}: expected a whole number >= ${min}`,
    );
  if (n > max) throw new Error(`${label} = ${text}: too large, at most ${max}`);
  return n;
}

/** Parses every field from `raw(key)`; throws on the first bad value. */
export function parseValues(fields: readonly Field[], raw: (key: string) => string): Values {
  const ints = new Map<string, number>();
  const texts = new Map<string, string>();
  for (const f of fields) {
    const value = raw(f.key);
    if (f.kind === 'int') {
      ints.set(f.key, parseWhole(f.label, value, f.min));
    } else if (f.options.includes(value)) {
      texts.set(f.key, value);
    } else {
      throw new Error(`${f.label} = ${value}: expected one of ${f.options.join(', ')}`);
    }
  }
  const get = <T>(map: Map<string, T>, key: string): T => {
    const v = map.get(key);
    if (v === undefined) throw new Error(`no field ${key}`);
    return v;
  };
  return { int: (key) => get(ints, key), text: (key) => get(texts, key) };
}
