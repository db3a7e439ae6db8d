// swift-tools-version:5.9
// The ferrolock Swift package: the UniFFI-generated bindings (FerrolockFFI,
// FerrolockFFIC: written by scripts/gen/uniffi, do not edit) and the async
// layer users import (Ferrolock). The native library is bindings/uniffi,
// built by `cargo build --release -p ferrolock-uniffi` into the repository's
// target/release (see README.md: not compiled on the project's machines).
import PackageDescription

let package = Package(
    name: "Ferrolock",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "Ferrolock", targets: ["Ferrolock"]),
    ],
    targets: [
        .target(
            name: "FerrolockFFIC",
            path: "Sources/FerrolockFFIC",
            publicHeadersPath: "include"
        ),
        .target(
            name: "FerrolockFFI",
            dependencies: ["FerrolockFFIC"],
            path: "Sources/FerrolockFFI",
            linkerSettings: [
                .linkedLibrary("ferrolock_uniffi"),
                .unsafeFlags(["-L../../target/release"]),
            ]
        ),
        .target(name: "Ferrolock", dependencies: ["FerrolockFFI"], path: "Sources/Ferrolock"),
        .testTarget(name: "FerrolockTests", dependencies: ["Ferrolock"], path: "Tests/FerrolockTests"),
    ]
)
