// The debug page's logic: wxpay-sign's browser entries (v2 and v3) on pasted params or
// notifies. Every finding is one `li[data-code]` in #problems (stable ids for tests).
import * as v2 from '../dist/browser.mjs';
import * as v3 from '../dist/v3-browser.mjs';

const $ = (id) => document.getElementById(id);

function show({ problems, canonical = '', expected, given }) {
  const list = $('problems');
  list.replaceChildren();
  list.className = problems.length === 0 ? 'ok' : '';
  for (const problem of problems) {
    const li = document.createElement('li');
    li.dataset.code = problem.code;
    const code = document.createElement('code');
    code.textContent = problem.code;
    li.append(code, problem.field ? ` (${problem.field}): ` : ': ', problem.message);
    list.append(li);
  }
  if (problems.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'No problem found.';
    list.append(li);
  }
  $('canonical').textContent = canonical;
  $('signatures').textContent = expected === undefined && given === undefined
    ? ''
    : `expected: ${expected ?? '(needs the key)'}\ngiven:    ${given ?? '(none)'}`;
}

const failure = (error, field = '') => ({ field, code: error.code || 'ERROR', message: error.message });

function checkParams(input, key) {
  const { appId, ...params } = input;
  // v3 params say RSA, or carry a base64 paySign far longer than v2's hex (a v3 set with a
  // wrong signType is still v3).
  if (params.signType === 'RSA' || (typeof params.paySign === 'string' && params.paySign.length > 64)) {
    const report = v3.checkV3PaymentParams(params, { appId, key: key || undefined });
    return { problems: report.problems, canonical: report.signedMessage, given: params.paySign };
  }
  const report = v2.checkPaymentParams(params, { appId, key: key || undefined });
  return { problems: report.problems, canonical: report.canonical, expected: report.expectedPaySign, given: params.paySign };
}

function checkV2Notify(xml, key) {
  let fields;
  try {
    fields = v2.parseXml(xml);
  } catch (error) {
    return { problems: [failure(error)] };
  }
  const { sign: given, ...signed } = fields;
  const signType = fields.sign_type || (given && given.length === 64 ? 'HMAC-SHA256' : 'MD5');
  const result = { problems: [], canonical: v2.canonicalString(signed), given };
  if (!key) {
    result.problems.push({ field: 'key', code: 'KEY_REQUIRED', message: 'a v2 notify is checked with the API key: paste a sandbox or debug key' });
    return result;
  }
  try {
    result.expected = v2.sign(signed, key, signType);
    v2.verifyPayNotify(xml, key, signType);
  } catch (error) {
    result.problems.push(failure(error, 'sign'));
  }
  return result;
}

function checkV3Notify({ headers = {}, body = '' }, key, apiV3Key) {
  const header = (name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  const serial = header('Wechatpay-Serial') || '';
  const canonical = `${header('Wechatpay-Timestamp') ?? ''}\n${header('Wechatpay-Nonce') ?? ''}\n${body}\n`;
  const result = { problems: [], canonical, given: header('Wechatpay-Signature') };
  if (!key) {
    result.problems.push({ field: 'key', code: 'KEY_REQUIRED', message: "paste WeChat's platform certificate or WeChat Pay public key (the one Wechatpay-Serial names)" });
    return result;
  }
  const args = { headers, body, keys: { [serial]: key } };
  try {
    if (apiV3Key) v3.verifyV3Notify({ ...args, apiV3Key });
    else v3.verifyV3Response(args);
  } catch (error) {
    result.problems.push(failure(error));
  }
  return result;
}

function check() {
  const text = $('input').value.trim();
  const key = $('key').value.trim();
  if (text.startsWith('<')) return checkV2Notify(text, key);
  let input;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return { problems: [{ field: 'input', code: 'INPUT_NOT_JSON', message: `paste a JSON object of the params or a notify (${error.message})` }] };
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { problems: [{ field: 'input', code: 'INPUT_NOT_OBJECT', message: 'paste a JSON object' }] };
  }
  if ('headers' in input && 'body' in input) return checkV3Notify(input, key, $('apiv3-key').value.trim());
  return checkParams(input, key);
}

await Promise.all([v2.init(), v3.init()]);
$('check').disabled = false;
$('check').addEventListener('click', () => {
  try {
    show(check());
  } catch (error) {
    show({ problems: [failure(error)] });
  }
});
document.body.dataset.ready = 'true';
