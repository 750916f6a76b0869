import { describe, expect, it } from 'vitest';
import { parseArgs, usage, type CliCommand } from '../../src/cli/args';
import { applyFlags, withRunLength } from '../../src/cli/config';
import { ShadergradError } from '../../src/base/errors';
import {
  defaultTrainConfig,
  layerOutputShapes,
  referenceCnn,
  type TrainConfig,
} from '../../src/models/config';
import { parseTrainConfig } from '../../src/models/configJson';

function expectError(argv: string[], message: RegExp | string): void {
  let caught: unknown;
  try {
    parseArgs(argv);
  } catch (e) {
    caught = e;
  }
  expect(caught, argv.join(' ')).toBeInstanceOf(ShadergradError);
  expect((caught as Error).message).toMatch(message);
}

function train(argv: string[]): Extract<CliCommand, { kind: 'train' }> {
  const cmd = parseArgs(argv);
  if (cmd.kind !== 'train') throw new Error(`expected a train command, got ${cmd.kind}`);
  return cmd;
}

/** The reference model with every conv layer changed by `change`. */
function withConvs(change: Record<string, unknown>): TrainConfig['model'] {
  const m = referenceCnn();
  m.layers = m.layers.map((l) => (l.type === 'conv2d' ? { ...l, ...change } : l));
  return m;
}

