// Runs the Mini Program in Node like WeChat's logic layer does: its files in a node:vm
// context with WeChat's globals only (App, Page, getApp, getCurrentPages, wx, a per-module
// require, WXWebAssembly, console, timers) and without what WeChat lacks (WebAssembly,
// fetch, TextEncoder, TextDecoder, URL, process, Buffer). The `wx` double plays WeChat
// against a real sandbox: wx.login and wx.requestPayment through the simulator's control
// API, wx.request over real HTTP. There is no view layer: tests call the handlers a tap
// would call (after checking the page's WXML binds them) and read page.data.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const zlib = require('node:zlib');
const { REPO } = require('./sandbox.js');

const EXAMPLE = path.resolve(__dirname, '..');
const DIST = path.join(REPO, 'wasm-pkg', 'miniprogram_dist');
const APPID = 'wxd930ea5d5a258f4f';

// One HTTP exchange; every wait is bounded.
function httpRequest(method, url, { body, headers = {}, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function postJson(url, value) {
  const res = await httpRequest('POST', url, { body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode} ${res.text}`);
  return JSON.parse(res.text);
}

// A temp copy of the example as DevTools would build it: 构建 npm copies the package's
// miniprogram_dist into miniprogram_npm/<name>/. config.js gets the test's values.
function buildCopy(config) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-miniprogram-'));
  const skip = new Set(['test', 'node_modules', 'miniprogram_npm']);
  for (const name of fs.readdirSync(EXAMPLE)) {
    if (!skip.has(name)) fs.cpSync(path.join(EXAMPLE, name), path.join(root, name), { recursive: true });
  }
  if (fs.existsSync(DIST)) {
    fs.cpSync(DIST, path.join(root, 'miniprogram_npm', 'wxpay-sign'), { recursive: true });
  }
  const base = require(path.join(EXAMPLE, 'config.js'));
  const merged = { ...base, ...config };
  fs.writeFileSync(path.join(root, 'config.js'), `module.exports = ${JSON.stringify(merged, null, 2)};\n`);
  return root;
}

function parseUrl(url) {
  const [pathname, search = ''] = url.split('?');
  const query = {};
  // Like WeChat: onLoad gets the values undecoded.
  for (const pair of search.split('&').filter(Boolean)) {
    const i = pair.indexOf('=');
    query[i < 0 ? pair : pair.slice(0, i)] = i < 0 ? '' : pair.slice(i + 1);
  }
  return { route: pathname.replace(/^\//, ''), query };
}

// page.setData's keys: 'a', 'a.b', 'list[0].name'.
function setPath(target, key, value) {
  const parts = key.replace(/\[(\d+)\]/g, '.$1').split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== 'object') node[part] = {};
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}

class MiniProgram {
  // sandbox: {api, sim}; envVersion: 'release' | 'trial' | 'develop'; config: config.js values.
  constructor({ sandbox, envVersion = 'release', appId = APPID, config = {} }) {
    this.sandbox = sandbox;
    this.envVersion = envVersion;
    this.appId = appId;
    // What the test controls and reads.
    this.payOutcomes = []; // next wx.requestPayment outcomes ('ok' when empty)
    this.onResponse = null; // (request, res) => res: wraps wx.request's answers
    this.storage = new Map();
    this.requests = [];
    this.logins = 0; // wx.login calls
    this.payments = [];
    this.receiptOutcomes = []; // next confirm-receipt outcomes ('success' when empty)
    this.businessViews = []; // wx.openBusinessView calls
    this.navigations = [];
    this.toasts = [];
    this.modals = [];
    this.wasmLoads = [];
    this.errors = [];
    this.stack = [];
    this.opened = []; // every page instance, in order
    this.openid = '';
    this.root = buildCopy({ apiBaseUrl: sandbox.api, simulatorUrl: '', statusPoll: { attempts: 10, intervalMs: 200 }, ...config });
    this.appJson = JSON.parse(fs.readFileSync(path.join(this.root, 'app.json'), 'utf8'));
    this.modules = new Map();
    this.pageDefs = new Map();
    this.registering = null;
    this.app = null;

    this.context = vm.createContext({
      console,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      App: (options) => { this.app = options; },
      Page: (options) => {
        if (this.registering === null) throw new Error('Page() outside a page file');
        this.pageDefs.set(this.registering, options);
      },
      getApp: () => this.app,
      getCurrentPages: () => this.stack.slice(),
      wx: this.makeWx(),
      WXWebAssembly: this.makeWxWebAssembly(),
    });
    // V8 gives every context WebAssembly; WeChat's logic layer has only WXWebAssembly.
    vm.runInContext('delete globalThis.WebAssembly;', this.context);
    this.JSON = vm.runInContext('JSON', this.context); // answers are objects of the app's realm
  }

  // ---- the module loader: relative paths, '/' from the root, miniprogram_npm/<pkg>.

  resolve(fromDir, spec) {
    const candidates = (base) => [base, `${base}.js`, path.join(base, 'index.js')];
    const inRoot = (file) => file.startsWith(this.root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile();
    let tried = [];
    if (spec.startsWith('/')) tried = candidates(path.join(this.root, spec));
    else if (spec.startsWith('./') || spec.startsWith('../')) tried = candidates(path.resolve(fromDir, spec));
    else {
      // An npm package: miniprogram_npm in this directory or one above it, up to the root.
      for (let dir = fromDir; dir.startsWith(this.root); dir = path.dirname(dir)) {
        tried.push(...candidates(path.join(dir, 'miniprogram_npm', spec)));
        if (dir === this.root) break;
      }
    }
    const found = tried.find(inRoot);
    if (!found) throw new Error(`module '${spec}' is not defined (required from ${path.relative(this.root, fromDir) || '/'})`);
    return found;
  }

  makeRequire(fromDir) {
    return (spec) => {
      const file = this.resolve(fromDir, spec);
      const cached = this.modules.get(file);
      if (cached) return cached.exports;
      const module = { exports: {} };
      this.modules.set(file, module);
      const code = fs.readFileSync(file, 'utf8');
      // One line of wrapper, so stack traces keep the file's line numbers.
      const wrapper = new vm.Script(`(function (module, exports, require) {${code}\n})`, { filename: file });
      wrapper.runInContext(this.context).call(module.exports, module, module.exports, this.makeRequire(path.dirname(file)));
      return module.exports;
    };
  }

  // Whether a file of the copy was required, e.g. loaded('utils/debug-check.js').
  loaded(relative) {
    return this.modules.has(path.join(this.root, relative));
  }

  // ---- pages and routing.

  definePage(route) {
    if (!this.appJson.pages.includes(route)) throw new Error(`page "${route}" is not found in app.json`);
    if (!this.pageDefs.has(route)) {
      this.registering = route;
      try {
        this.makeRequire(this.root)(`/${route}.js`);
      } finally {
        this.registering = null;
      }
      if (!this.pageDefs.has(route)) throw new Error(`${route}.js did not call Page()`);
    }
    return this.pageDefs.get(route);
  }

  openPage(url) {
    const { route, query } = parseUrl(url);
    const def = this.definePage(route);
    const page = {};
    for (const [key, value] of Object.entries(def)) if (key !== 'data') page[key] = value;
    page.data = JSON.parse(JSON.stringify(def.data || {}));
    page.route = route;
    page.options = query;
    page.wxml = fs.readFileSync(path.join(this.root, `${route}.wxml`), 'utf8');
    page.setData = (changes, callback) => {
      for (const [key, value] of Object.entries(changes)) {
        // The view layer gets JSON: undefined is refused there, functions vanish.
        if (value === undefined) this.errors.push(new Error(`${route}: setData ${key} to undefined`));
        else setPath(page.data, key, JSON.parse(JSON.stringify(value)));
      }
      if (callback) callback();
    };
    this.stack.push(page);
    this.opened.push(page);
    this.lifecycle(page, 'onLoad', query);
    this.lifecycle(page, 'onShow');
    return page;
  }

  lifecycle(page, name, arg) {
    if (typeof page[name] !== 'function') return;
    try {
      const result = page[name](arg);
      if (result && typeof result.then === 'function') result.then(undefined, (error) => this.errors.push(error));
    } catch (error) {
      this.errors.push(error);
    }
  }

  navigate(type, options) {
    const { route } = parseUrl(options.url);
    const known = this.appJson.pages.includes(route);
    const res = { errMsg: known ? `${type}:ok` : `${type}:fail page "${route}" is not found` };
    this.navigations.push({ type, url: options.url });
    // WeChat switches pages after the call returns.
    setImmediate(() => {
      if (known) {
        const unload = type === 'reLaunch' ? this.stack.length : type === 'redirectTo' ? 1 : 0;
        for (let i = 0; i < unload; i += 1) this.lifecycle(this.stack.pop(), 'onUnload');
        this.openPage(options.url);
      }
      this.callback(options, res, known);
    });
  }

  callback(options, res, ok) {
    if (ok && options.success) options.success(res);
    if (!ok && options.fail) options.fail(res);
    if (options.complete) options.complete(res);
  }

  // An async wx API: callbacks, or a promise when none is given (as WeChat does).
  asyncApi(name, options = {}, work) {
    const wantsPromise = !['success', 'fail', 'complete'].some((k) => typeof options[k] === 'function');
    const settled = Promise.resolve()
      .then(work)
      .catch((error) => ({ errMsg: `${name}:fail ${error.message}` }))
      .then((res) => {
        const ok = res.errMsg === `${name}:ok`;
        this.callback(options, res, ok);
        if (!ok && wantsPromise) throw res;
        return res;
      });
    if (wantsPromise) return settled;
    settled.catch(() => {});
    return undefined;
  }

  makeWx() {
    const mp = this;
    return {
      getAccountInfoSync: () => ({ miniProgram: { appId: mp.appId, envVersion: mp.envVersion, version: '' }, plugin: {} }),
      getStorageSync: (key) => (mp.storage.has(key) ? mp.JSON.parse(mp.storage.get(key)) : ''),
      setStorageSync: (key, value) => { mp.storage.set(key, JSON.stringify(value)); },
      removeStorageSync: (key) => { mp.storage.delete(key); },
      clearStorageSync: () => { mp.storage.clear(); },

      login: (options) => mp.asyncApi('login', options, async () => {
        mp.logins += 1;
        const reply = await postJson(`${mp.sandbox.sim}/sim/login`, { appid: mp.appId });
        mp.openid = reply.openid; // who holds the phone, for wx.requestPayment
        return { code: reply.code, errMsg: 'login:ok' };
      }),

      request: (options) => {
        const task = { abort() {} };
        mp.asyncApi('request', options, () => mp.request(options));
        return task;
      },

      requestPayment: (options) => mp.asyncApi('requestPayment', options, async () => {
        const five = {};
        for (const key of ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) five[key] = options[key];
        mp.payments.push(five);
        const outcome = mp.payOutcomes.length > 0 ? mp.payOutcomes.shift() : 'ok';
        return postJson(`${mp.sandbox.sim}/sim/pay`, { ...five, appid: mp.appId, openid: mp.openid, outcome });
      }),

      // WeChat's receipt confirmation component: the payer confirms at WeChat (the
      // simulator), and the component returns through App.onShow with its answer in
      // referrerInfo, then the page shows again, as WeChat does.
      openBusinessView: (options) => mp.asyncApi('openBusinessView', options, async () => {
        mp.businessViews.push({ businessType: options.businessType, extraData: options.extraData });
        if (options.businessType !== 'weappOrderConfirm') throw new Error('unknown businessType');
        const status = mp.receiptOutcomes.length > 0 ? mp.receiptOutcomes.shift() : 'success';
        if (status === 'success') {
          await postJson(`${mp.sandbox.sim}/sim/shipping/confirm`, { appid: mp.appId, ...options.extraData });
        }
        setTimeout(() => {
          const referrerInfo = { appId: 'wx1183b055aeec94d1', extraData: { status, req_extradata: options.extraData } };
          mp.lifecycle(mp.app, 'onShow', { scene: 1038, referrerInfo });
          mp.lifecycle(mp.page, 'onShow');
        }, 10);
        return { errMsg: 'openBusinessView:ok' };
      }),

      navigateTo: (options) => mp.navigate('navigateTo', options),
      redirectTo: (options) => mp.navigate('redirectTo', options),
      reLaunch: (options) => mp.navigate('reLaunch', options),
      navigateBack: () => { mp.lifecycle(mp.stack.pop(), 'onUnload'); },

      showToast: (options) => { mp.toasts.push(options); },
      showModal: (options) => {
        mp.modals.push(options);
        return mp.asyncApi('showModal', options, () => ({ confirm: true, cancel: false, errMsg: 'showModal:ok' }));
      },
      showLoading: () => {},
      hideLoading: () => {},
      stopPullDownRefresh: () => {},
    };
  }

  // wx.request over real HTTP. data: JSON for other methods than GET, a query for GET.
  async request(options) {
    const method = (options.method || 'GET').toUpperCase();
    const headers = { 'content-type': 'application/json', ...(options.header || {}) };
    let url = options.url;
    let body;
    if (options.data !== undefined && options.data !== null) {
      if (method === 'GET') {
        const query = Object.entries(options.data).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        if (query) url += (url.includes('?') ? '&' : '?') + query;
      } else {
        body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
      }
    }
    const entry = { method, url, data: options.data };
    this.requests.push(entry);
    const raw = await httpRequest(method, url, { body, headers, timeoutMs: Math.min(options.timeout || 60000, 15000) });
    let data = raw.text;
    if (options.dataType === undefined || options.dataType === 'json') {
      try {
        data = this.JSON.parse(raw.text);
      } catch {
        // not JSON: the text, as WeChat gives it
      }
    }
    entry.statusCode = raw.statusCode;
    let res = { data, statusCode: raw.statusCode, header: raw.headers, errMsg: 'request:ok' };
    if (this.onResponse) res = this.onResponse(entry, res) || res;
    return res;
  }

  makeWxWebAssembly() {
    const mp = this;
    return {
      // A path in the code package; .wasm.br is brotli-compressed (WeChat inflates it).
      instantiate(file, imports) {
        return Promise.resolve().then(() => {
          if (typeof file !== 'string' || !/\.wasm(\.br)?$/.test(file)) {
            throw new Error(`WXWebAssembly.instantiate: a path to a .wasm or .wasm.br file, not ${file}`);
          }
          mp.wasmLoads.push(file);
          let bytes = fs.readFileSync(path.join(mp.root, file));
          if (file.endsWith('.br')) bytes = zlib.brotliDecompressSync(bytes);
          return WebAssembly.instantiate(bytes, imports);
        });
      },
    };
  }

  // ---- driving it.

  // Launches like WeChat: app.js, App's onLaunch, then the first page of app.json.
  launch() {
    this.makeRequire(this.root)('/app.js');
    if (!this.app) throw new Error('app.js did not call App()');
    this.lifecycle(this.app, 'onLaunch', { path: this.appJson.pages[0], query: {}, scene: 1001 });
    return this.openPage(`/${this.appJson.pages[0]}`);
  }

  get page() {
    return this.stack[this.stack.length - 1];
  }

  // What a tap does: the handler the WXML binds, with the element's data-* set.
  tap(page, handler, dataset = {}) {
    if (!new RegExp(`bind:?tap="${handler}"`).test(page.wxml)) throw new Error(`${page.route}.wxml binds no tap to ${handler}`);
    const event = { type: 'tap', currentTarget: { dataset }, target: { dataset }, detail: {} };
    return page[handler](event);
  }

  // Polls until predicate() is truthy; fails after timeoutMs with what the app shows.
  async waitFor(predicate, what, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.errors.length > 0) throw this.errors[0];
      const page = this.page;
      // A page showing an error will not get anywhere: say so now, not at the deadline.
      if (page && page.data.state === 'error') throw new Error(`${page.route} shows an error: ${page.data.error}`);
      const value = predicate();
      if (value) return value;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; on ${page && page.route}: ${JSON.stringify(page && page.data)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // Waits until a page of `route` has been opened (it may have been left already).
  waitForPage(route, what = route, timeoutMs) {
    return this.waitFor(() => this.opened.find((page) => page.route === route), what, timeoutMs);
  }

  // The order as the server has it, asked with the app's own token.
  async serverOrder(orderNo) {
    const token = this.JSON.parse(this.storage.get('token'));
    const res = await httpRequest('GET', `${this.sandbox.api}/v1/orders/${orderNo}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.statusCode !== 200) throw new Error(`GET /v1/orders/${orderNo}: HTTP ${res.statusCode} ${res.text}`);
    return JSON.parse(res.text);
  }

  close() {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

module.exports = { MiniProgram, httpRequest, postJson, APPID, DIST };
