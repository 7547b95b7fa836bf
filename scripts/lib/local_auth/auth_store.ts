/**
 * The local Auth's SQL over the tables of the local compatibility SQL: `auth.users` (passwords
 * bcrypt-hashed by pgcrypto, `$2a$10$…` as Supabase Auth writes them), `auth.sessions` and
 * `auth.refresh_tokens` (rotation: each refresh revokes the token used and issues its child, the
 * `parent` column linking them as in supabase/auth). Every change that spans rows runs in one
 * transaction, so a failure mid-way leaves nothing half-written.
 * @module
 */
import type postgres from "postgres";

/** bcrypt cost of Supabase Auth (Go's bcrypt.DefaultCost). */
export const BCRYPT_COST = 10;

/** The instance id Supabase Auth writes on every row. */
const INSTANCE_ID = "00000000-0000-0000-0000-000000000000";

/** A row of auth.users, as the routes need it. */
export interface UserRow {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  phone: string | null;
  email_confirmed_at: Date | null;
  confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  banned_until: Date | null;
  created_at: Date;
  updated_at: Date;
  is_anonymous: boolean;
}

/** A session as a token needs it. */
export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
}

/** What a new user is made of. */
export interface NewUser {
  email: string;
  password?: string;
  emailConfirmed: boolean;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  role?: string;
}

type Tx = postgres.TransactionSql | postgres.Sql;

const USER_COLUMNS =
  `id, aud, role, email, phone, email_confirmed_at, confirmed_at, last_sign_in_at,
  raw_app_meta_data, raw_user_meta_data, banned_until, created_at, updated_at, is_anonymous`;

/** Inserts a user; `undefined` when the email is taken. */
export async function insertUser(tx: Tx, user: NewUser): Promise<UserRow | undefined> {
  const app = { provider: "email", providers: ["email"], ...(user.appMetadata ?? {}) };
  const rows = await tx.unsafe<UserRow[]>(
    `insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
       email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
       is_anonymous)
     values ($1, gen_random_uuid(), 'authenticated', $2, $3,
       case when $4::text is null then '' else extensions.crypt($4, extensions.gen_salt('bf', $5)) end,
       case when $6 then now() end, $7::text::jsonb, $8::text::jsonb, now(), now(), false)
     on conflict (email) where is_sso_user = false do nothing
     returning ${USER_COLUMNS}`,
    [
      INSTANCE_ID,
      user.role ?? "authenticated",
      user.email,
      user.password ?? null,
      BCRYPT_COST,
      user.emailConfirmed,
      JSON.stringify(app),
      JSON.stringify(user.userMetadata ?? {}),
    ],
  );
  return rows[0];
}

/** The user with this email, and whether `password` is theirs. */
export async function userByEmailWithPassword(
  tx: Tx,
  email: string,
  password: string,
): Promise<{ user: UserRow; passwordOk: boolean } | undefined> {
  const rows = await tx.unsafe<(UserRow & { password_ok: boolean })[]>(
    `select ${USER_COLUMNS},
       coalesce(encrypted_password <> ''
         and encrypted_password = extensions.crypt($2, encrypted_password), false) as password_ok
     from auth.users
     where lower(email) = lower($1) and aud = 'authenticated' and is_sso_user = false
       and deleted_at is null`,
    [email, password],
  );
  if (!rows[0]) return undefined;
  const { password_ok, ...user } = rows[0];
  return { user, passwordOk: password_ok };
}

/** The user with this id. */
export async function userById(tx: Tx, id: string): Promise<UserRow | undefined> {
  const rows = await tx.unsafe<UserRow[]>(
    `select ${USER_COLUMNS} from auth.users where id = $1 and deleted_at is null`,
    [id],
  );
  return rows[0];
}

/** Whether `password` is the user's current password. */
export async function isCurrentPassword(tx: Tx, id: string, password: string): Promise<boolean> {
  const rows = await tx.unsafe<{ same: boolean }[]>(
    `select coalesce(encrypted_password = extensions.crypt($2, encrypted_password), false) as same
     from auth.users where id = $1`,
    [id, password],
  );
  return rows[0]?.same ?? false;
}

