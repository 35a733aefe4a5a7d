import { Socket } from 'node:net';

/**
 * A minimal RESP2 client for the cluster harness's administration (CLUSTER MEET, SETSLOT, MIGRATE,
 * INFO): one connection per command, so that it never depends on the client libraries under test, nor
 * on a node that has just been killed staying reachable. Replies: a string (simple or bulk), a number,
 * null, an array of replies; an error reply rejects with an Error whose message is the reply.
 */
export type Reply = string | number | null | Reply[];

/** Encodes `args` as a RESP array of bulk strings. */
export function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/** The reply at `offset` of `data` and the offset after it, or undefined while it is incomplete. */
export function parse(data: Buffer, offset = 0): { reply: Reply | Error; next: number } | undefined {
  const end = data.indexOf('\r\n', offset);
  if (end < 0) return undefined;
  const kind = String.fromCharCode(data[offset] ?? 0);
  const line = data.toString('utf8', offset + 1, end);
  const after = end + 2;
  if (kind === '+') return { reply: line, next: after };
  if (kind === '-') return { reply: new Error(line), next: after };
  if (kind === ':') return { reply: Number(line), next: after };
  if (kind === '$') {
    const length = Number(line);
    if (length < 0) return { reply: null, next: after };
    if (data.length < after + length + 2) return undefined;
    return { reply: data.toString('utf8', after, after + length), next: after + length + 2 };
  }
  if (kind === '*') {
    const count = Number(line);
    if (count < 0) return { reply: null, next: after };
    const items: Reply[] = [];
    let next = after;
    for (let i = 0; i < count; i += 1) {
      const item = parse(data, next);
      if (item === undefined) return undefined;
      if (item.reply instanceof Error) return item;
      items.push(item.reply);
      next = item.next;
    }
    return { reply: items, next };
  }
  return {
    reply: new Error(`unexpected RESP reply ${JSON.stringify(data.toString('utf8', offset, end))}`),
    next: after,
  };
}

/**
 * Sends one command to 127.0.0.1:`port` and resolves with its reply. Rejects with the error reply, a
 * connection error, or a timeout after `timeout` ms.
 */
export function command(port: number, args: readonly string[], timeout = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let data = Buffer.alloc(0);
    const done = (error: Error | undefined, reply?: Reply): void => {
      socket.destroy();
      if (error === undefined) resolve(reply ?? null);
      else reject(error);
    };
    socket.setTimeout(timeout, () => done(new Error(`${args.join(' ')} on port ${port}: no reply in ${timeout} ms`)));
    socket.once('error', (error) => done(error));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parse(data);
      if (parsed === undefined) return;
      if (parsed.reply instanceof Error) done(new Error(`${args.join(' ')} on port ${port}: ${parsed.reply.message}`));
      else done(undefined, parsed.reply);
    });
    socket.connect(port, '127.0.0.1', () => socket.write(encode(args)));
  });
}

/** The `field:value` lines of an INFO (or CLUSTER INFO) reply as a record. */
export function infoFields(reply: Reply): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(reply).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** One line of CLUSTER NODES: a node as one node sees it. */
export interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The master's id for a replica, else undefined. */
  readonly master: string | undefined;
  readonly linkState: string;
  /** Slot ranges served, as [first, last] pairs (migration markers left out). */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/** Parses a CLUSTER NODES reply. */
export function nodeLines(reply: Reply): NodeLine[] {
  return String(reply)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , linkState = '', ...slots] = line.trim().split(' ');
      const port = Number(address.split('@')[0]?.split(':').at(-1));
      return {
        id,
        port,
        flags: flags.split(','),
        master: master === '-' ? undefined : master,
        linkState,
        slots: slots
          .filter((slot) => !slot.startsWith('['))
          .map((slot) => {
            const [first = '', last = first] = slot.split('-');
            return [Number(first), Number(last)] as const;
          }),
      };
    });
}
