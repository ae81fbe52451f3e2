#!/usr/bin/env bash
# 安装并启动终端界面 (set up and start the app). Extra arguments go to counter-app,
# e.g.  bash scripts/start.sh --policy wuhu
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" ""  # no extras (not this script's arguments)
exec counter-app "$@"
