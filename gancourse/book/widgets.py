"""Interactive widgets for the chapters, with a static figure wherever a widget cannot run.

In a live notebook (Jupyter, Colab) each function shows ipywidgets controls and redraws as they
move. A built HTML page cannot run Python, so in the book build (``GANCOURSE_BOOK_BUILD=1``, see
`gancourse.progress.in_book_build`) and where ipywidgets is not installed, each function shows
the figure that the widget would show at its default settings instead.

Each function displays what it makes and returns it (the widget, or the figure); end the line
with ``;`` or assign the result to avoid a second copy in the notebook.
"""

from __future__ import annotations

import io
from typing import Any

import torch
from matplotlib.figure import Figure

from gancourse.checks import describe
from gancourse.plots import display_figure
from gancourse.progress import in_book_build

__all__ = ["gan1d_playground", "latent_interpolation"]

_METHODS = {"slerp": "spherical", "spherical": "spherical", "lerp": "linear", "linear": "linear"}


def _ipywidgets():
    """The ipywidgets module, or None where it is not installed (the package works without)."""
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def _use_widgets() -> bool:
    return not in_book_build() and _ipywidgets() is not None


def _display(obj: Any) -> None:
    """Show a widget, or a figure as a PNG (whatever matplotlib backend is active)."""
    if isinstance(obj, Figure):
        display_figure(obj)
        return
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to display on
        return
    display(obj)


