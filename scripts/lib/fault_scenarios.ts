/**
 * Database faults injected under real order traffic, shared by the fault tests (tests/faults/) and
 * `deno task bench:faults`, so the report measures exactly what the tests check. A scenario starts
 * the dev server (`scripts/dev.ts`, as a developer runs it) on a local cluster, runs clients that
 * place orders in a loop — each with its own user and a fresh `Idempotency-Key` per order — injects
 * one kind of fault, waits for the service to serve again by itself, retries every request whose
 * answer was lost with its key, and reports what every client saw and what the database holds.
 *
 * Faults: `immediate` (`pg_ctl stop -m immediate`, the crash of the server, then a restart);
 * `terminate` (`pg_terminate_backend` of the functions' backends while their transaction runs);
 * `reset` (a TCP proxy between the functions and Postgres sends RST on every connection while
 * queries are in flight); `limiter` (an immediate shutdown with the Postgres rate-limit backend on
 * and metrics flushed every 100 ms, so it lands in rate-limit checks and metric flushes).
 *
 * Order placement is slowed in the database by a fixture trigger (a short `pg_sleep` when the
 * scenario's products are reserved), so each fault meets transactions that have written an order
 * and not yet committed. Outages last until the breaker has refused a number of requests, and
 * every wait is a condition polled against a deadline.
 * @module
 */
import net from "node:net";
import postgres from "postgres";
import { run } from "./command.ts";
import { type DevServer, startDevServer } from "./dev_server_process.ts";
import { PG_BIN, PgCluster } from "./pg_cluster.ts";

/** The kinds of fault a scenario injects. */
export type FaultKind = "immediate" | "terminate" | "reset" | "limiter";

