/**
 * The course's reference CNN on Fashion-MNIST (clothes instead of digits, same 28x28 format):
 * conv 5x5x32 'same' ReLU, max-pool 2, conv 5x5x64 'same' ReLU, max-pool 2, dense 1024 ReLU,
 * dense 10; softmax cross-entropy, Adam 1e-3, batch 64. Then it names its guesses for a few
 * test images.
 *
 *   npx vite-node examples/cnnFashion.ts                                # 1 epoch, all 60,000
 *   npx vite-node examples/cnnFashion.ts -- --epochs 3
 *   npx vite-node examples/cnnFashion.ts -- --limit 512 --test-limit 500   # seconds
 *
 * A full epoch takes minutes on a CPU-emulated GPU (see README.md for measured rates).
 */
import { defaultTrainConfig, describeModel, initDevice, trainModel } from 'shadergrad';
import { loadFashionMnist } from 'shadergrad/node';
import { parseOptions, percent, runExample } from './cli';

const options = parseOptions('The reference CNN on Fashion-MNIST', {
  epochs: 1,
  batch: 64,
  limit: 60000,
  testLimit: 10000,
  seed: 1,
});

async function main(): Promise<void> {
  const config = {
    ...defaultTrainConfig(),
    dataset: 'fashion' as const,
    epochs: options.epochs,
    batchSize: options.batch,
    limit: options.limit,
    seed: options.seed,
  };
  console.log(describeModel(config.model));
  const gpu = await initDevice({ log: (line) => console.log(line) });
  const fashion = await loadFashionMnist();
  const run = await trainModel(gpu, config, fashion, {
    testLimit: options.testLimit,
    onProgress: (p) => {
      if (p.step % 100 === 0) console.log(`  step ${p.step}/${p.steps}: loss ${p.loss.toFixed(4)}`);
    },
    onEpoch: (r) =>
      console.log(
        `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, test accuracy ${percent(r.testAccuracy)}, ${Math.round(r.samplesPerS)} samples/s`,
      ),
  });

  // The trained model on the first 8 test images: softmax probabilities, one row per image.
  const n = 8;
  const test = fashion.test;
  const pixels = test.rows * test.cols;
  const images = Float32Array.from(test.images.subarray(0, n * pixels), (v) => v / 255);
  const probabilities = await run.trainer.predict(images, n);
  const names = test.classNames ?? [];
  for (let i = 0; i < n; i++) {
    const row = [...probabilities.subarray(10 * i, 10 * i + 10)];
    const guess = row.indexOf(Math.max(...row));
    const truth = test.labels[i] ?? -1;
    console.log(
      `  test image ${i}: ${names[guess] ?? guess} (${percent(row[guess] ?? 0)})${guess === truth ? '' : `, truly ${names[truth] ?? truth}`}`,
    );
  }
  console.log(
    `CNN on Fashion-MNIST: test accuracy ${percent(run.final.testAccuracy)} (${run.test.count} images) after ${options.epochs} epoch(s) on ${run.train.count} images`,
  );
  run.destroy();
  gpu.destroy();
}

runExample(main);
