// Lab 9: backprop by hand for XOR.
//
// The network (the playground's XOR preset): 2 inputs -> 2 hidden units -> 1 output,
//   h = sigmoid(w1 · x + b1)          w1 is [2][2] ([hidden][input], PyTorch's layout)
//   y = sigmoid(w2 · h + b2)          w2 is [1][2]
//   loss = mean over the 4 points of (y - target)^2
// Return the loss and dloss/dw1, dloss/db1, dloss/dw2, dloss/db2 for the given weights, as
// arrays of the weights' shapes. Derive every line by the chain rule; no autodiff library.
//
// Check it with:  npx shadergrad check xor-backprop xor-backprop.mjs

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/**
 * @param {{ w1: number[][], b1: number[], w2: number[][], b2: number[] }} weights
 * @param {number[][]} inputs  the 4 points, [[0, 0], [0, 1], [1, 0], [1, 1]]
 * @param {number[]} targets   their XOR, [0, 1, 1, 0]
 */
export function gradients(weights, inputs, targets) {
  const { w1, b1, w2, b2 } = weights;
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
  for (let p = 0; p < inputs.length; p++) {
    const x = inputs[p];
    const h = [0, 1].map((j) => sigmoid(w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j]));
    const y = sigmoid(w2[0][0] * h[0] + w2[0][1] * h[1] + b2[0]);
    grads.loss += (y - targets[p]) ** 2 / inputs.length;
    // TODO: dloss/dy, then back through the output sigmoid, w2, the hidden sigmoids and w1.
  }
  return grads;
}