/** Fields an update may change; metadata objects merge key by key (a null value removes a key). */
export interface UserChanges {
  email?: string;
  password?: string;
  emailConfirmed?: boolean;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  role?: string;
  /** Banned until this instant; `null` lifts a ban. */
  bannedUntil?: Date | null;
}

/** Applies `changes`; `undefined` when the user is gone, `"email_exists"` when the email is taken. */
export async function updateUser(
  tx: Tx,
  id: string,
  changes: UserChanges,
): Promise<UserRow | "email_exists" | undefined> {
  if (changes.email !== undefined) {
    const taken = await tx.unsafe(
      `select 1 from auth.users where lower(email) = lower($1) and id <> $2 and is_sso_user = false`,
      [changes.email, id],
    );
    if (taken.length > 0) return "email_exists";
  }
  const rows = await tx.unsafe<UserRow[]>(
    `update auth.users set
       email = coalesce($2, email),
       encrypted_password = case when $3::text is null then encrypted_password
         else extensions.crypt($3, extensions.gen_salt('bf', $4)) end,
       email_confirmed_at = case when $5::boolean is null then email_confirmed_at
         when $5 then coalesce(email_confirmed_at, now()) else null end,
       raw_app_meta_data = case when $6::text is null then raw_app_meta_data
         else (select coalesce(jsonb_object_agg(key, value), '{}') from jsonb_each(
           coalesce(raw_app_meta_data, '{}') || $6::text::jsonb) where value <> 'null') end,
       raw_user_meta_data = case when $7::text is null then raw_user_meta_data
         else (select coalesce(jsonb_object_agg(key, value), '{}') from jsonb_each(
           coalesce(raw_user_meta_data, '{}') || $7::text::jsonb) where value <> 'null') end,
       role = coalesce($8, role),
       banned_until = case when $9::boolean then $10::timestamptz else banned_until end,
       updated_at = now()
     where id = $1 and deleted_at is null
     returning ${USER_COLUMNS}`,
    [
      id,
      changes.email ?? null,
      changes.password ?? null,
      BCRYPT_COST,
      changes.emailConfirmed ?? null,
      changes.appMetadata ? JSON.stringify(changes.appMetadata) : null,
      changes.userMetadata ? JSON.stringify(changes.userMetadata) : null,
      changes.role ?? null,
      changes.bannedUntil !== undefined,
      changes.bannedUntil ?? null,
    ],
  );
  return rows[0];
}

/** Deletes a user (their sessions and refresh tokens go with them); whether one was deleted. */
export async function deleteUser(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.unsafe(`delete from auth.users where id = $1 returning id`, [id]);
  return rows.length > 0;
}

/** One page of users, newest first, and the total. */
export async function listUsers(
  tx: Tx,
  page: number,
  perPage: number,
): Promise<{ users: UserRow[]; total: number }> {
  const [{ total }] = await tx.unsafe<{ total: number }[]>(
    `select count(*)::int as total from auth.users where deleted_at is null`,
  );
  const users = await tx.unsafe<UserRow[]>(
    `select ${USER_COLUMNS} from auth.users where deleted_at is null
     order by created_at desc, id limit $1 offset $2`,
    [perPage, (page - 1) * perPage],
  );
  return { users, total };
}

/** Opens a session for the user with its first refresh token, and records the sign-in. */
export async function openSession(
  tx: postgres.TransactionSql,
  userId: string,
  refreshToken: string,
  client: { userAgent: string | null; ip: string | null },
): Promise<{ session: SessionRow; user: UserRow }> {
  const [session] = await tx.unsafe<SessionRow[]>(
    `insert into auth.sessions (id, user_id, created_at, updated_at, aal, refreshed_at,
       user_agent, ip)
     values (gen_random_uuid(), $1, now(), now(), 'aal1', now() at time zone 'utc', $2, $3::inet)
     returning id, user_id, created_at`,
    [userId, client.userAgent, client.ip],
  );
  await insertRefreshToken(tx, session, refreshToken, null);
  const [user] = await tx.unsafe<UserRow[]>(
    `update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1
     returning ${USER_COLUMNS}`,
    [userId],
  );
  return { session, user };
}

