// A fresh Vite app with no vite.config: trains XOR (2-8-1, MSE, Adam) on the GPU and shows the
// loss as it falls. The consumer test reads #status and its data-losses.
import { Graph, Trainer, initDevice, toy2d } from 'shadergrad';

const status = document.querySelector<HTMLElement>('#status');

function xorGraph(batch: number): Graph {
  const g = new Graph();
  const x = g.input('images', [batch, 2]);
  const targets = g.input('targets', [batch, 1]);
  const hidden = g.dense(x, { name: 'fc1', units: 8, activation: 'tanh' });
  g.mse(g.dense(hidden, { name: 'fc2', units: 1, activation: 'sigmoid' }), targets);
  return g;
}

async function main(): Promise<void> {
  if (!status) return;
  const gpu = await initDevice();
  const data = toy2d({ kind: 'xor' });
  const trainer = Trainer.create(gpu, xorGraph, {
    batchSize: data.count,
    optimizer: { kind: 'adam', lr: 0.05 },
    seed: 3,
  });
  const losses: number[] = [];
  for (let step = 1; step <= 60; step++) {
    const loss = await trainer.trainStepWith({ images: data.points, targets: data.targets });
    if (step % 20 === 0) losses.push(loss);
    status.textContent = `step ${step}: loss ${loss.toFixed(4)} (${gpu.adapter.kind})`;
  }
  status.dataset.losses = JSON.stringify(losses);
  trainer.destroy();
  gpu.destroy();
}

main().catch((e: unknown) => {
  if (status) status.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
});
