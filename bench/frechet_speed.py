"""Speed and agreement of the Frechet distance, and the time of an offline MNIST FID.

Run from the repository root::

    python bench/frechet_speed.py                 # d = 2048, N = 10,000 (Inception-sized)
    python bench/frechet_speed.py --dim 512 --repeats 3
    python bench/frechet_speed.py --device cuda   # ours also with the statistics on the GPU

Part 1 fits two sets of statistics to N synthetic d-dimensional features (correlated
Gaussians, the second shifted and rescaled) and times, on the same statistics in one process:

- pytorch-fid's `calculate_frechet_distance` (scipy `sqrtm` of S1 S2), the de-facto reference;
- torchmetrics' `_compute_fid` (eigenvalues of the non-symmetric S1 S2), if installed;
- ours for a fresh pair (`frechet_distance`, Cholesky factor + one symmetric eigenvalue solve);
- ours with the reference side cached (`factor1=` a stored `covariance_factor`);
- ours in float32 inputs (converted to float64 inside, so it should not lose accuracy) and the
  error of computing the whole distance in float32 instead (why we do not).

Part 2 times the offline MNIST-domain FID of 10,000 generated samples (vanilla generator,
reference statistics of the 5,000 real digits cached beforehand), end to end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import torch


def synthetic_statistics(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    x1 = rng.normal(size=(n, d)) @ mixing
    x2 = (rng.normal(size=(n, d)) @ mixing) * 1.1 + 0.05
    return (x1.mean(0), np.cov(x1, rowvar=False)), (x2.mean(0), np.cov(x2, rowvar=False))


def timed(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), float(value)


def frechet_part(n: int, d: int, repeats: int, device: str = "cpu") -> None:
    from pytorch_fid.fid_score import calculate_frechet_distance

    from gancourse.metrics.frechet import covariance_factor, frechet_distance

    (mu1, s1), (mu2, s2) = synthetic_statistics(n, d)
    factor = covariance_factor(s1)
    rows = [("pytorch-fid (scipy sqrtm)", lambda: calculate_frechet_distance(mu1, s1, mu2, s2))]
    try:
        from torchmetrics.image.fid import _compute_fid

        t = [torch.from_numpy(v) for v in (mu1, s1, mu2, s2)]
        rows.append(("torchmetrics (eigvals of S1 S2)", lambda: _compute_fid(*t)))
    except ImportError:
        pass
    rows += [
        ("gancourse, fresh pair", lambda: frechet_distance(mu1, s1, mu2, s2)),
        ("gancourse, reference cached", lambda: frechet_distance(mu1, s1, mu2, s2, factor1=factor)),
    ]
    if device != "cpu":  # the statistics already on the device (float64); the result is a float
        on = [torch.from_numpy(v).to(device) for v in (mu1, s1, mu2, s2)]
        factor_on = covariance_factor(on[1])
        frechet_distance(*on)  # first call: the device's solver libraries load
        rows += [
            (f"gancourse on {device}, fresh pair", lambda: frechet_distance(*on)),
            (
                f"gancourse on {device}, ref. cached",
                lambda: frechet_distance(*on, factor1=factor_on),
            ),
        ]
    results = [(name, *timed(fn, repeats)) for name, fn in rows]
    reference_time, reference_value = results[0][1], results[0][2]
    print(
        f"\nFrechet distance, d = {d}, N = {n}, median of {repeats} "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )
    print(f"{'method':34} {'seconds':>9} {'speed-up':>9} {'value':>20} {'rel. diff':>10}")
    for name, seconds, value in results:
        rel = abs(value - reference_value) / abs(reference_value)
        print(
            f"{name:34} {seconds:9.3f} {reference_time / seconds:8.1f}x {value:20.10f} {rel:10.1e}"
        )
    f32 = [torch.from_numpy(v).float() for v in (mu1, s1, mu2, s2)]
    diff = f32[0] - f32[2]
    eig = torch.linalg.eigvals(f32[1] @ f32[3]).sqrt().real.sum()
    value32 = float(diff @ diff + f32[1].trace() + f32[3].trace() - 2 * eig)
    print(
        f"whole computation in float32 instead: {value32:.6f} "
        f"({abs(value32 - reference_value) / reference_value:.2e} relative error)"
    )


def mnist_fid_part(num_samples: int, device: str = "cpu") -> None:
    import gancourse as gc
    from gancourse.metrics import fid, reference_statistics
    from gancourse.metrics.mnist_net import load_mnist_extractor

    extractor = load_mnist_extractor(device=device)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GANCOURSE_CACHE"] = cache
        start = time.perf_counter()
        ref = reference_statistics(
            "mnist", extractor, root=os.path.join(cache, "data"), progress=False
        )
        ref_time = time.perf_counter() - start
        G = gc.build_generator("vanilla").to(device)
        start = time.perf_counter()
        value = fid(G, ref, extractor=extractor, num_samples=num_samples, progress=False)
        fid_time = time.perf_counter() - start
    print(
        f"\nOffline MNIST FID of {num_samples:,} samples (untrained vanilla G, on {device}): "
        f"{value:.2f}"
    )
    print(f"  reference statistics of {ref.n:,} real digits, once: {ref_time:.2f} s")
    print(f"  sampling + features + statistics + distance: {fid_time:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--mnist-samples", type=int, default=10_000)
    parser.add_argument("--device", default="cpu", help="also time ours on this device (cuda)")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    frechet_part(args.num, args.dim, args.repeats, args.device)
    mnist_fid_part(args.mnist_samples, args.device)


if __name__ == "__main__":
    main()
