/**
 * What the local Auth reads from `supabase/config.toml` `[auth]`, the file `supabase start` reads
 * for the same settings: token lifetime, sign-up switch, refresh-token rotation and reuse interval,
 * password rules and the per-address rate limits. As with the Supabase CLI, an environment
 * variable `SUPABASE_AUTH_<KEY>` overrides a key of the file (`SUPABASE_AUTH_JWT_EXPIRY`,
 * `SUPABASE_AUTH_REFRESH_TOKEN_REUSE_INTERVAL`, `SUPABASE_AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS`,
 * `SUPABASE_AUTH_RATE_LIMIT_TOKEN_REFRESH`), so a test can shorten lifetimes without editing it.
 * @module
 */
import { parse } from "smol-toml";

/** The settings of the local Auth. */
export interface LocalAuthSettings {
  /** Access-token lifetime in seconds (`jwt_expiry`). */
  jwtExpirySeconds: number;
  /** `enable_signup` and `[auth.email] enable_signup`. */
  signupEnabled: boolean;
  /** `enable_refresh_token_rotation`: a reuse past the interval revokes the session's tokens. */
  refreshTokenRotation: boolean;
  /** `refresh_token_reuse_interval`: seconds a used refresh token may be used again. */
  refreshTokenReuseIntervalSeconds: number;
  /** `minimum_password_length`. */
  minimumPasswordLength: number;
  /** Character sets a password needs one character of each (`password_requirements`). */
  requiredCharacters: string[];
  /** `[auth.rate_limit] sign_in_sign_ups`: sign-ups and password sign-ins per address per 5 min. */
  signInSignUpsPer5Min: number;
  /** `[auth.rate_limit] token_refresh`: refresh grants per address per 5 min. */
  tokenRefreshPer5Min: number;
}

const CONFIG_TOML = new URL("../../../supabase/config.toml", import.meta.url);

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
const SYMBOLS = "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~";

/** `password_requirements` values, as supabase/cli maps them to GoTrue's required characters. */
const REQUIREMENTS: Record<string, string[]> = {
  "": [],
  letters_digits: [LOWER + UPPER, DIGITS],
  lower_upper_letters_digits: [LOWER, UPPER, DIGITS],
  lower_upper_letters_digits_symbols: [LOWER, UPPER, DIGITS, SYMBOLS],
};

interface AuthToml {
  jwt_expiry?: number;
  enable_signup?: boolean;
  enable_refresh_token_rotation?: boolean;
  refresh_token_reuse_interval?: number;
  minimum_password_length?: number;
  password_requirements?: string;
  rate_limit?: { sign_in_sign_ups?: number; token_refresh?: number };
  email?: { enable_signup?: boolean };
}

/**
 * Reads the settings; throws `TypeError` on a value Supabase Auth would refuse too.
 *
 * @example
 * ```ts
 * const settings = await readLocalAuthSettings();
 * settings.jwtExpirySeconds; // 3600
 * ```
 */
export async function readLocalAuthSettings(
  { configToml = CONFIG_TOML, env = Deno.env }: {
    configToml?: URL;
    env?: Pick<typeof Deno.env, "get">;
  } = {},
): Promise<LocalAuthSettings> {
  const config = parse(await Deno.readTextFile(configToml)) as { auth?: AuthToml };
  const auth = config.auth ?? {};
  const requirements = auth.password_requirements ?? "";
  const requiredCharacters = REQUIREMENTS[requirements];
  if (!requiredCharacters) {
    throw new TypeError(`[auth] password_requirements: unknown value ${requirements}`);
  }
  return {
    jwtExpirySeconds: positive(
      env.get("SUPABASE_AUTH_JWT_EXPIRY") ?? auth.jwt_expiry ?? 3600,
      "jwt_expiry",
    ),
    signupEnabled: (auth.enable_signup ?? true) && (auth.email?.enable_signup ?? true),
    refreshTokenRotation: auth.enable_refresh_token_rotation ?? true,
    refreshTokenReuseIntervalSeconds: nonNegative(
      env.get("SUPABASE_AUTH_REFRESH_TOKEN_REUSE_INTERVAL") ??
        auth.refresh_token_reuse_interval ?? 10,
      "refresh_token_reuse_interval",
    ),
    minimumPasswordLength: Math.max(6, nonNegative(auth.minimum_password_length ?? 6, "length")),
    requiredCharacters,
    signInSignUpsPer5Min: positive(
      env.get("SUPABASE_AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS") ?? auth.rate_limit?.sign_in_sign_ups ??
        30,
      "sign_in_sign_ups",
    ),
    tokenRefreshPer5Min: positive(
      env.get("SUPABASE_AUTH_RATE_LIMIT_TOKEN_REFRESH") ?? auth.rate_limit?.token_refresh ?? 150,
      "token_refresh",
    ),
  };
}

function positive(value: unknown, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new TypeError(`[auth] ${name} must be a positive integer`);
  }
  return n;
}

function nonNegative(value: unknown, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`[auth] ${name} must be an integer >= 0`);
  return n;
}
