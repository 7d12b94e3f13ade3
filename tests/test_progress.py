"""Progress bars and the book-build switch."""

import io

from gancourse.progress import in_book_build, progress_bar


def test_the_switch_reads_the_environment(monkeypatch):
    monkeypatch.delenv("GANCOURSE_BOOK_BUILD", raising=False)
    assert not in_book_build()
    monkeypatch.setenv("GANCOURSE_BOOK_BUILD", "1")
    assert in_book_build()


def test_in_the_book_build_a_bar_prints_only_its_final_state(monkeypatch, capsys):
    monkeypatch.setenv("GANCOURSE_BOOK_BUILD", "1")
    total = sum(progress_bar(range(50), desc="training", mininterval=0))
    assert total == sum(range(50))
    out = capsys.readouterr().out
    assert out.count("training") == 1 and "50/50" in out and "\r" not in out


def test_a_disabled_bar_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv("GANCOURSE_BOOK_BUILD", "1")
    with progress_bar(total=3, disable=True) as bar:
        bar.update(3)
    assert capsys.readouterr().out == ""


def test_outside_the_build_it_is_an_ordinary_bar(monkeypatch):
    monkeypatch.delenv("GANCOURSE_BOOK_BUILD", raising=False)
    stream = io.StringIO()
    for _ in progress_bar(range(3), file=stream, desc="x", mininterval=0):
        pass
    assert "3/3" in stream.getvalue()
