// The harness itself: the vm context has WeChat's globals and lacks what WeChat lacks, and
// the loader resolves like WeChat's. No sandbox needed (the URLs are never called).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const { MiniProgram } = require('./harness.js');

test('the context is a Mini Program logic layer, not Node', (t) => {
  const mp = new MiniProgram({ sandbox: { api: 'http://127.0.0.1:9', sim: 'http://127.0.0.1:9' } });
  t.after(() => mp.close());
  const types = vm.runInContext(
    `JSON.stringify({ WebAssembly: typeof WebAssembly, fetch: typeof fetch, TextEncoder: typeof TextEncoder,
      TextDecoder: typeof TextDecoder, URL: typeof URL, process: typeof process, Buffer: typeof Buffer,
      require: typeof require, wx: typeof wx, WXWebAssembly: typeof WXWebAssembly, Page: typeof Page,
      App: typeof App, getApp: typeof getApp, setTimeout: typeof setTimeout, Promise: typeof Promise })`,
    mp.context,
  );
  assert.deepEqual(JSON.parse(types), {
    WebAssembly: 'undefined', fetch: 'undefined', TextEncoder: 'undefined', TextDecoder: 'undefined',
    URL: 'undefined', process: 'undefined', Buffer: 'undefined', require: 'undefined',
    wx: 'object', WXWebAssembly: 'object', Page: 'function', App: 'function', getApp: 'function',
    setTimeout: 'function', Promise: 'function',
  });
  // require is per module, as in WeChat; paths resolve relative to the requiring file.
  const requireFromUtils = mp.makeRequire(`${mp.root}/utils`);
  assert.equal(typeof requireFromUtils('./format.js').yuan, 'function');
  assert.equal(requireFromUtils('./format.js').yuan(2805), '¥28.05');
  assert.equal(requireFromUtils('../config.js').apiBaseUrl, 'http://127.0.0.1:9');
  assert.throws(() => requireFromUtils('left-pad'), /module 'left-pad' is not defined/);
  assert.throws(() => requireFromUtils('../../outside.js'), /is not defined/);
});

test('the app sticks to syntax older WeChat runtimes parse (no ?. ?? catch{} import/export)', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const root = path.resolve(__dirname, '..');
  const files = ['app.js', 'config.js', ...['utils', 'pages/catalog', 'pages/pay', 'pages/result']
    .flatMap((dir) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.js')).map((f) => `${dir}/${f}`))];
  for (const file of files) {
    const code = fs.readFileSync(path.join(root, file), 'utf8').replace(/\/\/.*$/gm, '');
    for (const [name, pattern] of [['?.', /\?\.[a-zA-Z_$[(]/], ['??', /\?\?/], ['catch {', /catch\s*\{/], ['import', /^\s*import\s/m], ['export', /^\s*export\s/m]]) {
      assert.ok(!pattern.test(code), `${file} uses ${name}`);
    }
  }
});
