#!/usr/bin/env bash
# One-command setup for compt.
#
# Installs into the active virtual/conda environment if there is one, else into ./.venv.
# torch: an existing install is kept as it is (a GPU user's CUDA build is never replaced);
# a machine with an NVIDIA GPU gets PyPI's CUDA build; any other machine gets the CPU build
# (a few hundred MB instead of several GB).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ]; then
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip

if python -c "import torch" >/dev/null 2>&1; then
  echo "setup: keeping the installed torch $(python -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: NVIDIA GPU found: installing torch with CUDA"
  python -m pip install -q torch
else
  echo "setup: no GPU: installing the CPU build of torch"
  cpu_index=https://download.pytorch.org/whl/cpu
  if python - "$cpu_index" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)
PY
  then
    python -m pip install -q "torch==2.13.0" --index-url "$cpu_index" \
      --extra-index-url https://pypi.org/simple
  else
    # No PyTorch index here: a local CPU wheel (pip's find-links) is preferred by pip,
    # since 2.13.0+cpu sorts above 2.13.0.
    python -m pip install -q "torch==2.13.0"
  fi
fi

python -m pip install -q -e ".[dev]"
echo "setup: done. Try: $(command -v compt) run"
