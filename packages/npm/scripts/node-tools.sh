# Pinned Node build tools (napi-rs's CLI, TypeScript), installed once from
# npm under target/node-tools; sourced by scripts/gen/node-types and
# scripts/suites/node. Sets NODE_TOOLS.
NODE_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/target/node-tools"
NAPI_CLI_VERSION=3.10.12
TYPESCRIPT_VERSION=5.9.3
TYPES_NODE_VERSION=20.19.43

ensure_node_tools() {
    local have_cli have_ts have_types
    have_cli=$(node -p "require('$NODE_TOOLS/node_modules/@napi-rs/cli/package.json').version" 2>/dev/null || true)
    have_ts=$(node -p "require('$NODE_TOOLS/node_modules/typescript/package.json').version" 2>/dev/null || true)
    have_types=$(node -p "require('$NODE_TOOLS/node_modules/@types/node/package.json').version" 2>/dev/null || true)
    if [ "$have_cli" = "$NAPI_CLI_VERSION" ] && [ "$have_ts" = "$TYPESCRIPT_VERSION" ] && [ "$have_types" = "$TYPES_NODE_VERSION" ]; then
        return 0
    fi
    echo "installing @napi-rs/cli@$NAPI_CLI_VERSION, typescript@$TYPESCRIPT_VERSION and @types/node@$TYPES_NODE_VERSION into $NODE_TOOLS"
    mkdir -p "$NODE_TOOLS"
    [ -f "$NODE_TOOLS/package.json" ] || echo '{"private": true}' >"$NODE_TOOLS/package.json"
    (cd "$NODE_TOOLS" && npm install --no-audit --no-fund --loglevel=error \
        "@napi-rs/cli@$NAPI_CLI_VERSION" "typescript@$TYPESCRIPT_VERSION" "@types/node@$TYPES_NODE_VERSION")
}
