/**
 * The connections the pause notices are heard on (see `PauseNotices`): a duplicate of an ioredis,
 * iovalkey or node-redis client, as the hub drives it. No bucket logic here.
 */

/** A subscribed connection as the hub drives it. */
export interface Connection {
  /** Resolves once it is connected; rejects if it never is. */
  readonly ready: Promise<void>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  close(): void;
}

/** What a connection tells the hub. */
export interface Events {
  message(channel: string, text: string): void;
  lost(): void;
  back(): void;
}

/** The event emitter part of both client libraries. */
interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
}

/** An ioredis or iovalkey client or `Cluster`, as far as a duplicate of it is used. */
interface IoDuplicate extends Emitter {
  readonly status: string;
  connect(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** A node-redis client or cluster, as far as a duplicate of it is used. */
interface NodeDuplicate extends Emitter {
  /** A cluster's masters (a cluster only). */
  readonly masters?: unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  destroy?(): void;
  disconnect?(): Promise<unknown>;
}

export const ignore = (): undefined => undefined;

/** Reports losses and comebacks of `connection` (`back` only after a loss). */
function watchLosses(connection: Emitter, lostOn: readonly string[], events: Events): void {
  let lost = false;
  const onLost = (): void => {
    if (lost) return;
    lost = true;
    events.lost();
  };
  for (const event of lostOn) connection.on(event, onLost);
  connection.on('ready', () => {
    if (!lost) return;
    lost = false;
    events.back();
  });
}

/** An ioredis or iovalkey `Cluster`: its node connections. */
interface IoCluster {
  readonly isCluster: true;
  nodes(role: string): Array<{ duplicate(): IoDuplicate }>;
}

/**
 * A duplicate of `client`, or for a `Cluster` of one of its masters' connections (chosen at random):
 * a plain `PUBLISH` reaches every node of a cluster, so one connection hears every key's notices,
 * without a second `Cluster` and its node connections and timers.
 */
function ioDuplicate(client: { duplicate(): IoDuplicate }): IoDuplicate {
  if ((client as Partial<IoCluster>).isCluster !== true) return client.duplicate();
  const nodes = (client as unknown as IoCluster).nodes('master');
  const node = nodes[Math.floor(Math.random() * nodes.length)];
  if (node === undefined) throw new TypeError('the cluster client knows no master yet');
  return node.duplicate();
}

export function ioConnection(client: { duplicate(): IoDuplicate }, events: Events): Connection {
  const dup = ioDuplicate(client);
  dup.on('error', ignore);
  dup.on('node error', ignore);
  dup.on('message', (channel: string, text: string) => {
    events.message(channel, text);
  });
  const ready =
    dup.status === 'wait'
      ? dup.connect().then(ignore)
      : dup.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            dup.once('ready', resolve);
            dup.once('end', () => {
              reject(new Error('the connection ended'));
            });
          });
  ready.then(() => {
    watchLosses(dup, ['close'], events);
  }, ignore);
  return {
    ready,
    subscribe: (channel) => dup.subscribe(channel),
    unsubscribe: (channel) => dup.unsubscribe(channel),
    close: () => {
      // QUIT, not disconnect(): that arms a 2 s timer (to destroy a stream still open), which would
      // hold the process, and shows among a fake clock's timers.
      if (dup.status === 'ready') {
        dup.quit().catch(() => {
          dup.disconnect();
        });
      } else dup.disconnect();
    },
  };
}

export function nodeConnection(
  client: { duplicate(overrides?: { minimizeConnections: true }): NodeDuplicate; masters?: unknown },
  events: Events,
): Connection {
  // A cluster's duplicate only reads the topology (no connection to every master) and subscribes on
  // one node: a plain PUBLISH reaches them all.
  const dup = client.masters === undefined ? client.duplicate() : client.duplicate({ minimizeConnections: true });
  dup.on('error', ignore);
  const listener = (text: string, channel: string): void => {
    events.message(channel, text);
  };
  const ready = dup.connect().then(ignore);
  ready.then(() => {
    watchLosses(dup, ['end', 'reconnecting'], events);
  }, ignore);
  return {
    ready,
    subscribe: (channel) => dup.subscribe(channel, listener),
    unsubscribe: (channel) => dup.unsubscribe(channel),
    close: () => {
      if (dup.destroy !== undefined) dup.destroy();
      else void dup.disconnect?.().catch(ignore);
    },
  };
}
