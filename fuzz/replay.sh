#!/usr/bin/env bash
# Replays the fuzz corpus through the fuzz target, without libFuzzer:
#
#   bash fuzz/replay.sh
#
# Builds fuzz/replay.c + fuzz/segment_decode_fuzzer.c + src/segment_codec.c
# with AddressSanitizer and UndefinedBehaviorSanitizer (no recovery) into a
# temporary directory (the tree is not written to, so it works from a
# read-only copy and as any user), regenerates the seed values with
# fuzz/make_seeds.c, and runs every file in fuzz/corpus/, fuzz/crashes-fixed/
# (if present), the seeds and an empty input, each in its own process.  Prints one line
# "replay: N passed, M failed" and exits non-zero if anything failed.
#
# CC picks the compiler (default: clang if installed, else gcc).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/../src"

if [ -z "${CC:-}" ]; then
	if command -v clang >/dev/null 2>&1; then CC=clang; else CC=gcc; fi
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/segroll-replay.XXXXXX")" || {
	echo "replay: 0 passed, 1 failed"
	exit 1
}
trap 'rm -rf "$TMP"' EXIT

# Leak checking needs ptrace, which containers often forbid; the target frees
# what it allocates and the children _exit anyway.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

CFLAGS=(-g -O1 -Wall -Wextra -fsanitize=address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -I "$SRC")

build() {
	"$CC" "${CFLAGS[@]}" -o "$TMP/replay" "$HERE/replay.c" \
		"$HERE/segment_decode_fuzzer.c" "$SRC/segment_codec.c" -lzstd &&
	"$CC" "${CFLAGS[@]}" -o "$TMP/make_seeds" "$HERE/make_seeds.c" \
		"$SRC/segment_codec.c" -lzstd &&
	mkdir -p "$TMP/seeds" &&
	"$TMP/make_seeds" "$TMP/seeds" &&
	: >"$TMP/seeds/empty-input"		# libFuzzer always tries it; merge drops it
}

if ! build >"$TMP/build.log" 2>&1; then
	cat "$TMP/build.log" >&2
	echo "replay.sh: building the replayer with $CC failed" >&2
	echo "replay: 0 passed, 1 failed"
	exit 1
fi

dirs=()
[ -d "$HERE/corpus" ] && dirs+=("$HERE/corpus")
[ -d "$HERE/crashes-fixed" ] && dirs+=("$HERE/crashes-fixed")
dirs+=("$TMP/seeds")

"$TMP/replay" "${dirs[@]}"
