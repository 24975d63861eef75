/** Reading source files: gzip by extension or magic bytes, text decoded as UTF-8 in bounded chunks. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { TributaryError } from '../../errors.js';

/** A source could not read its input (missing file, bad line, …). */
export class SourceError extends TributaryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONNECT_SOURCE', message, options);
  }
}

/** A line or CSV row longer than this is an error rather than a memory hog. */
export const MAX_ROW_CHARS = 16 * 1024 * 1024;

async function isGzip(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.gz')) return true;
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export interface TextInput {
  chunks: AsyncIterable<string>;
  /** Ends reading early (stop()). */
  close(): void;
}

/** The file's text in chunks (openBytes' chunks decoded as UTF-8; a sequence split between reads is kept whole). */
export async function openText(path: string): Promise<TextInput> {
  const input = await openBytes(path);
  async function* chunks(): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    for await (const buf of input.chunks) {
      const text = decoder.write(buf);
      if (text.length > 0) yield text;
    }
    const rest = decoder.end();
    if (rest.length > 0) yield rest;
  }
  return { chunks: chunks(), close: input.close };
}

export interface ByteInput {
  /** The file's bytes (gunzipped), without a leading UTF-8 byte-order mark. */
  chunks: AsyncIterable<Buffer>;
  /** Ends reading early (stop()). */
  close(): void;
}

/** The file's bytes in chunks (64 KiB reads: the stream's own back-pressure keeps memory bounded), gunzipped, without a BOM. */
export async function openBytes(path: string): Promise<ByteInput> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SourceError(`${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err });
  }
  const file = createReadStream(path, { highWaterMark: 64 * 1024 });
  const stream = gz ? file.pipe(createGunzip()) : file;
  if (gz) file.on('error', (err) => stream.destroy(err));
  async function* chunks(): AsyncGenerator<Buffer> {
    /** The first bytes, until there are 3 to tell a byte-order mark from text. */
    let head: Buffer | null = Buffer.alloc(0);
    try {
      for await (const piece of stream as AsyncIterable<Buffer>) {
        let buf = piece;
        if (head !== null) {
          buf = head.length === 0 ? piece : Buffer.concat([head, piece]);
          if (buf.length < 3) {
            head = buf;
            continue;
          }
          head = null;
          if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
        }
        if (buf.length > 0) yield buf;
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      throw new SourceError(`${path}: ${e.code === 'ENOENT' ? 'no such file' : gz && e.code?.startsWith('Z_') ? `not valid gzip (${e.message})` : e.message}`, { cause: err });
    }
    if (head !== null && head.length > 0) yield head;
  }
  return {
    chunks: chunks(),
    close: () => {
      file.destroy();
      if (gz) stream.destroy();
    },
  };
}

/** Lines of text (without \n or \r\n), with 1-based line numbers, those of each chunk in one array (never empty). */
export async function* lineBatches(chunks: AsyncIterable<string>, path: string): AsyncGenerator<Array<{ line: string; number: number }>> {
  let partial = '';
  let number = 0;
  for await (const chunk of chunks) {
    const out: Array<{ line: string; number: number }> = [];
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl >= 0) {
      let line = partial === '' ? chunk.slice(start, nl) : partial + chunk.slice(start, nl);
      partial = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      out.push({ line, number: ++number });
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (out.length > 0) yield out;
    partial += chunk.slice(start);
    if (partial.length > MAX_ROW_CHARS) throw new SourceError(`${path} line ${number + 1}: longer than ${MAX_ROW_CHARS} characters`);
  }
  if (partial.length > 0) yield [{ line: partial.endsWith('\r') ? partial.slice(0, -1) : partial, number: ++number }];
}
