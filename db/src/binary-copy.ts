// Postgres's binary COPY format, both ways: an encoder for `COPY … FROM STDIN (FORMAT binary)`
// (bulk inserts without text parsing on either side) and a parser for `COPY … TO STDOUT`.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
import type { Writable } from 'node:stream';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Postgres timestamps count microseconds from 2000-01-01 UTC. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;

/**
 * Tuples written field by field into one growing buffer. Each tuple starts with `row(n)`;
 * values follow in column order. Integers beyond 32 bits must be safe integers (steps, times).
 */
export class BinaryCopyEncoder {
  private buf: Buffer;
  private at = 0;

  constructor(expectedBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, expectedBytes + SIGNATURE.length + 10));
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags
    this.buf.writeInt32BE(0, 15); // header extension length
    this.at = 19;
  }

  private room(bytes: number) {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  row(fields: number): this {
    this.room(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
    return this;
  }

  null(): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
    return this;
  }

  int2(v: number): this {
    this.room(6);
    this.at = this.buf.writeInt32BE(2, this.at);
    this.at = this.buf.writeInt16BE(v, this.at);
    return this;
  }

  int4(v: number): this {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }

  /** A safe integer as int8 (two 32-bit halves: no BigInt per value). */
  int8(v: number): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(8, this.at);
    return this.rawInt8(v);
  }

  /** NaN and ±Infinity are written as such. */
  float8(v: number): this {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(v, this.at);
    return this;
  }

  float8OrNull(v: number | null): this {
    return v === null ? this.null() : this.float8(v);
  }

  /** Epoch milliseconds as timestamptz. */
  timestamptz(ms: number): this {
    return this.int8(Math.round((ms - PG_EPOCH_MS) * 1000));
  }

  bytea(bytes: Uint8Array): this {
    this.room(4 + bytes.byteLength);
    this.at = this.buf.writeInt32BE(bytes.byteLength, this.at);
    this.buf.set(bytes, this.at);
    this.at += bytes.byteLength;
    return this;
  }

  /** 16 bytes, from `uuidBytes` (written as four 32-bit words: cheaper than a copy per row). */
  uuid(bytes: Buffer): this {
    this.room(20);
    this.at = this.buf.writeInt32BE(16, this.at);
    for (let i = 0; i < 16; i += 4) this.at = this.buf.writeUInt32BE(bytes.readUInt32BE(i), this.at);
    return this;
  }

  /**
   * A bytea field of `bytes` bytes whose content the caller writes next with the `raw…`
   * methods (no length words of their own), e.g. packed records built in place.
   */
  byteaOf(bytes: number): this {
    this.room(4 + bytes);
    this.at = this.buf.writeInt32BE(bytes, this.at);
    return this;
  }

  rawFloat8(v: number): this {
    this.room(8);
    this.at = this.buf.writeDoubleBE(v, this.at);
    return this;
  }

  rawInt4(v: number): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }

  /** A safe integer as 8 big-endian bytes. */
  rawInt8(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int8: ${v} is not a safe integer`);
    this.room(8);
    const hi = Math.floor(v / TWO_32);
    this.at = this.buf.writeInt32BE(hi, this.at);
    this.at = this.buf.writeUInt32BE(v - hi * TWO_32, this.at);
    return this;
  }

  /** The finished stream: the tuples and the trailer. The encoder is spent. */
  finish(): Buffer {
    this.room(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    return this.buf.subarray(0, this.at);
  }
}

export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new RangeError(`not a uuid: ${JSON.stringify(uuid)}`);
  return Buffer.from(hex, 'hex');
}

/** Postgres's binary COPY format: signature, flags, header extension, then tuples until -1. */
export function parseBinaryCopy(data: Buffer): (Buffer | null)[][] {
  if (data.length < 19 || !data.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
  let at = 15;
  at += 4 + data.readInt32BE(at);
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const fields = data.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    const row: (Buffer | null)[] = [];
    for (let f = 0; f < fields; f++) {
      const length = data.readInt32BE(at);
      at += 4;
      row.push(length === -1 ? null : data.subarray(at, at + length));
      if (length > 0) at += length;
    }
    rows.push(row);
  }
}

/** The slice of postgres.js's client this module drives (a pool, a transaction or a savepoint). */
interface PostgresJsClient {
  unsafe(query: string): PromiseLike<unknown> & { writable(): Promise<Writable> };
  (strings: TemplateStringsArray, ...values: unknown[]): PromiseLike<unknown>;
}

/**
 * Sends `body` (from `BinaryCopyEncoder.finish`) with `COPY table (columns) FROM STDIN`.
 *
 * postgres.js 3.4 resolves the COPY query with its stream, and an error the server sends after
 * the stream ended (a constraint violated, say) neither fails the stream nor finishes it: it
 * goes to the already settled query's `reject`, where this catches it. Success is the
 * stream's 'finish' (the server's CommandComplete).
 */
export async function copyInBinary(client: PostgresJsClient, table: string, columns: string[], body: Buffer): Promise<void> {
  const query = client.unsafe(`copy ${table} (${columns.join(', ')}) from stdin with (format binary)`) as ReturnType<PostgresJsClient['unsafe']> & {
    reject?: (error: unknown) => void;
  };
  const reject = query.reject;
  if (typeof reject !== 'function') throw new Error('copyInBinary: this postgres.js has no query.reject to hear COPY errors on (written for 3.4)');
  let failed: (error: unknown) => void = () => {};
  const failure = new Promise<never>((_, rejectCopy) => {
    failed = rejectCopy;
  });
  failure.catch(() => {}); // observed below; a COPY that fails before its stream is taken throws from writable()
  query.reject = (error: unknown) => {
    failed(error);
    reject.call(query, error);
  };
  const stream = await query.writable();
  stream.on('error', failed);
  await Promise.race([new Promise<void>((resolve) => stream.end(body, resolve)), failure]);
}