/** Options of {@linkcode runFaultScenario}. */
export interface FaultScenarioOptions {
  kind: FaultKind;
  /** The cluster the dev server uses; it is stopped and restarted by `immediate` and `limiter`. */
  cluster: PgCluster;
  /** Concurrent clients placing orders. Default 10. */
  clients?: number;
  /** Injections in the scenario (outages, termination sweeps or resets). Default 3. */
  rounds?: number;
  /** Milliseconds the database breaker stays open before a probe. Default 1000. */
  breakerOpenMs?: number;
  /** Seconds a slowed placement sleeps while it holds its row locks. Default 0.02. */
  placeOrderDelaySeconds?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One answer a client got. */
export interface Attempt {
  client: number;
  key: string;
  items: { product_id: number; quantity: number }[];
  /** HTTP status, 0 when the request got no answer at all. */
  status: number;
  /** Problem type (the last path segment), for errors. */
  problem?: string;
  contentType: string | null;
  retryAfter: string | null;
  /** GET (catalog) or POST (order). */
  method: "GET" | "POST";
  sentAt: number;
  at: number;
}

/** What a scenario saw and what the database holds afterwards. */
export interface FaultReport {
  kind: FaultKind;
  /** Injections done (outages, terminated backends, reset connections). */
  injections: number;
  /** How many of them met a transaction in progress (terminate, reset). */
  midTransaction: number;
  attempts: Attempt[];
  /** Answers by status, load and retries together. */
  byStatus: Record<string, number>;
  /** Answers that are neither success nor a 503 problem+json with Retry-After. */
  badAnswers: Attempt[];
  /** 503s the breaker gave at once (dependency-unavailable) while the database was down. */
  fastRefusals: number;
  /** Answers 503 rate-limit-unavailable (a fail-closed policy) and such answers on fail-open routes. */
  failClosed: number;
  failClosedOnOpenRoutes: number;
  /** Time from Postgres accepting connections again to the first order placed, per outage. */
  recoveryMs: number[];
  /** Retries after the outage: keys whose order was committed while the answer was lost. */
  replayed: number;
  /** Retries of keys with no order: placed by the retry. */
  placedOnRetry: number;
  /** Retries whose answer was not the expected one (200 replayed or 201). */
  badRetries: string[];
  /** Keys with no order, or with more than one. */
  lost: string[];
  duplicated: string[];
  /** Orders whose lines or totals disagree, and products whose reservation is off. */
  invariantViolations: string[];
  /** Whether the process still served after the scenario, and what it printed if it died. */
  servingAfterwards: boolean;
  crashOutput: string[];
}

const ORDER_PATH = "api/v2/orders";
const APP_NAME = "comptoir-functions";

/**
 * Runs one scenario and returns its report; the cluster is running again when it returns.
 *
 * @example
 * ```ts
 * const report = await runFaultScenario({ kind: "terminate", cluster });
 * console.log(report.byStatus, report.lost, report.duplicated);
 * ```
 */
export async function runFaultScenario(options: FaultScenarioOptions): Promise<FaultReport> {
  const {
    kind,
    cluster,
    clients = 10,
    rounds = 3,
    breakerOpenMs = 1000,
    placeOrderDelaySeconds = 0.02,
    log = () => {},
  } = options;
  await cluster.start();
  const admin = postgres(cluster.url(), { max: 3, onnotice: () => {} });
  const proxy = kind === "reset" ? await ResettingProxy.start(cluster.port) : undefined;
  let server: DevServer | undefined;
  const shop = await createShop(admin, clients);
  await slowPlacement(admin, shop.products, placeOrderDelaySeconds);
  // Each client places hundreds of orders that stay unpaid: lift the per-customer cap on pending
  // orders (private.order_limits) for the scenario, and put it back after.
  const restoreLimits = await liftPendingOrderCap(admin);
  try {
    server = await startDevServer({
      dbUrl: proxy ? proxy.url(cluster.url()) : cluster.url(),
      quiet: true,
      env: {
        COMPTOIR_TRUSTED_PROXY: "1",
        COMPTOIR_DB_BREAKER_OPEN_MS: String(breakerOpenMs),
        ...(kind === "limiter"
          ? {
            COMPTOIR_RATE_LIMIT_BACKEND: "postgres",
            COMPTOIR_RATE_LIMITS: '{"orders_create": {"limit": 1000000}}',
            COMPTOIR_METRICS_FLUSH_MS: "100",
          }
          : { COMPTOIR_RATE_LIMIT_BACKEND: "off" }),
      },
    });
    const tokens = await Promise.all(shop.users.map((id) => server!.tokenFor({ id })));
    const load = new OrderLoad(server, tokens, shop.products, kind === "limiter");
    const report = emptyReport(kind);
    try {
      await load.waitForOrders(clients * 2, "orders before the first fault");
      for (let round = 1; round <= rounds; round++) {
        log(`${kind} round ${round}/${rounds}`);
        if (kind === "immediate" || kind === "limiter") {
          report.recoveryMs.push(await outage(cluster, load, breakerOpenMs));
          report.injections++;
        } else if (kind === "terminate") {
          const swept = await terminateBackends(admin, load);
          report.injections += swept.terminated;
          report.midTransaction += swept.midTransaction;
        } else {
          const reset = await resetConnections(proxy!, admin, load);
          report.injections += reset.reset;
          report.midTransaction += reset.midTransaction;
        }
        await load.waitForOrders(clients, `orders after ${kind} round ${round}`);
      }
    } finally {
      await load.stop();
    }
    report.attempts = load.attempts;
    await settle(server, admin, shop, tokens, report);
    await checkInvariants(admin, shop, report);
    report.servingAfterwards = await serving(server);
    report.crashOutput = server.output().split("\n").filter((line) =>
      /Uncaught|reading 'write'|panicked/.test(line)
    );
    summarise(report, load.attempts);
    return report;
  } finally {
    await server?.stop();
    await cluster.start();
    await dropSlowPlacement(admin, shop.products).catch(() => {});
    await restoreLimits().catch(() => {});
    proxy?.close();
    await admin.end({ timeout: 5 });
  }
}

// ---------------------------------------------------------------------------------------------
// The shop: users and products of one scenario.

interface Shop {
  users: string[];
  products: number[];
}

async function createShop(admin: postgres.Sql, clients: number): Promise<Shop> {
  const tag = crypto.randomUUID().slice(0, 8);
  const users: string[] = [];
  for (let i = 0; i < clients; i++) {
    const id = crypto.randomUUID();
    users.push(id);
    await admin`
      insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
      values (${id}, 'authenticated', 'authenticated', ${`fault.${tag}.${i}@example.com`},
              ${admin.json({ provider: "email" })}, ${admin.json({ full_name: `Fault ${i}` })})`;
  }
  const [category] = await admin`
    insert into public.categories (name, slug) values (${`faults ${tag}`}, ${`faults-${tag}`})
    returning id`;
  const products: number[] = [];
  for (const [i, price] of [1250, 4990].entries()) {
    const [product] = await admin`
      insert into public.products (sku, name, description, price_cents, currency, category_id, active)
      values (${`FAULT-${tag}-${i}`.toUpperCase()}, ${`Fault ${tag} ${i}`}, 'Fault test product',
              ${price}, 'EUR', ${category.id}, true)
      returning id`;
    await admin`insert into public.inventory (product_id, on_hand, reserved)
                values (${product.id}, 1000000000, 0)`;
    products.push(Number(product.id));
  }
  return { users, products };
}

/** Raises the per-customer pending-order cap; returns what puts the previous one back. */
async function liftPendingOrderCap(admin: postgres.Sql): Promise<() => Promise<void>> {
  const [before] = await admin`
    select max_pending_orders, max_pending_units from private.order_limits where id`;
  await admin`
    update private.order_limits
    set max_pending_orders = 10000, max_pending_units = 10000000 where id`;
  return async () => {
    await admin`
      update private.order_limits
      set max_pending_orders = ${before.max_pending_orders},
          max_pending_units = ${before.max_pending_units}
      where id`;
  };
}

/** A trigger that makes reserving the scenario's products sleep, inside place_order's transaction. */
async function slowPlacement(admin: postgres.Sql, products: number[], seconds: number) {
  const name = triggerName(products);
  await admin.unsafe(`
    create or replace function public.${name}() returns trigger language plpgsql as $$
    begin perform pg_catalog.pg_sleep(${Number(seconds)}); return new; end $$`);
  await admin.unsafe(`
    create trigger ${name} before update on public.inventory for each row
    when (new.product_id in (${products.map(Number).join(", ")}))
    execute function public.${name}()`);
}

async function dropSlowPlacement(admin: postgres.Sql, products: number[]) {
  const name = triggerName(products);
  await admin.unsafe(`drop trigger if exists ${name} on public.inventory`);
  await admin.unsafe(`drop function if exists public.${name}()`);
}

function triggerName(products: number[]): string {
  return `fault_slow_reservation_${products[0]}`;
}

// ---------------------------------------------------------------------------------------------
// Load: clients placing orders (and, for the limiter scenario, browsing the catalog).

class OrderLoad {
  readonly attempts: Attempt[] = [];
  #running = true;
  readonly #loops: Promise<void>[];