describe('parseArgs', () => {
  it('trains the reference CNN with the defaults when given nothing', () => {
    const cmd = train([]);
    expect(cmd.config).toEqual(defaultTrainConfig());
    expect(cmd.out).toBe('runs/latest');
    expect(cmd.profile).toBe(false);
    expect([cmd.configFile, cmd.dataDir, cmd.init, cmd.resume]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(layerOutputShapes(cmd.config.model).at(-3)).toEqual([3136]);
  });

  const d = defaultTrainConfig();
  const cases: [string, string, (c: Extract<CliCommand, { kind: 'train' }>) => unknown, unknown][] =
    [
      ['--config', 'cfg/a.json', (c) => c.configFile, 'cfg/a.json'],
      ['--dataset', 'fashion', (c) => c.config.dataset, 'fashion'],
      ['--data', 'data/mnist', (c) => c.dataDir, 'data/mnist'],
      ['--epochs', '3', (c) => c.config.epochs, 3],
      ['--batch', '32', (c) => c.config.batchSize, 32],
      ['--lr', '5e-4', (c) => c.config.optimizer, { ...d.optimizer, lr: 5e-4 }],
      ['--lr', '0.01', (c) => c.config.optimizer.lr, 0.01],
      ['--seed', '0', (c) => c.config.seed, 0],
      ['--seed', '4294967295', (c) => c.config.seed, 2 ** 32 - 1],
      ['--limit', '1000', (c) => c.config.limit, 1000],
      ['--init', 'w.safetensors', (c) => c.init, 'w.safetensors'],
      ['--resume', 'runs/a', (c) => c.resume, 'runs/a'],
      ['--out', 'runs/b', (c) => c.out, 'runs/b'],
      ['--optimizer', 'rmsprop', (c) => c.config.optimizer, { ...d.optimizer, kind: 'rmsprop' }],
      ['--snapshot-every', '25', (c) => c.config.snapshotEvery, 25],
      ['--checkpoint-every', '50', (c) => c.config.checkpointEvery, 50],
      ['--precision', 'f16', (c) => c.config.precision, 'f16'],
      [
        '--features',
        '16,48',
        (c) => c.config.model.layers.filter((l) => l.type === 'conv2d').map((l) => l.features),
        [16, 48],
      ],
      ['--kernel', '3', (c) => c.config.model, withConvs({ kernel: 3 })],
      ['--stride', '2', (c) => c.config.model, withConvs({ stride: 2 })],
      ['--padding', 'valid', (c) => layerOutputShapes(c.config.model)[0], [32, 24, 24]],
      ['--padding', '2', (c) => c.config.model, withConvs({ padding: 2 })],
      [
        '--activation',
        'tanh',
        (c) => c.config.model.layers.map((l) => ('activation' in l ? l.activation : '-')),
        ['tanh', '-', 'tanh', '-', '-', 'tanh', 'none'],
      ],
      [
        '--pool',
        'avg',
        (c) => c.config.model.layers.map((l) => l.type),
        ['conv2d', 'avgPool', 'conv2d', 'avgPool', 'flatten', 'dense', 'dense'],
      ],
      [
        '--dense',
        '256',
        (c) => c.config.model.layers[5],
        { type: 'dense', units: 256, activation: 'relu' },
      ],
    ];
  it.each(cases)('%s %s (both syntaxes)', (flag, value, get, expected) => {
    const spaced = train([flag, value]);
    expect(get(spaced)).toEqual(expected);
    expect(train([`${flag}=${value}`])).toEqual(spaced);
    // The flag changed the command (no case above uses a default value).
    expect(spaced).not.toEqual(train([]));
  });

  it('takes switches and several flags together', () => {
    const cmd = train([
      '--profile',
      '--epochs',
      '2',
      '--dataset=fashion',
      '--kernel',
      '3',
      '--padding=1',
    ]);
    expect(cmd.profile).toBe(true);
    expect(cmd.config.epochs).toBe(2);
    expect(cmd.config.dataset).toBe('fashion');
    expect(cmd.config.model).toEqual(withConvs({ kernel: 3, padding: 1 }));
    expect(cmd.flags).toEqual({ epochs: 2, dataset: 'fashion', knobs: { kernel: 3, padding: 1 } });
  });

  it('--overwrite is a switch; a resumed run stays in its folder unless --out says otherwise', () => {
    expect(train([]).overwrite).toBe(false);
    expect(train(['--overwrite']).overwrite).toBe(true);
    expect(() => train(['--overwrite=yes'])).toThrow("--overwrite: takes no value, got 'yes'");
    expect(train(['--resume', 'runs/a']).out).toBe('runs/a');
    expect(train(['--resume', 'runs/a', '--out', 'runs/b']).out).toBe('runs/b');
  });

  it('--tune is cached unless told off or full; anything else is refused', () => {
    expect(train([]).tune).toBe('cached');
    expect(train(['--tune', 'off']).tune).toBe('off');
    expect(train(['--tune=full']).tune).toBe('full');
    expect(() => train(['--tune', 'fast'])).toThrow(
      /--tune.*off, cached, full|off \| cached \| full/,
    );
  });

  it('keeps values that look odd but are not flags', () => {
    expect(train(['--out', '-weird']).out).toBe('-weird');
    expect(train(['--data=--x']).dataDir).toBe('--x');
  });

  it('evaluates a checkpoint', () => {
    expect(parseArgs(['--eval', 'runs/a/model.safetensors'])).toEqual({
      kind: 'eval',
      checkpoint: 'runs/a/model.safetensors',
      dataset: 'mnist',
    });
    expect(parseArgs(['--eval=c.st', '--dataset', 'fashion', '--data', 'd'])).toEqual({
      kind: 'eval',
      checkpoint: 'c.st',
      dataset: 'fashion',
      dataDir: 'd',
    });
  });

  it('--test-limit goes with training and with --eval', () => {
    const trained = parseArgs(['--test-limit', '500']);
    expect(trained.kind === 'train' && trained.testLimit).toBe(500);
    expect(parseArgs(['--eval', 'c.st', '--test-limit=50'])).toEqual({
      kind: 'eval',
      checkpoint: 'c.st',
      dataset: 'mnist',
      testLimit: 50,
    });
    expect(() => parseArgs(['--test-limit', '0'])).toThrow(
      "--test-limit: expected a whole number >= 1, got '0'",
    );
  });

  it('reads the train and eval subcommands as the flags they stand for', () => {
    expect(parseArgs(['train', '--epochs', '2'])).toEqual(parseArgs(['--epochs', '2']));
    expect(parseArgs(['train'])).toEqual(parseArgs([]));
    expect(parseArgs(['eval', 'c.st', '--dataset', 'fashion'])).toEqual(
      parseArgs(['--eval', 'c.st', '--dataset', 'fashion']),
    );
    expect(() => parseArgs(['eval'])).toThrow('eval: missing CHECKPOINT');
    expect(() => parseArgs(['eval', '--data', 'd'])).toThrow('eval: missing CHECKPOINT');
    expect(() => parseArgs(['eval', 'c.st', '--epochs', '2'])).toThrow(
      '--eval: cannot be combined with --epochs',
    );
    expect(() => parseArgs(['fit'])).toThrow("'fit': unexpected argument");
  });

  it('prints help for --help or -h anywhere', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--epochs', '2', '--bogus', '-h'])).toEqual({ kind: 'help' });
  });

  it.each<[string[], string]>([
    [['--epoch', '2'], '--epoch: unknown flag (see --help)'],
    [['-x'], '-x: unknown flag'],
    [['--epochs', '2', 'train'], "'train': unexpected argument"],
    [['--epochs'], '--epochs: missing value (--epochs N)'],
    [['--epochs', '--profile'], '--epochs: missing value'],
    [['--out='], '--out: missing value (--out DIR)'],
    [['--batch', 'abc'], "--batch: expected a whole number >= 1, got 'abc'"],
    [['--batch', '0'], "--batch: expected a whole number >= 1, got '0'"],
    [['--batch=1.5'], "--batch: expected a whole number >= 1, got '1.5'"],
    [['--epochs', '1e3'], "--epochs: expected a whole number >= 1, got '1e3'"],
    [['--limit', '99999999999999999999'], '--limit: expected a whole number >= 1'],
    [['--seed', '-1'], "--seed: expected a whole number >= 0 and <= 4294967295, got '-1'"],
    [['--seed', '4294967296'], '--seed: expected a whole number >= 0 and <= 4294967295'],
    [['--snapshot-every', 'x'], "--snapshot-every: expected a whole number >= 0, got 'x'"],
    [['--lr', '0'], "--lr: expected a number > 0 (like 1e-3), got '0'"],
    [['--lr', '-1'], "--lr: expected a number > 0 (like 1e-3), got '-1'"],
    [['--lr', 'abc'], "--lr: expected a number > 0 (like 1e-3), got 'abc'"],
    [['--lr', 'Infinity'], '--lr: expected a number > 0'],
    [
      ['--optimizer', 'adamx'],
      "--optimizer: expected one of adam, adamw, sgd, momentum, rmsprop, got 'adamx'",
    ],
    [['--dataset', 'cifar'], "--dataset: expected one of mnist, fashion, got 'cifar'"],
    [
      ['--activation', 'gelu'],
      "--activation: expected one of none, relu, sigmoid, tanh, got 'gelu'",
    ],
    [['--pool', 'min'], "--pool: expected one of max, avg, got 'min'"],
    [['--padding', 'full'], "--padding: expected same, valid or a whole number >= 0, got 'full'"],
    [['--features', '32'], "--features: expected two whole numbers like 32,64, got '32'"],
    [['--features', '1,2,3'], '--features: expected two whole numbers like 32,64'],
    [['--features', '32,x'], "--features: expected a whole number >= 1, got 'x'"],
    [['--kernel', '0'], "--kernel: expected a whole number >= 1, got '0'"],
    [['--precision', 'f64'], "--precision: expected one of f32, f16, got 'f64'"],
    [['--profile=yes'], "--profile: takes no value, got 'yes'"],
    [['--epochs', '1', '--epochs', '2'], '--epochs: given twice'],
    [['--eval', 'c', '--epochs', '2'], '--eval: cannot be combined with --epochs'],
    [['--profile', '--eval', 'c'], '--eval: cannot be combined with --profile'],
    [['--init', 'a', '--resume', 'b'], '--init: cannot be combined with --resume'],
    // The knobs give a model that cannot run: the error names the layer.
    [
      ['--kernel', '15', '--padding', 'valid'],
      'model.layers[2] (conv2d): kernel 15 is larger than the padded input 7x7',
    ],
  ])('rejects %j', (argv, message) => {
    expectError(argv, message);
  });
});

