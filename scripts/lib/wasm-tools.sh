# The WebAssembly toolchain of ferrolock/wasm: rustup's wasm32-unknown-unknown
# target, and wasm-bindgen's CLI at exactly the version of the wasm-bindgen
# crate bindings/wasm pins, built once from crates.io into
# ~/.cache/ferrolock (FERROLOCK_TOOLS_CACHE) and reused. Sourced by
# scripts/gen/wasm; sets WASM_BINDGEN.
WASM_BINDGEN_VERSION=0.2.130
WASM_BINDGEN="${FERROLOCK_TOOLS_CACHE:-$HOME/.cache/ferrolock}/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"

ensure_wasm_tools() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    if [ "$("$WASM_BINDGEN" --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
        echo "building wasm-bindgen-cli $WASM_BINDGEN_VERSION into $(dirname "$(dirname "$WASM_BINDGEN")") (once)"
        # Not --locked: its lock file names a webpki-roots this index lacks.
        cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
            --root "$(dirname "$(dirname "$WASM_BINDGEN")")"
    fi
}
