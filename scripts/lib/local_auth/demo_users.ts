/**
 * The two demo accounts of the local stack, so a front-end can sign in at once: a customer, and
 * an admin (`app_metadata.role = "admin"`, what the shop's RLS policies and the api's dashboard
 * check). Created once with a known password; an account already there is left as it is.
 * @module
 */
import type postgres from "postgres";
import { insertUser } from "./auth_store.ts";

/** A demo account and its password (printed by `deno task dev`). */
export interface DemoUser {
  email: string;
  password: string;
  /** What the account is for. */
  kind: "customer" | "admin";
}

/** The demo accounts. Local only: these passwords are printed and must never exist elsewhere. */
export const DEMO_USERS: readonly DemoUser[] = [
  { email: "customer@comptoir.test", password: "comptoir-customer", kind: "customer" },
  { email: "admin@comptoir.test", password: "comptoir-admin", kind: "admin" },
];

/**
 * Creates the demo accounts that do not exist yet; returns the emails it created.
 *
 * @example
 * ```ts
 * await seedDemoUsers(getDb());
 * ```
 */
export async function seedDemoUsers(sql: postgres.Sql): Promise<string[]> {
  const created: string[] = [];
  for (const demo of DEMO_USERS) {
    const user = await insertUser(sql, {
      email: demo.email,
      password: demo.password,
      emailConfirmed: true,
      appMetadata: demo.kind === "admin" ? { role: "admin" } : {},
      userMetadata: { full_name: demo.kind === "admin" ? "Demo Admin" : "Demo Customer" },
    });
    if (user) created.push(demo.email);
  }
  return created;
}
