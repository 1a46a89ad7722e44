// npm run build: three wasm builds (cargo, release, wasm32): the v2 entry (`wxpay-sign`),
// the v3 entry (`wxpay-sign/v3`, with RSA and AES-GCM, which the v2 entry must not
// carry) and the message push (`wxpay-sign/push`, which no mini program loads);
// wasm-bindgen at exactly the pinned version (installed with cargo when missing); the Node
// (CJS + ESM) and browser entry points around js/api.js, js/api_v3.js and js/api_push.js.
// Each wasm has a size budget the build enforces. No downloads outside the package registries.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, rmSync, copyFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(here);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });

const pinned = /wasm-bindgen = "=([0-9.]+)"/.exec(readFileSync(join(here, 'Cargo.toml'), 'utf8'))[1];
let installed = '';
try {
  installed = execFileSync('wasm-bindgen', ['--version'], { encoding: 'utf8' }).trim().split(' ')[1];
} catch {}
if (installed !== pinned) {
  console.log(`installing wasm-bindgen-cli ${pinned} (found: ${installed || 'none'})`);
  run('cargo', ['install', 'wasm-bindgen-cli', '--version', `=${pinned}`]);
}

const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// binaryen's wasm-opt (an npm dev dependency) shrinks the wasm by ~9% at no cost in speed
// (measured: BENCHMARKS.md). The features are the ones rustc enables for wasm32.
const wasmOpt = join(here, 'node_modules', '.bin', 'wasm-opt');
const features = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue'];

/// Builds the wasm and returns its path as cargo reports it (a shared CARGO_TARGET_DIR or
/// a `build.target-dir` puts it elsewhere than the workspace's `target/`).
function cargoWasm(profile, cargoFeatures) {
  const out = execFileSync('cargo', ['build', '-p', 'wxpay-wasm', '--target', 'wasm32-unknown-unknown',
    '--profile', profile, ...cargoFeatures, '--message-format=json-render-diagnostics'],
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const message = JSON.parse(line);
    if (message.reason !== 'compiler-artifact' || message.target.name !== 'wxpay_wasm') continue;
    const wasm = message.filenames.find((file) => file.endsWith('.wasm'));
    if (wasm) return wasm;
  }
  throw new Error('cargo built wxpay-wasm but reported no .wasm artifact');
}

/// Builds the wasm with `cargoFeatures` and cargo `profile` into `out`/{node,web}, and
/// checks its shipped size against its budget.
function buildWasm(profile, cargoFeatures, out, budgetKiB) {
  const wasm = cargoWasm(profile, cargoFeatures);
  for (const target of ['node', 'web']) {
    run('wasm-bindgen', ['--target', target === 'node' ? 'nodejs' : 'web', '--out-dir', join(out, target),
      '--no-typescript', '--remove-name-section', '--remove-producers-section', wasm]);
  }
  const bindgenSize = readFileSync(join(out, 'node', 'wxpay_wasm_bg.wasm')).length;
  for (const target of ['node', 'web']) {
    const file = join(out, target, 'wxpay_wasm_bg.wasm');
    run(wasmOpt, ['-Oz', ...features, file, '-o', file]);
  }
  // wasm-bindgen's web output is an ES module with a .js name: say so for Node and bundlers.
  writeFileSync(join(out, 'web', 'package.json'), '{ "type": "module" }\n');
  const bytes = readFileSync(join(out, 'node', 'wxpay_wasm_bg.wasm'));
  const kib = bytes.length / 1024;
  console.log(`${out.slice(here.length + 1)}: wxpay_wasm_bg.wasm ${(bindgenSize / 1024).toFixed(1)} KiB after ` +
    `wasm-bindgen, ${kib.toFixed(1)} KiB after wasm-opt (shipped; budget ${budgetKiB} KiB), ` +
    `gzip ${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB`);
  if (kib > budgetKiB) {
    throw new Error(`${out}: ${kib.toFixed(1)} KiB is over the ${budgetKiB} KiB budget`);
  }
}

