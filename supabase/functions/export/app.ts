/**
 * The `export` function: `GET /export/<resource>` streams orders, order lines, products,
 * inventory, customers, daily sales or the audit trail as CSV, JSON or JSON Lines (see resources.ts, formats.ts),
 * one page per request in one database snapshot, with a signed `Link: rel="next"` when more rows
 * follow; `GET /export` lists the resources. Routes only parse, authorize, open the page and
 * respond: the SQL is in query.ts, the streaming in page_stream.ts and encoders.ts.
 * @module
 */
import type { Context } from "hono";
import { createFunctionApp } from "../_shared/http/create_app.ts";
import { ProblemError, problems } from "../_shared/http/problem.ts";
import { authenticate, callerOf, requireRole } from "../_shared/auth/caller.ts";
import { getDb } from "../_shared/db/client.ts";
import { withDbErrors } from "../_shared/db/errors.ts";
import { validate, validInput } from "../_shared/validation/validate.ts";
import { recordExportPage } from "../_shared/metrics/hooks.ts";
import { exportCreated } from "../_shared/audit/events.ts";
import { recordEvent } from "../_shared/audit/log_event.ts";
import { edgeWaitUntil } from "../_shared/runtime/wait_until.ts";
import { FILTER_PARAMS, RESOURCE_NAMES, RESOURCES } from "./resources.ts";
import { exportParams, exportQuery, MAX_PAGE_ROWS } from "./schemas.ts";
import { acceptsGzip, contentDisposition, MEDIA_TYPES, negotiateFormat } from "./formats.ts";
import { closeJsonArray, counted, prefixed, UTF8_BOM } from "./encoders.ts";
import {
  CONTINUATION_TTL_SECONDS,
  filtersDigest,
  signContinuation,
  signingSecretFromEnv,
  verifyContinuation,
} from "./continuation.ts";
import { openPage } from "./page_stream.ts";
import { protection } from "./protection.ts";
import { z } from "zod";

const app = createFunctionApp("export");

// Refuse to start without a signing secret rather than fail on the first big export.
signingSecretFromEnv();

/** Rows per page unless the request asks for fewer (`COMPTOIR_EXPORT_PAGE_ROWS`). */
const PAGE_ROWS = boundedIntFromEnv(
  "COMPTOIR_EXPORT_PAGE_ROWS",
  500_000,
  1,
  MAX_PAGE_ROWS,
);
/** A page's time budget; the edge runtime closes a request after 150 s. */
const PAGE_TIMEOUT_MS = boundedIntFromEnv(
  "COMPTOIR_EXPORT_PAGE_TIMEOUT_MS",
  120_000,
  1_000,
  140_000,
);

const schemas = { params: exportParams, query: exportQuery };
const ALL_ROLES = ["customer", "admin", "service_role"] as const;

app.get("/", authenticate(), requireRole(...ALL_ROLES), (c) => {
  const role = callerOf(c).role;
  c.header("cache-control", "no-store");
  return c.json({
    data: RESOURCE_NAMES.filter((name) => RESOURCES[name].roles.includes(role))
      .map((name) => ({
        name,
        href: `/functions/v1/export/${name}`,
        columns: RESOURCES[name].columns.map((col) => col.name),
        filters: RESOURCES[name].filters.map((f) => f.param),
      })),
    formats: Object.keys(MEDIA_TYPES),
    page_rows: PAGE_ROWS,
  });
});

