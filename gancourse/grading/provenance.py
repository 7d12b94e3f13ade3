"""A submission must be the student's own network, not the course's reference in disguise.

When grading, the reference is simply not there: the sandbox's gancourse package
(`sandbox.package_view`) has no networks, losses, tricks or metrics, so a submission that builds
on them (`gc.build_generator(...).net`, `vanilla_generator_body`, `gancourse.losses`) fails
to run, in every cell that needs it. In a student's own notebook, `check_not_reference` says so
early: a network that subclasses or contains one of gancourse's models or layers, or calls one
from forward() (caught by watching the course classes' forward()). `static_flags` reads the
submitted source in the grader's own process and lists, for the instructor, uses of the course
package and of tools that can hide what code calls.
"""

from __future__ import annotations

import ast

from gancourse.grading.failures import GradingFailure, ask, probe_inputs
from gancourse.grading.probe import as_probe


def check_not_reference(model, input_shape: tuple[int, ...], what: str = "model") -> None:
    """Fail if the network contains, subclasses or calls one of gancourse's own networks or
    layers, or is built from a reference's parts: the assignment asks for the layers to be
    written with torch.nn. A forward pass that crashes is not this check's business (the other
    checks report it), so it costs nothing here."""
    probe = as_probe(model)
    try:
        info = probe.describe()
    except Exception:
        return
    for path in info["mro"]:
        if path.split(".")[0] == "gancourse" and path != "gancourse":
            raise GradingFailure(
                f"your {what} is (or subclasses) gancourse's {path.rsplit('.', 1)[-1]}: write "
                f"the network yourself, subclassing torch.nn.Module"
            )
    inside = sorted({p.rsplit(".", 1)[-1] for p in info["contained"] if p.startswith("gancourse.")})
    if inside:
        raise GradingFailure(
            f"your {what} contains gancourse's {', '.join(inside)}: build it from torch.nn "
            f"layers yourself instead of using the course's reference"
        )
    try:
        calls = ask(what, probe.course_forwards, probe_inputs(input_shape, n=2))
    except GradingFailure:
        return
    if calls:
        raise GradingFailure(
            f"your {what}'s forward() calls gancourse's {', '.join(calls)}: the "
            f"assignment asks you to compute it with your own layers"
        )


# Names that reach the course's reference code, and names that can hide what code calls.
REFERENCE_NAMES = {
    "build_generator",
    "build_discriminator",
    "build_pair",
    "vanilla_generator_body",
    "VanillaGenerator",
    "VanillaDiscriminator",
    "DCGAN32Generator",
    "DCGAN32Discriminator",
    "losses",
    "bce",
    "discriminator_loss",
    "generator_loss",
    "value_function",
    "frechet_distance",
    "instance_noise_std",
    "noisy_labels",
    "add_instance_noise",
    "tricks",
    "models",
    "metrics",
}
HIDING_NAMES = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "importlib",
    "getattr",
    "setattr",
    "globals",
    "sys",
    "get_ipython",
    "ctypes",
    "subprocess",
    "_exit",
    "fork",
    "system",
    "builtins",
    "__builtins__",
    "inspect",
    "gc",
}


def static_flags(cells: dict[str, str], own_names: set[str] | None = None) -> list[str]:
    """Lines for the instructor about each solution cell (grade_id -> source) that uses the
    course package's reference code by name, or tools that can hide what code does. Read in the
    grader's process; nothing is executed. `own_names` are names the assignment itself defines
    (a student's own `bce` is not the course's)."""
    trees = {}
    for grade_id, source in cells.items():
        try:
            trees[grade_id] = ast.parse(without_magics(source))
        except SyntaxError:
            continue
    own = set(own_names or ())
    for tree in trees.values():  # names the submission defines itself are its own
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
    flags = []
    for grade_id, tree in trees.items():
        course, hiding = set(), set()
        course_aliases = {"gancourse", "gc"}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = getattr(node, "module", None) or ""
                for alias in node.names:
                    full = f"{module}.{alias.name}" if module else alias.name
                    if full.startswith("gancourse"):
                        course.add(full)
                        course_aliases.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.Attribute):
                base = node.value
                if isinstance(base, ast.Name) and base.id in course_aliases:
                    if node.attr in REFERENCE_NAMES:
                        course.add(f"{base.id}.{node.attr}")
                if node.attr in HIDING_NAMES - {"eval", "compile", "system", "gc"}:
                    hiding.add(node.attr)
            elif isinstance(node, ast.Name) and node.id in HIDING_NAMES and node.id != "gc":
                hiding.add(node.id)
            elif isinstance(node, ast.Name) and node.id in REFERENCE_NAMES - own:
                if isinstance(node.ctx, ast.Load) and node.id not in {"models", "losses"}:
                    course.add(node.id)
        if course:
            flags.append(f"{grade_id}: uses the course package: {', '.join(sorted(course))}")
        if hiding:
            flags.append(
                f"{grade_id}: uses {', '.join(sorted(hiding))}, which can hide what the code "
                f"calls: review it by hand"
            )
    return flags


def without_magics(source: str) -> str:
    """Cell source with IPython magics and shell lines blanked, for ast.parse."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
