import { TAKE_GRANTED, TAKE_RESERVED, TAKES_HEADER, takeLength } from './protocol.js';

/** A reply of the bucket script: the configuration in force when it is not the one sent, and the numbers after it. */
export interface ScriptReply {
  /** The stored configuration's text, when it differs from the one sent (it is the one in force). */
  readonly stored: string | undefined;
  readonly values: number[];
}

/**
 * Reads the reply, or throws a `TypeError` describing it. The script replies with 0 or the stored
 * configuration (a string), then integers (which must be safe integers) and numbers of ms written as
 * strings (which must read back as finite numbers: the script writes them with `%.17g`, so they
 * round-trip exactly); at least `length` of them. Or, for takes on its lean path with Redis time, with
 * one string: the numbers after the 0 (the configuration sent is in force), separated by single spaces.
 */
export function parseReply(reply: unknown, length: number): ScriptReply {
  if (typeof reply === 'string') {
    const values = parseText(reply, length);
    if (values !== undefined) return { stored: undefined, values };
  } else if (Array.isArray(reply) && reply.length >= length + 1) {
    const first: unknown = reply[0];
    const stored = typeof first === 'string' && first !== '0' ? first : undefined;
    let valid = stored !== undefined || first === 0 || first === '0' || first === 0n;
    const values = new Array<number>(reply.length - 1);
    for (let i = 1; i < reply.length; i += 1) {
      const value: unknown = reply[i];
      let number: number;
      if (typeof value === 'string') {
        number = value === '' ? Number.NaN : Number(value);
        if (!Number.isFinite(number)) valid = false;
      } else {
        number = typeof value === 'bigint' ? Number(value) : (value as number);
        if (!Number.isSafeInteger(number)) valid = false;
      }
      values[i - 1] = number;
    }
    if (valid) return { stored, values };
  }
  const text = JSON.stringify(reply, (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
  throw new TypeError(`unexpected reply from the bucket script: ${text}`);
}

/** The numbers of a reply written as one string (see {@link parseReply}), or undefined when it holds fewer than `length` or anything else. */
function parseText(reply: string, length: number): number[] | undefined {
  const parts = reply.split(' ');
  if (parts.length < length) return undefined;
  const values = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i] as string;
    const number = part === '' ? Number.NaN : Number(part);
    if (!Number.isFinite(number)) return undefined;
    values[i] = number;
  }
  return values;
}

/**
 * Splits a reply to a batch of `count` takes (a block: origin, the generation before the first take,
 * then the takes, each `takeLength(n)` values with the same n) into one block of one take per caller,
 * each with the generation before its own take. Throws `TypeError` when the values do not divide so.
 */
export function splitTakes(reply: ScriptReply, count: number): ScriptReply[] {
  const { stored, values } = reply;
  const length = (values.length - TAKES_HEADER) / count;
  if (!Number.isInteger(length) || length < takeLength(1) || (length - takeLength(0)) % 2 !== 0) {
    throw new TypeError(`unexpected reply from the bucket script: ${values.length} values for ${count} takes`);
  }
  const [origin = 0] = values;
  let gen = values[1] ?? 0;
  const replies: ScriptReply[] = [];
  for (let at = TAKES_HEADER; at < values.length; at += length) {
    replies.push({ stored, values: [origin, gen, ...values.slice(at, at + length)] });
    const status = values[at];
    if (status === TAKE_GRANTED || status === TAKE_RESERVED) gen += 1;
  }
  return replies;
}
