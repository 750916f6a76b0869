#!/usr/bin/python3
"""PyTorch's own run of two graph models, for shadergrad's parity test (tests/train/graphParity.test.ts).

For each model config next to this file (`<case>.model.json`: shadergrad's layer-list format,
read by bench/torchTrain.py's Net, which builds the same torch modules under the same names):
  - resnet_small: the ResNet preset at width 4, 1 block per stage, on 12x12 inputs (every layer
    of the 28x28 preset: stem, basic blocks, strided stages with 1x1 projections, batch norm,
    global average pooling), torchvision names;
  - dag_small: a node feeding three layers, concat, an add of two shapes (a [N, C, 1, 1] gate
    broadcast over H, W), batch norm.
It writes `<case>.safetensors` with, in float32 (labels int64):
  input, labels; init.<name> for every state_dict entry but num_batches_tracked;
  act.<layer> (training-mode forward at the initial parameters, every named layer);
  grad.<param> (the mean loss's gradient, trainable parameters);
  <opt>.step<k>.<name> for k = 1..3 and opt = adam (lr 1e-2), momentum (SGD lr 0.05, momentum
  0.9): every parameter and running statistic after k steps on the same batch in train mode;
  <opt>.eval_logits: model.eval() logits after the 3 steps;
and `<case>.json` with the losses (float32, and float64 for the Adam run) and, per parameter, the
max |f32 - f64| after Adam's 3 steps: PyTorch's own float32 error, the yardstick for tolerances.

Initial values: conv and dense weights and biases from random_floats(n, SEED + k, -b, b),
b = 1/sqrt(fan_in), k the entry's index in state_dict order; batch norm ones and zeros.

  /usr/bin/python3 tests/golden/graph_parity.py   (Debian python3-torch; seconds)
  npx prettier --write tests/golden/*.json        (the repository JSON format)
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'bench'))
sys.path.insert(0, HERE)
from torchTrain import Net  # noqa: E402
from precision_cnn import mulberry32, random_floats  # noqa: E402

CASES = {'resnet_small': (4, 2001, 3000), 'dag_small': (3, 2101, 3100)}
OPTIMIZERS = {
    'adam': lambda p: torch.optim.Adam(p, lr=1e-2),
    'momentum': lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}[a.dtype]
        data = a.astype(a.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def initial_state(net, seed):
    state = {}
    for k, (name, t) in enumerate(net.state_dict().items()):
        if name.endswith('num_batches_tracked'):
            continue
        leaf = name.rsplit('.', 1)[-1]
        module = net.get_submodule(name.rsplit('.', 1)[0])
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            fill = 1.0 if leaf in ('weight', 'running_var') else 0.0
            state[name] = np.full(tuple(t.shape), fill, dtype=np.float32)
            continue
        weight = module.weight
        fan_in = int(np.prod(weight.shape[1:]))
        bound = 1 / np.sqrt(fan_in)
        state[name] = random_floats(t.numel(), seed + k, -bound, bound).reshape(tuple(t.shape))
    return state


def load(net, state, dtype):
    sd = net.state_dict()
    for name, v in state.items():
        sd[name] = torch.from_numpy(v).to(dtype)
    net.load_state_dict(sd)


def main():
    torch.manual_seed(0)
    for case, (batch, data_seed, param_seed) in CASES.items():
        with open(os.path.join(HERE, f'{case}.model.json')) as f:
            model = json.load(f)
        inp = model['input']
        shape = (batch, inp['channels'], inp['height'], inp['width'])
        images = random_floats(int(np.prod(shape)), data_seed, -1, 1).reshape(shape)
        labels = np.floor(mulberry32(batch, data_seed + 1) * model['classes']).astype(np.int64)
        net = Net(model)
        state = initial_state(net, param_seed)
        out = {'input': images, 'labels': labels}
        out.update({f'init.{k}': v for k, v in state.items()})
        summary = {'torch': torch.__version__, 'batch': batch}

        # activations and gradients at the initial parameters (train mode)
        load(net, state, torch.float32)
        net.train()
        x, y = torch.from_numpy(images), torch.from_numpy(labels)
        values = {'input': x}
        for name, inputs, layer in net.order:
            values[name] = layer(*[values[n] for n in inputs])
            out[f'act.{name}'] = values[name].detach().numpy().astype(np.float32)
        loss = F.cross_entropy(values[net.order[-1][0]], y)
        loss.backward()
        summary['loss_initial'] = loss.item()
        for name, p in net.named_parameters():
            out[f'grad.{name}'] = p.grad.numpy().astype(np.float32)

        for opt_name, make in OPTIMIZERS.items():
            finals = {}
            for dtype in (torch.float32, torch.float64):
                net = Net(model).to(dtype)
                load(net, state, dtype)
                net.train()
                opt = make(net.parameters())
                xs = x.to(dtype)
                losses = []
                for k in range(1, 4):
                    opt.zero_grad()
                    loss = F.cross_entropy(net(xs), y)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                    if dtype == torch.float32:
                        for name, t in net.state_dict().items():
                            if not name.endswith('num_batches_tracked'):
                                out[f'{opt_name}.step{k}.{name}'] = t.numpy().astype(np.float32)
                finals[dtype] = {n: t.detach().double().numpy() for n, t in net.state_dict().items()}
                summary[f'{opt_name}_losses_{"f32" if dtype == torch.float32 else "f64"}'] = losses
                if dtype == torch.float32:
                    net.eval()
                    with torch.no_grad():
                        out[f'{opt_name}.eval_logits'] = net(xs).numpy().astype(np.float32)
                    summary['num_batches_tracked'] = int(net.state_dict()[[n for n in net.state_dict() if n.endswith('num_batches_tracked')][0]]) if any(n.endswith('num_batches_tracked') for n in net.state_dict()) else None
            summary[f'{opt_name}_max_abs_f32_minus_f64'] = {
                n: float(np.max(np.abs(finals[torch.float32][n] - finals[torch.float64][n])))
                for n in finals[torch.float32] if not n.endswith('num_batches_tracked')}
        write_safetensors(os.path.join(HERE, f'{case}.safetensors'), out, {'generator': 'graph_parity.py'})
        with open(os.path.join(HERE, f'{case}.json'), 'w') as f:
            json.dump(summary, f, indent=2)
            f.write('\n')
        print(case, 'loss', summary['loss_initial'], 'tensors', len(out))


if __name__ == '__main__':
    main()