async function insertRefreshToken(
  tx: postgres.TransactionSql,
  session: SessionRow,
  token: string,
  parent: string | null,
): Promise<void> {
  await tx.unsafe(
    `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at,
       parent, session_id)
     values ($1, $2, $3, false, now(), now(), $4, $5)`,
    [INSTANCE_ID, token, session.user_id, parent, session.id],
  );
}

/** The outcome of a refresh-token grant. */
export type RefreshOutcome =
  | { kind: "issued"; session: SessionRow; user: UserRow; refreshToken: string }
  | { kind: "not_found" }
  | { kind: "already_used" };

/**
 * Swaps a refresh token, as supabase/auth's `RefreshTokenGrant` does: an active token is revoked
 * and its child issued; a revoked token whose child is the session's active token gets that child
 * back (the client lost the answer); another revoked token used within `reuseIntervalSeconds` of
 * its revocation gets a new child; past that, with rotation on, every token of the session is
 * revoked and the grant refused — the revocation is committed even though the grant fails.
 */
export async function refreshSession(
  sql: postgres.Sql,
  token: string,
  nextToken: string,
  { reuseIntervalSeconds, rotation }: { reuseIntervalSeconds: number; rotation: boolean },
): Promise<RefreshOutcome> {
  return await sql.begin(async (tx): Promise<RefreshOutcome> => {
    const [row] = await tx.unsafe<
      {
        token: string;
        revoked: boolean;
        reusable: boolean;
        session_id: string;
        user_id: string;
        session_created_at: Date;
      }[]
    >(
      `select rt.token, rt.revoked, rt.session_id, s.user_id, s.created_at as session_created_at,
         now() <= rt.updated_at + make_interval(secs => $2) as reusable
       from auth.refresh_tokens rt
       join auth.sessions s on s.id = rt.session_id
       where rt.token = $1
       for update of rt, s`,
      [token, reuseIntervalSeconds],
    );
    if (!row) return { kind: "not_found" };
    const session: SessionRow = {
      id: row.session_id,
      user_id: row.user_id,
      created_at: row.session_created_at,
    };
    let issued = nextToken;
    let swap = true;
    if (row.revoked) {
      const [active] = await tx.unsafe<{ token: string; parent: string | null }[]>(
        `select token, parent from auth.refresh_tokens
         where session_id = $1 and not revoked order by id desc limit 1`,
        [session.id],
      );
      if (active && active.parent === row.token) {
        issued = active.token;
        swap = false;
      } else if (!row.reusable) {
        if (rotation) {
          await tx.unsafe(
            // updated_at stays: a revoked token that was never used is past its window too.
            `update auth.refresh_tokens set revoked = true
             where session_id = $1 and not revoked`,
            [session.id],
          );
        }
        return { kind: "already_used" };
      }
    }
    if (swap) {
      await tx.unsafe(
        `update auth.refresh_tokens set revoked = true, updated_at = now()
         where token = $1 and not revoked`,
        [row.token],
      );
      await insertRefreshToken(tx, session, issued, row.token);
    }
    await tx.unsafe(
      `update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now()
       where id = $1`,
      [session.id],
    );
    const user = await userById(tx, session.user_id);
    if (!user) return { kind: "not_found" };
    return { kind: "issued", session, user, refreshToken: issued };
  }) as RefreshOutcome;
}

/** The session with this id, when it still exists. */
export async function sessionById(tx: Tx, id: string): Promise<SessionRow | undefined> {
  const rows = await tx.unsafe<SessionRow[]>(
    `select id, user_id, created_at from auth.sessions where id = $1`,
    [id],
  );
  return rows[0];
}

/** Ends sessions of a user: every one, the current one, or every other one. */
export async function endSessions(
  tx: Tx,
  userId: string,
  sessionId: string | undefined,
  scope: "global" | "local" | "others",
): Promise<void> {
  if (scope === "global") {
    await tx.unsafe(`delete from auth.sessions where user_id = $1`, [userId]);
  } else if (scope === "local") {
    await tx.unsafe(`delete from auth.sessions where id = $1 and user_id = $2`, [
      sessionId ?? null,
      userId,
    ]);
  } else {
    await tx.unsafe(
      `delete from auth.sessions where user_id = $1 and id is distinct from $2`,
      [userId, sessionId ?? null],
    );
  }
}
