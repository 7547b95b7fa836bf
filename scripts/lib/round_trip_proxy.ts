/**
 * A TCP relay in front of Postgres that counts database round trips: each time a client sends
 * bytes after the server last spoke on that connection, the client is starting a new exchange it
 * will wait for, whatever it sends (a simple Query, a Parse/Describe/Flush that must be answered
 * before the Bind, a pipelined Parse/Bind/Execute/Sync batch). A client that writes several
 * messages before reading (pipelining) is counted once, which is the point: a round trip is a
 * wait for the network and the server, not a message. Requests must be sent one at a time for the
 * count of a request to be its own.
 * Hand-written because no Debian or npm package counts protocol turns; it relays bytes untouched.
 * @module
 */

/** A running relay. */
export interface RoundTripProxy {
  /** Port on 127.0.0.1 that relays to the upstream. */
  port: number;
  /** Round trips counted since the start or the last {@linkcode RoundTripProxy.reset}. */
  count(): number;
  /** Sets the count back to zero. */
  reset(): void;
  /** Connections accepted so far. */
  connections(): number;
  /** Stops listening and closes every relayed connection. */
  close(): Promise<void>;
}

/** Options of {@linkcode startRoundTripProxy}. */
export interface RoundTripProxyOptions {
  /** Upstream host. Default 127.0.0.1. */
  upstreamHost?: string;
  /** Upstream port. */
  upstreamPort: number;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
}

/**
 * Starts a counting relay to `upstreamPort`.
 *
 * @example
 * ```ts
 * const proxy = await startRoundTripProxy({ upstreamPort: 54322 });
 * // connect to postgresql://…@127.0.0.1:${proxy.port}/postgres, then:
 * proxy.reset(); await sql`select 1`; proxy.count(); // 1
 * await proxy.close();
 * ```
 */
export function startRoundTripProxy(
  { upstreamHost = "127.0.0.1", upstreamPort, port = 0 }: RoundTripProxyOptions,
): Promise<RoundTripProxy> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let trips = 0;
  let accepted = 0;
  const open = new Set<Deno.Conn>();
  const relays = new Set<Promise<void>>();

  async function relay(client: Deno.Conn): Promise<void> {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: upstreamHost, port: upstreamPort });
    } catch {
      client.close();
      return;
    }
    open.add(client);
    open.add(server);
    // The client's next write starts a new round trip once the server has answered.
    let serverSpoke = true;
    const pump = async (from: Deno.Conn, to: Deno.Conn, fromClient: boolean) => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buffer);
          if (n === null) break;
          if (fromClient) {
            if (serverSpoke) trips++;
            serverSpoke = false;
          } else {
            serverSpoke = true;
          }
          let written = 0;
          while (written < n) written += await to.write(buffer.subarray(written, n));
        }
      } catch {
        // A side closed: the other is closed below.
      }
    };
    await Promise.race([pump(client, server, true), pump(server, client, false)]);
    for (const conn of [client, server]) {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      const running = relay(conn);
      relays.add(running);
      running.finally(() => relays.delete(running));
    }
  })().catch(() => {});

  return Promise.resolve({
    port: (listener.addr as Deno.NetAddr).port,
    count: () => trips,
    reset: () => {
      trips = 0;
    },
    connections: () => accepted,
    close: async () => {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting;
      await Promise.allSettled([...relays]);
    },
  });
}

/**
 * The median number of round trips `call` makes, over `samples` calls after `warmUp` uncounted
 * ones (the first calls connect and learn types). The median leaves out a background statement
 * (a metrics flush) that happens to fall into one call.
 *
 * @example
 * ```ts
 * const trips = await roundTripsOf(proxy, () => fetch(`${url}/functions/v1/health`));
 * ```
 */
export async function roundTripsOf(
  proxy: RoundTripProxy,
  call: () => Promise<unknown>,
  { warmUp = 2, samples = 5 }: { warmUp?: number; samples?: number } = {},
): Promise<number> {
  for (let i = 0; i < warmUp; i++) await call();
  const counts: number[] = [];
  for (let i = 0; i < samples; i++) {
    proxy.reset();
    await call();
    counts.push(proxy.count());
  }
  counts.sort((a, b) => a - b);
  return counts[Math.floor(counts.length / 2)];
}
