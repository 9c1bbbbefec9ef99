"""JAX peers of twostage's pipeline, written for speed as ../shared/bench/peers_ae_epoch.py writes
its `jax-scan` variant: each epoch is one `jax.jit` of a `lax.scan` over its batches (no Python
per batch), optax.adam(1e-3), batch 32, PyTorch-style Linear init U(-1/sqrt(in), 1/sqrt(in)),
pixels (p/255 - 0.5)/0.5, 60 000 train images preloaded, shuffled every epoch. Every stage
starts a fresh Adam, as twostage's do. `stage2` and `whole` gather the shuffled batches inside
the jit (the faster form); `ae` gathers them before it, exactly as the shared script does.

  ae      the AE epoch, 784-256-128-256-784, MSE: the shared script's jax-scan, so the two
          cross-check. Times every epoch; epoch 2 is the one without compilation.
  stage2  the stage-2 epoch as twostage runs it: features = stage1(x) of all 60 000 train
          images, computed once by a jitted forward (stage 1 = Linear(784,256)-ReLU-
          Linear(256,128) at its random init: the time does not depend on the weights), then
          epochs of the head Linear(128,64)-ReLU-Linear(64,10), softmax cross-entropy (mean),
          shuffled. The features are computed twice, the first call with its compilation.
          Compare `jax stage2 head epoch 2` with twostage's stage2 `seconds` in --metrics:
          that clock (train/observer.rs EpochLoss) starts in each epoch after stage2() has
          computed the features (train/stages.rs), so it covers the shuffle and the 1875 head
          batches only, not the features (nor, without --val-split, any accuracy).
  whole   `twostage train --stage1-epochs 1 --stage2-epochs 1` end to end: read and inflate
          the four gz files, normalise, 1 AE epoch, features, 1 head epoch, test accuracy on the
          10 000 test images. Run 1 is timed from process start (interpreter and `import jax`
          included, read from /proc/self/stat) to the printed accuracy, jit compilation
          included: what a user waits for. Run 2 is the identical pipeline again in the same
          process (files re-read, fresh init) with the compiled functions reused: the
          compile-free part.
Prints `jax ae epoch N: loss L (S s)`, `jax stage2 ...` and `jax whole run N: ...` lines.
Usage: python peers_jax.py --data DIR --variant ae|stage2|whole [--threads 2] [--epochs 2]"""
import argparse, gzip, os, time
import numpy as np


def process_age():
    """Seconds since this process started (Linux /proc; 10 ms ticks), None elsewhere."""
    try:
        start_ticks = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])
        uptime = float(open('/proc/uptime').read().split()[0])
        return uptime - start_ticks / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return None


p = argparse.ArgumentParser()
p.add_argument('--data', required=True)
p.add_argument('--variant', required=True, choices=['ae', 'stage2', 'whole'])
p.add_argument('--threads', type=int, default=2)
p.add_argument('--epochs', type=int, default=2, help='epochs of ae / head epochs of stage2')
a = p.parse_args()
os.environ.setdefault('XLA_FLAGS', f'--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={a.threads}')
import jax, jax.numpy as jnp, optax  # noqa: E402  (after XLA_FLAGS)

B = 32
tx = optax.adam(1e-3)


def idx(name):
    path = os.path.join(a.data, name)
    raw = gzip.open(path + '.gz').read() if os.path.exists(path + '.gz') else open(path, 'rb').read()
    nd = raw[3]; dims = np.frombuffer(raw[4:4 + 4 * nd], '>u4').astype(int)
    return np.frombuffer(raw[4 + 4 * nd:], np.uint8).reshape(dims)


def images(name):
    return ((idx(name).reshape(-1, 784).astype(np.float32) / 255) - 0.5) / 0.5


SIZES = [(784, 256), (256, 128), (128, 256), (256, 784), (128, 64), (64, 10)]  # AE, then head


def lin_jax(k, i, o):  # the shared script's draw
    b = 1 / np.sqrt(i); k1, k2 = jax.random.split(k)
    return (jax.random.uniform(k1, (i, o), minval=-b, maxval=b), jax.random.uniform(k2, (o,), minval=-b, maxval=b))


def lin_numpy(rng, i, o):
    b = 1 / np.sqrt(i)
    return tuple(jnp.asarray(rng.uniform(-b, b, shape).astype(np.float32)) for shape in ((i, o), (o,)))


def init(seed, draw='jax'):
    """The AE (stage 1 = layers 0-1, decoder = 2-3) and the head, PyTorch's Linear init
    U(-1/sqrt(in), 1/sqrt(in)). `jax`: jax.random with the shared script's keys (same AE
    losses); `numpy`: numpy's generator, for the whole run, where jax.random's first use costs
    about 3 s of compilation (threefry, per shape) that a user writing for speed would avoid."""
    if draw == 'jax':
        keys = [*jax.random.split(jax.random.PRNGKey(seed), 4), *jax.random.split(jax.random.PRNGKey(seed + 1), 2)]
        layers = [lin_jax(k, i, o) for k, (i, o) in zip(keys, SIZES)]
    else:
        rng = np.random.default_rng(seed)
        layers = [lin_numpy(rng, i, o) for i, o in SIZES]
    return layers[:4], layers[4:]


