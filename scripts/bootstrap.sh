#!/usr/bin/env bash
# Sourced by scripts/storecast and scripts/test: installs the system packages storecast needs
# that this machine lacks, and exports CMAKE for the LightGBM build.
# Debian/Ubuntu (apt-get); elsewhere it prints what to install and goes on.
#   clang, libclang-dev       : bindgen for LightGBM's C API
#   cmake >= 3.28             : builds LightGBM 4.6 (Debian 12 has 3.25: the PyPI `cmake` wheel is used then)
#   chromium, chromium-driver : the browser tests of the web app and the HTML reports
need=(cmake clang libclang-dev chromium chromium-driver)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "bootstrap: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install: ${missing[*]}" >&2
  fi
fi
cmake_ok() { "$1" --version 2>/dev/null | awk 'NR==1{split($3,v,"."); exit !(v[1]>3 || (v[1]==3 && v[2]>=28))}'; }
if [ -z "${CMAKE:-}" ] || ! cmake_ok "$CMAKE"; then
  if cmake_ok /usr/bin/cmake; then
    export CMAKE=/usr/bin/cmake
  else
    py=$(command -v python3 || true)
    if [ -n "$py" ] && ! "$py" -c "import cmake" 2>/dev/null; then
      echo "bootstrap: system cmake is older than 3.28; installing the PyPI cmake wheel" >&2
      "$py" -m pip install --quiet --disable-pip-version-check 'cmake>=3.28,<4' >&2 2>/dev/null \
        || "$py" -m pip install --quiet --disable-pip-version-check --break-system-packages 'cmake>=3.28,<4' >&2
    fi
    if [ -n "$py" ]; then
      CMAKE=$("$py" -c "import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, 'cmake'))")
      export CMAKE
    fi
  fi
fi
command -v cargo >/dev/null || { echo "bootstrap: cargo not found; install Rust (rustup)" >&2; exit 1; }
