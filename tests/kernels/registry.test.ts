/**
 * The registry is how the whole-family checks (Params packing against reflection, race detection,
 * the explorer) find a kernel, so a shader file left out of it would skip all of them silently.
 * Here every shaders/*.wgsl must be a registered family, and every family must load its own file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelFamilies } from '../../src/kernels/registry';

const shaders = resolve(import.meta.dirname, '../../shaders');
/** common.wgsl is the prelude every family's source starts with, not a family of its own. */
const PRELUDE = 'common.wgsl';

const shaderFiles = readdirSync(shaders)
  .filter((f) => f.endsWith('.wgsl') && f !== PRELUDE)
  .sort();

describe('kernel registry', () => {
  it('has a family for every shaders/*.wgsl', () => {
    const registered = new Set(kernelFamilies.map((f) => f.name));
    const missing = shaderFiles
      .map((f) => f.replace(/\.wgsl$/, ''))
      .filter((n) => !registered.has(n));
    expect(missing, 'shader files with no family in src/kernels/registry.ts').toEqual([]);
    expect(shaderFiles.length).toBeGreaterThan(0); // an empty listing would prove nothing
  });

  it('registers each family once', () => {
    const names = kernelFamilies.map((f) => f.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  // [name, file, family]: the title formats the first two.
  it.each(kernelFamilies.map((f) => [f.name, `${f.name}.wgsl`, f] as const))(
    '%s loads shaders/%s, after the prelude',
    (name, fileName, family) => {
      expect(family.shader.name).toBe(name);
      const file = join(shaders, fileName);
      expect(existsSync(file), `${file} exists`).toBe(true);
      // The family's code is the prelude (plus an `enable` line for subgroup families) followed by
      // this file, verbatim: a family pointing at another file's source fails here.
      expect(family.shader.code.endsWith(readFileSync(file, 'utf8'))).toBe(true);
      expect(family.shader.code).toContain(readFileSync(join(shaders, PRELUDE), 'utf8'));
    },
  );
});
