/**
 * CPU profiles of a running Deno process through its V8 inspector (`deno run --inspect=…`):
 * `Profiler.start` / `Profiler.stop` over the DevTools protocol give the same `.cpuprofile` that
 * Node's `--cpu-prof` writes, and {@linkcode topSelfTime} ranks its functions by self time.
 * Hand-written because `deno run` 2.9 has no `--cpu-prof` flag, and the profile must cover a window
 * of load chosen by the benchmark, not the whole life of the process.
 * @module
 */

/** A V8 CPU profile (`Profiler.Profile` of the DevTools protocol). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A running profiling session. */
export interface Profiler {
  /** Stops the profile and returns it. */
  stop(): Promise<CpuProfile>;
}

/**
 * Connects to the inspector on `port` and starts sampling (every 100 µs).
 *
 * @example
 * ```ts
 * const profiler = await startProfiler(9229);
 * // … load …
 * const profile = await profiler.stop();
 * ```
 */
export async function startProfiler(port: number): Promise<Profiler> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  if (targets.length === 0) throw new Error(`no inspector target on port ${port}`);
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error(`cannot connect to the inspector on port ${port}`));
  });
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  await send("Profiler.start");
  return {
    stop: async () => {
      const { profile } = await send("Profiler.stop") as { profile: CpuProfile };
      socket.close();
      return profile;
    },
  };
}

/** One function's share of a profile. */
export interface SelfTime {
  /** `name (file:line)`, the file relative to the repository or the npm package. */
  function: string;
  selfMs: number;
  /** Share of all samples, idle included. */
  percent: number;
}

/**
 * The `top` functions by self time (time on the CPU in the function itself, not its callees),
 * merged across the call sites of the same function.
 *
 * @example
 * ```ts
 * for (const f of topSelfTime(profile, 10)) console.log(f.function, f.selfMs.toFixed(1));
 * ```
 */
export function topSelfTime(profile: CpuProfile, top = 10): SelfTime[] {
  const byNode = new Map<number, CpuProfile["nodes"][number]>();
  for (const node of profile.nodes) byNode.set(node.id, node);
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const node = byNode.get(profile.samples[i]);
    if (!node) continue;
    totalUs += delta;
    const key = label(node.callFrame);
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
  }
  return [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({
    function: fn,
    selfMs: us / 1000,
    percent: totalUs > 0 ? us / totalUs * 100 : 0,
  }));
}

function label(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  const url = frame.url
    .replace(/^file:\/\/.*?\/(supabase|scripts)\//, "$1/")
    .replace(/^.*\/registry\.npmjs\.org\//, "npm:");
  return `${name} (${url}:${frame.lineNumber + 1})`;
}
