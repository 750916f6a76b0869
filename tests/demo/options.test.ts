/**
 * The demo's settings parser (demo/options.ts): the model choice and the resnet knobs, the
 * comparison switch, one-line errors that name the bad setting, and the URL round trip.
 */
import { describe, expect, it } from 'vitest';
import {
  COMPARE_STEPS,
  optionsFromConfig,
  optionsToParams,
  padTitle,
  parseOptions,
  plannedRuns,
  trainConfigOf,
  withSoftwareDefaults,
} from '../../demo/options';
import { RESNET_DEFAULTS, validateModel } from '../../src/index';

const parse = (query: string) => parseOptions(new URLSearchParams(query));

describe('demo options', () => {
  it('defaults to the reference CNN, one run, no resnet changes', () => {
    const o = parse('');
    expect(o.model).toBe('cnn');
    expect(o.compare).toBe('none');
    expect(o.resnet).toEqual(RESNET_DEFAULTS);
    expect(o.stopAfter).toBe(0);
    expect(o.tune).toBe('cached');
    expect(trainConfigOf(o).model.layers.some((l) => l.type === 'add')).toBe(false);
  });

  it('reads the kernel tuning mode, and names the choices when it is none of them', () => {
    expect(parse('tune=off').tune).toBe('off');
    expect(parse('tune=full').tune).toBe('full');
    expect(() => parse('tune=fast')).toThrow(
      "setting 'tune': expected one of off, cached, full, got 'fast'",
    );
  });

  it('reads the precision into the training config, f32 unless asked', () => {
    expect(parse('').precision).toBe('f32');
    expect(trainConfigOf(parse('')).precision).toBeUndefined();
    expect(trainConfigOf(parse('precision=f16')).precision).toBe('f16');
    expect(() => parse('precision=f8')).toThrow(
      "setting 'precision': expected one of f32, f16, got 'f8'",
    );
  });

  it('reads the resnet knobs and builds the preset with torchvision names', () => {
    const o = parse('model=resnet&width=4&blocks=2&skip=0&bn=1');
    expect(o.model).toBe('resnet');
    expect(o.resnet).toEqual({ width: 4, blocks: 2, skip: false, batchNorm: true });
    const names = trainConfigOf(o).model.layers.map((l) => l.name);
    expect(names).toContain('layer1.0.conv1');
    expect(names).toContain('layer3.1.bn2');
    expect(names.some((n) => n?.endsWith('.add'))).toBe(false); // skip=0: no sums
  });

  it('names what to draw after the dataset', () => {
    expect(padTitle('mnist')).toBe('Draw a digit');
    expect(padTitle('fashion')).toBe('Draw a piece of clothing');
  });

  it('reads the vit knobs and builds the preset', () => {
    const o = parse('model=vit&dim=32&depth=2&heads=8&patch=4');
    expect(o.vit).toEqual({ width: 32, blocks: 2, heads: 8, patch: 4 });
    const layers = trainConfigOf(o).model.layers;
    expect(layers.map((l) => l.name)).toEqual([
      'patch',
      'pos',
      'blocks.0',
      'blocks.1',
      'norm',
      'pool',
      'head',
    ]);
    expect(layers[0]).toMatchObject({ type: 'patchEmbedding', features: 32, patch: 4 });
    const uneven = trainConfigOf(parse('model=vit&dim=30&heads=4')).model;
    expect(() => validateModel(uneven)).toThrow(/4 heads do not divide the width 30/);
  });

  it.each([
    ['model=mlp', "setting 'model': expected one of cnn, resnet, vit, got 'mlp'"],
    ['model=vit&heads=0', "setting 'heads': expected a whole number >= 1, got '0'"],
    ['model=resnet&width=0', "setting 'width': expected a whole number >= 1, got '0'"],
    ['model=resnet&blocks=1.5', "setting 'blocks': expected a whole number >= 1, got '1.5'"],
    ['model=resnet&skip=yes', "setting 'skip': expected 1 (on) or 0 (off), got 'yes'"],
    ['model=resnet&bn=2', "setting 'bn': expected 1 (on) or 0 (off), got '2'"],
    ['model=resnet&compare=dropout', "setting 'compare': expected one of none, skip, bn, got"],
    ['compare=skip', "setting 'compare': compares resnet variants, so it needs model=resnet"],
  ])('%s fails with one line naming the setting', (query, message) => {
    let error: unknown;
    try {
      parse(query);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    const text = (error as Error).message;
    expect(text).toContain(message);
    expect(text).not.toContain('\n');
  });

  it('a comparison plans two runs that differ only in the switch', () => {
    const o = parse('model=resnet&width=4&limit=256&steps=3&compare=skip&seed=7');
    const runs = plannedRuns(o);
    expect(runs.map((r) => r.label)).toEqual(['with skip connections', 'without skip connections']);
    const [a, b] = runs.map((r) => trainConfigOf(r.options));
    expect(a?.model.layers.some((l) => l.type === 'add')).toBe(true);
    expect(b?.model.layers.some((l) => l.type === 'add')).toBe(false);
    // Same seed, data limit, optimizer and batch: only the model differs.
    expect({ ...a, model: undefined }).toEqual({ ...b, model: undefined });
    expect(a).toMatchObject({ seed: 7, limit: 256 });
    expect(runs.every((r) => r.options.stopAfter === 3)).toBe(true);

    const bn = plannedRuns(parse('model=resnet&compare=bn'));
    expect(bn.map((r) => r.options.resnet.batchNorm)).toEqual([true, false]);
    expect(bn.every((r) => r.options.stopAfter === COMPARE_STEPS)).toBe(true); // runs must end
    expect(plannedRuns(parse('model=resnet'))).toHaveLength(1);
  });

  it('round-trips through URL parameters and rebuilds from a saved config', () => {
    for (const query of [
      '',
      'model=resnet&width=8&blocks=2&skip=0&bn=0&compare=bn&steps=5',
      'model=vit&dim=16&depth=1&heads=2&patch=4&tune=off',
    ]) {
      const o = parse(query);
      expect(parseOptions(optionsToParams(o))).toEqual(o);
    }
    const base = parse('');
    const resnet = parse('model=resnet&width=4&skip=0&compare=skip&steps=5');
    const back = optionsFromConfig(trainConfigOf(resnet), base);
    expect(back?.model).toBe('resnet');
    expect(back?.resnet).toEqual(resnet.resnet);
    expect(back?.compare).toBe('none'); // a checkpoint is one network, not a comparison
    const vit = parse('model=vit&dim=16&depth=3&heads=2&patch=4');
    expect(optionsFromConfig(trainConfigOf(vit), base)?.vit).toEqual(vit.vit);
    expect(optionsFromConfig(trainConfigOf(parse('features=4,8')), base)?.knobs.features).toEqual([
      4, 8,
    ]);
  });
});

describe('the software adapter defaults', () => {
  it('fill only the sizes the URL leaves out, and only for the CNN', () => {
    const sized = withSoftwareDefaults(new URLSearchParams('limit=512&dense=64'));
    expect(sized?.get('features')).toBe('8,16');
    expect(sized?.get('batch')).toBe('32');
    expect(sized?.get('dense')).toBe('64');
    expect(sized?.get('limit')).toBe('512');
    expect(withSoftwareDefaults(new URLSearchParams('features=4,8&dense=32&batch=16'))).toBe(
      undefined,
    );
    expect(withSoftwareDefaults(new URLSearchParams('model=resnet'))).toBe(undefined);
    expect(parseOptions(sized ?? new URLSearchParams()).knobs.features).toEqual([8, 16]);
  });
});
