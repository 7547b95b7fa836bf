/**
 * Running the local stack's programs (initdb, pg_ctl, psql, apt-get, ...): one place that knows how
 * to drop root to the `postgres` OS user (Postgres refuses to run as root) and how to report a missing
 * program as one clear sentence, naming the package that provides it, instead of a stack trace.
 * @module
 */
import {
  describeMissing,
  type Executable,
  executable,
  missingExecutables,
  type ResolveOptions,
} from "./executables.ts";

/** A failure of the local stack that is reported to the user as one line, without a stack trace. */
export class StackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackError";
  }
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Run as the `postgres` OS user (through runuser) when the current user is root. */
  asPostgres?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Standard input text. */
  stdin?: string;
  /** Throw a StackError when the exit code is not 0 (default true). */
  check?: boolean;
}

/** Result of {@linkcode run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** True when this process runs as root. */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Runs a program and captures its output.
 *
 * @example
 * ```ts
 * const { stdout } = await run("pg_ctl", ["--version"]);
 * ```
 */
export async function run(program: string, args: string[], options: RunOptions = {}): Promise<
  RunResult
> {
  const { asPostgres = false, env, cwd, stdin, check = true } = options;
  let cmd = program;
  let argv = args;
  if (asPostgres && isRoot()) {
    cmd = "runuser";
    argv = ["-u", "postgres", "--", program, ...args];
  }
  const child = spawn(cmd, {
    args: argv,
    env,
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (check && result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
    throw new StackError(`${program} ${args[0] ?? ""} failed (exit ${result.code}): ${tail}`);
  }
  return result;
}

/**
 * Spawns a program; a program that is not installed is a StackError naming its package, not a
 * `Failed to spawn ... entity not found` stack trace.
 *
 * @example
 * ```ts
 * const child = spawn("redis-server", { args: ["--port", "56379"], stdout: "null" });
 * ```
 */
export function spawn(program: string, options: Deno.CommandOptions = {}): Deno.ChildProcess {
  try {
    return new Deno.Command(program, options).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw notInstalled(program);
    throw err;
  }
}

/**
 * The StackError for a program that could not be spawned: names its package when the manifest
 * knows it.
 *
 * @example
 * ```ts
 * throw notInstalled("pg_prove");
 * ```
 */
export function notInstalled(program: string): StackError {
  const known = executable(program);
  return new StackError(
    known ? describeMissing([known]) : `${program} is not installed or not on PATH`,
  );
}

/**
 * Throws one StackError naming every program of `executables` that is not installed, with the
 * package that provides each.
 *
 * @example
 * ```ts
 * requireExecutables(EXECUTABLES);
 * ```
 */
export function requireExecutables(
  executables: readonly Executable[],
  options: ResolveOptions = {},
): void {
  const missing = missingExecutables(executables, options);
  if (missing.length > 0) throw new StackError(describeMissing(missing));
}

/** Whether a file or folder exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Runs `main`, printing a StackError as one line and exiting 1. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof StackError) {
      console.error(`error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}
