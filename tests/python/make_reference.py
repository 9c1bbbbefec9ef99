"""Writes a PyTorch reference run in the format of ../shared/reference (see its README), for any
seed, batch size, learning rate, limit and stage-1 mode, so the parity tests can be pointed at
runs beyond the shared ones:

    python3 tests/python/make_reference.py --mnist ../shared/mnist --out /tmp/refs --seed 1 --batch 50 --lr 3e-3 --limit 3210 --stage1 seed
    TORCH_REFERENCE_DIR=/tmp/refs MNIST_DIR=../shared/mnist cargo test --test parity
"""
import argparse, gzip, os
import numpy as np, torch, torch.nn as nn
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument('--mnist', required=True); p.add_argument('--out', required=True)
p.add_argument('--seed', type=int, default=0); p.add_argument('--batch', type=int, default=32)
p.add_argument('--lr', type=float, default=1e-3); p.add_argument('--limit', type=int, default=3200)
p.add_argument('--stage1', choices=['autoencoder', 'seed'], default='autoencoder')
a = p.parse_args()

def idx(name):
    raw = gzip.open(os.path.join(a.mnist, name + '.gz')).read()
    nd = raw[3]; dims = np.frombuffer(raw[4:4 + 4 * nd], '>u4').astype(int)
    return np.frombuffer(raw[4 + 4 * nd:], np.uint8).reshape(dims)

x_all = torch.from_numpy(idx('train-images-idx3-ubyte')[:a.limit].reshape(-1, 784).copy()).float().div(255).sub(0.5).div(0.5)
y_all = torch.from_numpy(idx('train-labels-idx1-ubyte')[:a.limit].astype(np.int64))

torch.manual_seed(a.seed)
stage1 = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128))
stage2 = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
decoder = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 784))
parts = {'stage1': stage1, 'stage2': stage2, 'decoder': decoder}
mse, ce = nn.MSELoss(), nn.CrossEntropyLoss()
out = {}

def snapshot(prefix, grads=False, which=parts):
    for name, module in which.items():
        for key, t in module.named_parameters():
            v = t.grad if grads else t
            out[f'{prefix}.{name}.{key}'] = v.detach().clone().contiguous()

def zero():
    for m in parts.values():
        for t in m.parameters():
            t.grad = None

snapshot('init')
x, y = x_all[:a.batch], y_all[:a.batch]
with torch.no_grad():
    out['first_batch_logits'] = stage2(stage1(x)).clone()
zero(); mse(decoder(stage1(x)), x).backward(); snapshot('grad_ae', True, {'stage1': stage1, 'decoder': decoder})
zero(); ce(stage2(stage1(x).detach()), y).backward(); snapshot('grad_ce_frozen', True, {'stage2': stage2})
zero(); ce(stage2(stage1(x)), y).backward(); snapshot('grad_ce_full', True, {'stage1': stage1, 'stage2': stage2})
zero()

def epoch(params, loss_fn):
    opt = torch.optim.Adam(params, lr=a.lr); losses = []
    for i in range(0, a.limit, a.batch):
        opt.zero_grad(); loss = loss_fn(x_all[i:i + a.batch], y_all[i:i + a.batch]); loss.backward(); opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float32)

if a.stage1 == 'autoencoder':
    out['stage1_losses'] = epoch([*stage1.parameters(), *decoder.parameters()], lambda x, y: mse(decoder(stage1(x)), x))
else:
    out['stage1_losses'] = epoch(list(stage1.parameters()), lambda x, y: (lambda f: mse(f, f.detach()))(stage1(x)))
snapshot('after_stage1')
out['stage2_losses'] = epoch(list(stage2.parameters()), lambda x, y: ce(stage2(stage1(x).detach()), y))
snapshot('after_stage2')

os.makedirs(a.out, exist_ok=True)
name = f'torch-seed{a.seed}-b{a.batch}-{"ae" if a.stage1 == "autoencoder" else "placeholder"}-lr{a.lr}-n{a.limit}.safetensors'
meta = {'seed': str(a.seed), 'batch': str(a.batch), 'lr': str(a.lr), 'limit': str(a.limit), 'stage1': a.stage1,
        'dtype': 'float32', 'torch': torch.__version__}
save_file(out, os.path.join(a.out, name), metadata=meta)
print(os.path.join(a.out, name))
