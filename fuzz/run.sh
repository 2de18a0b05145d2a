#!/usr/bin/env bash
# Runs the segment decode fuzzer:   bash fuzz/run.sh [SECONDS] [extra libFuzzer flags]
#
# Builds first (fuzz/build.sh), then fuzzes for SECONDS (default 600) in
# one process (no -jobs: with -jobs libFuzzer forks workers that log to
# fuzz-N.log), growing fuzz/corpus/ (new inputs are written there) from it and
# the generated seeds.  Crashes go to fuzz/build/artifacts/.  The log is
# fuzz/build/run.log.  Afterwards, minimise the corpus with
#   bash fuzz/run.sh --merge
# which merges fuzz/corpus/ into a fresh directory and replaces it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/build"
CORPUS="$HERE/corpus"

bash "$HERE/build.sh"
mkdir -p "$CORPUS" "$OUT/artifacts"

if [ "${1:-}" = "--merge" ]; then
	fresh="$(mktemp -d "$OUT/merged.XXXXXX")"
	"$OUT/segment_decode_fuzzer" -merge=1 -max_len=20000 \
		-dict="$HERE/segment.dict" "$fresh" "$CORPUS" "$OUT/seeds" \
		2>&1 | tail -n 3
	rm -rf "$CORPUS"
	mv "$fresh" "$CORPUS"
	chmod 755 "$CORPUS"
	echo "corpus: $(find "$CORPUS" -type f | wc -l) files, $(du -sh "$CORPUS" | cut -f1)"
	exit 0
fi

SECONDS_TO_RUN="${1:-600}"
shift || true
cd "$OUT"
"$OUT/segment_decode_fuzzer" \
	-max_total_time="$SECONDS_TO_RUN" \
	-max_len=20000 \
	-timeout=30 \
	-rss_limit_mb=2048 \
	-use_value_profile=1 \
	-print_final_stats=1 \
	-dict="$HERE/segment.dict" \
	-artifact_prefix="$OUT/artifacts/" \
	"$@" \
	"$CORPUS" "$OUT/seeds" 2>&1 | tee "$OUT/run.log"
