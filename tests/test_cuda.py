"""The CUDA branches: training with and without bf16, resume, grading equivalence (in the
sandbox too), FID and Inception features agreeing with the CPU.

Skipped without a GPU; `bench/gpu_check.sh` runs them (`pytest -m cuda`) on a machine with one.
GPU time is scarce, so the tests can be dry-run on the CPU first: `GANCOURSE_CUDA_TESTS_ON=cpu
pytest -m cuda` runs every test whose subject is not CUDA itself with "cuda" replaced by "cpu".
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

import gancourse as gc
from gancourse.training import TrainConfig

DEVICE = os.environ.get("GANCOURSE_CUDA_TESTS_ON", "cuda")  # "cpu": a dry run
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        DEVICE == "cuda" and not torch.cuda.is_available(), reason="needs an NVIDIA GPU (CUDA)"
    ),
]
only_on_cuda = pytest.mark.skipif(DEVICE != "cuda", reason="about CUDA itself: no dry run")

STUDENT_G = """
import torch
from torch import nn
import torch.nn.functional as F

class StudentGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(100, 256), nn.BatchNorm1d(256)
        self.fc2, self.bn2 = nn.Linear(256, 512), nn.BatchNorm1d(512)
        self.fc3, self.bn3 = nn.Linear(512, 1024), nn.BatchNorm1d(1024)
        self.drop, self.out = nn.Dropout(0.3), nn.Linear(1024, 784)

    def forward(self, z):
        h = self.bn1(F.leaky_relu(self.fc1(z), 0.2))
        h = self.bn2(F.leaky_relu(self.fc2(h), 0.2))
        h = self.drop(self.bn3(F.leaky_relu(self.fc3(h), 0.2)))
        return torch.tanh(self.out(h)).view(-1, 1, 28, 28)
"""


def cuda_config(**overrides) -> TrainConfig:
    base = dict(num_epochs=1, batch_size=64, progress=False, device=DEVICE, log_every=5)
    return TrainConfig.for_model("dcgan32", **{**base, **overrides})


@pytest.fixture(scope="module")
def digits32(mnist_digits):
    return torch.nn.functional.interpolate(mnist_digits[:1024], size=32, mode="bilinear")


@pytest.mark.parametrize("amp", [True, False])
def test_training_on_cuda_with_and_without_bf16(digits32, amp):
    G, D = gc.build_pair("dcgan32")
    result = gc.train(G, D, digits32, cuda_config(amp=amp))
    assert result.precision.dtype is (torch.bfloat16 if amp else None)
    assert next(G.parameters()).device.type == DEVICE
    assert len(result.history) == 1024 // 64
    assert all(map(torch.isfinite, map(torch.tensor, result.history.loss_d)))
    grid = result.samples[1]
    assert grid.device.type == "cpu" and grid.dtype == torch.float32
    assert grid.abs().max() <= 1 and grid.std() > 0.01  # tanh images, not a constant


@only_on_cuda
def test_the_default_on_cuda_is_bf16_and_channels_last(digits32):
    G, D = gc.build_pair("dcgan32")
    loop = gc.training.TrainingLoop(G, D, digits32, cuda_config())
    assert loop.amp_dtype is torch.bfloat16 and loop.channels_last
    assert "CUDA" in loop.precision.reason


def test_resume_on_cuda_continues_the_same_run(tmp_path, mnist_digits):
    """Two epochs in one go and one epoch + resume give the same history (cuDNN is made
    deterministic for the comparison; float32 so bf16 rounding does not hide a difference)."""
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = (
        True,
        False,
    )  # (no-op on CPU)
    config = TrainConfig(
        num_epochs=2, batch_size=64, progress=False, device=DEVICE, amp=False, log_every=2
    )
    torch.manual_seed(0)
    G, D = gc.build_pair("vanilla")
    G2, D2 = gc.build_pair("vanilla")
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    whole = gc.train(G, D, mnist_digits[:512], config)

    split = dataclasses.replace(config, num_epochs=1, out_dir=str(tmp_path))
    gc.train(G2, D2, mnist_digits[:512], split)
    resumed = gc.train(G2, D2, mnist_digits[:512], split, num_epochs=2, resume=True)
    assert len(resumed.history) == len(whole.history) == 16
    for name in ("loss_d", "loss_g", "d_real"):
        assert getattr(resumed.history, name) == pytest.approx(
            getattr(whole.history, name), rel=1e-4, abs=1e-5
        )


def test_equivalence_checks_cpu_and_cuda_for_a_local_network():
    from gancourse.grading import GradingFailure, check_equivalent_to_reference

    namespace: dict = {}
    exec(STUDENT_G, namespace)
    reference = gc.build_generator("vanilla")
    check_equivalent_to_reference(
        namespace["StudentGenerator"](),
        reference,
        (100,),
        what="generator",
        devices=("cpu", DEVICE),
    )
    exec(STUDENT_G.replace("0.2)", "0.01)"), namespace)  # the wrong LeakyReLU slope
    wrong = namespace["StudentGenerator"]()
    with pytest.raises(GradingFailure, match="differ"):
        check_equivalent_to_reference(wrong, reference, (100,), devices=(DEVICE,))


def test_equivalence_on_cuda_inside_the_sandbox():
    """The sandbox binds /dev/nvidia*: a student's network runs on the GPU there."""
    from gancourse.grading import check_equivalent_to_reference
    from gancourse.grading.remote import RemoteName, Submission
    from gancourse.grading.sandbox import SandboxLimits, check_isolation

    limits = SandboxLimits(wall_s=300, cell_s=120, memory_mb=None, cpu_s=None)
    submission = Submission(limits, check_isolation(limits))
    try:
        run, names = submission.run_cell(STUDENT_G)
        assert run.error is None, run.error
        if DEVICE == "cuda":
            seen, _ = submission.run_cell("import torch\nassert torch.cuda.is_available()\n")
            assert seen.error is None, f"CUDA is not visible in the sandbox: {seen.error}"
        G = RemoteName(submission, "StudentGenerator", names["StudentGenerator"])()
        check_equivalent_to_reference(
            G, gc.build_generator("vanilla"), (100,), what="generator", devices=("cpu", DEVICE)
        )
    finally:
        submission.close()


