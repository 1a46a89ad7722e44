// A real `wxpay serve --sandbox` process for the tests: free ports, its own temp directory
// (its SQLite file lives in the working directory), killed by stop().
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '../../..');

// target/debug/wxpay, or under $CARGO_TARGET_DIR: built by `cargo build -p wxpay-server`.
function wxpayBinary() {
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(REPO, process.env.CARGO_TARGET_DIR) : path.join(REPO, 'target');
  const binary = path.join(target, 'debug', process.platform === 'win32' ? 'wxpay.exe' : 'wxpay');
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: build it first with \`cargo build -p wxpay-server\` (the tests run the real server)`);
  }
  return binary;
}

// Starts the sandbox (extra args: ['--api', 'v3']) and resolves once its banner names both URLs.
function startSandbox(args = [], { timeoutMs = 30000 } = {}) {
  const binary = wxpayBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-miniprogram-sandbox-'));
  const child = spawn(binary, ['serve', '--sandbox', '--bind', '127.0.0.1:0', '--sim-bind', '127.0.0.1:0', ...args], {
    cwd: dir,
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Read everything to the end: a full pipe would block the server's log writes.
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Never outlive the test process, whatever happens to it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearInterval(poll);
      clearTimeout(timer);
      stop().finally(() => reject(new Error(`${why}\n--- sandbox output ---\n${output}`)));
    };
    const timer = setTimeout(() => fail(`the sandbox printed no banner within ${timeoutMs} ms`), timeoutMs);
    const onExit = (code) => fail(`the sandbox exited early (${code})`);
    const onError = (error) => fail(`cannot start ${binary}: ${error.message}`);
    child.once('exit', onExit);
    child.once('error', onError);
    const poll = setInterval(() => {
      const api = /^\s*API:\s+(\S+)/m.exec(output);
      const sim = /^\s*WeChat simulator:\s+(\S+)/m.exec(output);
      if (api && sim) {
        clearInterval(poll);
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        resolve({ api: api[1], sim: sim[1], dir, stop, output: () => output });
      }
    }, 20);
  });
}

module.exports = { startSandbox, wxpayBinary, REPO };
