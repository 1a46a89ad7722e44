// The README's examples are run as tests, so the README cannot rot. Every ```js block
// (CommonJS) and ```mjs block (ESM) runs as its own program inside the package, where
// require('wxpay-sign') / import 'wxpay-sign' resolve to this package itself.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./.readme/', import.meta.url));
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const blocks = [...readme.matchAll(/```(js|mjs)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));

test('the README has runnable examples', () => {
  assert.ok(blocks.length >= 3, `found ${blocks.length}`);
});

test('every README example runs', () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    blocks.forEach(({ lang, code }, i) => {
      const file = `${dir}example-${i}.${lang === 'js' ? 'cjs' : 'mjs'}`;
      writeFileSync(file, code);
      try {
        execFileSync(process.execPath, [file], { stdio: 'pipe' });
      } catch (e) {
        assert.fail(`README example ${i} failed:\n${code}\n${e.stderr}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
