/**
 * bench:train's command line for --model gpt and --rounds (bench/trainFlags.ts) and the jax-js
 * GPT peer's parameter list (bench/peers/jaxjsGpt.ts) against shadergrad's graph. No GPU: flags and specs.
 */
import { describe, expect, it } from 'vitest';
import { GPT_DEFAULTS, gptGraph } from '../../src/models/gpt';
import { gptParamSpecs } from '../../bench/peers/jaxjsGpt';
import { UsageError, benchOptions, gptSizes, parseFlags } from '../../bench/trainFlags';

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

describe('bench:train --model gpt flags', () => {
  it('takes the sizes from GPT_DEFAULTS, and --context/--width/--heads/--blocks over them', () => {
    const defaults = gptSizes(parseFlags(['--model', 'gpt']));
    expect(defaults).toEqual(GPT_DEFAULTS);
    const flags = parseFlags(['--', '--model', 'gpt', '--context', '16', '--width', '32']);
    expect(gptSizes({ ...flags, heads: 2, blocks: 3 })).toEqual({
      context: 16,
      width: 32,
      heads: 2,
      layers: 3,
      hidden: 128,
    });
  });

  it('refuses knobs the model lacks and heads that do not divide the width', () => {
    expect(() => parseFlags(['--model', 'vit', '--context', '16'])).toThrow(UsageError);
    expect(() => parseFlags(['--heads', '2'])).toThrow(/the GPT knobs: add --model gpt/);
    expect(() => parseFlags(['--width', '32'])).toThrow(/add --model resnet, vit or gpt/);
    expect(() => parseFlags(['--model', 'gpt', '--context', '0'])).toThrow(/integer >= 1/);
    expect(() => gptSizes(parseFlags(['--model', 'gpt', '--heads', '3']))).toThrow(
      /--heads 3: must divide --width 64/,
    );
  });

  it('takes --precision for the image models and refuses it for the GPT or an unknown one', () => {
    expect(parseFlags([]).precision).toBe('f32');
    expect(parseFlags(['--precision', 'f16']).precision).toBe('f16');
    expect(() => parseFlags(['--precision', 'f8'])).toThrow(
      '--precision f8: expected one of f32, f16',
    );
    expect(() => parseFlags(['--model', 'gpt', '--precision', 'f16'])).toThrow(
      /applies to the image models/,
    );
  });

  it("shares the image models' Adam and seed, at the batch size it is given", () => {
    const o = benchOptions(parseFlags(['--model', 'gpt', '--steps', '2', '--warmup', '1']), 32);
    expect(o).toEqual({
      steps: 2,
      warmup: 1,
      rounds: 2,
      batch: 32,
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      seed: 1,
    });
  });
});

describe('bench:train --rounds', () => {
  it('defaults to 5 rounds, or one per step when there are fewer steps', () => {
    expect(benchOptions(parseFlags([]), 64).rounds).toBe(5);
    expect(benchOptions(parseFlags(['--steps', '3']), 64).rounds).toBe(3);
    expect(benchOptions(parseFlags(['--rounds', '1']), 64).rounds).toBe(1);
  });

  it('refuses more rounds than timed steps, and zero rounds', () => {
    expect(() => parseFlags(['--steps', '4', '--rounds', '5'])).toThrow(
      '--rounds 5: each round times at least one step (--steps 4)',
    );
    expect(() => parseFlags(['--rounds', '0'])).toThrow(/integer >= 1/);
  });
});

describe('jax-js GPT parameters', () => {
  it("match shadergrad's GPT graph name by name, in order, with the same sizes", () => {
    const config = { vocab: 60, ...GPT_DEFAULTS, layers: 2 };
    const ours = gptGraph(config, 1).parameters();
    const theirs = gptParamSpecs(config);
    expect(theirs.map((s) => s.name)).toEqual(ours.map((s) => s.name));
    // dense weights are [out, in] in shadergrad and [in, out] in the peer: compare sizes
    expect(theirs.map((s) => count(s.shape))).toEqual(ours.map((s) => count(s.shape)));
    expect(theirs.every((s) => s.trainable)).toBe(true);
  });
});
