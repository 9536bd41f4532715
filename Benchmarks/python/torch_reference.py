#!/usr/bin/python3
"""PyTorch reference timings for the TorchSharp benchmarks (docs/benchmarks.md).

Not part of the build or of CI. Needs PyTorch; on Debian 12: `apt-get install -y python3-torch` (1.13), then

    /usr/bin/python3 Benchmarks/python/torch_reference.py train [mlp|cnn|all] [epochs]
    /usr/bin/python3 Benchmarks/python/torch_reference.py infer

Threads: TORCH_THREADS (default 2) -> torch.set_num_threads, TORCH_INTEROP_THREADS -> set_num_interop_threads.
It prints `RESULT impl=pytorch ...` lines in the format of the C# quick modes
(`dotnet run -c Release --project Benchmarks/MLPipelines.Benchmarks -- torch-quick|onnx-quick`), which
Benchmarks/python/compare.sh runs back to back with this script.

The networks, data sizes and loops mirror Benchmarks/MLPipelines.Benchmarks/TorchWorkload.cs and TorchQuick.cs:
- MLP 784-128-64-10: Linear-ReLU-Dropout(0.2) x2, Linear (MLPipelines.Torch.Nets.MlpNet).
- CNN Bn4Dropout: 4 blocks conv3x3(pad 1, no bias)-BatchNorm2d-ReLU-MaxPool2 with 32-64-128-256 channels on
  1x64x64 input, global average pooling, flatten, Dropout(0.5), Linear(256, 10) (MLPipelines.Torch.Nets.ConvNet).
- Adam(lr=1e-3), batch 64, cross-entropy. "trainer" = the loop of TorchClassifierTrainer (whole synthetic set as one
  tensor, shuffled index_select per batch, loss/accuracy accumulated on the device, median epoch after the first);
  "bare" = forward/backward/step on one fixed batch (median of 3 rounds).
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 64
CLASSES = 10
MLP_ROWS = 6400
CNN_ROWS = 640
IMAGE = 64


def configure_threads():
    interop = int(os.environ.get("TORCH_INTEROP_THREADS", "0"))
    if interop > 0:
        torch.set_num_interop_threads(interop)
    threads = int(os.environ.get("TORCH_THREADS", "2"))
    if threads > 0:  # 0: PyTorch's own default
        torch.set_num_threads(threads)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"# torch threads {torch.get_num_threads()}, interop threads {torch.get_num_interop_threads()}, "
          f"PyTorch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}; load {load}", flush=True)


def mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(64, CLASSES))


def cnn():
    layers = []
    cin = 1
    for cout in (32, 64, 128, 256):
        conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        layers += [conv, nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(cin, CLASSES)]
    return nn.Sequential(*layers)


def create(net):
    return cnn() if net == "cnn" else mlp()


def batch_shape(net, n):
    return (n, 1, IMAGE, IMAGE) if net == "cnn" else (n, 784)


def report(net, loop, values, note):
    print(f"RESULT impl=pytorch net={net} loop={loop} images_per_s={statistics.median(values):.1f} "
          f"all=[{','.join(f'{v:.0f}' for v in values)}] {note}", flush=True)


def train_epoch(module, optimizer, x, y, net, epoch):
    """One epoch the way TorchClassifierTrainer.TrainEpoch does it."""
    n = x.shape[0]
    g = torch.Generator().manual_seed(epoch)
    permutation = torch.randperm(n, generator=g)
    module.train()
    start_time = time.perf_counter()
    start_cpu = time.process_time()
    loss_sum = torch.zeros(1, dtype=torch.float64)
    correct = torch.zeros(1, dtype=torch.int64)
    rows = 0
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        if count == 1 and n > 1:
            break
        index = permutation.narrow(0, start, count)
        xb = x.index_select(0, index).view(batch_shape(net, count))
        yb = y.index_select(0, index)
        optimizer.zero_grad()
        logits = module(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            loss_sum.add_(loss.detach().to(torch.float64) * count)
            correct.add_(logits.argmax(1).eq(yb).sum())
        rows += count
    _ = loss_sum.item() / rows, correct.item() / rows
    return rows / (time.perf_counter() - start_time), rows / (time.process_time() - start_cpu)


def train(net, epochs):
    rows = CNN_ROWS if net == "cnn" else MLP_ROWS
    d = IMAGE * IMAGE if net == "cnn" else 784
    g = torch.Generator().manual_seed(1)
    x = torch.rand(rows, d, generator=g)
    y = torch.randint(0, CLASSES, (rows,), generator=g)
    torch.manual_seed(1)
    module = create(net)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    per_epoch = [train_epoch(module, optimizer, x, y, net, e) for e in range(epochs)][1:]
    cpu = statistics.median(c for _, c in per_epoch)
    report(net, "trainer", [w for w, _ in per_epoch], f"cpu_images_per_s={cpu:.1f} rows={rows} epochs={epochs} (first epoch dropped)")

    torch.manual_seed(1)
    module = create(net)
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    xb = torch.rand(batch_shape(net, BATCH))
    yb = torch.randint(0, CLASSES, (BATCH,))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(module(xb), yb)
        loss.backward()
        optimizer.step()

    steps = 10 if net == "cnn" else 200
    for _ in range(3):
        step()
    rounds, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        rounds.append(steps * BATCH / (time.perf_counter() - t0))
        cpu.append(steps * BATCH / (time.process_time() - c0))
    report(net, "bare", rounds, f"cpu_images_per_s={statistics.median(cpu):.1f} steps={steps}x3")


def infer():
    torch.manual_seed(1)
    module = cnn().eval()
    for batch in (BATCH, 1):
        runs = 200 if batch == 1 else 10
        x = torch.rand(batch, 1, IMAGE, IMAGE)

        def run():
            with torch.no_grad():
                return module(x).numpy().copy()

        for _ in range(max(3, runs // 10)):
            run()
        rounds = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(runs):
                run()
            rounds.append(runs * batch / (time.perf_counter() - t0))
        report("cnn", f"infer-b{batch}", rounds, f"runs={runs}x3")


def main(argv):
    mode = argv[1] if len(argv) > 1 else "train"
    configure_threads()
    if mode == "infer":
        infer()
        return
    which = argv[2] if len(argv) > 2 else "all"
    epochs = max(int(argv[3]), 2) if len(argv) > 3 else 0
    for net in (("mlp", "cnn") if which == "all" else (which,)):
        train(net, epochs or (4 if net == "cnn" else 6))


if __name__ == "__main__":
    main(sys.argv)
