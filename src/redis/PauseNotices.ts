/**
 * The pause notices' subscriptions: one duplicate connection per user client, shared by every bucket of
 * that client, subscribed to the channels of the keys whose buckets have callers sleeping, and closed
 * once none is subscribed. The bucket script `PUBLISH`es each pause (see `script.ts`); the buckets
 * react in `PauseWatch`.
 */
import type { RedisScriptRunner } from './clients.js';
import { ignore, ioConnection, nodeConnection, type Connection, type Events } from './noticeConnections.js';

/** What a pause notice says: the key's origin (ms) and its generation right after the pause. */
export interface PauseNotice {
  readonly origin: number;
  readonly gen: number;
}

/** The channel the bucket script publishes the pauses of `redisKey` on. */
export function pauseChannel(redisKey: string): string {
  return `${redisKey}:pause`;
}

const NOTICE = /^(-?\d+(?:\.\d+)?(?:e[+-]\d+)?) (\d{1,16})$/;

/**
 * Reads a notice the script published (`%.17g %.17g`: origin, generation); undefined for any other
 * message, which someone else may publish on the channel.
 */
export function readNotice(message: unknown): PauseNotice | undefined {
  if (typeof message !== 'string') return undefined;
  const match = NOTICE.exec(message);
  if (match === null) return undefined;
  const origin = Number(match[1]);
  const gen = Number(match[2]);
  return Number.isFinite(origin) && Number.isSafeInteger(gen) ? { origin, gen } : undefined;
}

interface Listener {
  readonly message: (text: string) => void;
  readonly live: (confirmed: boolean) => void;
}

interface Channel {
  readonly listeners: Set<Listener>;
  live: boolean;
}

/**
 * NoticeHub is one client's subscriptions: a duplicate connection, opened at the first subscribed
 * channel and closed when the last one is left (so it never keeps the process alive once no bucket
 * of the client has callers sleeping), and the listeners of each channel.
 */
class NoticeHub {
  private connection: Connection | undefined = undefined;
  private readonly channels = new Map<string, Channel>();
  /**
   * What the connection `current()` tells: a loss or a comeback of a connection closed since (the one
   * before, quitting while a new one subscribes) is none of the channels' business.
   */
  private events(current: () => Connection | undefined): Events {
    return {
      message: (name, text) => {
        const channel = this.channels.get(name);
        if (channel === undefined) return;
        for (const listener of [...channel.listeners]) listener.message(text);
      },
      lost: () => {
        if (this.connection !== current()) return;
        for (const channel of this.channels.values()) this.confirm(channel, false);
      },
      back: () => {
        if (this.connection !== current()) return;
        for (const [name, channel] of this.channels) this.start(name, channel);
      },
    };
  }

  constructor(private readonly open: (events: Events) => Connection) {}

  subscribe(name: string, message: (text: string) => void, live: (confirmed: boolean) => void): () => void {
    const listener: Listener = { message, live };
    let channel = this.channels.get(name);
    if (channel === undefined) {
      channel = { listeners: new Set([listener]), live: false };
      this.channels.set(name, channel);
      this.start(name, channel);
    } else {
      channel.listeners.add(listener);
      const joined = channel;
      if (joined.live) {
        queueMicrotask(() => {
          if (joined.live && joined.listeners.has(listener)) live(true);
        });
      }
    }
    const left = channel;
    return () => {
      left.listeners.delete(listener);
      if (left.listeners.size > 0 || this.channels.get(name) !== left) return;
      this.channels.delete(name);
      this.stop(name);
    };
  }

  /** Subscribes `name` (again, after a reconnect) and tells its listeners once Redis confirmed it. */
  private start(name: string, channel: Channel): void {
    let connection = this.connection;
    if (connection === undefined) {
      try {
        let opening: Connection | undefined = undefined;
        connection = this.open(this.events(() => opening));
        opening = connection;
      } catch {
        return; // a client that cannot be duplicated: no notices, the buckets ask as before
      }
      this.connection = connection;
      const failed = connection;
      failed.ready.catch(() => {
        // Never connected: closed, and opened again at the next channel subscribed.
        if (this.connection !== failed) return;
        this.connection = undefined;
        failed.close();
      });
    }
    const opened = connection;
    opened.ready
      .then(() => opened.subscribe(name))
      .then(
        () => {
          if (this.channels.get(name) === channel && this.connection === opened) this.confirm(channel, true);
        },
        () => {
          // Never connected, or refused: these listeners get no notices (their buckets ask as before).
          if (this.connection !== opened || this.channels.get(name) !== channel) return;
          this.confirm(channel, false);
        },
      );
  }

  /** Tells `channel`'s listeners it is confirmed, or lost (also when it never was: they stop waiting). */
  private confirm(channel: Channel, live: boolean): void {
    channel.live = live;
    for (const listener of [...channel.listeners]) listener.live(live);
  }

  private stop(name: string): void {
    const connection = this.connection;
    if (connection === undefined) return;
    if (this.channels.size === 0) {
      this.connection = undefined;
      connection.close();
      return;
    }
    connection.unsubscribe(name).catch(ignore);
  }
}

const hubs = new WeakMap<object, NoticeHub>();

function hasDuplicate(client: unknown): client is { duplicate(): unknown } {
  return (
    typeof client === 'object' && client !== null && typeof (client as { duplicate?: unknown }).duplicate === 'function'
  );
}

/**
 * The `subscribe` of a {@link RedisScriptRunner} for an ioredis/iovalkey or node-redis client or
 * cluster: through one duplicate of `client` shared by every bucket of that client (see
 * {@link NoticeHub}). Undefined when the client has no `duplicate()`.
 */
export function noticesOf(client: unknown, kind: 'ioredis' | 'node-redis'): RedisScriptRunner['subscribe'] {
  if (!hasDuplicate(client)) return undefined;
  return (channel, message, live) => {
    let hub = hubs.get(client);
    if (hub === undefined) {
      hub =
        kind === 'ioredis'
          ? new NoticeHub((events) => ioConnection(client as Parameters<typeof ioConnection>[0], events))
          : new NoticeHub((events) => nodeConnection(client as Parameters<typeof nodeConnection>[0], events));
      hubs.set(client, hub);
    }
    return hub.subscribe(channel, message, live);
  };
}