describe('flags over a config file', () => {
  it('override the file, which overrides the defaults', () => {
    const file = parseTrainConfig(
      { epochs: 5, batchSize: 128, optimizer: { kind: 'sgd', lr: 0.1 } },
      'c.json',
    );
    const cmd = train(['--config', 'c.json', '--batch', '32', '--dense', '512']);
    const config = applyFlags(file, cmd.flags);
    expect(config.batchSize).toBe(32); // flag
    expect(config.epochs).toBe(5); // file
    expect(config.optimizer).toEqual({ ...defaultTrainConfig().optimizer, kind: 'sgd', lr: 0.1 });
    expect(config.model.layers[5]).toEqual({ type: 'dense', units: 512, activation: 'relu' });
    expect(file.batchSize).toBe(128); // applyFlags copies
  });

  it('apply the knobs to the file model, validated only after the merge', () => {
    // On the 28x28 reference, --kernel 20 --padding valid cannot run (conv2 gets 4x4);
    // on the file's 96x96 input it can, so parseArgs must not reject it when --config is given.
    const argv = ['--kernel', '20', '--padding', 'valid'];
    expectError(argv, 'model.layers[2] (conv2d): kernel 20 is larger than the padded input 4x4');
    const cmd = train(['--config=big.json', ...argv]);
    const file = parseTrainConfig(
      { model: { input: { channels: 1, height: 96, width: 96 } } },
      'big.json',
    );
    const config = applyFlags(file, cmd.flags);
    // 96 -20+1-> 77 -pool-> 38 -20+1-> 19 -pool-> 9.
    expect(layerOutputShapes(config.model).slice(0, 4)).toEqual([
      [32, 77, 77],
      [32, 38, 38],
      [64, 19, 19],
      [64, 9, 9],
    ]);
  });

  it('name the flag when a knob does not fit the file model', () => {
    const layers = [
      { type: 'conv2d', features: 4, kernel: 3 },
      { type: 'conv2d', features: 4, kernel: 3 },
      { type: 'conv2d', features: 4, kernel: 3 },
      { type: 'dense', units: 10 },
    ];
    const file = parseTrainConfig({ model: { layers } }, 'three.json');
    const cmd = train(['--config', 'three.json', '--features', '8,16']);
    expect(() => applyFlags(file, cmd.flags)).toThrow('--features: 2 values for 3 conv2d layers');
    expect(() => applyFlags(file, train(['--dense', '64']).flags)).toThrow(
      '--dense: the model has no hidden dense layer',
    );
  });
});

