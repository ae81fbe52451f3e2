#!/usr/bin/env bash
# 构建离线安装包 (build a self-contained offline bundle for counter PCs without internet).
#
#   bash scripts/bundle.sh [--out DIR] [--python 3.11] [--platforms "linux-x86_64 linux-aarch64 windows-amd64"]
#
# The bundle holds the app's wheel and, per platform, every dependency's wheel (downloaded with
# `pip download --only-binary=:all:` from the configured package index), an install script that
# never touches the network (`pip install --no-index --find-links`), SHA256SUMS and a manifest.
# A platform whose wheels cannot all be found is reported and left out; the others still build.
# Exit code: 0 when every asked platform was built, 1 when some were left out, 2 on usage errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_BIN="${PYTHON:-python3}"
PYVER=""
OUT=""
PLATFORMS="linux-x86_64 linux-aarch64 windows-amd64"

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --python) PYVER="$2"; shift 2 ;;
    --platforms) PLATFORMS="$2"; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "未知参数：$1" >&2; exit 2 ;;
  esac
done

[ -n "$PYVER" ] || PYVER="$("$PYTHON_BIN" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
NODOT="${PYVER/./}"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/counter_app/__init__.py")"
NAME="counter-app-${VERSION}-py${NODOT}"
OUT="${OUT:-$ROOT/dist/$NAME}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

platform_tags() {
  case "$1" in
    linux-x86_64) echo "manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64 linux_x86_64" ;;
    linux-aarch64) echo "manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_28_aarch64 linux_aarch64" ;;
    windows-amd64) echo "win_amd64" ;;
    *) return 1 ;;
  esac
}

rm -rf "$OUT"
mkdir -p "$OUT/wheels"
echo "构建本应用的 wheel（counter-app $VERSION）..." >&2
"$PYTHON_BIN" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/app" "$ROOT" >&2
APP_WHEEL="$(ls "$WORK"/app/counter_app-*.whl)"
cp "$APP_WHEEL" "$OUT/wheels/"

built=()
missing=()
for platform in $PLATFORMS; do
  if ! tags="$(platform_tags "$platform")"; then
    echo "未知平台：$platform（可选 linux-x86_64 linux-aarch64 windows-amd64）" >&2
    exit 2
  fi
  args=()
  for tag in $tags; do args+=(--platform "$tag"); done
  dest="$OUT/wheels/$platform"
  mkdir -p "$dest"
  echo "下载 $platform 的依赖（Python $PYVER）..." >&2
  if "$PYTHON_BIN" -m pip download --quiet --only-binary=:all: "${args[@]}" \
      --python-version "$PYVER" --implementation cp --abi "cp$NODOT" --abi abi3 --abi none \
      --dest "$dest" "$APP_WHEEL" >"$WORK/$platform.log" 2>&1; then
    rm -f "$dest"/counter_app-*.whl  # the app's own wheel sits once, one level up
    built+=("$platform")
  else
    echo "✘ $platform：无法取得全部依赖的二进制 wheel，未包含在安装包中：" >&2
    grep -E "ERROR|No matching" "$WORK/$platform.log" | head -5 >&2 || tail -5 "$WORK/$platform.log" >&2
    rm -rf "$dest"
    missing+=("$platform")
  fi
done

cat >"$OUT/install.sh" <<'INSTALL'
#!/usr/bin/env bash
# 离线安装 counter-app（不访问网络）。用法：bash install.sh [虚拟环境目录]
# Installs (or updates) counter-app into a virtual environment from the wheels beside this file.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-${COUNTER_VENV:-$HOME/.local/share/counter-app/venv}}"
case "$(uname -m)" in
  x86_64|amd64) PLATFORM=linux-x86_64 ;;
  aarch64|arm64) PLATFORM=linux-aarch64 ;;
  *) echo "本安装包不支持此处理器：$(uname -m)" >&2; exit 1 ;;
esac
WHEELS="$HERE/wheels/$PLATFORM"
[ -d "$WHEELS" ] || { echo "安装包中没有 $PLATFORM 的依赖，请向省里索取对应的安装包" >&2; exit 1; }
WANT="$(cat "$HERE/PYTHON")"
PY="${PYTHON:-python$WANT}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c "import sys; v='%d.%d' % sys.version_info[:2]; sys.exit(v != '$WANT')" || {
  echo "需要 Python $WANT（本安装包的依赖按此版本下载）；可用 PYTHON=... 指定解释器" >&2; exit 1; }
(cd "$HERE" && sha256sum --quiet -c SHA256SUMS) || { echo "安装包文件不完整或被改动，未安装" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-index --find-links "$HERE/wheels" \
  --find-links "$WHEELS" --upgrade "counter-app==$(cat "$HERE/VERSION")"
"$VENV/bin/counter-app" --version
echo "已安装到 $VENV；启动：$VENV/bin/counter-app"
INSTALL

cat >"$OUT/install.bat" <<'INSTALL'
@echo off
rem 离线安装 counter-app（不访问网络）。用法：install.bat [虚拟环境目录]
setlocal
set HERE=%~dp0
set VENV=%~1
if "%VENV%"=="" set VENV=%LOCALAPPDATA%\counter-app\venv
set /p WANT=<"%HERE%PYTHON"
set /p VERSION=<"%HERE%VERSION"
if not exist "%HERE%wheels\windows-amd64" (echo 安装包中没有 Windows 的依赖 & exit /b 1)
if not exist "%VENV%\Scripts\python.exe" py -%WANT% -m venv "%VENV%" || exit /b 1
"%VENV%\Scripts\python.exe" -m pip install --no-index --find-links "%HERE%wheels" --find-links "%HERE%wheels\windows-amd64" --upgrade counter-app==%VERSION% || exit /b 1
"%VENV%\Scripts\counter-app.exe" --version
echo 已安装到 %VENV%
INSTALL

chmod +x "$OUT/install.sh"
echo "$VERSION" >"$OUT/VERSION"
echo "$PYVER" >"$OUT/PYTHON"
{
  echo "counter-app $VERSION 离线安装包（Python $PYVER）"
  echo "构建于 $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "包含平台：${built[*]:-无}"
  [ ${#missing[@]} -eq 0 ] || echo "未包含（缺少二进制 wheel）：${missing[*]}"
} >"$OUT/MANIFEST.txt"
(cd "$OUT" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
tar -C "$(dirname "$OUT")" -czf "$OUT.tar.gz" "$(basename "$OUT")"
echo "安装包：$OUT（$OUT.tar.gz）" >&2
echo "包含平台：${built[*]:-无}" >&2
if [ ${#missing[@]} -gt 0 ]; then
  echo "未包含：${missing[*]}" >&2
  exit 1
fi
