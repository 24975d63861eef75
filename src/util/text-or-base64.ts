import { isUtf8 } from 'node:buffer';

/** Bytes as text when they are valid UTF-8, else as base64 (and the caller shows which); null stays null. */
export function textOrBase64(b: Buffer | null): { text: string | null; base64: boolean } {
  if (b === null) return { text: null, base64: false };
  return isUtf8(b) ? { text: b.toString('utf8'), base64: false } : { text: b.toString('base64'), base64: true };
}
