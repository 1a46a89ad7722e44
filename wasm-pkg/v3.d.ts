// Types of wxpay-sign/v3 (WeChat Pay API v3; all entry points: Node CommonJS and ESM,
// browsers).

/** Every error this package throws is an Error with a stable `code`. */
export interface WxpaySignError extends Error {
  code:
    | 'MISSING_HEADER'
    | 'INVALID_TIMESTAMP'
    | 'TIMESTAMP_OUTSIDE_WINDOW'
    | 'SIGNATURE_PROBE'
    | 'INVALID_SIGNATURE'
    | 'WRONG_SIGNATURE_TYPE'
    | 'UNKNOWN_SERIAL'
    | 'CERTIFICATE_NOT_VALID'
    | 'BAD_SIGNATURE'
    | 'INVALID_NOTIFY'
    | 'DECRYPT_FAILED'
    | 'INVALID_API_V3_KEY'
    | 'INVALID_KEY'
    | 'WRONG_KEY_KIND'
    | 'MERCHANT_KEY_GIVEN'
    | 'INVALID_APPID'
    | 'INVALID_PREPAY_ID'
    | 'INVALID_TIMESTAMP'
    | 'INVALID_ARGUMENT'
    | 'INVALID_OPTIONS'
    | 'INVALID_PARAMS'
    | 'NOT_SUPPORTED'
    | string;
}

/** Response or notify headers; names are matched case-insensitively. */
export type Headers = Record<string, string | string[] | undefined>;

/**
 * WeChat Pay's verification keys: a platform certificate PEM under its serial, or the
 * WeChat Pay public key PEM under its id (`PUB_KEY_ID_...`); both during the migration
 * week.
 */
export type V3Keys = Record<string, string>;

export interface VerifyV3NotifyArgs {
  headers: Headers;
  /** The raw body exactly as received (never a re-serialized object). */
  body: string | Uint8Array;
  keys: V3Keys;
  /** The APIv3 key (32 characters; not the v2 API key). */
  apiV3Key: string;
  /** Unix seconds (default: now); |now - Wechatpay-Timestamp| >= 300 s is refused. */
  now?: number | Date;
}

export interface VerifiedV3Notify {
  event_type: string;
  /** The decrypted resource (a payment for TRANSACTION.*, a refund for REFUND.*). */
  resource: Record<string, unknown>;
  /** The key that verified it (Wechatpay-Serial). */
  serial: string;
  id: string;
  create_time: string;
  summary: string;
  resource_type: string;
  original_type: string;
}

export interface EncryptedResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string | null;
}

/** The five `wx.requestPayment` values for API v3. */
export interface V3PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

export type V3ProblemCode =
  | 'MISSING_FIELD'
  | 'FIELD_NOT_STRING'
  | 'TIMESTAMP_NOT_STRING'
  | 'TIMESTAMP_INVALID'
  | 'TIMESTAMP_MILLISECONDS'
  | 'TIMESTAMP_SKEW'
  | 'NONCE_TOO_LONG'
  | 'PACKAGE_FORMAT'
  | 'SIGN_TYPE_NOT_RSA'
  | 'SIGN_TYPE_INVALID'
  | 'PAYSIGN_V2_FORMAT'
  | 'PAYSIGN_FORMAT'
  | 'APPID_REQUIRED'
  | 'PAYSIGN_MISMATCH'
  | 'PACKAGE_PREFIX_NOT_SIGNED'
  | 'CRLF_LINE_ENDS'
  | 'FINAL_NEWLINE_MISSING'
  | 'WRONG_KEY_LIKELY';

export interface V3Problem {
  field: string;
  code: V3ProblemCode;
  message: string;
}

export interface V3CheckReport {
  ok: boolean;
  problems: V3Problem[];
  /** The message paySign must sign: appId, timeStamp, nonceStr, package, each + "\n". */
  signedMessage?: string;
}

/** Browsers: load the wasm once before any call (`await init()`); a no-op in Node. */
export function init(input?: unknown): Promise<void>;

/** Verifies a v3 notify's signature over the raw body, then decrypts its resource. */
export function verifyV3Notify(args: VerifyV3NotifyArgs): VerifiedV3Notify;

/** Verifies a v3 response's signature (an empty body for 204). */
export function verifyV3Response(args: {
  headers: Headers;
  body: string | Uint8Array;
  keys: V3Keys;
  now?: number | Date;
}): { serial: string };

/** Decrypts an AEAD_AES_256_GCM resource: its text (JSON, or PEM for certificates). */
export function decryptV3Resource(resource: EncryptedResource, apiV3Key: string): string;

/**
 * v3 `wx.requestPayment` params, signed in Node with the merchant private key
 * (`apiclient_key.pem`). Node tooling only: throws NOT_SUPPORTED in browsers.
 */
export function buildV3PaymentParams(args: {
  appId: string;
  prepayId: string;
  privateKey: string;
  timeStamp?: string | number;
  nonceStr?: string;
}): V3PaymentParams;

/**
 * Why would `wx.requestPayment` refuse these v3 params? `key`: the merchant certificate
 * or public key (public material), to verify paySign and diagnose a wrong one.
 */
export function checkV3PaymentParams(
  params: Record<string, unknown>,
  options?: { appId?: string; key?: string; now?: number | Date },
): V3CheckReport;

/**
 * The message a v3 request's Authorization signature covers: method, the URL path and
 * raw query, timestamp (seconds), nonce and body, each followed by "\n" (tooling: what
 * should have been signed?).
 */
export function v3RequestMessage(args: {
  method: string;
  url: string;
  timestamp: number | string;
  nonce: string;
  body?: string | Uint8Array;
}): string;

declare const api: {
  v3RequestMessage: typeof v3RequestMessage;
  init: typeof init;
  verifyV3Notify: typeof verifyV3Notify;
  verifyV3Response: typeof verifyV3Response;
  decryptV3Resource: typeof decryptV3Resource;
  buildV3PaymentParams: typeof buildV3PaymentParams;
  checkV3PaymentParams: typeof checkV3PaymentParams;
};
export default api;
