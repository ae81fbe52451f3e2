#!/usr/bin/env bash
# Debian packages the tests need beyond Python; sourced by test.sh (and so by .ci/run).
# Installs what is missing when apt-get can run (as root, or with password-less sudo);
# otherwise says what to install and goes on.
need_apt=()
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
# The printing tests read PDFs back with pdftotext, pdftoppm and pdffonts.
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
# The sync tests run the provincial server on PostgreSQL too: they start a throwaway cluster
# (initdb/pg_ctl as the postgres user) and fail in CI when PostgreSQL is missing.
command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ||
  need_apt+=(postgresql)
# The system-printer test hands a PDF to a private CUPS scheduler (cupsd, lp, lpadmin).
{ command -v cupsd >/dev/null 2>&1 || [ -x /usr/sbin/cupsd ]; } || need_apt+=(cups)
command -v lp >/dev/null 2>&1 || need_apt+=(cups-client)
if [ "${#need_apt[@]}" -gt 0 ]; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  if command -v apt-get >/dev/null 2>&1 && "${as_root[@]}" true 2>/dev/null; then
    echo "安装系统软件包：${need_apt[*]} ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq "${need_apt[@]}" >&2
  else
    echo "请先安装：${need_apt[*]}（Debian/Ubuntu: sudo apt-get install ${need_apt[*]}）" >&2
  fi
fi