  constructor(
    readonly server: DevServer,
    tokens: string[],
    products: number[],
    browse: boolean,
  ) {
    this.#loops = tokens.map((token, client) =>
      this.#loop(client, token, products, browse && client % 2 === 1)
    );
  }

  async #loop(client: number, token: string, products: number[], browse: boolean) {
    let n = 0;
    while (this.#running) {
      n++;
      const attempt = browse && n % 2 === 0
        ? await browseCatalog(this.server, client)
        : await placeOrder(this.server, client, token, crypto.randomUUID(), orderItems(products));
      this.attempts.push(attempt);
      // Failed answers come back at once while the breaker is open: pace the client a little.
      if (attempt.status >= 500 || attempt.status === 0) await pause(50);
    }
  }

  /** Orders placed (201) so far. */
  placed(): number {
    return this.attempts.filter((a) => a.status === 201).length;
  }

  /** Waits until `count` more orders have been placed. */
  async waitForOrders(count: number, what: string, timeoutMs = 60_000): Promise<number> {
    const target = this.placed() + count;
    await until(what, () => this.placed() >= target, timeoutMs);
    return Date.now();
  }

  async stop() {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

function orderItems(products: number[]) {
  const quantity = () => 1 + Math.floor(Math.random() * 3);
  return Math.random() < 0.5 ? [{ product_id: products[0], quantity: quantity() }] : [
    { product_id: products[0], quantity: quantity() },
    { product_id: products[1], quantity: quantity() },
  ];
}

async function placeOrder(
  server: DevServer,
  client: number,
  token: string,
  key: string,
  items: Attempt["items"],
): Promise<Attempt & { replayedHeader: string | null }> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${server.url}/functions/v1/${ORDER_PATH}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "idempotency-key": key,
        "x-forwarded-for": clientAddress(client),
      },
      body: JSON.stringify({ items }),
    });
    return { ...await attemptOf(res, client, key, items, "POST", sentAt) };
  } catch {
    return noAnswer(client, key, items, "POST", sentAt);
  }
}

