"""What resnet_small.py and dag_small.py share: the safetensors writer, the initial values, the runs.

A model here is a hand-written torch module whose forward(x, acts) returns the logits and, when
`acts` is a dict, fills it in layer order with act.<layer> (the layer's output, its activation
included) and preact.<layer> (the same before the activation, for layers that have one). It is
written independently of shadergrad's model config reader; `cross_check` then builds the committed
<case>.model.json with bench/torchTrain.py's Net and asserts it gives the same state_dict and the
same logits, so the config and the module describe one network.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from precision_cnn import mulberry32, random_floats  # noqa: E402,F401  (re-exported)

ADAMW = dict(lr=1e-2, weight_decay=0.05)  # betas (0.9, 0.999), eps 1e-8, amsgrad off: defaults
SGD = dict(lr=0.05, momentum=0.9)  # dampening 0, no Nesterov, no weight decay: defaults
STEPS = 3
CONVENTIONS = {
    'layouts': 'conv weight [out, in, kh, kw] (OIHW); linear weight [out, in]; activations NCHW; '
               'flatten in C, H, W order',
    'batchNorm': 'train mode normalizes with the batch mean and the biased variance (divide by '
                 'M = N*H*W), eps 1e-5 added to the variance; running_x = 0.9 * running_x + '
                 '0.1 * batch_x (momentum 0.1) with the UNBIASED variance (divide by M - 1) for '
                 'running_var; eval mode normalizes with the running statistics; '
                 'num_batches_tracked counts train-mode forwards and does not affect anything '
                 'since momentum is set',
    'loss': 'mean over the batch of softmax cross-entropy (F.cross_entropy, reduction mean)',
    'act': 'act.<layer>: output of the layer, its activation included (conv+relu, batchNorm+relu '
           'and add+relu are one layer); preact.<layer>: the same before the activation; '
           'globalAvgPool outputs are [N, C, 1, 1]; act.logits == act.fc',
    'grad': 'grad.<param>: d(mean loss)/d(param) after one backward at the initial parameters '
            '(train mode); grad.logits: d(mean loss)/d(logits) = (softmax - onehot) / N',
    'steps': 'the batch, in train mode, STEPS times: zero_grad, forward, mean loss, backward, '
             'optimizer.step(); <opt>.step<k>.<name> is the state after k steps; the loss of '
             'step k is computed before its update, so losses[0] == loss_initial',
    'adamw': 'torch.optim.AdamW(lr 1e-2, weight_decay 0.05, betas (0.9, 0.999), eps 1e-8): '
             'decay p *= 1 - lr * wd on EVERY parameter (conv/linear biases and batch norm '
             'weights and biases included), then Adam with bias correction',
    'sgd': 'torch.optim.SGD(lr 0.05, momentum 0.9): buf = g on step 1, then buf = 0.9 buf + g; '
           'p -= lr * buf (dampening 0, no weight decay)',
    'init': 'conv/linear weights and biases: random_floats(n, SEED + k, -b, b), b = '
            '1/sqrt(fan_in), fan_in = in_channels * kh * kw or in_features (a bias uses its '
            "weight's), k = the entry's index in state_dict order counting every entry "
            '(buffers and num_batches_tracked included); batch norm weight 1, bias 0, '
            'running_mean 0, running_var 1, num_batches_tracked 0',
}


def write_safetensors(path, tensors, metadata):
    """F32 / I64 tensors, little-endian, in insertion order; the header padded with spaces to 8."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.asarray(a)  # not np.ascontiguousarray: it turns shape [] into [1]
        a = a if a.flags.c_contiguous else a.copy()
        dtype = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}[a.dtype]
        data = a.astype(a.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def read_safetensors(path):
    """The reader matching write_safetensors, for the self-check."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop('__metadata__', None)
    body = raw[8 + n:]
    dt = {'F32': '<f4', 'I64': '<i8'}
    return {k: np.frombuffer(body[v['data_offsets'][0]:v['data_offsets'][1]],
                             dtype=dt[v['dtype']]).reshape(v['shape'])
            for k, v in header.items()}


def initial_state(net, seed):
    """Every state_dict entry's initial value (numpy; float32, num_batches_tracked int64)."""
    state = {}
    for k, (name, t) in enumerate(net.state_dict().items()):
        owner, leaf = name.rsplit('.', 1)
        module = net.get_submodule(owner)
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if leaf == 'num_batches_tracked':
                state[name] = np.zeros((), dtype=np.int64)
            else:
                fill = 1.0 if leaf in ('weight', 'running_var') else 0.0
                state[name] = np.full(tuple(t.shape), fill, dtype=np.float32)
        elif isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            state[name] = random_floats(t.numel(), seed + k, -bound, bound).reshape(tuple(t.shape))
        else:
            raise ValueError(f'no initial value rule for {name}')
    return state


def build(make, state, dtype):
    net = make().to(dtype)
    net.load_state_dict({k: torch.from_numpy(v).to(dtype) if v.dtype == np.float32
                         else torch.from_numpy(v.copy()) for k, v in state.items()})
    return net


def f32(t):
    return t.detach().to(torch.float32).numpy().copy()


def train(make, state, x, y, dtype, opt_name, out=None):
    """STEPS steps; fills out[<opt>.step<k>.<name>] (float32 run); returns losses, final state, net."""
    net = build(make, state, dtype)
    net.train()
    opt = (torch.optim.AdamW(net.parameters(), **ADAMW) if opt_name == 'adamw'
           else torch.optim.SGD(net.parameters(), **SGD))
    xs = x.to(dtype)
    losses = []
    for k in range(1, STEPS + 1):
        opt.zero_grad()
        loss = F.cross_entropy(net(xs), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if out is not None:
            for name, t in net.state_dict().items():
                if not name.endswith('num_batches_tracked'):
                    out[f'{opt_name}.step{k}.{name}'] = f32(t)
    final = {n: t.detach().double().numpy() for n, t in net.state_dict().items()}
    return losses, final, net


def cross_check(make, model_json, state, x):
    """bench/torchTrain.py's Net built from the model config must equal the hand-written module."""
    sys.path.insert(0, os.path.join(HERE, '..', '..', 'bench'))
    from torchTrain import Net  # noqa: E402
    ours, theirs = build(make, state, torch.float32), Net(model_json)
    a, b = ours.state_dict(), theirs.state_dict()
    assert [(k, tuple(v.shape)) for k, v in a.items()] == [(k, tuple(v.shape)) for k, v in b.items()], \
        'the model config and the module have different state_dicts'
    theirs.load_state_dict(a)
    ours.train(), theirs.train()
    with torch.no_grad():
        diff = (ours(x) - theirs(x)).abs().max().item()
    assert diff < 1e-5, f'the model config and the module disagree by {diff}'
    return diff


def generate(case, make, model_json, description, x_np, y_np, seed):
    """Runs everything and writes <case>.safetensors, <case>.json and <case>.model.json."""
    torch.set_num_threads(1)  # one summation order, the same on every run
    torch.manual_seed(0)  # nothing draws from it; set anyway
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    state = initial_state(make(), seed)
    out = {'input': x_np, 'labels': y_np}
    out.update(state)
    summary = {'torch': torch.__version__, 'case': case, 'description': description,
               'batch': int(x_np.shape[0]), 'classes': model_json['classes'],
               'input_shape': list(x_np.shape), 'param_seed': seed,
               'conventions': CONVENTIONS,
               'optimizers': {'adamw': {**ADAMW, 'betas': [0.9, 0.999], 'eps': 1e-8},
                              'sgd': {**SGD, 'dampening': 0, 'nesterov': False}},
               'steps': STEPS}

    # eval-mode logits at the initial parameters (running statistics 0 and 1)
    net = build(make, state, torch.float32).eval()
    with torch.no_grad():
        out['eval_logits_initial'] = f32(net(x))

    # training-mode forward, activations, gradients at the initial parameters
    net = build(make, state, torch.float32).train()
    acts = {}
    logits = net(x, acts)
    logits.retain_grad()
    loss = F.cross_entropy(logits, y)
    loss.backward()
    summary['loss_initial'] = loss.item()
    for name, v in acts.items():
        out[name] = f32(v)
    out['act.logits'] = f32(logits)
    for name, p in net.named_parameters():
        out[f'grad.{name}'] = f32(p.grad)
    out['grad.logits'] = f32(logits.grad)
    summary['layers'] = [n[len('act.'):] for n in acts if n.startswith('act.')]
    assert summary['layers'] == [spec['name'] for spec in model_json['layers']]
    summary['num_batches_tracked_after_forward'] = {
        n: int(t) for n, t in net.state_dict().items() if n.endswith('num_batches_tracked')}

    # STEPS steps of each optimizer, float32 (recorded) and float64 (the yardstick)
    for opt_name in ('adamw', 'sgd'):
        losses32, final32, net32 = train(make, state, x, y, torch.float32, opt_name, out)
        losses64, final64, _ = train(make, state, x, y, torch.float64, opt_name)
        net32.eval()
        with torch.no_grad():
            out[f'{opt_name}.eval_logits'] = f32(net32(x))
        summary[f'{opt_name}_losses_f32'] = losses32
        summary[f'{opt_name}_losses_f64'] = losses64
        summary[f'{opt_name}_num_batches_tracked'] = {
            n: int(v) for n, v in final32.items() if n.endswith('num_batches_tracked')}
        table = {n: float(np.max(np.abs(final32[n] - final64[n])))
                 for n in final32 if not n.endswith('num_batches_tracked')}
        summary[f'{opt_name}_max_abs_f32_minus_f64'] = table
        summary[f'{opt_name}_max_abs_f32_minus_f64_overall'] = max(table.values())

    summary['model_config_check_max_abs_logits'] = cross_check(make, model_json, state, x)

    path = os.path.join(HERE, f'{case}.safetensors')
    write_safetensors(path, out, {'generator': f'tests/golden/{case}.py', 'torch': torch.__version__})
    back = read_safetensors(path)
    assert list(back) == list(out) and all(np.array_equal(back[n], out[n]) for n in out)
    with open(os.path.join(HERE, f'{case}.json'), 'w') as f:
        json.dump(summary, f, indent=2)
        f.write('\n')
    with open(os.path.join(HERE, f'{case}.model.json'), 'w') as f:
        json.dump(model_json, f)  # one line: prettier then keeps what fits on a line inline
        f.write('\n')
    print(f'{case}: loss {summary["loss_initial"]:.6f}, {len(out)} tensors, '
          f'{os.path.getsize(path)} bytes, adamw f32-f64 '
          f'{summary["adamw_max_abs_f32_minus_f64_overall"]:.3g}')


def record(acts, name, value, pre=None):
    """Fills act.<name> (and preact.<name>) when recording; returns value."""
    if acts is not None:
        if pre is not None:
            acts[f'preact.{name}'] = pre
        acts[f'act.{name}'] = value
    return value


# ---- the transformer goldens (transformer_small.py, vit_small.py): the same recipe, other nets

def record_first_step(net, forward, loss_of, out):
    """One forward and backward at the initial parameters into `out`: every recorded activation,
    the logits and their gradient, and every parameter's gradient. Returns the loss.
    `forward(acts)` runs the net recording into acts; `loss_of(logits)` is the loss."""
    acts = {}
    logits = forward(acts)
    logits.retain_grad()
    loss = loss_of(logits)
    loss.backward()
    out.update({n: f32(v) for n, v in acts.items()})
    out['act.logits'] = f32(logits)
    out['grad.logits'] = f32(logits.grad)
    for name, p in net.named_parameters():
        out[f'grad.{name}'] = f32(p.grad)
    return loss


def adamw_steps(net, forward, loss_of, steps, adamw, out=None):
    """`steps` AdamW updates of a fresh net; with `out`, its state_dict after each as
    adamw.step<k>.<name>. Returns the losses (before each update) and the final state (float64)."""
    opt = torch.optim.AdamW(net.parameters(), **adamw)
    losses = []
    for k in range(1, steps + 1):
        opt.zero_grad()
        loss = loss_of(forward())
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if out is not None:
            for name, t in net.state_dict().items():
                out[f'adamw.step{k}.{name}'] = f32(t)
    return losses, {n: t.detach().double().numpy() for n, t in net.state_dict().items()}


def precision_table(final32, final64):
    """Per parameter: how far PyTorch's own float32 run ends from its float64 run."""
    return {n: float(np.max(np.abs(final32[n] - final64[n]))) for n in final32}


def write_golden(case, out, summary):
    """<case>.safetensors (read back and compared) and <case>.json, beside this file."""
    path = os.path.join(HERE, f'{case}.safetensors')
    write_safetensors(path, out, {'generator': f'tests/golden/{case}.py',
                                  'torch': torch.__version__})
    back = read_safetensors(path)
    assert list(back) == list(out) and all(np.array_equal(back[n], out[n]) for n in out)
    with open(os.path.join(HERE, f'{case}.json'), 'w') as f:
        json.dump(summary, f, indent=2)
        f.write('\n')
    print(f'{case}: loss {summary["loss_initial"]:.6f}, {len(out)} tensors, '
          f'{os.path.getsize(path)} bytes, f32-f64 {summary["adamw_max_abs_f32_minus_f64_overall"]:.3g}')


def record(acts, name, value):
    """value, kept in acts as act.<name> when acts is given."""
    if acts is not None:
        acts[f'act.{name}'] = value
    return value


class PositionEmbedding(nn.Module):
    """A learned [T, C] table added to the tokens (shadergrad's positionEmbedding)."""

    def __init__(self, t, c):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(t, c))

    def forward(self, x):
        return x + self.weight


class Attention(nn.Module):
    """query, key, value, proj: nn.Linear(C, C); heads split as view(N, T, H, D).transpose(1, 2);
    act.<prefix>.softmax records the attention weights."""

    def __init__(self, c, heads, causal):
        super().__init__()
        self.query, self.key, self.value, self.proj = (nn.Linear(c, c) for _ in range(4))
        self.heads, self.causal = heads, causal

    def forward(self, x, acts, prefix):
        n, t, c = x.shape
        d = c // self.heads
        split = lambda lin: lin(x).view(n, t, self.heads, d).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query), split(self.key), split(self.value)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        if self.causal:
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
            scores = scores.masked_fill(mask, float('-inf'))
        weights = record(acts, f'{prefix}.softmax', scores.softmax(-1))
        return self.proj((weights @ v).transpose(1, 2).reshape(n, t, c))


class Mlp(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, hidden), nn.Linear(hidden, c)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    """Pre-norm: h = x + attn(ln1(x)); out = h + mlp(ln2(h)), recorded as act.<prefix>."""

    def __init__(self, c, heads, hidden, causal):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(c), Attention(c, heads, causal)
        self.ln2, self.mlp = nn.LayerNorm(c), Mlp(c, hidden)

    def forward(self, x, acts, prefix):
        h = x + self.attn(self.ln1(x), acts, f'{prefix}.attn')
        return record(acts, prefix, h + self.mlp(self.ln2(h)))
