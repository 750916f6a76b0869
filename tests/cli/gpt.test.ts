/**
 * `shadergrad gpt` and `shadergrad sample` (src/cli/gpt.ts): flags and their errors, then a tiny
 * run on a text file that saves gpt.safetensors, and sampling from it, deterministic per seed.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { gptUsage, languageCommand, sampleGpt, trainGpt } from '../../src/cli/gpt';
import { parseFlags } from '../../src/cli/flagValues';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors';

describe('gpt and sample flags', () => {
  it('reads --flag value and --flag=value, refusing unknown and repeated flags', () => {
    const known = { steps: {}, text: {} };
    expect(parseFlags('gpt', ['--steps', '5', '--text=a.txt'], known)).toEqual({
      steps: '5',
      text: 'a.txt',
    });
    expect(() => parseFlags('gpt', ['--stepz', '5'], known)).toThrow(/unknown flag '--stepz'/);
    expect(() => parseFlags('gpt', ['--steps', '5', '--steps=6'], known)).toThrow(
      /--steps: given twice/,
    );
    expect(() => parseFlags('gpt', ['--steps'], known)).toThrow(/--steps: needs a value/);
    const withSwitch = { ...known, tie: { value: '' } };
    expect(parseFlags('gpt', ['--tie', '--steps', '5'], withSwitch)).toEqual({
      tie: 'on',
      steps: '5',
    });
    expect(() => parseFlags('gpt', ['--tie=yes'], withSwitch)).toThrow(/--tie: a switch/);
    expect(gptUsage('gpt')).toMatch(
      /--tie +the head reuses the token table \(weight tying\) \(default off\)/,
    );
    expect(gptUsage('gpt')).toMatch(/--text FILE .* \(default Genesis, KJV \(shipped\)\)/);
    expect(gptUsage('sample')).toMatch(/--top-k N/);
  });

  it('routes gpt, sample and --model gpt to the language commands, and nothing else', () => {
    expect(languageCommand(['gpt', '--steps', '5'])).toEqual({
      command: 'gpt',
      rest: ['--steps', '5'],
    });
    expect(languageCommand(['sample'])).toEqual({ command: 'sample', rest: [] });
    expect(languageCommand(['--steps', '5', '--model', 'gpt', '--tie'])).toEqual({
      command: 'gpt',
      rest: ['--steps', '5', '--tie'],
    });
    expect(languageCommand(['--model=gpt'])).toEqual({ command: 'gpt', rest: [] });
    expect(languageCommand(['--model', 'vit', '--epochs', '1'])).toBeUndefined();
    expect(languageCommand(['--out', 'gpt'])).toBeUndefined();
  });

  it('refuses bad values before touching the GPU', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpt-flags-'));
    const text = join(dir, 'text.txt');
    writeFileSync(text, 'abcabcabc'.repeat(20));
    await expect(trainGpt(['--text', text, '--steps', '0'])).rejects.toThrow(
      /--steps: expected a whole number >= 1 and <= 1000000000, got '0'/,
    );
    await expect(trainGpt(['--text', text, '--width', '10', '--heads', '4'])).rejects.toThrow(
      /--heads 4: must divide --width 10/,
    );
    await expect(trainGpt(['--text', join(dir, 'missing.txt')])).rejects.toThrow(
      /--text .*missing\.txt: /,
    );
    await expect(trainGpt(['--text', text, '--tune', 'fast'])).rejects.toThrow(
      /--tune: expected one of off, cached, full, got 'fast'/,
    );
    await expect(trainGpt(['--text', text, '--context', '500'])).rejects.toThrow(ShadergradError); // the text is too short for that context
    await expect(sampleGpt(['--run', dir])).rejects.toThrow(/--run .*gpt\.safetensors: /);
  });
});

describe('a tiny GPT run', () => {
  it('trains, saves gpt.safetensors, and samples the same text for the same seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpt-run-'));
    const text = join(dir, 'text.txt');
    writeFileSync(text, 'the cat sat on the mat. '.repeat(30));
    const out = join(dir, 'run');
    const flags = ['--steps', '30', '--eval-every', '10', '--batch', '4', '--context', '16'];
    await trainGpt(['--text', text, ...flags, '--width', '16', '--layers', '1', '--out', out]);
    expect(existsSync(join(out, 'gpt.safetensors'))).toBe(true);
    const draw = async (seed: string): Promise<string> => {
      let written = '';
      const args = ['--run', out, '--prompt', 'the ', '--tokens', '12', '--seed', seed];
      await sampleGpt(args, (t) => (written += t));
      return written;
    };
    const first = await draw('3');
    expect(first.startsWith('the ')).toBe(true);
    expect(Array.from(first.trimEnd()).length).toBeGreaterThanOrEqual(4 + 12 - 1); // spaces may end it
    expect(await draw('3')).toBe(first);
    await expect(sampleGpt(['--run', out, '--prompt', 'the dog'])).rejects.toThrow(
      /character "d" at 4 is not in the model's vocabulary/,
    );
    // --init: the saved weights start a new run, which prints the whole-validation loss; a file
    // for other sizes is refused naming the tensor
    const logged: string[] = [];
    const log = console.log;
    console.log = (line: string) => logged.push(line);
    try {
      const again = [...flags, '--width', '16', '--layers', '1', '--out', join(dir, 'again')];
      await trainGpt(['--text', text, ...again, '--init', join(out, 'gpt.safetensors')]);
    } finally {
      console.log = log;
    }
    expect(logged.join('\n')).toMatch(/validation loss over all 4 windows of the validation part/);
    // a tied head: sample rebuilds the tied model from the metadata
    const tiedOut = join(dir, 'tied');
    await trainGpt([
      '--text',
      text,
      ...flags,
      '--width',
      '16',
      '--layers',
      '1',
      '--tie',
      '--out',
      tiedOut,
    ]);
    let tiedText = '';
    await sampleGpt(
      ['--run', tiedOut, '--prompt', 'the ', '--tokens', '5'],
      (t) => (tiedText += t),
    );
    expect(tiedText.startsWith('the ')).toBe(true);
    // As a tied torch module's state_dict: head.weight is there, the same tensor as wte.weight.
    const tiedFile = join(tiedOut, 'gpt.safetensors');
    const saved = readSafetensors(readFileSync(tiedFile), 'tied');
    expect(saved.tensors['head.weight']?.data).toEqual(saved.tensors['wte.weight']?.data);
    expect(Object.keys(saved.tensors)).toContain('head.bias');
    // A head.weight that is not the table's copy cannot load into a tied model.
    const head = saved.tensors['head.weight'];
    if (head?.dtype !== 'F32') throw new Error('no F32 head.weight');
    head.data[0] = (head.data[0] ?? 0) + 1;
    writeFileSync(tiedFile, writeSafetensors(saved.tensors, saved.metadata));
    await expect(
      sampleGpt(['--run', tiedOut, '--prompt', 'the '], () => undefined),
    ).rejects.toThrow(/head\.weight differs from wte\.weight, but this model ties them/);
    const wider = ['--width', '32', '--layers', '1', '--out', join(dir, 'wider')];
    await expect(
      trainGpt(['--text', text, ...flags, ...wider, '--init', join(out, 'gpt.safetensors')]),
    ).rejects.toThrow(/--init|gpt\.safetensors/);
  }, 120_000);
});
