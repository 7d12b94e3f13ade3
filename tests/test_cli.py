"""The command line, run in-process through `main(argv)` on the offline MNIST sample."""

from __future__ import annotations

import json
import pathlib

import pytest
import torch

from gancourse import load_checkpoint
from gancourse.cli import main


@pytest.fixture
def offline_root(tmp_path):
    """An empty data root: no MNIST files, so loading falls back to the sample (no download)."""
    return str(tmp_path / "data")


def run_train(tmp_path, offline_root, *extra):
    return main(
        [
            "train",
            "--model",
            "vanilla",
            "--data",
            "mnist",
            "--data-root",
            offline_root,
            "--limit",
            "256",
            "--batch-size",
            "32",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
            *extra,
        ]
    )


@pytest.fixture(autouse=True)
def _no_download(monkeypatch):
    """The CLI asks for downloads by default; keep the tests off the network regardless."""
    import gancourse.data

    original = gancourse.data.load_images

    def offline(*args, **kwargs):
        kwargs["download"] = False
        return original(*args, **kwargs)

    monkeypatch.setattr(gancourse.data, "load_images", offline)


def test_train_writes_samples_curves_history_and_checkpoint(tmp_path, offline_root, capsys):
    with pytest.warns(UserWarning, match="5,000"):
        assert run_train(tmp_path, offline_root, "--epochs", "2") == 0
    out = tmp_path / "run"
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert len(json.loads((out / "history.json").read_text())["step"]) == 16
    assert (out / "losses.png").is_file()
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["model"] == "vanilla" and ckpt["step"] == 16
    assert "256 images" in capsys.readouterr().out


def test_resume_and_sample(tmp_path, offline_root, capsys):
    with pytest.warns(UserWarning):
        assert run_train(tmp_path, offline_root, "--epochs", "1") == 0
        assert run_train(tmp_path, offline_root, "--epochs", "2", "--resume") == 0
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 16
    grid = tmp_path / "grid.png"
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(tmp_path / "run" / "checkpoint.pt"),
                "--out",
                str(grid),
                "--num",
                "16",
            ]
        )
        == 0
    )
    assert grid.stat().st_size > 500
    assert "wrote 16 samples of vanilla (step 16)" in capsys.readouterr().out


def test_models_lists_the_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "dcgan32" in out and "1,049,985" in out and "98,113" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "dcgan99", "--out", "x"], "invalid choice: 'dcgan99'"),
        (["train", "--epochs", "0", "--out", "x"], "expected an integer >= 1, received 0"),
        (["train", "--flip-prob", "2", "--out", "x"], "expected a number in [0, 1]"),
        (["train", "--model", "vanilla"], "the following arguments are required: --out"),
    ],
)
def test_bad_arguments_get_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_checkpoint_is_one_line_not_a_traceback(tmp_path, capsys):
    code = main(["sample", "--checkpoint", str(tmp_path / "none.pt"), "--out", "x.png"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: no checkpoint at") and "Traceback" not in err


class TouchOnUnpickle:
    """A hostile payload: unpickling it creates `marker`."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def test_hostile_checkpoint_is_refused_not_run(tmp_path, offline_root, capsys):
    marker = tmp_path / "pwned"
    path = tmp_path / "run" / "checkpoint.pt"
    path.parent.mkdir()
    torch.save({"format": "gancourse-checkpoint-1", "x": TouchOnUnpickle(marker)}, path)
    code = main(["sample", "--checkpoint", str(path), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"error: {path} is not a gancourse checkpoint")
    assert "disallowed objects" in err and "Traceback" not in err
    with pytest.warns(UserWarning):
        assert run_train(tmp_path, offline_root, "--resume") == 1
    assert "not a gancourse checkpoint" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "x.png").exists()


def test_resume_without_checkpoint_says_so(tmp_path, offline_root, capsys):
    with pytest.warns(UserWarning):
        code = run_train(tmp_path, offline_root, "--resume")
    assert code == 1 and "no checkpoint at" in capsys.readouterr().err


def test_folder_data_without_path_is_a_clear_error(tmp_path, capsys):
    code = main(["train", "--model", "dcgan64", "--data", "folder", "--out", str(tmp_path)])
    assert code == 1 and "error:" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    import subprocess
    import sys

    proc = subprocess.Popen(
        f"{sys.executable} -m gancourse models | head -1",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=120)
    assert out.startswith("name") and "Traceback" not in err and "BrokenPipe" not in err


def test_train_reports_its_number_format(tmp_path, offline_root, capsys):
    with pytest.warns(UserWarning, match="5,000"):
        assert run_train(tmp_path, offline_root, "--epochs", "1", "--amp", "off") == 0
    assert "computed in float32 (amp=False)" in capsys.readouterr().out


def test_train_with_a_modern_objective_and_list_them(tmp_path, offline_root, capsys):
    """--loss takes its paper's settings (WGAN-GP: Adam 1e-4, betas (0, 0.9), k = 5) and the
    history records the critic's gap and the penalty."""
    with pytest.warns(UserWarning, match="5,000"):
        assert run_train(tmp_path, offline_root, "--epochs", "1", "--loss", "wgan-gp") == 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["penalty"]) == 256 // (32 * 5) and min(history["penalty"]) > 0
    config = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["config"]
    assert (config["loss"], config["k"], config["lr_g"], config["betas"]) == (
        "wgan-gp",
        5,
        1e-4,
        (0.0, 0.9),
    )
    capsys.readouterr()
    assert main(["objectives"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("lsgan", "hinge", "wgan-gp", "Gulrajani"))