def _png(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes, for an ipywidgets.Image."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# --------------------------------------------------------------------------- latent walk


def latent_interpolation(
    G: torch.nn.Module,
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    *,
    num_frames: int = 9,
    method: str = "slerp",
):
    """Walk from G(z_a) to G(z_b): a slider over t in [0, 1] and the image at that t.

    Why: dragging the slider shows whether the images change smoothly (structure learnt) or
    jump (memorised pictures). `method` is 'slerp' (spherical, the default for Gaussian z) or
    'lerp' (linear); the frames are made once, `num_frames` of them. Returns the widget, or in
    the book build (or without ipywidgets) the static `gancourse.latent.interpolation_figure`.
    """
    from gancourse.latent import interpolation_figure, interpolation_images
    from gancourse.models.base import OUTPUT_RANGES

    if method not in _METHODS:
        raise ValueError(f"method: expected one of {list(_METHODS)}, received {method!r}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 2:
        raise ValueError(f"num_frames: expected an int >= 2, received {num_frames!r}")
    images = interpolation_images(G, z_a, z_b, steps=num_frames, method=_METHODS[method])
    if images.dim() != 4:
        raise ValueError(
            f"G: expected images of shape (N, C, H, W) from the generator, received "
            f"{describe(images)}"
        )
    value_range = OUTPUT_RANGES.get(getattr(G, "output_range", "tanh"), (-1.0, 1.0))
    if not _use_widgets():
        fig = interpolation_figure(
            images, value_range, title=f"{_METHODS[method]} interpolation from z_a to z_b"
        )
        _display(fig)
        return fig

    import ipywidgets as widgets

    frames = [_png(_frame_figure(image, value_range)) for image in images]
    step = 1.0 / (num_frames - 1)
    slider = widgets.FloatSlider(
        value=0.0, min=0.0, max=1.0, step=step, description="t", readout_format=".2f"
    )
    picture = widgets.Image(value=frames[0], format="png", width=200, height=200)

    def redraw(change: dict) -> None:
        picture.value = frames[min(max(round(change["new"] / step), 0), num_frames - 1)]

    slider.observe(redraw, names="value")
    box = widgets.VBox([slider, picture])
    _display(box)
    return box


def _frame_figure(image: torch.Tensor, value_range: tuple[float, float]) -> Figure:
    from gancourse.plots import draw_image

    fig = Figure(figsize=(2.5, 2.5))
    ax = fig.add_axes((0, 0, 1, 1))
    draw_image(ax, image, *value_range)
    return fig


# --------------------------------------------------------------------------- 1-D playground


PLAYGROUND_DEFAULTS: dict[str, Any] = {
    "lr_g": 1e-3,  # generator learning rate
    "lr_d": 1e-3,  # discriminator learning rate
    "k": 1,  # discriminator steps per generator step
    "generator_loss": "non-saturating",  # or 'saturating'
    "instance_noise": 0.0,  # std of the noise on D's inputs at the start (decays to 0)
    "steps": 1500,  # generator steps
    "seed": 0,
}


def train_playground(**settings: Any):
    """Train the playground's 1-D GAN (a `ToyGenerator` against `Gaussian1D()`) with `settings`
    (the keys of `PLAYGROUND_DEFAULTS`) and return (run, target, figure1_panels figure)."""
    from gancourse.book.toy_plots import figure1_panels
    from gancourse.book.toy_training import train_toy
    from gancourse.distributions import Gaussian1D
    from gancourse.models import ToyDiscriminator, ToyGenerator

    settings = {**PLAYGROUND_DEFAULTS, **_check_settings(settings)}
    target = Gaussian1D()
    torch.manual_seed(settings["seed"])
    G, D = ToyGenerator(), ToyDiscriminator()
    grid = torch.linspace(target.mean - 6.0, target.mean + 4.0, 300)[:, None]
    steps = int(settings["steps"])
    run = train_toy(
        G,
        D,
        target,
        grid=grid,
        steps=steps,
        k=int(settings["k"]),
        lr_g=float(settings["lr_g"]),
        lr_d=float(settings["lr_d"]),
        generator_loss=settings["generator_loss"],
        instance_noise=float(settings["instance_noise"]),
        seed=int(settings["seed"]),
        snapshot_every=max(1, steps // 6),
        progress=False,
    )
    fig = figure1_panels(run, target)
    fig.suptitle(
        f"lr_g={settings['lr_g']:.0e}, lr_d={settings['lr_d']:.0e}, k={settings['k']}, "
        f"{settings['generator_loss']} G loss, instance noise {settings['instance_noise']:.2f}",
        fontsize=9,
    )
    fig.tight_layout()
    return run, target, fig


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(settings) - set(PLAYGROUND_DEFAULTS))
    if unknown:
        raise ValueError(
            f"gan1d_playground: expected settings among {sorted(PLAYGROUND_DEFAULTS)}, "
            f"received {unknown}"
        )
    return settings


def gan1d_playground(**defaults: Any):
    """A 1-D GAN to play with: learning rates, k, the generator loss, instance noise and the
    number of steps, and a Train button that retrains and redraws Goodfellow et al.'s Figure 1.

    Why: a student sees in seconds what a too-large lr_d, a large k or the saturating loss do
    to p_g and D. `defaults` (keys of `PLAYGROUND_DEFAULTS`) set the starting values. In the book
    build (or without ipywidgets) it trains once with them and shows (and returns) the figure;
    otherwise it returns the widget.
    """
    settings = {**PLAYGROUND_DEFAULTS, **_check_settings(defaults)}
    if not _use_widgets():
        _, _, fig = train_playground(**settings)
        _display(fig)
        return fig

    import ipywidgets as widgets

    style = {"description_width": "initial"}
    controls = {
        **{
            name: widgets.FloatLogSlider(  # learning rates from 1e-5 to 1e-1
                value=settings[name],
                base=10,
                min=-5,
                max=-1,
                step=0.25,
                description=name,
                readout_format=".0e",
                style=style,
            )
            for name in ("lr_g", "lr_d")
        },
        "k": widgets.IntSlider(value=settings["k"], min=1, max=10, description="k", style=style),
        "generator_loss": widgets.Dropdown(
            options=["non-saturating", "saturating"],
            value=settings["generator_loss"],
            description="G loss",
            style=style,
        ),
        "instance_noise": widgets.FloatSlider(
            value=settings["instance_noise"],
            min=0.0,
            max=1.0,
            step=0.05,
            description="instance noise",
            style=style,
        ),
        "steps": widgets.IntSlider(
            value=settings["steps"],
            min=10,
            max=max(5000, settings["steps"]),
            step=10,
            description="steps",
            style=style,
        ),
    }
    button = widgets.Button(description="Train", button_style="primary")
    status = widgets.Label(value="press Train")
    picture = widgets.Image(format="png")

    def retrain(_button: Any = None) -> None:
        chosen = {name: control.value for name, control in controls.items()}
        status.value = "training..."
        button.disabled = True
        try:
            run, _, fig = train_playground(**{**settings, **chosen})
            picture.value = _png(fig)
            history = run.history
            status.value = (
                f"done: {len(history)} steps; over the last 50, mean D(x) = "
                f"{history.last('d_real', 50):.2f}, mean D(G(z)) = {history.last('d_fake', 50):.2f}"
            )
        except Exception as error:  # show the message instead of a silent dead widget
            status.value = f"failed: {error}"
        finally:
            button.disabled = False

    button.on_click(retrain)
    box = widgets.VBox(
        [
            widgets.HBox([controls["lr_g"], controls["lr_d"], controls["k"]]),
            widgets.HBox(
                [controls["generator_loss"], controls["instance_noise"], controls["steps"]]
            ),
            widgets.HBox([button, status]),
            picture,
        ]
    )
    _display(box)
    return box
