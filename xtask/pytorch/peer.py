"""One run of a sweep with the study's PyTorch code: the peer of `cargo xtask sweep --peer`.

The same protocol as actfn's run of the same grid point: the split actfn uses (its indices, from
the file the sweep writes), the study's network and activation, SGD, batches of the training
split reshuffled every epoch with the last short batch dropped, early stopping on validation
accuracy with the given patience, the best epoch's weights on the test set. The seed goes to
`torch.manual_seed` before the network is built, as the study's `set_seed` does; batches are
drawn from in-memory tensors (the same draws as the study's DataLoader, without its per-image
transforms).

Writes one JSON object (the fields of actfn's `PeerResult`) to --out, atomically.
"""

import argparse
import copy
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import study


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", required=True, help="the split's indices (safetensors)")
    parser.add_argument("--data", required=True, help="folder with the four Fashion-MNIST files")
    parser.add_argument("--act", required=True, choices=sorted(study.ACTIVATIONS))
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--split-seed", type=int, required=True)
    parser.add_argument("--hidden", required=True, help="e.g. 512,256,256,128")
    parser.add_argument("--patience", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--momentum", type=float, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--init", default="pytorch", choices=["pytorch", "kaiming-normal", "lecun-normal"])
    parser.add_argument("--id", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    split, _ = study.read_safetensors(args.split)
    x_all, y_all, x_test, y_test = study.load_fashion_mnist(args.data)
    train_idx = torch.from_numpy(split["train_indices"].astype(np.int64))
    val_idx = torch.from_numpy(split["val_indices"].astype(np.int64))
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    if args.subset is not None:
        x_train, y_train = x_train[: args.subset], y_train[: args.subset]
    x_val, y_val = x_all[val_idx], y_all[val_idx]

    hidden = [int(h) for h in args.hidden.split(",")]
    torch.manual_seed(args.seed)
    net = study.BaseNetwork(study.ACTIVATIONS[args.act](), hidden_sizes=hidden)
    study.initialize(net, args.init)
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)
    loss_module = nn.CrossEntropyLoss()

    # The study's train_model.
    val_scores, best_epoch, best_state = [], -1, None
    steps = len(x_train) // args.batch_size
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(x_train))
        for step in range(steps):
            idx = order[step * args.batch_size : (step + 1) * args.batch_size]
            optimizer.zero_grad()
            loss = loss_module(net(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
        val_acc = study.accuracy(net, x_val, y_val)
        val_scores.append(val_acc)
        if len(val_scores) == 1 or val_acc > val_scores[best_epoch]:
            best_state = copy.deepcopy(net.state_dict())
            best_epoch = epoch
        elif best_epoch <= epoch - args.patience:
            break
    net.load_state_dict(best_state)
    test_acc = study.accuracy(net, x_test, y_test)

    record = {
        "id": args.id,
        "act": args.act,
        "seed": args.seed,
        "split_seed": args.split_seed,
        "patience": args.patience,
        "hidden": hidden,
        "test_acc": test_acc,
        "best_val_acc": val_scores[best_epoch],
        "best_epoch": best_epoch + 1,
        "epochs_run": len(val_scores),
        "val_acc": val_scores,
        "seconds": time.perf_counter() - started,
        "torch": torch.__version__,
    }
    temp = args.out + ".tmp"
    with open(temp, "w") as f:
        json.dump(record, f)
    os.replace(temp, args.out)
    print(f"{args.id}: test accuracy {100 * test_acc:.2f}% after {len(val_scores)} epochs")


if __name__ == "__main__":
    main()
