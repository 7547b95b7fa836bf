/**
 * Plan summaries of a call: runs it once with auto_explain reporting every nested statement's
 * EXPLAIN (ANALYZE, BUFFERS) as a notice, and condenses each plan to its scans (node, index or
 * relation, heap fetches of index-only scans) and the notable nodes above them.
 * @module
 */
import postgres from "postgres";
import type { Call } from "./workload.ts";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Heap Fetches"?: number;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Actual Total Time"?: number;
  Plans?: PlanNode[];
}

/** A statement's plan, condensed. */
export interface PlanSummary {
  /** Milliseconds the statement took (with ANALYZE overhead). */
  ms: number;
  /** e.g. "Index Only Scan using orders_placed_at_revenue_idx (heap fetches 0) → Aggregate". */
  summary: string;
}

const NOTABLE = new Set([
  "Seq Scan",
  "Index Scan",
  "Index Only Scan",
  "Bitmap Index Scan",
  "Bitmap Heap Scan",
  "Sort",
  "Incremental Sort",
  "Hash Join",
  "Merge Join",
  "Nested Loop",
  "HashAggregate",
  "GroupAggregate",
  "Gather",
  "Gather Merge",
  "Function Scan",
  "WindowAgg",
]);

/** One line for a plan: its scans and notable nodes, leaves first. */
export function summarizePlan(root: PlanNode): string {
  const parts: string[] = [];
  const walk = (node: PlanNode) => {
    for (const child of node.Plans ?? []) walk(child);
    const type = node["Node Type"];
    if (!NOTABLE.has(type)) return;
    let text = type;
    if (node["Index Name"]) text += ` using ${node["Index Name"]}`;
    else if (node["Relation Name"]) text += ` on ${node["Relation Name"]}`;
    if (type === "Index Only Scan") text += ` (heap fetches ${node["Heap Fetches"] ?? "?"})`;
    if (type.endsWith("Scan") && node["Actual Rows"] !== undefined) {
      const rows = Math.round((node["Actual Rows"] ?? 0) * (node["Actual Loops"] ?? 1));
      text += ` [${rows.toLocaleString("en-US")} rows]`;
    }
    if (parts[parts.length - 1] !== text) parts.push(text);
  };
  walk(root);
  const shown = parts.length > 12
    ? [...parts.slice(0, 12), `… (${parts.length - 12} more)`]
    : parts;
  return shown.join(" → ");
}

/**
 * Runs `call` once on `url` with auto_explain and returns the summaries of the statements that
 * read tables, slowest first. Needs a superuser (auto_explain is loaded per session).
 *
 * @example
 * ```ts
 * const plans = await capturePlans(url, workload.search[0]);
 * ```
 */
export async function capturePlans(url: string, call: Call): Promise<PlanSummary[]> {
  const notices: string[] = [];
  const sql = postgres(url, {
    max: 1,
    onnotice: (notice) => notices.push(String(notice.message)),
    connection: { application_name: "comptoir-bench-plans" },
  });
  try {
    await sql.unsafe(`load 'auto_explain'`);
    await sql.unsafe(`
      set auto_explain.log_min_duration = 0;
      set auto_explain.log_analyze = on;
      set auto_explain.log_buffers = on;
      set auto_explain.log_timing = on;
      set auto_explain.log_nested_statements = on;
      set auto_explain.log_format = json;
      set auto_explain.log_level = notice;
      set client_min_messages = notice`);
    await sql.begin(async (tx) => {
      await tx`select set_config('role', ${call.role}, true),
        set_config('request.jwt.claims', ${JSON.stringify(call.claims)}, true)`;
      notices.length = 0;
      await tx.unsafe(call.sql);
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
  const summaries: PlanSummary[] = [];
  for (const notice of notices) {
    const at = notice.indexOf("{");
    if (at < 0) continue;
    let root: PlanNode;
    try {
      root = JSON.parse(notice.slice(at)).Plan;
    } catch {
      continue; // a notice that is not a JSON plan
    }
    const summary = summarizePlan(root);
    // Statements that read a table or an index; the outer call itself is a Function Scan.
    if (!/ (on|using) /.test(summary.replace(/Function Scan on \S+/g, ""))) continue;
    summaries.push({ ms: Number(root["Actual Total Time"] ?? 0), summary });
  }
  return summaries.sort((a, b) => b.ms - a.ms);
}
