"""The reference models: exact parameter counts, shapes, output ranges, output forms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gancourse as gc
from gancourse.models import MODELS, OUTPUT_RANGES
from gancourse.models.layers import UpsampleConv

# The numbers of shared/DESIGN.md (from the slides), written out here on purpose: a test that
# only compared the registry with itself could not fail.
EXPECTED = {
    "vanilla": (1_489_936, 533_505),
    "dcgan32": (1_049_985, 98_113),
    "dcgan28": (2_368_705, 4_311_553),
    "dcgan64": (3_576_704, 2_765_568),
}


def test_registry_lists_every_design_model():
    assert set(MODELS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameter_counts_match_the_slides(name):
    G, D = gc.build_generator(name), gc.build_discriminator(name)
    assert (gc.count_parameters(G), gc.count_parameters(D)) == EXPECTED[name]


def test_vanilla_generator_with_running_stats_matches_the_slides_total():
    # The slide's 1,493,520 counts batchnorm's running means and variances too.
    G = gc.build_generator("vanilla")
    running = sum(b.numel() for n, b in G.named_buffers() if "running" in n)
    assert gc.count_parameters(G) + running == 1_493_520


def test_dcgan28_trainable_count_excludes_keras_non_trainable_statistics():
    G = gc.build_generator("dcgan28")
    running = sum(b.numel() for n, b in G.named_buffers() if "running" in n)
    assert gc.count_parameters(G) + running == 2_394_241  # Keras' "Total params"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_and_output_range(name):
    spec = gc.get_spec(name)
    G = gc.build_generator(name)
    Z = torch.randn(5, spec.latent_dim) * 3  # large inputs: the range must hold anyway
    X = G(Z)
    assert X.shape == (5, *spec.image_shape)
    lo, hi = OUTPUT_RANGES[spec.output_range]
    assert lo <= X.min().item() and X.max().item() <= hi
    for outputs in ("logits", "probs"):
        D = gc.build_discriminator(name, outputs=outputs)
        out = D(X)
        assert out.shape == (5, 1)
        if outputs == "probs":
            assert ((out >= 0) & (out <= 1)).all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probs_are_sigmoid_of_logits(name):
    D_logits = gc.build_discriminator(name, outputs="logits").eval()
    D_probs = gc.build_discriminator(name, outputs="probs").eval()
    D_probs.load_state_dict(D_logits.state_dict())
    X = torch.rand(3, *gc.get_spec(name).image_shape)
    torch.testing.assert_close(D_probs(X), torch.sigmoid(D_logits(X)))
    assert D_logits.outputs == "logits" and D_probs.outputs == "probs"
    assert isinstance(D_probs.output_activation, nn.Sigmoid)


def test_slide_layer_order_of_the_vanilla_generator():
    G = gc.build_generator("vanilla")
    kinds = [type(m).__name__ for m in G.net]
    assert kinds == [
        "Linear",
        "LeakyReLU",
        "BatchNorm1d",
        "Linear",
        "LeakyReLU",
        "BatchNorm1d",
        "Linear",
        "LeakyReLU",
        "BatchNorm1d",
        "Dropout",
        "Linear",
        "Tanh",
    ]


def test_dcgan32_discriminator_batchnorm_on_all_but_the_first_block():
    D = gc.build_discriminator("dcgan32")
    kinds = [type(m).__name__ for m in D.features]
    conv_positions = [i for i, k in enumerate(kinds) if k == "Conv2d"]
    assert len(conv_positions) == 4
    assert kinds[: conv_positions[1]].count("BatchNorm2d") == 0
    assert kinds.count("BatchNorm2d") == 3 and kinds.count("Dropout2d") == 4


def test_upsample_conv_equals_the_literal_layers_forward_and_backward():
    torch.manual_seed(1)
    fast = UpsampleConv(6, 4).double()
    slow = UpsampleConv(6, 4, fast=False).double()
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(3, 6, 5, 7, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    y_fast, y_slow = fast(x), slow(x2)
    assert y_fast.shape == (3, 4, 10, 14)
    torch.testing.assert_close(y_fast, y_slow, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y_fast)
    y_fast.backward(g)
    y_slow.backward(g)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast.conv.weight.grad, slow.conv.weight.grad, rtol=1e-12, atol=1e-12)


def test_dcgan32_fast_and_literal_generators_agree():
    G = gc.build_generator("dcgan32").eval()
    G_slow = gc.build_generator("dcgan32", fast=False).eval()
    G_slow.load_state_dict(G.state_dict())
    Z = torch.randn(4, 100)
    torch.testing.assert_close(G(Z), G_slow(Z), rtol=1e-4, atol=1e-5)


def test_dcgan_initialisation_statistics():
    G = gc.build_generator("dcgan64")
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert weights.mean().abs() < 1e-3
    assert abs(weights.std().item() - 0.02) < 5e-4
    bns = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight for m in bns])
    assert abs(scales.mean().item() - 1.0) < 5e-3 and abs(scales.std().item() - 0.02) < 5e-3
    assert all((m.bias == 0).all() for m in bns)


def test_init_helper_resets_any_module():
    layer = nn.Linear(200, 300)
    gc.init_dcgan_weights(layer)
    assert abs(layer.weight.std().item() - 0.02) < 1e-3 and (layer.bias == 0).all()


def test_vanilla_keeps_pytorch_default_initialisation():
    G = gc.build_generator("vanilla")
    assert G.net[0].weight.std().item() > 0.04  # kaiming-uniform of fan-in 100, not N(0, 0.02)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (torch.randn(4, 99), r"expected a batch of shape \(N, 100\).*\(4, 99\)"),
        (torch.randn(100), r"expected a batch of shape \(N, 100\).*\(100,\)"),
        (torch.ones(4, 100, dtype=torch.long), "floating point"),
        ([0.0] * 100, "expected a torch.Tensor"),
    ],
)
def test_generator_rejects_bad_noise_with_a_clear_message(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gc.build_generator("dcgan32")(bad)


def test_discriminator_rejects_wrong_image_shape():
    D = gc.build_discriminator("dcgan32")
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\).*\(8, 1, 28, 28\)"):
        D(torch.randn(8, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\).*\(1, 32, 32\)"):
        D(torch.randn(1, 32, 32))


def test_unknown_names_and_output_forms():
    with pytest.raises(KeyError, match="unknown model 'dcgan99'.*dcgan32"):
        gc.build_generator("dcgan99")
    with pytest.raises(ValueError, match="outputs.*'sigmoid'"):
        gc.build_discriminator("vanilla", outputs="sigmoid")


def test_toy_models():
    G = gc.ToyGenerator(latent_dim=2, data_dim=2, hidden=16)
    D = gc.ToyDiscriminator(data_dim=2, hidden=16, outputs="probs")
    out = D(G(torch.randn(7, 2)))
    assert out.shape == (7, 1) and ((out > 0) & (out < 1)).all()
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        D(torch.randn(7, 3))
