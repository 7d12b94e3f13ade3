"""Speed of the FID Inception-v3 feature pipeline against pytorch-fid's bare network.

Run it from the repository root::

    python bench/inception_speed.py                      # CPU, 64 grey 32x32 images
    python bench/inception_speed.py --variants all --repeats 5
    python bench/inception_speed.py --device cuda --num-images 1024 --batch-size 256
    python bench/inception_speed.py --bf16               # also time bfloat16 (see below)

What it measures
----------------
Images per second, and seconds per 1,000 images, of turning images into (N, 2048) pool3
features, on the same random-weight network (`random_inception_weights`; the FID weights cannot
be downloaded here, and the architecture, not the weights, sets the speed) and the same inputs:
``--num-images`` grey images of ``--size`` pixels, upsampled to 299x299 by both sides.

- **bare**: pytorch-fid's own ``InceptionV3`` (``library_network``), called as pytorch-fid's
  ``fid_score.py`` calls it: ``net(batch)[0]`` under ``torch.no_grad`` on RGB batches of
  ``--batch-size`` images. The grey -> RGB repeat is done before its clock starts.
- **ours**: ``FIDInceptionV3.features(grey images)``, the path ``gancourse.metrics.fid`` takes:
  input checks, grey -> RGB, chunks of ``--batch-size``, the default fast settings (BatchNorms
  folded into the convolutions, channels_last on CPU and CUDA, ``torch.inference_mode``).

``--variants all`` adds the wrapper with each optimisation alone (``ours-plain``: neither,
i.e. the bare network plus the wrapper's overhead; ``ours-channels-last``; ``ours-folded``), to
show what each one buys. Every variant is warmed up once, then timed over ``--repeats`` rounds
that alternate the variants (so a change in load from other processes hits all of them alike);
the table reports the median of the rounds. The load average (``os.getloadavg``) is printed
before and after: on a shared machine other processes take CPU time, so compare the ratios,
which are measured side by side, rather than absolute figures across runs.

``--bf16`` also times ``ours`` with weights and inputs in bfloat16 and reports how far its
features are from float32's (relative L2 error). On CPUs without AVX-512 BF16 support bfloat16
is far slower than float32; the package uses float32.

Results are printed and, with ``--json PATH``, written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from gancourse.metrics.inception import (  # noqa: E402
    FIDInceptionV3,
    library_network,
    random_inception_weights,
)

VARIANTS = ("bare", "ours", "ours-plain", "ours-channels-last", "ours-folded")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--num-images", type=int, default=64, help="images per timed run")
    parser.add_argument("--size", type=int, default=32, help="side of the grey input images")
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per variant")
    parser.add_argument(
        "--variants",
        default="bare,ours",
        help=f"comma-separated subset of {','.join(VARIANTS)}, or 'all' (default: bare,ours)",
    )
    parser.add_argument("--bf16", action="store_true", help="also time ours in bfloat16")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and images")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    args.variants = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown or "bare" not in args.variants:
        parser.error(f"--variants must include 'bare' and come from {VARIANTS}; got {unknown}")
    for name in ("num_images", "size", "batch_size", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def build(
    args: argparse.Namespace, weights: dict[str, torch.Tensor], device: torch.device
) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """One feature function per variant: (grey images, the same as RGB) -> (N, 2048) on CPU."""
    functions: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {}
    bare = library_network(weights).to(device)

    def run_bare(grey: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        out = []
        with torch.no_grad():
            for batch in rgb.split(args.batch_size):
                out.append(bare(batch)[0].squeeze(3).squeeze(2).cpu())
        return torch.cat(out)

    functions["bare"] = run_bare
    settings = {
        "ours": dict(fast=True, channels_last=True),
        "ours-plain": dict(fast=False, channels_last=False),
        "ours-channels-last": dict(fast=False, channels_last=True),
        "ours-folded": dict(fast=True, channels_last=False),
    }
    wanted = [v for v in args.variants if v != "bare"]
    if args.bf16:
        wanted.append("ours-bf16")
    for variant in wanted:
        kwargs = settings["ours" if variant == "ours-bf16" else variant]
        net = FIDInceptionV3(weights, batch_size=args.batch_size, **kwargs).to(device)
        if variant == "ours-bf16":
            net = net.to(torch.bfloat16)
        functions[variant] = lambda grey, rgb, net=net: net.features(grey).cpu()
    return functions


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    weights = random_inception_weights(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    grey = torch.rand(args.num_images, 1, args.size, args.size, generator=gen).to(device)
    rgb = grey.repeat(1, 3, 1, 1)
    load_before = os.getloadavg()
    print(
        f"torch {torch.__version__} on {device} ({platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads); {args.num_images} grey {args.size}x{args.size} "
        f"images -> 299x299, batch {args.batch_size}, {args.repeats} rounds; "
        f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
        flush=True,
    )
    functions = build(args, weights, device)
    warm = max(1, min(args.batch_size, args.num_images, 4))
    outputs = {}
    for fn in functions.values():  # warm-up (allocators, oneDNN/cuDNN kernel choice)
        fn(grey[:warm], rgb[:warm])
        synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(args.repeats):
        for name, fn in functions.items():
            synchronize(device)
            start = time.perf_counter()
            outputs[name] = fn(grey, rgb)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    load_after = os.getloadavg()

    reference = outputs["bare"].float()
    bare_rate = args.num_images / statistics.median(times["bare"])
    results = {}
    print(f"\n{'variant':<20}{'img/s':>9}{'s/1000 img':>12}{'vs bare':>9}{'rel L2 diff':>14}")
    for name, secs in times.items():
        rate = args.num_images / statistics.median(secs)
        out = outputs[name].float()
        diff = ((out - reference).norm() / reference.norm()).item()
        results[name] = {
            "images_per_second": rate,
            "seconds_per_1000_images": 1000 / rate,
            "ratio_to_bare": rate / bare_rate,
            "relative_l2_difference_to_bare": diff,
            "round_seconds": secs,
        }
        print(f"{name:<20}{rate:>9.2f}{1000 / rate:>12.1f}{rate / bare_rate:>8.2f}x{diff:>14.2e}")
    print(
        f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
        f"(on {os.cpu_count()} CPUs; above that, other processes shared the CPU)"
    )
    report = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "num_images": args.num_images,
        "size": args.size,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "results": results,
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"written {args.json}")
    return report


if __name__ == "__main__":
    main()
