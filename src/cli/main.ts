/**
 * The command line: `npm start -- [flags]` trains (default: the reference CNN on MNIST, one
 * epoch), `--eval CHECKPOINT` tests a saved model. Bad flags or files exit 1 with one line that
 * names the flag or file; `SHADERGRAD_DEBUG=1` shows stack traces.
 */
import { mkdir, readFile, appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ShadergradError,
  initDevice,
  profileCalls,
  uploadDataset,
  type Gpu,
  type GpuDataset,
  type Trainer,
} from '../core';
import { describeModel, type TrainConfig } from '../models/config';
import { parseTrainConfig } from '../models/configJson';
import { createTrainer } from '../models/network';
import { loadModel, loadOptimizer, modelBytes, optimizerBytes } from '../models/checkpoint';
import { readSafetensors } from '../checkpoint/safetensors';
import { writeFileAtomic } from '../checkpoint/safetensorsNode';
import { encodeGrayPng, filterGrid } from '../checkpoint/png';
import { limitDataset, type Dataset, type DatasetSplit } from '../data/datasets';
import { loadFashionMnist, loadIdxDir, loadMnist } from '../data/datasetsNode';
import { applyFlags, parseArgs, usage } from './args';
import { printProfile } from './profile';
import { ProgressLine } from './progress';

async function loadSplit(
  dataset: TrainConfig['dataset'],
  dataDir: string | undefined,
): Promise<DatasetSplit> {
  if (dataDir) return loadIdxDir(dataDir);
  return dataset === 'fashion' ? loadFashionMnist() : loadMnist();
}

function toGpu(gpu: Gpu, d: Dataset): GpuDataset {
  return uploadDataset(gpu, {
    images: d.images,
    labels: d.labels,
    count: d.count,
    sampleShape: [1, d.rows, d.cols],
  });
}

async function readConfigFile(path: string): Promise<TrainConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ShadergradError(`--config ${path}: cannot read the file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ShadergradError(
      `${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return parseTrainConfig(json, path);
}

async function readBytes(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    throw new ShadergradError(`${flag} ${path}: cannot read the file`);
  }
}

/** The config saved in a checkpoint's metadata. */
function configOf(bytes: Uint8Array, source: string): TrainConfig {
  const meta = readSafetensors(bytes, source).metadata['shadergrad.config'];
  if (!meta)
    throw new ShadergradError(
      `${source}: no shadergrad.config metadata (was it written by shadergrad?)`,
    );
  return parseTrainConfig(JSON.parse(meta), `${source} metadata`);
}

async function saveCheckpoint(
  trainer: Trainer,
  config: TrainConfig,
  out: string,
  epoch: number,
): Promise<void> {
  const meta = { 'shadergrad.config': JSON.stringify(config), epoch: String(epoch) };
  await writeFileAtomic(join(out, 'model.safetensors'), await modelBytes(trainer, meta));
  await writeFileAtomic(join(out, 'optimizer.safetensors'), await optimizerBytes(trainer, meta));
  const first = [...trainer.store.params.keys()][0];
  if (!first) return;
  const layer = first.split('.')[0] ?? first;
  await writeFileAtomic(
    join(out, `${layer}.safetensors`),
    await modelBytes(trainer, meta, (n) => n.startsWith(`${layer}.`)),
  );
  const spec = trainer.store.get(first).spec;
  if (spec.shape.length === 4) {
    const grid = filterGrid(await trainer.store.read(first), spec.shape);
    await writeFileAtomic(
      join(out, `${layer}.png`),
      encodeGrayPng(grid.pixels, grid.width, grid.height),
    );
  }
}

