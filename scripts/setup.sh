#!/usr/bin/env bash
# One-command setup for compt.
#
# Where: always ./.venv (created if missing), whatever virtualenv or conda env is active,
# so that the README's `.venv/bin/compt` and `.venv/bin/python -m pytest` work. To install
# elsewhere, ask explicitly: COMPT_VENV=path/to/venv (created if missing), or --here for
# the active environment ($VIRTUAL_ENV, else $CONDA_PREFIX, else the `python3` on PATH).
#
# torch: an installed torch is kept as it is (a GPU user's CUDA build is never replaced);
# a machine with an NVIDIA GPU gets PyPI's CUDA build; any other machine gets a CPU build
# (a few hundred MB instead of several GB) and never falls back to the CUDA one.
#
# Options: --here (see above); --print-python (print the interpreter setup would use and
# exit; .ci/run uses it); --no-install (create the environment but install nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

here=0 print_only=0 install=1
for arg in "$@"; do
  case "$arg" in
    --here) here=1 ;;
    --print-python) print_only=1 ;;
    --no-install) install=0 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# The environment to install into, and the interpreter inside it.
if [ "$here" = 1 ]; then
  env_dir="${VIRTUAL_ENV:-${CONDA_PREFIX:-}}"
  if [ -n "$env_dir" ]; then
    python="$env_dir/bin/python"
  else
    python="$(command -v python3)"
  fi
else
  env_dir="${COMPT_VENV:-.venv}"
  case "$env_dir" in /*) ;; *) env_dir="$PWD/$env_dir" ;; esac
  python="$env_dir/bin/python"
fi
if [ "$print_only" = 1 ]; then
  echo "$python"
  exit 0
fi

if [ "$here" = 0 ] && [ ! -x "$python" ]; then
  echo "setup: creating the virtual environment $env_dir"
  # Made from the python3 on PATH (an active venv's is fine: venv uses its base), or $PYTHON.
  "${PYTHON:-python3}" -m venv "$env_dir"
fi
[ -x "$python" ] || { echo "setup: no interpreter at $python" >&2; exit 2; }
echo "setup: installing into $python"
[ "$install" = 1 ] || exit 0

pip() { "$python" -m pip "$@"; }
pip install -q --upgrade pip

# Would `pip install torch==2.13.0` (no index options) bring CUDA libraries? Ask pip for
# its plan without installing anything: a local CPU wheel (find-links) or a non-Linux
# machine gives a plan without nvidia-* packages.
plan_is_cpu() {
  pip install --dry-run --quiet --report - "torch==2.13.0" 2>/dev/null \
    | "$python" -c 'import json, sys
names = [i["metadata"]["name"] for i in json.load(sys.stdin)["install"]]
sys.exit(any(n.lower().startswith("nvidia") for n in names))'
}

if "$python" -c "import torch" >/dev/null 2>&1; then
  echo "setup: keeping the installed torch $("$python" -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: NVIDIA GPU found: installing torch with CUDA"
  pip install -q torch
else
  echo "setup: no GPU: installing the CPU build of torch"
  cpu_index=https://download.pytorch.org/whl/cpu
  if "$python" - "$cpu_index" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)
PY
  then
    pip install -q "torch==2.13.0" --index-url "$cpu_index" \
      --extra-index-url https://pypi.org/simple
  elif plan_is_cpu; then
    # No PyTorch index here, but pip finds a CPU build (e.g. a local wheel in find-links,
    # which pip prefers since 2.13.0+cpu sorts above 2.13.0).
    pip install -q "torch==2.13.0"
  else
    cat >&2 <<'EOF'
setup: the PyTorch CPU index (https://download.pytorch.org/whl/cpu) is unreachable, and
pip's other sources only offer the CUDA build of torch (several GB of nvidia-* packages),
which this machine without an NVIDIA GPU cannot use. Install a CPU torch first, then rerun
this script (it keeps an installed torch): `.venv/bin/python -m pip install
/path/to/torch-2.13.0+cpu-...whl`, or point pip at a mirror with CPU wheels
(PIP_FIND_LINKS=... or PIP_EXTRA_INDEX_URL=...). To take the CUDA build anyway:
`.venv/bin/python -m pip install torch`, then rerun.
EOF
    exit 1
  fi
fi

# PYTHONWARNINGS reaches the build backend: setuptools' "Editable installation" notice is a
# warning box about same-named folders in the working directory, which is how compt is used.
PYTHONWARNINGS=ignore pip install -q -e ".[dev]"
echo "setup: done with $python. Try: $(dirname "$python")/compt run"