def test_offline_fid_on_cuda_agrees_with_the_cpu(mnist_digits):
    """The same images give the same FID whether the features are computed on the GPU or the
    CPU (float64 statistics on both)."""
    from gancourse.metrics import fid, load_mnist_extractor

    G = gc.load_pretrained("vanilla", device="cpu")
    with torch.no_grad():
        fake = G(torch.randn(1000, G.latent_dim, generator=torch.Generator().manual_seed(0)))
    real = mnist_digits[::5]  # 1,000 digits of every class, in [-1, 1]
    values = {
        device: fid(
            fake,
            real,
            extractor=load_mnist_extractor(device=device),
            num_samples=1000,
            value_range=(-1, 1),
            reference_range=(-1, 1),
            progress=False,
        )
        for device in ("cpu", DEVICE)
    }
    assert values[DEVICE] == pytest.approx(values["cpu"], rel=1e-3)
    assert 10 < values["cpu"] < 500  # a trained generator: far from noise, not a copy


def test_frechet_distance_and_inception_features_on_cuda():
    from gancourse.metrics import frechet_distance
    from gancourse.metrics.inception import inception_architecture

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(3000, 64, generator=gen), torch.randn(3000, 64, generator=gen) * 1.1 + 0.1
    stats = [(x.mean(0).double(), torch.cov(x.T).double()) for x in (a, b)]
    on_cpu = frechet_distance(*stats[0], *stats[1])
    on_gpu = frechet_distance(*(t.to(DEVICE) for s in stats for t in s))
    assert on_gpu == pytest.approx(on_cpu, rel=1e-9)

    net = inception_architecture(seed=0).eval()
    images = torch.rand(8, 3, 64, 64, generator=gen)
    with torch.no_grad():
        want = net.features(images)
        got = net.to(DEVICE).features(images.to(DEVICE)).cpu()
    assert torch.allclose(got, want, rtol=1e-3, atol=1e-3 * want.abs().max().item())
