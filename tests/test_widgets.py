"""The notebook widgets (gancourse.book.widgets): live controls, and figures in the build."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from gancourse.book import widgets
from gancourse.latent import interpolate
from gancourse.models import build_generator
from gancourse.progress import BUILD_ENV_VAR

ipywidgets = pytest.importorskip("ipywidgets")


@pytest.fixture
def live(monkeypatch):
    monkeypatch.delenv(BUILD_ENV_VAR, raising=False)


@pytest.fixture
def book(monkeypatch):
    monkeypatch.setenv(BUILD_ENV_VAR, "1")


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return build_generator("dcgan32")


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _find(box, kind, description=None):
    found = [
        w
        for w in _walk(box)
        if isinstance(w, kind) and (description is None or w.description == description)
    ]
    assert found, f"no {kind.__name__} {description!r} in the widget"
    return found[0]


def test_latent_interpolation_widget_redraws_when_the_slider_moves(live, generator):
    z = torch.randn(2, 100, generator=torch.Generator().manual_seed(1))
    box = widgets.latent_interpolation(generator, z[0], z[1], num_frames=5)
    assert isinstance(box, ipywidgets.VBox)
    slider = _find(box, ipywidgets.FloatSlider, "t")
    image = _find(box, ipywidgets.Image)
    assert (slider.min, slider.max, slider.step) == (0.0, 1.0, 0.25)
    first = image.value
    assert first[:4] == b"\x89PNG"
    slider.value = 1.0
    last = image.value
    assert last != first
    slider.value = 0.0
    assert image.value == first


def test_latent_interpolation_in_the_book_build_returns_the_figure(book, generator):
    z = torch.randn(2, 100, generator=torch.Generator().manual_seed(1))
    fig = widgets.latent_interpolation(generator, z[0], z[1], num_frames=4, method="lerp")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert fig.axes[-1].get_xlabel() == "t=1.00"


def test_latent_interpolation_without_ipywidgets_falls_back(live, monkeypatch, generator):
    monkeypatch.setattr(widgets, "_ipywidgets", lambda: None)
    z = torch.randn(2, 100)
    assert isinstance(widgets.latent_interpolation(generator, z[0], z[1], num_frames=3), Figure)


def test_latent_interpolation_rejects_bad_input(book, generator):
    z = torch.randn(2, 100)
    with pytest.raises(ValueError, match="method"):
        widgets.latent_interpolation(generator, z[0], z[1], method="cubic")
    with pytest.raises(ValueError, match="num_frames"):
        widgets.latent_interpolation(generator, z[0], z[1], num_frames=1)


def test_slerp_is_the_spherical_path(generator):
    # The method names of the widget map onto gancourse.latent's.
    z = torch.randn(2, 100)
    assert widgets._METHODS["slerp"] == "spherical"
    assert torch.allclose(interpolate(z[0], z[1], 3, "spherical")[1].norm(), z[0].norm(), rtol=0.2)


def test_playground_widget_holds_the_controls_and_train_redraws(live):
    box = widgets.gan1d_playground(steps=30, lr_d=3e-3)
    assert isinstance(box, ipywidgets.VBox)
    for name in ("lr_g", "lr_d", "k", "instance noise", "steps"):
        _find(box, ipywidgets.widget_description.DescriptionWidget, name)
    loss = _find(box, ipywidgets.Dropdown, "G loss")
    assert set(loss.options) == {"saturating", "non-saturating"}
    assert _find(box, ipywidgets.FloatLogSlider, "lr_d").value == pytest.approx(3e-3)
    image = _find(box, ipywidgets.Image)
    status = _find(box, ipywidgets.Label)
    assert image.value == b""
    button = _find(box, ipywidgets.Button, "Train")
    button.click()
    assert image.value[:4] == b"\x89PNG", status.value
    assert status.value.startswith("done: 30 steps")
    first = image.value
    loss.value = "saturating"
    _find(box, ipywidgets.IntSlider, "k").value = 2
    button.click()
    assert image.value[:4] == b"\x89PNG" and image.value != first
    assert not button.disabled


def test_playground_in_the_book_build_returns_the_figure(book):
    fig = widgets.gan1d_playground(steps=24, generator_loss="saturating")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert "saturating" in fig._suptitle.get_text()


def test_playground_rejects_unknown_settings(book):
    with pytest.raises(ValueError, match="expected settings among"):
        widgets.gan1d_playground(learning_rate=0.1)
