# nbgrader configuration of the gancourse course. `python autograder/course.py init` copies this
# file into the course root (default autograder/course/), where nbgrader looks for it.
# Limits can be changed per run with environment variables (see autograder/README.md).
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from gancourse.grading.nbgrader_plugins import SandboxedExecute

c = get_config()  # noqa: F821 (nbgrader provides get_config)
root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "gancourse"
c.CourseDirectory.root = root
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "gradebook.db")

# Every notebook runs with the course's python3 kernel, whatever kernel name it carries
# (a notebook saved by Colab or another Jupyter may name one the grader does not have).
c.Execute.kernel_name = "python3"
c.Execute.timeout = int(os.environ.get("GANCOURSE_CELL_TIMEOUT", "120"))  # seconds per cell

# Student code runs in the sandbox (gancourse.grading.sandbox): own process, limits for the
# whole notebook, no network, no access to the gradebook, hidden tests or other submissions.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.SandboxedExecute.wall_timeout = int(os.environ.get("GANCOURSE_NOTEBOOK_TIMEOUT", "900"))
c.SandboxedExecute.memory_mb = int(os.environ.get("GANCOURSE_MEMORY_MB", "6144")) or None
c.SandboxedExecute.cpu_seconds = int(os.environ.get("GANCOURSE_CPU_SECONDS", "1800")) or None

# nbgrader scores a test cell zero if it wrote anything to stderr. Warnings (torch's
# deprecation notices, a UserWarning from a correct answer) are not failures: drop them.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