// 150 KiB until the explainer's reports crossed as objects through serde-wasm-bindgen
// (+3.7 KiB, issue 15): the budget moved to 155 KiB for that, not for anything else.
buildWasm('wasm', [], dist, 155);
buildWasm('wasm-v3', ['--no-default-features', '--features', 'v3'], join(dist, 'v3'), 300);
buildWasm('wasm-v3', ['--no-default-features', '--features', 'push'], join(dist, 'push'), 150);

// The repository's two license texts ship with the package (npm cannot reach outside it).
for (const license of ['LICENSE-MIT', 'LICENSE-APACHE']) {
  copyFileSync(join(here, '..', license), join(dist, license));
}

/// The wrapper around the wasm: js/common.js, the helper files `source` needs, `source`.
function wrapperSource(source) {
  const helpers = source === 'api.js' ? ['scratch.js'] : [];
  return ['common.js', ...helpers, source].map((file) => readFileSync(join(here, 'js', file), 'utf8')).join('\n');
}

/// The CJS, ESM and browser entries of one API file (`makeApi` or `makeV3Api`).
function entries({ source, make, names, cjs, mjs, browser, wasmDir, nodeExtra = '' }) {
  const api = wrapperSource(source);
  writeFileSync(join(dist, cjs),
    `'use strict';\n// Generated by scripts/build.mjs from js/${source}.\n` +
    `const raw = require('./${wasmDir}/node/wxpay_wasm.js');\n${api}\n${nodeExtra}` +
    `module.exports = ${make}(raw, nodePlatform);\n` +
    `// Nothing to load in Node; present so isomorphic code can always \`await init()\`.\n` +
    `module.exports.init = async function init() {};\n`);
  writeFileSync(join(dist, mjs),
    `// Generated by scripts/build.mjs.\nimport api from './${cjs}';\nexport const { ${names.join(', ')} } = api;\nexport default api;\n`);
  writeFileSync(join(dist, browser),
    `// Generated by scripts/build.mjs from js/${source}. Call \`await init()\` once before use.\n` +
    `import wasmInit, * as raw from './${wasmDir}/web/wxpay_wasm.js';\n${api}\n` +
    `const api = ${make}(raw, null);\n` +
    `// wasm-bindgen takes { module_or_path } (a bare argument is deprecated and warns): a URL,\n` +
    `// bytes or a Response given bare is passed in that form.\n` +
    `api.init = async function init(input) {\n` +
    `  const wrapped = input === undefined || (input !== null && Object.getPrototypeOf(input) === Object.prototype);\n` +
    `  await wasmInit(wrapped ? input : { module_or_path: input });\n};\n` +
    `export const { ${names.join(', ')} } = api;\nexport default api;\n`);
}

entries({
  source: 'api.js',
  make: 'makeApi',
  names: ['init', 'canonicalString', 'sign', 'verifySign', 'buildPaymentParams', 'checkPaymentParams',
    'parseXml', 'toXml', 'verifyPayNotify', 'decryptRefundInfo', 'decryptUserData', 'rawDataSignature',
    'sessionSignature'],
  cjs: 'index.cjs',
  mjs: 'index.mjs',
  browser: 'browser.mjs',
  wasmDir: '.',
  nodeExtra: 'const nodePlatform = null;\n',
});

// v3 in Node: the private-key operation (buildV3PaymentParams) runs in Node's crypto
// (OpenSSL, constant time); no private key ever enters the wasm.
entries({
  source: 'api_v3.js',
  make: 'makeV3Api',
  names: ['init', 'verifyV3Notify', 'verifyV3Response', 'decryptV3Resource', 'buildV3PaymentParams',
    'checkV3PaymentParams', 'v3RequestMessage'],
  cjs: 'v3.cjs',
  mjs: 'v3.mjs',
  browser: 'v3-browser.mjs',
  wasmDir: 'v3',
  nodeExtra: readFileSync(join(here, 'js', 'node_platform.js'), 'utf8'),
});

