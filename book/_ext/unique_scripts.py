"""Sphinx extension: each page loads each script once.

Jupyter Book 1.0.4 with sphinx-thebe 0.3.1 adds sphinx-thebe's inline configuration script
twice to every page; the second copy re-declares `const THEBE_JS_URL` and the browser reports a
SyntaxError on every page. This drops exact repeats (same file, or same inline body and
attributes) from the page's scripts before the page is written.
"""

from __future__ import annotations


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # An inline script has no file: Sphinx stores that as None or as "", depending on caller.
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