async function browseCatalog(server: DevServer, client: number): Promise<Attempt> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${server.url}/functions/v1/api/v2/categories`, {
      headers: {
        authorization: `Bearer ${server.anonKey}`,
        "x-forwarded-for": clientAddress(client),
      },
    });
    return await attemptOf(res, client, "", [], "GET", sentAt);
  } catch {
    return noAnswer(client, "", [], "GET", sentAt);
  }
}

async function attemptOf(
  res: Response,
  client: number,
  key: string,
  items: Attempt["items"],
  method: Attempt["method"],
  sentAt: number,
): Promise<Attempt & { replayedHeader: string | null }> {
  const text = await res.text();
  let problem: string | undefined;
  if (res.status >= 400) {
    try {
      problem = String(JSON.parse(text).type ?? "").split("/").pop();
    } catch {
      problem = "(not json)";
    }
  }
  return {
    client,
    key,
    items,
    status: res.status,
    problem,
    contentType: res.headers.get("content-type"),
    retryAfter: res.headers.get("retry-after"),
    replayedHeader: res.headers.get("idempotent-replayed"),
    method,
    sentAt,
    at: Date.now(),
  };
}

function noAnswer(
  client: number,
  key: string,
  items: Attempt["items"],
  method: Attempt["method"],
  sentAt: number,
): Attempt & { replayedHeader: null } {
  return {
    client,
    key,
    items,
    status: 0,
    contentType: null,
    retryAfter: null,
    replayedHeader: null,
    method,
    sentAt,
    at: Date.now(),
  };
}

/** Each client its own address, so a per-address limit never mixes two clients. */
function clientAddress(client: number): string {
  return `198.18.${Math.floor(client / 250)}.${(client % 250) + 1}`;
}

// ---------------------------------------------------------------------------------------------
// Faults.

/**
 * Kills Postgres (immediate shutdown: no checkpoint, every backend dies at once), keeps it down
 * until the breaker has refused requests, restarts it and returns how long the service took to
 * place an order again after Postgres accepted connections.
 */
async function outage(cluster: PgCluster, load: OrderLoad, breakerOpenMs: number) {
  await load.waitForOrders(3, "orders in flight before the outage");
  await run(`${PG_BIN}/pg_ctl`, ["stop", "-w", "-m", "immediate", "-D", cluster.dataDir], {
    asPostgres: true,
  });
  const stoppedAt = Date.now();
  const refusals = () =>
    load.attempts.filter((a) => a.sentAt > stoppedAt && a.problem === "dependency-unavailable")
      .length;
  // Down long enough for the breaker to open and refuse, and for one probe to fail.
  await until("the breaker refusing requests", () => refusals() >= 20, 60_000);
  const probeFailedBy = Date.now() + breakerOpenMs;
  await until("a failed probe", () => Date.now() >= probeFailedBy && refusals() >= 40, 60_000);
  await cluster.start();
  const backAt = Date.now();
  await until(
    "an order placed after the restart",
    () => load.attempts.some((a) => a.status === 201 && a.sentAt >= backAt),
    60_000,
  );
  const first = load.attempts.filter((a) => a.status === 201 && a.sentAt >= backAt)
    .reduce((min, a) => Math.min(min, a.at), Infinity);
  return first - backAt;
}

/**
 * Terminates the functions' backends whose transaction is running, sweep after sweep, until
 * `target` have been terminated; returns how many, and how many had written an order already.
 */
async function terminateBackends(admin: postgres.Sql, load: OrderLoad, target = 10) {
  let terminated = 0;
  let midTransaction = 0;
  const deadline = Date.now() + 60_000;
  while (terminated < target) {
    if (Date.now() > deadline) throw new Error(`only ${terminated} backends terminated in 60 s`);
    const rows = await admin`
      select pid, query like '%place_order%' as placing, pg_terminate_backend(pid) as done
      from pg_stat_activity
      where application_name = ${APP_NAME} and xact_start is not null
        and state in ('active', 'idle in transaction')`;
    for (const row of rows) {
      if (!row.done) continue;
      terminated++;
      if (row.placing) midTransaction++;
    }
    if (rows.length > 0) await load.waitForOrders(1, "an order between two sweeps");
    else await pause(5);
  }
  return { terminated, midTransaction };
}

/** Resets every proxied connection while the functions have a transaction running. */
async function resetConnections(proxy: ResettingProxy, admin: postgres.Sql, load: OrderLoad) {
  await until(
    "a transaction in progress",
    async () => {
      const [{ n }] = await admin`
      select count(*)::int as n from pg_stat_activity
      where application_name = ${APP_NAME} and query like '%place_order%' and state = 'active'`;
      return n > 0;
    },
    30_000,
    2,
  );
  const reset = proxy.resetAll();
  await load.waitForOrders(1, "an order after the reset");
  return { reset, midTransaction: reset > 0 ? 1 : 0 };
}

/**
 * A TCP forwarder to Postgres whose connections can all be reset at once (RST, as a load balancer
 * or a NAT that drops state does), with node:net's `resetAndDestroy()`.
 */
export class ResettingProxy {
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  readonly #server: net.Server;
  #port = 0;

  private constructor(targetPort: number) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(targetPort, "127.0.0.1");
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.#pairs.add(pair);
      const drop = () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** Starts a proxy to 127.0.0.1:`targetPort` on a free loopback port. */
  static async start(targetPort: number): Promise<ResettingProxy> {
    const proxy = new ResettingProxy(targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once("error", reject);
      proxy.#server.listen(0, "127.0.0.1", () => resolve());
    });
    proxy.#port = (proxy.#server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = "127.0.0.1";
    parsed.port = String(this.#port);
    return parsed.toString();
  }

  /** Resets both sides of every open connection; returns how many connections. */
  resetAll(): number {
    const pairs = [...this.#pairs];
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    return pairs.length;
  }

  close() {
    this.resetAll();
    this.#server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// After the faults: retries with the same keys, invariants, liveness.

/**
 * Retries every order whose answer was not 201 with its Idempotency-Key, once the service serves:
 * a key whose order was committed must get it back (200, Idempotent-Replayed: true), any other key
 * must get a new order (201).
 */
async function settle(
  server: DevServer,
  admin: postgres.Sql,
  shop: Shop,
  tokens: string[],
  report: FaultReport,
) {
  const unanswered = report.attempts.filter((a) => a.method === "POST" && a.status !== 201);
  const committed = new Set(
    (await admin`
      select key from private.idempotency_keys
      where customer_id = any(${shop.users}::uuid[]) and key = any(${
      unanswered.map((a) => a.key)
    }::text[])`).map((r) => String(r.key)),
  );
  // One retrying client per original client, all at once, as the clients themselves would.
  const retryClient = async (client: number) => {
    for (const attempt of unanswered.filter((a) => a.client === client)) {
      let answer: Attempt & { replayedHeader: string | null };
      const deadline = Date.now() + 30_000;
      do {
        answer = await placeOrder(server, client, tokens[client], attempt.key, attempt.items);
        if (answer.status !== 503) break;
        await pause(50);
      } while (Date.now() < deadline);
      report.attempts.push(answer);
      if (committed.has(attempt.key)) {
        if (answer.status === 200 && answer.replayedHeader === "true") report.replayed++;
        else report.badRetries.push(`${attempt.key}: committed, retry got ${answer.status}`);
      } else if (answer.status === 201) {
        report.placedOnRetry++;
      } else {
        report.badRetries.push(`${attempt.key}: not committed, retry got ${answer.status}`);
      }
    }
  };
  await Promise.all(tokens.map((_, client) => retryClient(client)));
}

/** Every key has exactly one order, every order agrees with its lines, reservations add up. */
async function checkInvariants(admin: postgres.Sql, shop: Shop, report: FaultReport) {
  const keys = new Set(report.attempts.filter((a) => a.method === "POST").map((a) => a.key));
  const rows = await admin`
    select k.key, count(o.id)::int as orders
    from private.idempotency_keys k left join public.orders o on o.id = k.order_id
    where k.customer_id = any(${shop.users}::uuid[])
    group by k.key`;
  const found = new Map(rows.map((r) => [String(r.key), Number(r.orders)]));
  for (const key of keys) {
    const orders = found.get(key) ?? 0;
    if (orders === 0) report.lost.push(key);
    if (orders > 1) report.duplicated.push(key);
  }
  for (const key of found.keys()) if (!keys.has(key)) report.duplicated.push(`${key} (never sent)`);
  const [{ unkeyed }] = await admin`
    select count(*)::int as unkeyed from public.orders o
    where o.customer_id = any(${shop.users}::uuid[])
      and not exists (select 1 from private.idempotency_keys k where k.order_id = o.id)`;
  if (unkeyed > 0) report.duplicated.push(`${unkeyed} orders without their key`);

  const orders = await admin`
    select o.id, o.item_count, o.subtotal_cents, o.shipping_cents, o.total_cents,
           count(i.line_no)::int as lines,
           coalesce(sum(i.quantity), 0)::int as units,
           coalesce(sum(i.line_total_cents), 0)::bigint as lines_total,
           bool_and(i.line_total_cents = i.quantity * i.unit_price_cents
                    and i.unit_price_cents = p.price_cents) as lines_priced
    from public.orders o
    left join public.order_items i on i.order_id = o.id
    left join public.products p on p.id = i.product_id
    where o.customer_id = any(${shop.users}::uuid[])
    group by o.id`;
  for (const o of orders) {
    const problems = [];
    if (o.lines === 0) problems.push("no lines");
    if (o.units !== o.item_count) problems.push(`item_count ${o.item_count} != ${o.units} units`);
    if (Number(o.lines_total) !== Number(o.subtotal_cents)) problems.push("subtotal != lines");
    if (Number(o.total_cents) !== Number(o.subtotal_cents) + Number(o.shipping_cents)) {
      problems.push("total != subtotal + shipping");
    }
    if (o.lines > 0 && !o.lines_priced) problems.push("a line is mispriced");
    if (problems.length) report.invariantViolations.push(`order ${o.id}: ${problems.join(", ")}`);
  }
  // Stock reserved for a product is what its pending orders hold (the products are the scenario's
  // own, and only its orders touch them).
  const stock = await admin`
    select i.product_id, i.reserved,
           coalesce((select sum(oi.quantity) from public.order_items oi
                     join public.orders o on o.id = oi.order_id
                     where oi.product_id = i.product_id and o.status = 'pending'), 0)::int as pending
    from public.inventory i where i.product_id = any(${shop.products}::bigint[])`;
  for (const s of stock) {
    if (s.reserved !== s.pending) {
      report.invariantViolations.push(
        `product ${s.product_id}: reserved ${s.reserved} != ${s.pending} in pending orders`,
      );
    }
  }
}

async function serving(server: DevServer): Promise<boolean> {
  try {
    const res = await fetch(`${server.url}/functions/v1/api/v2/categories`, {
      headers: { authorization: `Bearer ${server.anonKey}`, "x-forwarded-for": "198.19.0.1" },
    });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

function emptyReport(kind: FaultKind): FaultReport {
  return {
    kind,
    injections: 0,
    midTransaction: 0,
    attempts: [],
    byStatus: {},
    badAnswers: [],
    fastRefusals: 0,
    failClosed: 0,
    failClosedOnOpenRoutes: 0,
    recoveryMs: [],
    replayed: 0,
    placedOnRetry: 0,
    badRetries: [],
    lost: [],
    duplicated: [],
    invariantViolations: [],
    servingAfterwards: false,
    crashOutput: [],
  };
}

function summarise(report: FaultReport, attempts: Attempt[]) {
  for (const a of attempts) {
    report.byStatus[a.status] = (report.byStatus[a.status] ?? 0) + 1;
    const ok = a.status === 200 || a.status === 201;
    const wellFormed503 = a.status === 503 &&
      a.contentType === "application/problem+json" && Number(a.retryAfter) >= 1;
    if (!ok && !wellFormed503) report.badAnswers.push(a);
    if (a.problem === "dependency-unavailable") report.fastRefusals++;
    if (a.problem === "rate-limit-unavailable") {
      report.failClosed++;
      if (a.method === "GET") report.failClosedOnOpenRoutes++;
    }
  }
}

// ---------------------------------------------------------------------------------------------

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true, or throws after `timeoutMs`. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(intervalMs);
  }
}
