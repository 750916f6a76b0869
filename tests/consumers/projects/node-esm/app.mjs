// A plain Node program, run with `node app.mjs`: trains a small CNN for a few epochs on an MNIST
// slice and exits 1 unless the training loss falls.
import { cnnFromKnobs, defaultTrainConfig, initDevice, trainModel } from 'shadergrad';
import { loadMnist } from 'shadergrad/node';

const gpu = await initDevice();
const config = {
  ...defaultTrainConfig(),
  model: cnnFromKnobs({ features: [4, 8], dense: 32 }),
  batchSize: 32,
  epochs: 3,
  limit: 256,
};
const run = await trainModel(gpu, config, await loadMnist(), { testLimit: 100 });
const losses = run.epochs.map((e) => e.trainLoss);
console.log(
  `adapter ${gpu.adapter.kind}; training loss by epoch: ${losses.map((l) => l.toFixed(3)).join(' ')}`,
);
run.destroy();
gpu.destroy();
if (!(losses[2] < losses[0])) {
  console.error('the training loss did not fall');
  process.exit(1);
}
