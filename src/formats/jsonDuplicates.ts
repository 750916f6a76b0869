/**
 * Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys without a word, so a
 * safetensors header naming a tensor twice would load whichever came last; the format requires
 * names to be unique. One pass over the text with an explicit stack (no recursion, so nesting
 * depth cannot overflow), linear in its length.
 */

interface Frame {
  /** Keys seen so far; undefined for an array. */
  keys: Set<string> | undefined;
  /** Whether the next string in this object is a key (after '{' or ','), not a value. */
  expectKey: boolean;
}

/** The length of the string token starting at `text[start]` (a '"'), quotes included. */
function stringLength(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1 - start;
}

/**
 * The first key that appears twice in one object of `text` (valid JSON, e.g. after JSON.parse
 * accepted it), with the path of that object ('' at the top level); undefined when none does.
 * Keys are compared after unescaping, as JSON.parse would ("a" and "\u0061" are the same key).
 */
export function findDuplicateKey(text: string): { key: string; path: string } | undefined {
  const stack: Frame[] = [];
  const path: string[] = [];
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      const n = stringLength(text, i);
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, i + n)) as string;
        if (top.keys.has(key)) return { key, path: path.join('.') };
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i += n - 1;
    } else if (c === '{' || c === '[') {
      if (top) path.push(top.keys ? lastKey : '[]');
      stack.push({ keys: c === '{' ? new Set() : undefined, expectKey: c === '{' });
    } else if (c === '}' || c === ']') {
      stack.pop();
      path.pop();
    } else if (c === ',' && top?.keys) {
      top.expectKey = true;
    }
  }
  return undefined;
}
