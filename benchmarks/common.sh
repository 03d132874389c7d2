# Sourced by the benchmark scripts (run from the repository root): tools, defaults and helpers.
#   SHARED (../shared), MD (.venv/bin/maskdepth), PY (.venv/bin/python): override from the environment.
SHARED=${SHARED:-../shared}
MD=${MD:-.venv/bin/maskdepth}
PY=${PY:-.venv/bin/python}
export OMP_WAIT_POLICY=PASSIVE

# no_args USAGE_LAST_LINE "$@": -h/--help prints lines 2..USAGE_LAST_LINE of the script; any argument is an error
no_args() {
  local last=$1; shift
  case "${1:-}" in
    "") ;;
    -h | --help) sed -n "2,${last}p" "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (this script takes none)" >&2; exit 2 ;;
  esac
}

# done_run RUN_DIR: the run has trained its last step
done_run() { [ -f "$1/summary.json" ] && $PY -c "import json,sys; s=json.load(open('$1/summary.json')); sys.exit(s['steps'] < s['total_steps'])"; }

# config_value CONFIG SECTION KEY: one setting of a YAML config
config_value() { $PY -c "import yaml; print(yaml.safe_load(open('$1'))['$2']['$3'])"; }

# generate_and_train CONFIG: its dataset unless it exists, then its run to the last step (resumed from its
# checkpoint); waits while another process trains the same config
generate_and_train() {
  local cfg=$1 data run
  data=$(config_value "$cfg" generate out_dir)
  run=$(config_value "$cfg" train run_dir)
  [ -f "$data/manifest.json" ] || $MD generate --config "$cfg" --quiet
  while pgrep -f "maskdepth train --config $cfg" > /dev/null; do sleep 60; done
  done_run "$run" || $MD train --config "$cfg" --quiet $([ -f "$run/checkpoints/last.pt" ] && echo --resume)
}
