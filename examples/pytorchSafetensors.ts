/**
 * Exporting to and loading from PyTorch-compatible safetensors. Trains the reference CNN a little
 * on MNIST, saves `model.safetensors` (PyTorch's names and layouts: conv1.weight [32, 1, 5, 5],
 * fc1.weight [1024, 3136], ...), loads it into a fresh model with other random weights and checks
 * that both give the same predictions, bit for bit. It also writes `check.safetensors` (16 test
 * images and the probabilities shadergrad gives them) for examples/load_in_pytorch.py, which
 * loads the model into the equivalent torch module with `load_state_dict` and compares.
 *
 *   npx vite-node examples/pytorchSafetensors.ts                    # 1024 images, 1 epoch
 *   npx vite-node examples/pytorchSafetensors.ts -- --out runs/export --limit 4096
 *   python examples/load_in_pytorch.py runs/safetensors-example      # needs torch, safetensors
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createTrainer,
  defaultTrainConfig,
  initDevice,
  loadModel,
  modelBytes,
  readSafetensors,
  trainModel,
  writeSafetensors,
  type Trainer,
} from 'shadergrad';
import { loadMnist, writeFileAtomic } from 'shadergrad/node';
import { parseOptions, percent, runExample } from './cli';

const options = parseOptions('Save the reference CNN as safetensors and load it back', {
  limit: 1024,
  batch: 64,
  seed: 1,
  out: 'runs/safetensors-example',
});

/** Probabilities [n, 10] for images [n, 1, 28, 28]. */
function predict(trainer: Trainer, images: Float32Array): Promise<Float32Array> {
  return trainer.predict(images, images.length / 784);
}

async function main(): Promise<void> {
  const gpu = await initDevice({ log: (line) => console.log(line) });
  const mnist = await loadMnist();
  const config = {
    ...defaultTrainConfig(),
    limit: options.limit,
    batchSize: options.batch,
    seed: options.seed,
  };
  const run = await trainModel(gpu, config, mnist, { testLimit: 500 });
  console.log(
    `trained on ${run.train.count} images: test accuracy ${percent(run.final.testAccuracy)}`,
  );

  // Save: the state_dict as safetensors; the config rides along as metadata (torch ignores it).
  await mkdir(options.out, { recursive: true });
  const modelPath = join(options.out, 'model.safetensors');
  await writeFileAtomic(
    modelPath,
    await modelBytes(run.trainer, { 'shadergrad.config': JSON.stringify(config) }),
  );
  const saved = readSafetensors(await readFile(modelPath), modelPath);
  for (const [name, t] of Object.entries(saved.tensors))
    console.log(`  ${name.padEnd(12)} ${t.dtype} [${t.shape.join(', ')}]`);

  // Load into a fresh model (another seed, so other weights) and compare predictions.
  const n = 16;
  const images = Float32Array.from(mnist.test.images.subarray(0, n * 784), (v) => v / 255);
  const expected = await predict(run.trainer, images);
  const fresh = createTrainer(gpu, { ...config, seed: config.seed + 1 });
  const before = await predict(fresh, images);
  loadModel(fresh, await readFile(modelPath), modelPath);
  const after = await predict(fresh, images);
  const maxDiff = (a: Float32Array, b: Float32Array): number =>
    a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
  console.log(
    `fresh model before loading: max |difference| ${maxDiff(before, expected).toFixed(4)}`,
  );
  if (maxDiff(after, expected) !== 0)
    throw new Error(`loaded model differs: max |difference| ${maxDiff(after, expected)}`);

  // What load_in_pytorch.py compares torch's output against.
  const checkPath = join(options.out, 'check.safetensors');
  const check = writeSafetensors({
    images: { dtype: 'F32', shape: [n, 1, 28, 28], data: images },
    probabilities: { dtype: 'F32', shape: [n, 10], data: expected },
  });
  await writeFileAtomic(checkPath, check);
  console.log(`loaded back: identical predictions on ${n} test images (max |difference| 0)`);
  console.log(
    `wrote ${modelPath} and ${checkPath}; in PyTorch: python examples/load_in_pytorch.py ${options.out}`,
  );
  fresh.destroy();
  run.destroy();
  gpu.destroy();
}

runExample(main);
