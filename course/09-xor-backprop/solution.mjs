// Lab 9, reference solution: the chain rule, one point at a time, summed over the batch.

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

export function gradients(weights, inputs, targets) {
  const { w1, b1, w2, b2 } = weights;
  const n = inputs.length;
  const grads = {
    loss: 0,
    w1: [
      [0, 0],
      [0, 0],
    ],
    b1: [0, 0],
    w2: [[0, 0]],
    b2: [0],
  };
  for (let p = 0; p < n; p++) {
    const x = inputs[p];
    const h = [0, 1].map((j) => sigmoid(w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j]));
    const y = sigmoid(w2[0][0] * h[0] + w2[0][1] * h[1] + b2[0]);
    grads.loss += (y - targets[p]) ** 2 / n;
    const dy = (2 * (y - targets[p])) / n; // d(mean squared error)/dy
    const dz2 = dy * y * (1 - y); // through the output sigmoid
    grads.b2[0] += dz2;
    for (let j = 0; j < 2; j++) {
      grads.w2[0][j] += dz2 * h[j];
      const dz1 = dz2 * w2[0][j] * h[j] * (1 - h[j]); // back through w2 and the hidden sigmoid
      grads.b1[j] += dz1;
      grads.w1[j][0] += dz1 * x[0];
      grads.w1[j][1] += dz1 * x[1];
    }
  }
  return grads;
}
