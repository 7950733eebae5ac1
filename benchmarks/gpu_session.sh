#!/usr/bin/env bash
# What a session with a lent GPU measures for issue 15, in two device calls of under ten minutes each:
#   bash benchmarks/gpu_session.sh check     # gpu_check.py (training and decoding against the reference
#                                            # revision, one run; about 5 min on one H100) and
#                                            # decode_output.py (frames to the host, today's way and the earlier)
#                                            # and step_profile.py (the 640x1280 3.0 M step's top kernels)
#   bash benchmarks/gpu_session.sh compile   # compile_probe.py: --compile's modes at 640x1280 with the
#                                            # paper's 3.0 M model, float fit steps, then rdo noise steps
#   bash benchmarks/gpu_session.sh smoke     # both, a few seconds each, on the CPU: checks this script
# JSON lines land in $OUT (default results/).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-results}"
mkdir -p "$out"
part="${1:-check}"
dev=cuda; check=(); profile=(--size 640x1280 --c1 111 --n-rb 6 --precision bf16)
probe=(--size 640x1280 --c1 111 --n-rb 6 --precision bf16 --steps 20 --rounds 3)
modes=eager,default,reduce-overhead
if [[ "$part" == smoke ]]; then
  dev=cpu; check=(--quick); profile=(--size 48x96 --frames 0:4 --c1 16 --n-rb 1 --steps 2); probe=(--size 48x96 --frames 0:4 --c1 16 --n-rb 1 --steps 2 --rounds 1); modes=eager,default
fi
if [[ "$part" == check || "$part" == smoke ]]; then
  timeout 420 python benchmarks/gpu_check.py --device "$dev" "${check[@]}" | tee "$out/gpu_check.jsonl"
  timeout 60 python benchmarks/decode_output.py --device "$dev" | tee "$out/decode_output.json"
  timeout 120 python benchmarks/step_profile.py --device "$dev" "${profile[@]}" --out "$out/step_profile.json"
fi
if [[ "$part" == compile || "$part" == smoke ]]; then
  for phase in fit noise; do  # noise steps: eager against reduce-overhead only, to stay within a 10-minute call
    m="$modes"; [[ "$phase" == noise && "$part" != smoke ]] && m=eager,reduce-overhead
    timeout 250 python benchmarks/compile_probe.py --device "$dev" "${probe[@]}" --modes "$m" --phase "$phase" \
      --no-decode --out "$out/compile_probe_$phase.json" || echo "{\"what\": \"compile_probe_failed\", \"phase\": \"$phase\"}"
  done
fi
