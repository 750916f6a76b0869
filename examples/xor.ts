/**
 * XOR with a 2-2-1 sigmoid network and mean squared error, the course's first network, trained
 * on the GPU: the four corners of the unit square, target 1 where exactly one input is 1.
 *
 *   npx vite-node examples/xor.ts              # 2000 steps of Adam (lr 0.03) on the 4 points
 *   npx vite-node examples/xor.ts -- --steps 500 --seed 5
 *
 * The graph has two inputs: 'images' (the points, [4, 2]) and 'targets' ([4, 1]), fed by name to
 * `trainStepWith` each step. A 2-2-1 network can get stuck in XOR's classic local minimum, loss
 * 0.125 with two outputs at 0.5; if a seed does, try another.
 */
import { Graph, Trainer, initDevice, toy2d } from 'shadergrad';
import { parseOptions, runExample } from './cli';

const options = parseOptions('XOR: a 2-2-1 sigmoid MLP trained with MSE', {
  steps: 2000,
  seed: 3,
});

/** x [N, 2] -> dense 2 sigmoid -> dense 1 sigmoid -> MSE against targets [N, 1]. */
function xorGraph(batch: number): Graph {
  const g = new Graph();
  const x = g.input('images', [batch, 2]);
  const targets = g.input('targets', [batch, 1]);
  const hidden = g.dense(x, { name: 'fc1', units: 2, activation: 'sigmoid' });
  const out = g.dense(hidden, { name: 'fc2', units: 1, activation: 'sigmoid' });
  g.mse(out, targets);
  return g;
}

async function main(): Promise<void> {
  const gpu = await initDevice({ log: (line) => console.log(line) });
  const data = toy2d({ kind: 'xor' }); // points [4, 2], targets [4, 1]: 0, 1, 1, 0
  const trainer = Trainer.create(gpu, xorGraph, {
    batchSize: data.count,
    optimizer: { kind: 'adam', lr: 0.03 },
    seed: options.seed,
  });
  let loss = NaN;
  for (let step = 1; step <= options.steps; step++) {
    loss = await trainer.trainStepWith({ images: data.points, targets: data.targets });
    if (step % Math.ceil(options.steps / 10) === 0 || step === 1)
      console.log(`step ${step}: loss ${loss.toFixed(5)}`);
  }
  const out = await trainer.predict(data.points, data.count);
  let wrong = 0;
  for (let i = 0; i < data.count; i++) {
    const [a = 0, b = 0] = data.points.subarray(2 * i, 2 * i + 2);
    const y = out[i] ?? NaN;
    const target = data.targets[i] ?? NaN;
    if (Math.round(y) !== target) wrong++;
    console.log(`  ${a} xor ${b} = ${target}: network says ${y.toFixed(3)}`);
  }
  console.log(`XOR after ${options.steps} steps: loss ${loss.toPrecision(3)}, ${wrong} of 4 wrong`);
  trainer.destroy();
  gpu.destroy();
}

runExample(main);
