#!/usr/bin/env python3
"""PyTorch reference for `transfer-throughput`: training images/s of the same network and step on the same machine.

The network is the layout of ML.NET's pretrained "ResNet-18" (CNTK; torchvision BasicBlocks [2, 2, 2, 3], built with
torchvision.models.resnet.ResNet) with a new 196-class head behind dropout 0.5; the step is the m3-transfer fine-tune:
batch 32 of 224-px images held as uint8 and converted per batch (x / 255, ImageNet normalisation inside the net is a
per-channel affine and left out), Adam lr 1e-4 (head 1e-3), cross-entropy. Random pixels stand in for the photos (the
step's cost does not depend on them); no augmentation (the C# benchmark prints augmentation's share separately).
Configurations: fp32, fp32 channels_last, bf16 autocast (torch.autocast("cpu", torch.bfloat16)), bf16 + channels_last;
alternated round by round after a warm-up, median printed.

    /usr/bin/python3 Benchmarks/pytorch/resnet18_throughput.py [--batches 20] [--rounds 3] [--threads 2] [--size 224]

Needs Debian's python3-torch (1.13) and python3-torchvision; never part of the project's build or tests.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, ResNet


def network(classes):
    net = ResNet(BasicBlock, [2, 2, 2, 3])
    net.fc = nn.Sequential(nn.Dropout(0.5), nn.Linear(512, classes))
    return net


def run(config, images, labels, batches, batch, classes):
    torch.manual_seed(1)
    net = network(classes)
    channels_last = "cl" in config
    bf16 = config.startswith("bf16")
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    head = list(net.fc.parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in net.parameters() if id(p) not in head_ids]
    opt = torch.optim.Adam([{"params": body, "lr": 1e-4}, {"params": head, "lr": 1e-3}])
    net.train()
    n = images.shape[0]
    start = time.perf_counter()
    for b in range(batches):
        idx = torch.randint(0, n, (batch,))
        x = images.index_select(0, idx).float().div_(255)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = labels.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(x)
        loss = nn.functional.cross_entropy(logits.float(), y)
        loss.backward()
        opt.step()
    return batches * batch / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--configs", default="fp32,fp32-cl,bf16,bf16-cl")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    classes = 196
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4 * a.batch, 3, a.size, a.size), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, classes, (4 * a.batch,), generator=g)
    configs = a.configs.split(",")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}, "
          f"batch {a.batch}, {a.size} px, {a.batches} batches per round")
    for c in configs:
        print(f"warm-up {c}: {run(c, images, labels, 2, a.batch, classes):.1f} images/s", flush=True)
    results = {c: [] for c in configs}
    for r in range(1, a.rounds + 1):
        for c in configs:
            ips = run(c, images, labels, a.batches, a.batch, classes)
            results[c].append(ips)
            with open("/proc/loadavg") as f:
                load = f.read().split()[0]
            print(f"round {r} {c:8s}: {ips:6.1f} images/s (load {load})", flush=True)
    base = statistics.median(results[configs[0]])
    print("median images/s:")
    for c in configs:
        m = statistics.median(results[c])
        print(f"  {c:8s} {m:6.1f} images/s  x{m / base:.2f} vs {configs[0]}")


if __name__ == "__main__":
    main()
