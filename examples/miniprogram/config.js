// Where this Mini Program finds its server, and how it plays WeChat in the sandbox.
module.exports = {
  // The `API:` line of `wxpay serve --sandbox`'s banner. A release build needs an https://
  // domain listed in the admin console (开发管理 -> 服务器域名 -> request 合法域名).
  apiBaseUrl: 'http://127.0.0.1:8080',

  // The `WeChat simulator:` line of the sandbox's banner, or '' for real WeChat. The
  // sandbox's login codes and prepay_ids belong to its simulator: the real wx.login and
  // wx.requestPayment know nothing of them, so in DevTools the simulator's control API plays
  // both (utils/wechat.js). Ignored in release builds, which always use real WeChat.
  simulatorUrl: 'http://127.0.0.1:8081',

  // After wx.requestPayment says ok, the server's word is awaited (the notify from WeChat
  // usually lands within a second): this many reads of the order, this far apart.
  statusPoll: { attempts: 8, intervalMs: 500 },
};
