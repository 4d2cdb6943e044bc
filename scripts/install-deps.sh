#!/usr/bin/env bash
# Installs every Debian package that sinklab's build, tests, benchmarks and apps need. Idempotent: packages
# already present are left alone. Run as root (or with sudo available).
set -euo pipefail

packages=(
  cmake g++ make ninja-build ccache pkg-config git   # toolchain
  libeigen3-dev nlohmann-json3-dev libomp-dev        # the library's dependencies
  catch2 libbenchmark-dev                            # tests and benchmarks
  libsentencepiece-dev sentencepiece                 # BPE/unigram tokenizers
  libopenmpi-dev openmpi-bin                         # data-parallel pretraining under mpirun (SINKLAB_ENABLE_MPI)
  fortunes                                           # the embedded default's English corpus (plain text)
  python3 python3-torch python3-numpy                # PyTorch CPU comparisons in bench/ and tests/apps
  libopenblas0-pthread                               # PyTorch's BLAS: without it Debian's torch runs the
                                                     # reference BLAS, ~100x slower, an unfair comparison
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
