// Types of wxpay-sign (all entry points: Node CommonJS and ESM, browsers).

/** A WeChat Pay parameter map: strings or integers; null/undefined mean "absent". */
export type Params = Record<string, string | number | null | undefined>;

/** The v2 sign types. */
export type SignType = 'MD5' | 'HMAC-SHA256';

/** Every error this package throws is an Error with a stable `code`. */
export interface WxpaySignError extends Error {
  code: string;
}

/**
 * The five `wx.requestPayment` values, shaped to pass straight to it (assignable to
 * `WechatMiniprogram.RequestPaymentOption` of miniprogram-api-typings).
 */
export interface PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
}

export type ProblemCode =
  | 'MISSING_FIELD'
  | 'FIELD_NOT_STRING'
  | 'TIMESTAMP_NOT_STRING'
  | 'TIMESTAMP_INVALID'
  | 'TIMESTAMP_MILLISECONDS'
  | 'TIMESTAMP_SKEW'
  | 'NONCE_TOO_LONG'
  | 'PACKAGE_FORMAT'
  | 'SIGN_TYPE_INVALID'
  | 'SIGN_TYPE_LENGTH_MISMATCH'
  | 'PAYSIGN_FORMAT'
  | 'PAYSIGN_LOWERCASE'
  | 'APPID_REQUIRED'
  | 'PAYSIGN_MISMATCH'
  | 'KEY_CASE_APPID'
  | 'APPID_NOT_SIGNED'
  | 'SIGN_TYPE_NOT_SIGNED'
  | 'OTHER_SIGN_TYPE'
  | 'VALUES_URL_ENCODED'
  | 'VALUES_TRIMMED'
  | 'WRONG_KEY_LIKELY';

export interface Problem {
  /** The param at fault: timeStamp, nonceStr, package, signType, paySign or appId. */
  field: string;
  code: ProblemCode;
  /** What is wrong and how to fix it. */
  message: string;
}

export interface CheckReport {
  ok: boolean;
  problems: Problem[];
  /** The string paySign must be computed over (when appId is given). */
  canonical?: string;
  /** The correct paySign (when appId and key are given). */
  expectedPaySign?: string;
}

export interface CheckOptions {
  /** The Mini Program's appid: signed, though not passed to wx.requestPayment. */
  appId?: string;
  /** A debug or sandbox API key. Never ship a production key to a front end. */
  key?: string;
  /** The current time (Date or milliseconds); defaults to Date.now(). */
  now?: Date | number;
}

/** Loads the WebAssembly in browsers; resolves at once in Node. */
export function init(input?: unknown): Promise<void>;
/** `k1=v1&k2=v2...`: ASCII key order, `sign` and empty values skipped, raw values. */
export function canonicalString(params: Params): string;
/** The v2 sign: upper-case hex; MD5 unless `signType` says HMAC-SHA256. */
export function sign(params: Params, key: string, signType?: SignType): string;
/** Checks `params.sign` in constant time; the type comes from `signType`, else `params.sign_type`, else the sign's length. */
export function verifySign(params: Params, key: string, signType?: SignType): boolean;
/** Builds and signs the `wx.requestPayment` params for a prepay_id (nonce and time default to random / now). */
export function buildPaymentParams(options: {
  appId: string;
  prepayId: string;
  key: string;
  signType?: SignType;
  nonceStr?: string;
  timeStamp?: string | number;
}): PaymentParams;
/** Explains why `wx.requestPayment` would refuse these params. */
export function checkPaymentParams(params: Record<string, unknown>, options?: CheckOptions): CheckReport;
/** WeChat's flat XML -> fields (strict: no DOCTYPE, no entities, no nesting). */
export function parseXml(xml: string): Record<string, string>;
export function toXml(params: Params): string;
/** Verifies a pay notify and returns all its fields; throws (code BAD_SIGNATURE, RETURN_FAIL, ...) otherwise. */
export function verifyPayNotify(xml: string, key: string, signType?: SignType): Record<string, string>;
/** Decrypts a refund notify's `req_info` (AES-256-ECB) into its fields. */
export function decryptRefundInfo(reqInfo: string, key: string): Record<string, string>;
/** Decrypts Mini Program `encryptedData`; with `appId`, requires `watermark.appid` to match. */
export function decryptUserData<T = Record<string, unknown>>(
  encryptedData: string,
  sessionKey: string,
  iv: string,
  appId?: string,
): T;

/** The rawData signature sent beside `rawData`: lower-hex SHA1(rawData + sessionKey). */
export function rawDataSignature(rawData: string, sessionKey: string): string;
/** The login-state signature: lower-hex HMAC-SHA256 keyed with the session_key text, over the body ("" for GET). */
export function sessionSignature(sessionKey: string, body?: string): string;

declare const api: {
  init: typeof init;
  canonicalString: typeof canonicalString;
  sign: typeof sign;
  verifySign: typeof verifySign;
  buildPaymentParams: typeof buildPaymentParams;
  checkPaymentParams: typeof checkPaymentParams;
  parseXml: typeof parseXml;
  toXml: typeof toXml;
  verifyPayNotify: typeof verifyPayNotify;
  decryptRefundInfo: typeof decryptRefundInfo;
  decryptUserData: typeof decryptUserData;
  rawDataSignature: typeof rawDataSignature;
  sessionSignature: typeof sessionSignature;
};
export default api;