// The message push in Node and browsers, on its own wasm (no mini program entry: its
// Token and EncodingAESKey are server secrets).
entries({
  source: 'api_push.js',
  make: 'makePushApi',
  names: ['init', 'verifyPushUrl', 'openPush', 'sealPush', 'explainPush'],
  cjs: 'push.cjs',
  mjs: 'push.mjs',
  browser: 'push-browser.mjs',
  wasmDir: 'push',
  nodeExtra: 'const nodePlatform = null;\n',
});

// The mini program entries (package.json `miniprogram`: WeChat DevTools' "构建 npm" copies
// miniprogram_dist/ to miniprogram_npm/wxpay-sign/). A mini program has no WebAssembly,
// TextEncoder, TextDecoder, fetch or URL: the web glue is wrapped with js/utf8.js's
// classes in scope, its loader (fetch, URL, import.meta) cut off, and the wasm loaded with
// WXWebAssembly.instantiate(path, imports) from a brotli file in the code package.
const miniDist = join(here, 'miniprogram_dist');
rmSync(miniDist, { recursive: true, force: true });
mkdirSync(miniDist, { recursive: true });

function miniprogramEntry({ source, make, wasmDir, file, wasmName }) {
  let glue = readFileSync(join(dist, wasmDir, 'web', 'wxpay_wasm.js'), 'utf8');
  const loaderStart = glue.indexOf('async function __wbg_load(');
  if (loaderStart < 0) throw new Error('wasm-bindgen glue changed: no __wbg_load to cut');
  const exported = [...glue.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]);
  glue = glue.slice(0, loaderStart).replace(/^export (function|class) /gm, '$1 ');
  if (/^export /m.test(glue)) throw new Error('wasm-bindgen glue changed: an export this build does not know');
  for (const forbidden of ['import.meta', 'fetch(', 'new URL(', 'WebAssembly.']) {
    if (glue.includes(forbidden)) throw new Error(`mini program glue still uses ${forbidden}`);
  }
  const api = wrapperSource(source);
  const defaultPath = `/miniprogram_npm/wxpay-sign/${wasmName}`;
  writeFileSync(join(miniDist, file),
    `'use strict';\n// Generated by scripts/build.mjs: wxpay-sign for WeChat mini programs (js/${source}).\n` +
    `// \`await init()\` once (the wasm at ${defaultPath}, where 构建 npm puts it; or\n` +
    `// \`init(path)\` with its path in the code package), then the same calls as in Node.\n` +
    readFileSync(join(here, 'js', 'utf8.js'), 'utf8') +
    `const TextEncoder = MiniTextEncoder;\nconst TextDecoder = MiniTextDecoder;\n` +
    `const raw = (function () {\n${glue}\n` +
    `  async function load(path) {\n` +
    `    if (typeof WXWebAssembly === 'undefined') throw new Error('WXWebAssembly is missing: base library 2.13.0 or later is needed');\n` +
    `    const result = await WXWebAssembly.instantiate(path, __wbg_get_imports());\n` +
    `    return __wbg_finalize_init(result.instance, result.module);\n  }\n` +
    `  return { ${exported.join(', ')}, load };\n})();\n${api}\n` +
    `const api = ${make}(raw, null);\nlet loading;\n` +
    `api.init = function init(path) {\n` +
    `  if (loading === undefined) {\n` +
    `    loading = raw.load(path === undefined ? '${defaultPath}' : path);\n` +
    `    loading.catch(() => { loading = undefined; });\n  }\n` +
    `  return loading.then(() => undefined);\n};\nmodule.exports = api;\n`);
  const wasm = readFileSync(join(dist, wasmDir, 'web', 'wxpay_wasm_bg.wasm'));
  const br = brotliCompressSync(wasm, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(join(miniDist, wasmName), br);
  console.log(`miniprogram_dist/${wasmName}: ${(br.length / 1024).toFixed(1)} KiB (brotli of ${(wasm.length / 1024).toFixed(1)} KiB)`);
}

miniprogramEntry({ source: 'api.js', make: 'makeApi', wasmDir: '.', file: 'index.js', wasmName: 'wxpay_sign.wasm.br' });
miniprogramEntry({ source: 'api_v3.js', make: 'makeV3Api', wasmDir: 'v3', file: 'v3.js', wasmName: 'wxpay_sign_v3.wasm.br' });