describe('usage', () => {
  it('lists every flag with its default', () => {
    const text = usage();
    const flags = [
      'config',
      'dataset',
      'data',
      'epochs',
      'batch',
      'lr',
      'seed',
      'limit',
      'init',
      'resume',
      'eval',
      'profile',
      'out',
      'overwrite',
      'optimizer',
      'weight-decay',
      'lr-schedule',
      'warmup-steps',
      'lr-step-size',
      'lr-gamma',
      'min-lr',
      'lr-total-steps',
      'clip-grad-norm',
      'no-decay-bias-norm',
      'features',
      'kernel',
      'stride',
      'padding',
      'activation',
      'pool',
      'dense',
      'snapshot-every',
      'checkpoint-every',
      'precision',
      'help',
    ];
    for (const flag of flags) expect(text).toMatch(new RegExp(`^  --${flag}\\b`, 'm'));
    const defaults: [string, string][] = [
      ['out', 'runs/latest'],
      ['batch', '64'],
      ['epochs', '1'],
      ['lr', '0.001'],
      ['optimizer', 'adam'],
      ['dataset', 'mnist'],
      ['seed', '1'],
      ['features', '32,64'],
      ['kernel', '5'],
      ['stride', '1'],
      ['padding', 'same'],
      ['activation', 'relu'],
      ['pool', 'max'],
      ['dense', '1024'],
      ['snapshot-every', '100'],
      ['checkpoint-every', '0'],
      ['precision', 'f32'],
    ];
    for (const [flag, value] of defaults)
      expect(text).toMatch(new RegExp(`^  --${flag} .*\\[default: ${value}\\]$`, 'm'));
    expect(text).toContain('-h');
  });
});

