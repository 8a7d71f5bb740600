#!/usr/bin/env bash
# Bedside developer entry point. Sets up what is missing, then does the one thing asked.
#   scripts/dev.sh run [bedside monitor args]   set up, then start the monitor under its supervisor (`bedside run`: simulator + SQLite)
#   scripts/dev.sh test [pytest args]           set up, then lint, type-check, check layers, test
#   scripts/dev.sh bench                        set up, then run the benchmarks and print figures
#   scripts/dev.sh fuzz [--inputs N]            set up, then fuzz every driver (default 1,000,000 inputs each)
#   scripts/dev.sh screenshots                  set up, then refresh the screenshots in docs/
#   scripts/dev.sh lock [pip-compile args]      pin the runtime dependency set with hashes: requirements.lock
#   scripts/dev.sh sbom                         CycloneDX bill of materials of requirements.lock: docs/sbom.json
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages Qt needs to start (offscreen and xcb), Xvfb for screenshots, libpulse0 for
# QtMultimedia alarm sound, graphviz to draw protocol trees, fonts so text renders.
APT_PACKAGES=(python3-venv libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libpulse0 xvfb xauth graphviz
  fonts-dejavu-core poppler-utils)

log() { printf '[bedside] %s\n' "$*" >&2; }

ensure_apt() {
  command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian system: install ${APT_PACKAGES[*]} by hand"; return 0; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  # python3-venv is only needed when this python cannot make a venv with pip by itself.
  if python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing=("${missing[@]/python3-venv}")
  fi
  local wanted=()
  for p in "${missing[@]}"; do [ -n "$p" ] && wanted+=("$p"); done
  [ ${#wanted[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Debian packages: ${wanted[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  local stamp=.venv/.bedside-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing Python packages (pinned in pyproject.toml)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch "$stamp"
  fi
}

setup() { ensure_apt; ensure_venv; }

cmd="${1:-run}"; shift || true
case "$cmd" in
  run)
    setup
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      log "no display: starting the monitor on a virtual screen (xvfb-run)"
      exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/bedside run "$@"
    fi
    exec .venv/bin/bedside run "$@"
    ;;
  test)
    setup
    export QT_QPA_PLATFORM=offscreen
    log "ruff";          .venv/bin/ruff check .
    log "mypy --strict"; .venv/bin/mypy
    log "import layers"; .venv/bin/lint-imports
    # The storage tests run on SQLite and on the PostgreSQL server named here (.ci/run starts one);
    # without it their PostgreSQL variants are skipped locally and fail under CI=true.
    if [ -n "${BEDSIDE_TEST_POSTGRES_URL:-}" ]; then
      log "PostgreSQL tests on ${BEDSIDE_TEST_POSTGRES_URL}"
    else
      log "no BEDSIDE_TEST_POSTGRES_URL: PostgreSQL storage tests skipped (eval \"\$(bash .ci/run --postgres-only)\")"
    fi
    log "pytest";        exec .venv/bin/pytest "$@"
    ;;
  bench)
    setup
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m tests.benchmarks "$@"
    ;;
  fuzz)
    setup
    exec .venv/bin/python -m tests.fuzz "$@"
    ;;
  screenshots)
    setup
    exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m bedside.devtools.screenshots docs "$@"
    ;;
  lock)
    setup
    # pip-tools goes into the dev venv at this command only: it is no runtime or test dependency.
    # Keeps today's pins unless pyproject.toml needs others; `scripts/dev.sh lock --upgrade` moves all.
    .venv/bin/python -m pip install -q pip-tools
    exec .venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra postgres \
      --no-emit-index-url --no-emit-find-links --output-file requirements.lock "$@" pyproject.toml
    ;;
  sbom)
    setup
    .venv/bin/python -m pip install -q cyclonedx-bom  # the dev venv only, at this command
    exec .venv/bin/cyclonedx-py requirements --pyproject pyproject.toml --output-reproducible --of JSON \
      -o docs/sbom.json requirements.lock
    ;;
  *)
    echo "usage: scripts/dev.sh {run|test|bench|fuzz|screenshots|lock|sbom} [args]" >&2; exit 2 ;;
esac
