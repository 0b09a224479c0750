/**
 * GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
 *
 * The HMAC is computed over the body bytes exactly as received (never a re-serialised JSON
 * value) and compared in constant time. Anything that is not a well-formed sha256 signature is
 * refused before comparing, so odd lengths cannot throw.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/** The `X-Hub-Signature-256` value for `body`. */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `header` is the signature of `body` (whole, or the chunks it arrived in) under `secret`. */
export function verifySignature(secret: string, body: Buffer | readonly Buffer[], header: string | undefined): boolean {
  if (!secret || !header) return false;
  const match = SIGNATURE.exec(header.trim().toLowerCase());
  if (!match) return false;
  const hmac = createHmac('sha256', secret);
  for (const part of Buffer.isBuffer(body) ? [body] : body) hmac.update(part);
  const expected = hmac.digest();
  return timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
}

/**
 * Checks the signature code against GitHub's documented test vector, so a broken crypto set-up
 * shows at start-up rather than as every delivery refused.
 */
export function signatureSelfTest(): boolean {
  const body = Buffer.from('Hello, World!');
  return verifySignature("It's a Secret to Everybody", body, 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17')
    && !verifySignature("It's a Secret to Everybody", body, `sha256=${'0'.repeat(64)}`);
}