describe('--model and the resnet knobs', () => {
  it('--model resnet builds the preset with the knobs; cnn is the reference CNN', () => {
    const cmd = train(['--model', 'resnet', '--width', '8', '--blocks', '2', '--no-skip']);
    const names = cmd.config.model.layers.map((l) => l.name);
    expect(names).toContain('layer3.1.conv2');
    expect(cmd.config.model.layers.some((l) => l.type === 'add')).toBe(false);
    expect(cmd.config.model.layers[0]).toMatchObject({ name: 'conv1', features: 8, bias: false });
    const noBn = train(['--model=resnet', '--no-bn']).config.model;
    expect(noBn.layers.some((l) => l.type === 'batchNorm')).toBe(false);
    expect(train(['--model', 'cnn']).config.model).toEqual(referenceCnn());
  });

  it('refuses the knobs of the other model, naming the flag', () => {
    expectError(
      ['--width', '8'],
      /^--width: a knob of the resnet \(or vit\) preset; add --model resnet$/,
    );
    expectError(['--heads', '2'], /^--heads: a knob of the vit preset; add --model vit$/);
    expectError(['--model', 'vit', '--no-skip'], /^--no-skip: a knob of the resnet preset$/);
    expectError(
      ['--model', 'vit', '--features', '8,16'],
      /^--features: a knob of the CNN; the vit's are --width, --blocks, --heads, --patch$/,
    );
    expectError(['--no-bn'], /^--no-bn: a knob of the resnet preset/);
    expectError(
      ['--model', 'resnet', '--kernel', '3'],
      /^--kernel: a knob of the CNN; the resnet's are --width/,
    );
    expectError(['--model', 'vgg'], /^--model: expected one of cnn, resnet, vit, got 'vgg'$/);
    expectError(
      ['--model', 'resnet', '--blocks', '0'],
      /^--blocks: expected a whole number >= 1 and <= 16/,
    );
    expectError(['--model', 'resnet', '--no-skip=1'], /^--no-skip: takes no value/);
  });
});