app.get(
  "/:resource",
  authenticate(),
  requireRole(...ALL_ROLES),
  ...protection.middleware,
  validate(schemas),
  async function exportPage(c: Context) {
    const started = performance.now();
    const { params, query } = validInput<typeof schemas>(c);
    const caller = callerOf(c);
    const parsedName = z.enum(RESOURCE_NAMES).safeParse(params.resource);
    if (!parsedName.success) {
      throw new ProblemError(
        problems.badRequest(
          `Unknown export ${params.resource}; known: ${RESOURCE_NAMES.join(", ")}`,
        ),
      );
    }
    const resource = RESOURCES[parsedName.data];
    if (!resource.roles.includes(caller.role)) {
      throw new ProblemError(
        problems.forbidden(`Exporting ${resource.name} needs the admin role`),
      );
    }
    const ownerId = caller.role === "customer" ? caller.userId : undefined;
    if (
      ownerId !== undefined && query.customer_id !== undefined &&
      query.customer_id !== ownerId
    ) {
      throw new ProblemError(
        problems.forbidden("Customers export their own orders only"),
      );
    }
    const usedFilters = resource.filters.map((f) => f.param);
    for (const name of FILTER_PARAMS) {
      if (query[name] !== undefined && !usedFilters.includes(name)) {
        throw new ProblemError(
          problems.badRequest(`${resource.name} has no ${name} filter`),
        );
      }
    }
    const format = negotiateFormat(query.format, c.req.header("accept"));
    const gzip = acceptsGzip(c.req.header("accept-encoding"));
    const filters = {
      from: query.from,
      to: query.to,
      status: query.status ? `{${query.status.join(",")}}` : undefined,
      customer_id: query.customer_id,
    };
    const subject = caller.userId ?? caller.role;
    const digest = await filtersDigest(resource.name, filters);
    const continuation = query.cursor
      ? await verifyContinuation(query.cursor, {
        resource: resource.name,
        filters: digest,
        subject,
        keyParts: resource.key.length,
      })
      : undefined;
    const pageRows = Math.min(query.page_size ?? PAGE_ROWS, PAGE_ROWS);
    const csv = {
      delimiter: query.delimiter === ";" || query.delimiter === "semicolon" ? ";" as const : ",",
      header: query.header ?? true,
    } as const;

    const page = await withDbErrors(
      () =>
        openPage(getDb(), caller, {
          resource,
          filters,
          ownerId,
          after: continuation?.after,
          upto: continuation?.upto,
          pageRows,
        }, {
          format,
          csv,
          maxConcurrent: protection.maxConcurrent,
          timeoutMs: PAGE_TIMEOUT_MS,
          first: continuation === undefined,
        }),
      { idempotent: true },
    );

    // One audit event per page served, in a transaction of its own (the page's is read-only),
    // after the database accepted the export; a failure to record it is logged, not answered.
    const pageNumber = continuation?.page ?? 1;
    const audited = recordEvent(
      getDb(),
      caller,
      exportCreated({
        resource: resource.name,
        format,
        filters: { ...definedOnly(filters), page: pageNumber },
        rows: page.rows,
      }),
    );
    edgeWaitUntil()?.(audited);

    let body = page.body;
    if (format === "json") body = body.pipeThrough(closeJsonArray());
    if (format === "csv" && query.bom) {
      body = body.pipeThrough(prefixed(UTF8_BOM));
    }
    if (gzip) {
      body = body.pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<
          Uint8Array,
          Uint8Array
        >,
      );
    }
    body = counted(body, (bytes, outcome, error) => {
      recordExportPage({
        resource: resource.name,
        format,
        rows: page.rows,
        bytes,
        seconds: (performance.now() - started) / 1000,
        outcome,
      });
      if (outcome === "failed") {
        console.error(JSON.stringify({
          level: "error",
          msg: "export failed mid-stream",
          resource: resource.name,
          request_id: c.get("requestId" as never),
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          code: (error as { code?: unknown })?.code,
        }));
      }
    });

    const headers = new Headers({
      "content-type": MEDIA_TYPES[format],
      "content-disposition": contentDisposition(
        resource.fileStem,
        format,
        new Date(),
        pageNumber,
      ),
      "cache-control": "no-store",
      "vary": "Accept, Accept-Encoding, Authorization",
      "x-export-rows": String(page.rows),
      "x-export-page": String(pageNumber),
    });
    if (gzip) headers.set("content-encoding", "gzip");
    if (page.nextAfter) {
      const token = await signContinuation({
        resource: resource.name,
        filters: digest,
        subject,
        after: [...page.nextAfter],
        upto: page.upto,
        page: pageNumber + 1,
        expiresAt: Math.floor(Date.now() / 1000) + CONTINUATION_TTL_SECONDS,
      });
      const next = new URL(c.req.url);
      next.searchParams.set("cursor", token);
      const path = `/functions/v1${next.pathname}${next.search}`;
      headers.set("link", `<${path}>; rel="next"`);
    }
    return new Response(body, { status: 200, headers });
  },
);

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function boundedIntFromEnv(
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer ${min}-${max}, got ${raw}`,
    );
  }
  return value;
}

export default app;
