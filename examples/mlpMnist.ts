/**
 * An MLP on MNIST: 784 -> 128 ReLU -> 10, softmax cross-entropy, Adam, batch 64, trained and
 * evaluated entirely on the GPU (batches gathered there from the uploaded bytes).
 *
 *   npx vite-node examples/mlpMnist.ts                          # 2 epochs on all 60,000 images
 *   npx vite-node examples/mlpMnist.ts -- --hidden 256 --epochs 5
 *   npx vite-node examples/mlpMnist.ts -- --limit 2048 --test-limit 500   # seconds
 *
 * The model is a layer list (ModelConfig) like the CNN's, so the CLI could train the same thing
 * from a JSON config (`npm start -- --config`).
 */
import {
  defaultOptimizer,
  describeModel,
  initDevice,
  trainModel,
  type ModelConfig,
  type TrainConfig,
} from 'shadergrad';
import { loadMnist } from 'shadergrad/node';
import { parseOptions, percent, runExample } from './cli';

const options = parseOptions('An MLP (784-hidden-10) on MNIST', {
  hidden: 128,
  epochs: 2,
  batch: 64,
  limit: 60000,
  testLimit: 10000,
  seed: 1,
});

async function main(): Promise<void> {
  const model: ModelConfig = {
    input: { channels: 1, height: 28, width: 28 },
    classes: 10,
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: options.hidden, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'none' },
    ],
    loss: 'softmaxCrossEntropy',
  };
  const config: TrainConfig = {
    model,
    optimizer: defaultOptimizer('adam'),
    batchSize: options.batch,
    epochs: options.epochs,
    seed: options.seed,
    dataset: 'mnist',
    limit: options.limit,
    snapshotEvery: 0,
  };
  console.log(describeModel(model));
  const gpu = await initDevice({ log: (line) => console.log(line) });
  const mnist = await loadMnist();
  const run = await trainModel(gpu, config, mnist, {
    testLimit: options.testLimit,
    onEpoch: (r) =>
      console.log(
        `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, test accuracy ${percent(r.testAccuracy)}, ${Math.round(r.samplesPerS)} samples/s`,
      ),
  });
  console.log(
    `MLP on MNIST: test accuracy ${percent(run.final.testAccuracy)} (${run.test.count} images) after ${options.epochs} epoch(s) on ${run.train.count} images`,
  );
  run.destroy();
  gpu.destroy();
}

runExample(main);
