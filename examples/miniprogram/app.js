// The app: logs in early (unless a token is kept), so the first "buy" does not wait for
// it. Calls log in again by themselves when the token is missing or rejected (utils/api.js).
const api = require('./utils/api.js');
const wechat = require('./utils/wechat.js');

App({
  onLaunch() {
    api.ensureLogin().catch((error) => console.warn('login: ' + error.message));
  },

  // Back from WeChat's receipt confirmation component: its answer is in referrerInfo.
  onShow(options) {
    wechat.receiptReturned(options && options.referrerInfo);
  },
});
