# Debian packages the scripts need, installed when missing (sourced by
# servers.sh, and by the scripts that build the CLI or a binding without
# starting servers: sourcing this makes no folder).

ensure_packages() { # ensure_packages COMMAND PACKAGE...
    local cmd=$1
    shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    echo "installing $* from Debian's packages"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

# The couchbase crate (in the core's `backends`: the CLI and every native
# binding) builds its TLS on the system's OpenSSL (native-tls): its headers
# and pkg-config, before any cargo build of those.
ensure_openssl_dev() {
    if ! dpkg -s libssl-dev >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
        ensure_packages /nonexistent/ferrolock-needs-libssl libssl-dev pkg-config
    fi
}
