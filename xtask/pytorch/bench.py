"""The study's PyTorch training code, timed: the peer of `cargo xtask bench`.

Mirrors the notebook ("Activation Functions", UvA DL tutorial 3): the same BaseNetwork with its
ReLU written as `x * (x > 0).float()`, the same transforms (ToTensor, Normalize((0.5,), (0.5,))),
`random_split` into 50,000/10,000, SGD lr 0.01 momentum 0.9, batch 256, cross-entropy.

--mode dataloader: batches come from the study's DataLoader over the torchvision dataset
(per-image transforms), exactly as the notebook trains.
--mode memory: the same normalized images held in one tensor, batches by indexing, so that only
the network and the optimizer are measured.

Prints one JSON line with the fields of actfn's `Measurement`.
"""

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import tempfile
import time

import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as data
from torchvision import transforms
from torchvision.datasets import FashionMNIST

from study import BaseNetwork, ReLU


def dataset_root(source):
    """torchvision wants root/FashionMNIST/raw/<decompressed files>: make one from `source`."""
    root = tempfile.mkdtemp(prefix="actfn-bench-")
    raw = os.path.join(root, "FashionMNIST", "raw")
    os.makedirs(raw)
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        plain, packed = os.path.join(source, name), os.path.join(source, name + ".gz")
        if os.path.exists(plain):
            shutil.copy(plain, os.path.join(raw, name))
        else:
            with gzip.open(packed, "rb") as src, open(os.path.join(raw, name), "wb") as dst:
                shutil.copyfileobj(src, dst)
    return root


def timing(samples):
    return {"median": statistics.median(samples), "min": min(samples)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--mode", choices=["memory", "dataloader"], required=True)
    parser.add_argument("--data", required=True, help="folder with the four Fashion-MNIST files")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)

    root = dataset_root(args.data)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_dataset = FashionMNIST(root=root, train=True, transform=transform, download=False)
    train_set, val_set = data.random_split(train_dataset, [50000, 10000])

    net = BaseNetwork(ReLU())
    optimizer = optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    loss_module = nn.CrossEntropyLoss()

    def step(imgs, labels):
        optimizer.zero_grad()
        preds = net(imgs)
        loss = loss_module(preds, labels)
        loss.backward()
        optimizer.step()
        return (preds.argmax(dim=-1) == labels).sum()

    if args.mode == "memory":
        # The normalized images, computed once as the transforms compute them.
        images = (train_dataset.data.float() / 255.0 - 0.5) / 0.5
        targets = train_dataset.targets
        train_idx, val_idx = torch.tensor(train_set.indices), torch.tensor(val_set.indices)
        x_train, y_train = images[train_idx], targets[train_idx]
        x_val, y_val = images[val_idx], targets[val_idx]

        def train_batches():
            perm = torch.randperm(len(x_train))
            for i in range(len(x_train) // 256):
                idx = perm[i * 256:(i + 1) * 256]
                yield x_train[idx], y_train[idx]

        def val_batches():
            for i in range(0, len(x_val), 1024):
                yield x_val[i:i + 1024], y_val[i:i + 1024]
    else:
        train_loader = data.DataLoader(train_set, batch_size=256, shuffle=True, drop_last=True)
        val_loader = data.DataLoader(val_set, batch_size=1024, shuffle=False, drop_last=False)
        train_batches = lambda: iter(train_loader)  # noqa: E731
        val_batches = lambda: iter(val_loader)  # noqa: E731

    net.train()
    step_ms = []
    batches = train_batches()
    # The first steps warm the allocator and caches; actfn's worker skips as many.
    warmup = 20
    for i in range(args.steps + warmup):
        imgs, labels = next(batches)
        start = time.perf_counter()
        step(imgs, labels)
        if i >= warmup:
            step_ms.append(1e3 * (time.perf_counter() - start))

    epochs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for imgs, labels in train_batches():
            step(imgs, labels)
        epochs.append(time.perf_counter() - start)

    net.eval()
    validations = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        correct = 0
        with torch.no_grad():
            for imgs, labels in val_batches():
                correct += (net(imgs).argmax(dim=-1) == labels).sum().item()
        validations.append(time.perf_counter() - start)

    shutil.rmtree(root)
    print(json.dumps({
        "threads": args.threads,
        "step_ms": timing(step_ms),
        "epoch_s": timing(epochs),
        "validation_s": timing(validations),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
