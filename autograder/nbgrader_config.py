# nbgrader configuration of the gancourse course. `python autograder/course.py init` copies this
# file into the course root (default autograder/course/), where nbgrader looks for it.
# Limits can be changed per run with environment variables (see autograder/README.md).
import glob
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import AssignLatePenalties, GetGrades, LimitOutput, SaveAutoGrades

from gancourse.grading.nbgrader_plugins import GradeInSandbox, HideHiddenTests, RestoreFromSource

c = get_config()  # noqa: F821 (nbgrader provides get_config)
root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "gancourse"
c.CourseDirectory.root = root
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "gradebook.db")

# The submission is rebuilt from the source notebook (only answers and the student's own extra
# cells are kept), then its cells run in the sandbox while the test cells run in the grader's
# process, which never executes student code (gancourse.grading.notebook_grader).
c.Autograde.sanitize_preprocessors = [RestoreFromSource]
c.Autograde.autograde_preprocessors = [
    GradeInSandbox,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
]
c.GradeInSandbox.cell_timeout = int(os.environ.get("GANCOURSE_CELL_TIMEOUT", "120"))
c.GradeInSandbox.wall_timeout = int(os.environ.get("GANCOURSE_NOTEBOOK_TIMEOUT", "900"))
# CUDA reserves far more address space than any real limit when it starts, so on a machine with
# an NVIDIA GPU the address-space limit is off by default (GPU runners: memory is not capped).
_GPU = bool(glob.glob("/dev/nvidia[0-9]*"))
c.GradeInSandbox.memory_mb = (
    int(os.environ.get("GANCOURSE_MEMORY_MB", "0" if _GPU else "6144")) or None
)
c.GradeInSandbox.cpu_seconds = int(os.environ.get("GANCOURSE_CPU_SECONDS", "1800")) or None
c.GradeInSandbox.unsafe = os.environ.get("GANCOURSE_UNSAFE") == "1"

# Feedback shows each hidden test's message, not its code.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
# A student's markdown and outputs are shown as text, never as live HTML or scripts.
c.HTMLExporter.sanitize_html = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
