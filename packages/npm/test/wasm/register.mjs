// `node --import ./test/wasm/register.mjs`: the shared test files import
// `ferrolock`; under this hook they get `ferrolock/wasm` (the WebAssembly
// build under the same TypeScript layer) instead, and helpers.mjs knows it
// (FERROLOCK_TEST_ENTRY=wasm).
import { register } from 'node:module'

process.env.FERROLOCK_TEST_ENTRY = 'wasm'
register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  return next(specifier === 'ferrolock' ? 'ferrolock/wasm' : specifier, context)
}`),
  import.meta.url,
)
