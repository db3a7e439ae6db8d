//! uniffi-bindgen, for scripts/gen/uniffi (the version bindings/uniffi uses).
fn main() {
    uniffi::uniffi_bindgen_main()
}
