#!/usr/bin/env bash
# Times `fmctl up --env local` against a baseline run in the same go: a
# playbook that only gathers nothing and pings every host of the same
# inventory (Ansible's own start-up and per-host overhead). Prints one line
# per run and the ratio. Usage: bench/up_times.sh [runs]
#   cold: run it after `bench/wipe_local.sh` (destroys local data!)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
bin=.venv/bin
baseline_play=$(mktemp --suffix=.yml)
trap 'rm -f "$baseline_play"' EXIT
cat > "$baseline_play" <<'YML'
- name: Baseline (connection and fork overhead only)
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
YML
t() { local s; s=$(date +%s.%N); "$@" >/dev/null; python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$s" "$(date +%s.%N)"; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  base=$(t env ANSIBLE_CONFIG=ansible.cfg "$bin/ansible-playbook" -i inventories/local "$baseline_play")
  up=$(t "$bin/fmctl" up --env local --json)
  printf "run %s: baseline %.1fs, fmctl up %.1fs, ratio %.1f\n" "$i" "$base" "$up" "$(python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$up" "$base")"
done
