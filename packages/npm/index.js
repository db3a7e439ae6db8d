"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.DEFAULT_TIMEOUT = exports.parseDuration = exports.decodeToken = exports.errorClasses = exports.Closed = exports.BackendUnavailable = exports.Unsupported = exports.NotHeld = exports.LockLost = exports.LockTimeout = exports.InvalidToken = exports.InvalidArgument = exports.LockError = exports.Held = exports.Lock = exports.Locks = void 0;
/**
 * ferrolock: distributed locks with fencing tokens, fair waiting, renewal
 * and cross-language handoff, over one Rust engine.
 *
 * ```ts
 * import { Locks } from 'ferrolock'
 * const locks = await Locks.connect('redis://127.0.0.1:6379')
 * await locks.lock('invoice:42', { ttl: '30s' }).run(async (held) => {
 *   // held.fence grows with every acquisition; held.lost fires on loss
 * }, { timeout: '5s' })
 * ```
 *
 * This file loads the native addon (`bindings/node`) under the TypeScript
 * layer (`api.ts`, which the WebAssembly entry `ferrolock/wasm` shares).
 */
const path = require("node:path");
const api_1 = require("./api");
// ---------------------------------------------------------------- loading
function platformTriple() {
    const { platform, arch } = process;
    if (platform !== 'linux')
        return `${platform}-${arch}`;
    const report = process.report?.getReport?.();
    return `linux-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}
/**
 * The addon, by napi-rs's per-platform convention: `ferrolock.<triple>.node`
 * beside this file (a build from source, or a packed tarball), else the
 * package `ferrolock-<triple>`. `FERROLOCK_NATIVE_LIBRARY_PATH` overrides.
 */
function loadNative() {
    const override = process.env.FERROLOCK_NATIVE_LIBRARY_PATH;
    if (override)
        return require(path.resolve(override));
    const triple = platformTriple();
    const tried = [];
    for (const candidate of [path.join(__dirname, `ferrolock.${triple}.node`), `ferrolock-${triple}`]) {
        try {
            return require(candidate);
        }
        catch (e) {
            if (e.code !== 'MODULE_NOT_FOUND')
                throw e;
            tried.push(candidate);
        }
    }
    throw new Error(`ferrolock: no native addon for ${triple} (tried ${tried.join(', ')}); ` +
        'reinstall the package, or install it from the repository to build it from source');
}
(0, api_1.useNative)(loadNative());
var api_2 = require("./api");
Object.defineProperty(exports, "Locks", { enumerable: true, get: function () { return api_2.Locks; } });
Object.defineProperty(exports, "Lock", { enumerable: true, get: function () { return api_2.Lock; } });
Object.defineProperty(exports, "Held", { enumerable: true, get: function () { return api_2.Held; } });
Object.defineProperty(exports, "LockError", { enumerable: true, get: function () { return api_2.LockError; } });
Object.defineProperty(exports, "InvalidArgument", { enumerable: true, get: function () { return api_2.InvalidArgument; } });
Object.defineProperty(exports, "InvalidToken", { enumerable: true, get: function () { return api_2.InvalidToken; } });
Object.defineProperty(exports, "LockTimeout", { enumerable: true, get: function () { return api_2.LockTimeout; } });
Object.defineProperty(exports, "LockLost", { enumerable: true, get: function () { return api_2.LockLost; } });
Object.defineProperty(exports, "NotHeld", { enumerable: true, get: function () { return api_2.NotHeld; } });
Object.defineProperty(exports, "Unsupported", { enumerable: true, get: function () { return api_2.Unsupported; } });
Object.defineProperty(exports, "BackendUnavailable", { enumerable: true, get: function () { return api_2.BackendUnavailable; } });
Object.defineProperty(exports, "Closed", { enumerable: true, get: function () { return api_2.Closed; } });
Object.defineProperty(exports, "errorClasses", { enumerable: true, get: function () { return api_2.errorClasses; } });
Object.defineProperty(exports, "decodeToken", { enumerable: true, get: function () { return api_2.decodeToken; } });
Object.defineProperty(exports, "parseDuration", { enumerable: true, get: function () { return api_2.parseDuration; } });
Object.defineProperty(exports, "DEFAULT_TIMEOUT", { enumerable: true, get: function () { return api_2.DEFAULT_TIMEOUT; } });
