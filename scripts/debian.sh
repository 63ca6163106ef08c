# Sourced by the scripts that need Debian packages: `debian_install WHO PKG...`
# installs the packages (updating the package lists when an install without
# that fails), or says that apt-get is not here and fails. WHO names the
# script in messages.
debian_install() {
  local who=$1; shift
  [ $# -gt 0 ] || return 0
  if ! command -v apt-get >/dev/null; then
    echo "$who: $* missing, and apt-get is not here to install them" >&2
    return 1
  fi
  echo "$who: installing $*" >&2
  apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -q "$@" >/dev/null; }
}