def mlp(ps, x):
    """Linear-ReLU-...-Linear: ReLU between the layers, none after the last."""
    for w, b in ps[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = ps[-1]; return x @ w + b


def ae_loss(ps, x):  # MSE(decoder(stage1(x)), x)
    return jnp.mean((mlp(ps[2:], mlp(ps[:2], x)) - x) ** 2)


def head_loss(ps, batch):  # CE(head(f), y)
    f, y = batch
    return optax.softmax_cross_entropy_with_integer_labels(mlp(ps, f), y).mean()


def scanned_epoch(loss_fn):
    """One jit of a lax.scan of Adam steps over the epoch's batches; returns the mean loss.
    `epoch` takes the batches gathered already (the shared script's form, for `ae`);
    `shuffled_epoch` takes the data and a permutation and gathers inside the jit, which
    saves an eager dispatch and a copy (about 15 ms of a 90 ms head epoch)."""
    def step(c, batch):
        ps, st = c; l, g = jax.value_and_grad(loss_fn)(ps, batch)
        u, st = tx.update(g, st, ps); return (optax.apply_updates(ps, u), st), l

    @jax.jit
    def epoch(ps, st, batches):
        (ps, st), ls = jax.lax.scan(step, (ps, st), batches); return ps, st, ls.mean()

    @jax.jit
    def shuffled_epoch(ps, st, data, perm):
        return epoch(ps, st, jax.tree_util.tree_map(lambda x: x[perm].reshape(-1, B, *x.shape[1:]), data))
    return epoch, shuffled_epoch


ae_epoch, ae_shuffled_epoch = scanned_epoch(ae_loss)
_, head_epoch = scanned_epoch(head_loss)
adam_init = jax.jit(tx.init)  # one compilation, not one per parameter shape
features_of = jax.jit(mlp)  # stage1(x) for all of x at once
predict = jax.jit(lambda s1, head, x: jnp.argmax(mlp(head, mlp(s1, x)), axis=1))


def permutation(rng, n):
    """Full batches only: 60 000 = 1875 * 32, so nothing is dropped."""
    return rng.permutation(n)[:n // B * B]


def shuffled(rng, x):
    """The epoch's batches in a new order, gathered outside the jit as the shared script does."""
    return x[permutation(rng, len(x))].reshape(-1, B, *x.shape[1:])


def timed(f, *args):
    t = time.perf_counter(); out = jax.block_until_ready(f(*args)); return out, time.perf_counter() - t


def run_ae():
    ae, _ = init(0); st = adam_init(ae); X = jnp.asarray(images('train-images-idx3-ubyte'))
    rng = np.random.default_rng(0)
    for e in range(a.epochs):
        (ae, st, l), s = timed(lambda: ae_epoch(ae, st, shuffled(rng, X)))
        print(f'jax ae epoch {e+1}: loss {float(l):.4f} ({s:.3f}s)', flush=True)


def run_stage2():
    ae, head = init(0); s1 = ae[:2]
    X = jnp.asarray(images('train-images-idx3-ubyte')); Y = jnp.asarray(idx('train-labels-idx1-ubyte').astype(np.int32))
    _, first = timed(features_of, s1, X)
    F, warm = timed(features_of, s1, X)
    print(f'jax stage2 features: {warm:.3f}s (first call, with jit: {first:.3f}s)', flush=True)
    st = adam_init(head); rng = np.random.default_rng(0)
    for e in range(a.epochs):
        (head, st, l), s = timed(lambda: head_epoch(head, st, (F, Y), permutation(rng, len(F))))
        print(f'jax stage2 head epoch {e+1}: loss {float(l):.4f} ({s:.3f}s)', flush=True)
    print(f'jax stage2 sum: features {warm:.3f}s + head epoch {s:.3f}s = {warm + s:.3f}s', flush=True)


def pipeline(seed):
    """The 1 + 1 epoch run; returns the test accuracy and each phase's seconds."""
    phases, t = {}, time.perf_counter()
    def lap(name):
        nonlocal t; now = time.perf_counter(); phases[name] = now - t; t = now
    X = jnp.asarray(images('train-images-idx3-ubyte')); Y = jnp.asarray(idx('train-labels-idx1-ubyte').astype(np.int32))
    Xt = jnp.asarray(images('t10k-images-idx3-ubyte')); Yt = idx('t10k-labels-idx1-ubyte')
    lap('read')
    rng = np.random.default_rng(seed); ae, head = init(seed, 'numpy')
    ae, _, l1 = jax.block_until_ready(ae_shuffled_epoch(ae, adam_init(ae), X, permutation(rng, len(X)))); lap('ae')
    F = jax.block_until_ready(features_of(ae[:2], X)); lap('features')
    head, _, l2 = jax.block_until_ready(head_epoch(head, adam_init(head), (F, Y), permutation(rng, len(F)))); lap('head')
    accuracy = float(np.mean(np.asarray(predict(ae[:2], head, Xt)) == Yt)); lap('test')
    return accuracy, float(l1), float(l2), phases


def run_whole():
    t = time.perf_counter(); before = process_age()
    for run in (1, 2):
        accuracy, l1, l2, phases = pipeline(0)
        s = time.perf_counter() - t
        if run == 1:
            total = f'{s + before:.3f}s from process start, jit included' if before is not None else f'{s:.3f}s from script start, jit included'
        else:
            total = f'{s:.3f}s, jit reused'
        print(f'jax whole run {run}: test accuracy {100 * accuracy:.2f}% ({total})', flush=True)
        print(f'jax whole run {run} phases: ' + ', '.join(f'{k} {v:.3f}s' for k, v in phases.items())
              + f' (ae loss {l1:.4f}, head loss {l2:.4f})', flush=True)
        t = time.perf_counter()


{'ae': run_ae, 'stage2': run_stage2, 'whole': run_whole}[a.variant]()
