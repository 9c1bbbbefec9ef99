"""The `twostage study` protocol in PyTorch, for `autoencoder` and `supervised`.

Same network (784-256-128-64-10 with the 128-256-784 decoder, PyTorch's default init), same
protocol: the autoencoder pretrained on all 60 000 training images (MSE, Adam 1e-3, batch 32,
5 epochs) once per seed and frozen; class-balanced nested subsets of N labels (N/10 a class,
round-robin over per-class shuffles); every classifier the same number of Adam steps,
max(5 epochs, 3000 steps) at batch 32; tested on all 10 000 test images. The random draws are
PyTorch's/NumPy's, so individual runs differ from twostage's; the means over seeds are what
should agree, within the seed noise.

    MNIST_DIR=/work/shared/mnist python3 tests/python/study_torch.py [--labels 100,1000] [--seeds 3]

Prints one JSON object per run (the fields of `twostage study --metrics`) and a summary table.

Measured (2 shared cores, under load), test accuracy % mean ± std over seeds 0-2:

                      PyTorch        twostage study (default flags)
    autoencoder 100   74.71 ± 0.71   73.09 ± 1.74   (−1.6, 1.5 standard errors)
    supervised  100   73.67 ± 1.58   72.49 ± 2.01   (−1.2, 0.8 s.e.)
    autoencoder 1000  87.84 ± 0.66   87.47 ± 0.18   (−0.4, 0.9 s.e.)
    supervised  1000  88.82 ± 0.24   88.28 ± 0.36   (−0.5, 2.2 s.e.)
"""

import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, split):
    prefix = "train" if split == "train" else "t10k"
    def find(name):
        for candidate in (name, name + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.exists(path):
                return path
        raise FileNotFoundError(os.path.join(directory, name))
    images = read_idx(find(f"{prefix}-images-idx3-ubyte")).reshape(-1, 784)
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - 0.5) / 0.5
    return x, torch.from_numpy(labels.astype(np.int64))


def balanced_order(labels, classes, seed):
    rng = np.random.default_rng(seed + 1000)
    lists = [rng.permutation(np.flatnonzero(labels == c)) for c in range(classes)]
    longest = max(len(l) for l in lists)
    return np.array([l[k] for k in range(longest) for l in lists if k < len(l)])


def steps_for(n, batch=32, min_epochs=5, min_steps=3000):
    return max(min_epochs * -(-n // batch), min_steps)


def train_steps(params, forward, loss_fn, x, y, steps, batch, generator):
    adam = torch.optim.Adam(params, lr=1e-3)
    taken = 0
    while taken < steps:
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            if taken == steps:
                break
            idx = order[start:start + batch]
            adam.zero_grad()
            loss = loss_fn(forward(x[idx]), x[idx] if y is None else y[idx])
            loss.backward()
            adam.step()
            taken += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", default="100,1000")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed … first-seed+seeds−1")
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    directory = os.environ.get("MNIST_DIR", "data/mnist")
    train_x, train_y = load(directory, "train")
    test_x, test_y = load(directory, "test")
    budgets = [int(n) for n in args.labels.split(",")]
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        torch.manual_seed(seed)
        stage1 = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128))
        stage2 = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
        decoder = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 784))
        init = {k: v.clone() for k, v in stage1.state_dict().items()}
        init2 = {k: v.clone() for k, v in stage2.state_dict().items()}
        generator = torch.Generator().manual_seed(seed)
        start = time.time()
        ae_steps = args.pretrain_epochs * -(-len(train_x) // 32)
        train_steps(list(stage1.parameters()) + list(decoder.parameters()),
                    lambda x: decoder(stage1(x)), nn.MSELoss(), train_x, None, ae_steps, 32, generator)
        print(f"seed {seed}: autoencoder pretrained in {time.time() - start:.1f} s", flush=True)
        with torch.no_grad():
            train_f, test_f = stage1(train_x), stage1(test_x)
        pretrained = {k: v.clone() for k, v in stage1.state_dict().items()}
        order = balanced_order(train_y.numpy(), 10, seed)
        for n in budgets:
            subset = torch.from_numpy(order[:n])
            steps = steps_for(n)
            for method in ("autoencoder", "supervised"):
                start = time.time()
                stage2.load_state_dict(init2)
                generator = torch.Generator().manual_seed(seed)
                if method == "autoencoder":
                    stage1.load_state_dict(pretrained)
                    train_steps(stage2.parameters(), stage2, nn.CrossEntropyLoss(),
                                train_f[subset], train_y[subset], steps, 32, generator)
                    with torch.no_grad():
                        logits = stage2(test_f)
                else:
                    stage1.load_state_dict(init)
                    params = list(stage1.parameters()) + list(stage2.parameters())
                    train_steps(params, lambda x: stage2(stage1(x)), nn.CrossEntropyLoss(),
                                train_x[subset], train_y[subset], steps, 32, generator)
                    with torch.no_grad():
                        logits = stage2(stage1(test_x))
                with torch.no_grad():
                    loss = nn.functional.cross_entropy(logits, test_y).item()
                    accuracy = (logits.argmax(1) == test_y).float().mean().item()
                row = dict(method=method, labels=n, noise=0.0, seed=seed, steps=steps,
                           accuracy=accuracy, loss=loss, seconds=time.time() - start)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\nPyTorch, test accuracy (%), mean ± std over seeds")
    for n in budgets:
        for method in ("autoencoder", "supervised"):
            a = np.array([r["accuracy"] for r in rows if r["labels"] == n and r["method"] == method])
            print(f"{method:>12} N={n:<6} {100 * a.mean():6.2f} ± {100 * a.std(ddof=1) if len(a) > 1 else 0:4.2f}")


if __name__ == "__main__":
    main()