async function train(cmd: Extract<ReturnType<typeof parseArgs>, { kind: 'train' }>): Promise<void> {
  let config = cmd.configFile
    ? applyFlags(await readConfigFile(cmd.configFile), cmd.flags)
    : cmd.config;
  let startEpoch = 1;
  let resumeBytes: { model: Uint8Array; optimizer: Uint8Array } | undefined;
  if (cmd.resume) {
    const model = await readBytes(join(cmd.resume, 'model.safetensors'), '--resume');
    resumeBytes = {
      model,
      optimizer: await readBytes(join(cmd.resume, 'optimizer.safetensors'), '--resume'),
    };
    config = applyFlags(configOf(model, join(cmd.resume, 'model.safetensors')), cmd.flags);
    startEpoch = Number(readSafetensors(model, 'model.safetensors').metadata.epoch ?? '0') + 1;
  }
  const gpu = await initDevice({ log: (l) => console.log(l) });
  try {
    const split = await loadSplit(config.dataset, cmd.dataDir);
    const trainSet = config.limit
      ? limitDataset(split.train, Math.min(config.limit, split.train.count))
      : split.train;
    console.log(
      `data: ${split.train.name} ${trainSet.count} training / ${split.test.count} test images`,
    );
    console.log(describeModel(config.model));
    const trainer = createTrainer(gpu, config);
    if (cmd.init) loadModel(trainer, await readBytes(cmd.init, '--init'), cmd.init);
    if (resumeBytes && cmd.resume) {
      loadModel(trainer, resumeBytes.model, join(cmd.resume, 'model.safetensors'));
      loadOptimizer(trainer, resumeBytes.optimizer, join(cmd.resume, 'optimizer.safetensors'));
      console.log(`resuming after epoch ${startEpoch - 1}`);
    }
    await mkdir(cmd.out, { recursive: true });
    const trainGpu = toGpu(gpu, trainSet);
    const testGpu = toGpu(gpu, split.test);
    const plan = await trainer.plan('train', config.batchSize, trainGpu);
    const m = plan.memory;
    console.log(
      `GPU memory: parameters ${mib(m.parameters)}, gradients ${mib(m.gradients)}, optimizer ${mib(m.optimizerState)}, activations+scratch ${mib(m.planned)} (unplanned ${mib(m.unplanned)}), total ${mib(m.total)}`,
    );
    if (cmd.profile)
      printProfile(await profileCalls(gpu, plan.prepared), config.batchSize, (l) => console.log(l));
    for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
      const bar = new ProgressLine(`epoch ${epoch}/${config.epochs}`, process.stdout);
      const result = await trainer.trainEpoch(trainGpu, epoch, (p) => bar.update(p));
      const test = await trainer.evaluate(testGpu);
      bar.done(
        `epoch ${epoch}: train loss ${result.loss.toFixed(4)}, train accuracy ${pct(result.accuracy)}, test accuracy ${pct(test.accuracy)}, ${Math.round(result.samples / result.seconds)} samples/s, ${result.seconds.toFixed(1)} s`,
      );
      const line = {
        epoch,
        trainLoss: result.loss,
        trainAccuracy: result.accuracy,
        testLoss: test.loss,
        testAccuracy: test.accuracy,
        samplesPerS: result.samples / result.seconds,
        seconds: result.seconds,
      };
      await appendFile(join(cmd.out, 'metrics.jsonl'), `${JSON.stringify(line)}\n`);
      await saveCheckpoint(trainer, config, cmd.out, epoch);
    }
    await writeFile(join(cmd.out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    console.log(
      `saved ${join(cmd.out, 'model.safetensors')}, optimizer.safetensors, the first layer (safetensors + png) and metrics.jsonl`,
    );
    trainer.destroy();
  } finally {
    gpu.destroy();
  }
}

async function evaluateCheckpoint(
  cmd: Extract<ReturnType<typeof parseArgs>, { kind: 'eval' }>,
): Promise<void> {
  const bytes = await readBytes(cmd.checkpoint, '--eval');
  const config = configOf(bytes, cmd.checkpoint);
  const gpu = await initDevice({ log: (l) => console.log(l) });
  try {
    const trainer = createTrainer(gpu, config);
    loadModel(trainer, bytes, cmd.checkpoint);
    const split = await loadSplit(cmd.dataDir ? config.dataset : cmd.dataset, cmd.dataDir);
    const test = await trainer.evaluate(toGpu(gpu, split.test));
    console.log(
      `${cmd.checkpoint}: test accuracy ${pct(test.accuracy)} (${split.test.count} images), test loss ${test.loss.toFixed(4)}`,
    );
    trainer.destroy();
  } finally {
    gpu.destroy();
  }
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

async function main(argv: readonly string[]): Promise<void> {
  const cmd = parseArgs(argv);
  if (cmd.kind === 'help') console.log(usage());
  else if (cmd.kind === 'eval') await evaluateCheckpoint(cmd);
  else await train(cmd);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof ShadergradError && process.env.SHADERGRAD_DEBUG === undefined)
      console.error(`shadergrad: ${e.message}`);
    else console.error(e);
    process.exit(1);
  },
);