describe('the optimizer utilities flags', () => {
  const opt = (argv: string[]) => train(argv).config.optimizer;
  const d = defaultTrainConfig().optimizer;

  it('set AdamW, weight decay, clipping and the decay choice', () => {
    // adamw keeps weightDecay absent, so it resolves to AdamW's own default 0.01
    expect(opt(['--optimizer', 'adamw'])).toEqual({ ...d, kind: 'adamw' });
    expect(opt(['--optimizer', 'adamw', '--weight-decay', '0.05'])).toEqual({
      ...d,
      kind: 'adamw',
      weightDecay: 0.05,
    });
    expect(opt(['--weight-decay', '0']).weightDecay).toBe(0);
    expect(opt(['--clip-grad-norm', '1.5']).clipGradNorm).toBe(1.5);
    expect(opt(['--no-decay-bias-norm']).decayBiasAndNorm).toBe(false);
  });

  it('build the schedules, with warm-up', () => {
    expect(opt([]).schedule).toBeUndefined();
    expect(opt(['--lr-schedule', 'constant', '--warmup-steps', '100'])).toMatchObject({
      schedule: { kind: 'constant' },
      warmupSteps: 100,
    });
    expect(
      opt(['--lr-schedule', 'step', '--lr-step-size', '30', '--lr-gamma', '0.2']).schedule,
    ).toEqual({ kind: 'step', stepSize: 30, gamma: 0.2 });
    expect(opt(['--lr-schedule', 'step', '--lr-step-size', '30']).schedule).toEqual({
      kind: 'step',
      stepSize: 30,
    });
    // cosine without --lr-total-steps: 0, the whole run, filled in when the data is loaded
    expect(opt(['--lr-schedule', 'cosine', '--min-lr', '1e-5']).schedule).toEqual({
      kind: 'cosine',
      totalSteps: 0,
      minLr: 1e-5,
    });
    expect(opt(['--lr-schedule', 'cosine', '--lr-total-steps', '500']).schedule).toEqual({
      kind: 'cosine',
      totalSteps: 500,
    });
  });

  it('fill a cosine over the whole run from epochs and the training set', () => {
    const config = train(['--lr-schedule=cosine', '--epochs', '3', '--batch', '64']).config;
    // 1000 samples / 64 = 15 full batches (the last partial one is dropped), x 3 epochs
    expect(withRunLength(config, 1000).optimizer.schedule).toEqual({
      kind: 'cosine',
      totalSteps: 45,
    });
    const fixed = train(['--lr-schedule=cosine', '--lr-total-steps', '7']).config;
    expect(withRunLength(fixed, 1000)).toBe(fixed);
  });

  it('refuse bad values and settings of another schedule in one line naming the flag', () => {
    expectError(['--optimizer', 'adamx'], /^--optimizer: expected one of adam, adamw, sgd/);
    expectError(['--weight-decay', '-1'], /^--weight-decay: expected a number >= 0 .*, got '-1'$/);
    expectError(['--clip-grad-norm', '0'], /^--clip-grad-norm: expected a number > 0/);
    expectError(
      ['--lr-schedule', 'linear'],
      /^--lr-schedule: expected one of constant, step, cosine/,
    );
    expectError(['--warmup-steps', '1.5'], /^--warmup-steps: expected a whole number >= 0/);
    expectError(
      ['--lr-schedule', 'step', '--lr-step-size', '0'],
      /^--lr-step-size: expected a whole number >= 1/,
    );
    expectError(['--lr-schedule', 'step'], /^--lr-schedule step: needs --lr-step-size N$/);
    expectError(
      ['--lr-step-size', '5'],
      /^--lr-step-size: a setting of the step schedule; add --lr-schedule step$/,
    );
    expectError(
      ['--lr-schedule', 'step', '--lr-step-size', '5', '--min-lr', '0'],
      /^--min-lr: a setting of the cosine schedule/,
    );
    expectError(['--no-decay-bias-norm=1'], /^--no-decay-bias-norm: takes no value/);
    for (const flag of ['--weight-decay', '--lr-schedule', '--clip-grad-norm', '--min-lr']) {
      let message = '';
      try {
        parseArgs([flag, 'x']);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message.split('\n')).toHaveLength(1);
    }
  });

  it('read the same fields from a config file', () => {
    const config = parseTrainConfig(
      {
        optimizer: {
          kind: 'adamw',
          lr: 0.01,
          warmupSteps: 5,
          schedule: { kind: 'cosine', totalSteps: 100, minLr: 0.001 },
          clipGradNorm: 1,
          decayBiasAndNorm: false,
        },
      },
      'c.json',
    );
    expect(config.optimizer).toMatchObject({ kind: 'adamw', warmupSteps: 5, clipGradNorm: 1 });
    expect(config.optimizer.schedule).toEqual({ kind: 'cosine', totalSteps: 100, minLr: 0.001 });
    const bad = (optimizer: unknown) => () => parseTrainConfig({ optimizer }, 'c.json');
    expect(bad({ schedule: { kind: 'step' } })).toThrow(
      /^c\.json: optimizer\.schedule\.stepSize: missing/,
    );
    expect(bad({ schedule: { kind: 'step', stepSize: 2, minLr: 0 } })).toThrow(
      /^c\.json: optimizer\.schedule\.minLr: unknown key for a step schedule \(stepSize, gamma\)$/,
    );
    expect(bad({ clipGradNorm: 0 })).toThrow(
      /^c\.json: optimizer\.clipGradNorm: expected a number > 0/,
    );
  });
});
