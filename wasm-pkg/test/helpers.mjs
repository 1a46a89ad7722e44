// Shared test helpers: the package under test (CommonJS entry) and the project's
// golden vectors (the same file the Rust core's tests read).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const wx = require('../dist/index.cjs');
export const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../tests/vectors/vectors.json', import.meta.url)), 'utf8'),
);

/** Each position of `text`, one at a time, with its character code XOR 1. */
export function* flips(text) {
  for (let i = 0; i < text.length; i++) {
    const flipped = String.fromCharCode(text.charCodeAt(i) ^ 1);
    yield text.slice(0, i) + flipped + text.slice(i + 1);
  }
}

export function throwsCode(fn, code) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`expected an Error, got ${e}`);
    if (e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected an error with code ${code}`);
}
