#!/usr/bin/env bash
# Wheels and bubblewrap for bench/gpu_check.sh on a bare GPU machine that cannot download.
#
#   bench/gpu_wheels.sh [PYTHON_VERSION]     # default 3.12, the device machines' Python
#
# Downloads (here, where the package registries answer) the wheels of what the course needs
# beyond PyTorch, with their dependencies, for that Python on manylinux x86-64, into .whl/, and
# bubblewrap's Debian package into .deb/. Packages the device image already has are left out
# (HAVE below: the image this project is lent holds PyTorch, torchvision, the scientific stack
# and Jupyter's basics), and so are JupyterLab and the notebook server, which grading and
# executing chapters do not import. Both folders are ignored by git; carry them to the device
# (`carry: [".whl", ".deb"]`), where gpu_check.sh installs them. About 38 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
PYV=${1:-3.12}
HAVE="anyio attrs certifi charset-normalizer cloudpickle contourpy cycler fonttools h11 httpcore
httpx idna jinja2 joblib kiwisolver markupsafe matplotlib narwhals numpy packaging pandas pillow
prometheus-client psutil pygments python-dateutil pyyaml requests scikit-learn scipy setuptools
six threadpoolctl typing-extensions urllib3 tqdm torch torchvision"
UNUSED="jupyterlab notebook babel jupyterlab-server json5 jupyter-lsp async-lru notebook-shim
jupyter-builder widgetsnbextension terminado"
rm -rf .whl .deb && mkdir -p .whl .deb
tmp=$(mktemp -d)
grep -v -i -E '^(torch|torchvision|nvidia|triton)' constraints.txt >"$tmp/constraints.txt"
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --only-binary=:all: --python-version "$PYV" --implementation cp \
  "${platforms[@]}" -c "$tmp/constraints.txt" -d "$tmp/all" \
  mlxtend ipywidgets nbclient nbconvert ipykernel nbgrader
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYV" \
  -c "$tmp/constraints.txt" -d "$tmp/all" pytorch-fid
for wheel in "$tmp"/all/*.whl; do
  name=$(basename "$wheel" | cut -d- -f1 | tr 'A-Z_' 'a-z-')
  case " $(echo $HAVE $UNUSED) " in
    *" $name "*) ;;
    *) cp "$wheel" .whl/ ;;
  esac
done
(cd .deb && apt-get download bubblewrap 2>/dev/null)
rm -rf "$tmp"
echo "$(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1) in .whl/; $(ls .deb) in .deb/"
