// Give libferrolock.so a SONAME, so that programs linked against it by
// path (CMake's imported target) record `libferrolock.so`, found through
// their rpath or the loader's path, rather than the build-time path.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libferrolock.so");
    }
}
