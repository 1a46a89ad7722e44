#!/usr/bin/env node
// `npx wxpay-sign copy-miniprogram <dir>`: copies the mini program entry (index.js, v3.js
// and their brotli wasm files) into <dir> inside a mini program, for projects that do not
// use WeChat DevTools' "构建 npm" (which copies the same files to miniprogram_npm/wxpay-sign/).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [command, target] = process.argv.slice(2);
if (command !== 'copy-miniprogram' || !target) {
  console.error('usage: wxpay-sign copy-miniprogram <dir inside your mini program>');
  process.exit(2);
}
const source = path.join(__dirname, '..', 'miniprogram_dist');
if (!fs.existsSync(source)) {
  console.error(`${source} is missing: this copy of wxpay-sign was not built (npm run build)`);
  process.exit(1);
}
fs.mkdirSync(target, { recursive: true });
for (const file of fs.readdirSync(source)) {
  fs.copyFileSync(path.join(source, file), path.join(target, file));
  console.log(`copied ${file}`);
}
console.log(
  `in the mini program: require('<that dir>/index.js') and \`await init('/<that dir>/wxpay_sign.wasm.br')\` ` +
    '(the path from the code package root; v3: v3.js and wxpay_sign_v3.wasm.br)',
);
