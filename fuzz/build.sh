#!/usr/bin/env bash
# Builds the libFuzzer target and the seed generator into fuzz/build/
# (gitignored) and writes the seed corpus to fuzz/build/seeds/.
#
#   bash fuzz/build.sh
#
# Needs clang and libclang-rt-14-dev (for -fsanitize=fuzzer) and
# libzstd-dev.  CC overrides the compiler (must be clang).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/../src"
OUT="$HERE/build"
CC="${CC:-clang}"

mkdir -p "$OUT"
"$CC" -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I "$SRC" \
	"$HERE/segment_decode_fuzzer.c" "$SRC/segment_codec.c" -lzstd \
	-o "$OUT/segment_decode_fuzzer"
"$CC" -g -O1 -Wall -Wextra -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I "$SRC" \
	"$HERE/make_seeds.c" "$SRC/segment_codec.c" -lzstd \
	-o "$OUT/make_seeds"
rm -rf "$OUT/seeds"
mkdir -p "$OUT/seeds"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "$OUT/make_seeds" "$OUT/seeds"
echo "built $OUT/segment_decode_fuzzer"
