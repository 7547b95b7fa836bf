/**
 * A local HTTP server standing in for the edge of the world in monitoring tests (Slack webhooks,
 * PagerDuty's Events API, the `metrics` function): it records every request and answers with a
 * handler, 200 `ok` by default.
 * @module
 */

/** A request the recorder received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** A running recorder. */
export interface Recorder {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  requests: RecordedRequest[];
  /** Resolves with the requests once `done(requests)` holds; rejects after `timeoutMs`. */
  waitFor(
    done: (requests: RecordedRequest[]) => boolean,
    timeoutMs: number,
  ): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

/**
 * Starts a recorder on an ephemeral loopback port.
 *
 * @example
 * ```ts
 * const recorder = startRecorder();
 * await fetch(`${recorder.url}/hook`, { method: "POST", body: "{}" });
 * await recorder.stop();
 * ```
 */
export function startRecorder(
  handler: (request: RecordedRequest) => Response | Promise<Response> = () => new Response("ok"),
): Recorder {
  const requests: RecordedRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const text = await request.text();
      let body: unknown = text;
      try {
        body = text === "" ? null : JSON.parse(text);
      } catch {
        // Not JSON: keep the text.
      }
      const recorded = {
        method: request.method,
        path: new URL(request.url).pathname,
        headers: request.headers,
        body,
      };
      requests.push(recorded);
      return await handler(recorded);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async waitFor(done, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!done(requests)) {
        if (Date.now() > deadline) {
          const seen = requests.map((r) => `${r.method} ${r.path}`).join(", ");
          throw new Error(`Not received within ${timeoutMs} ms; received: ${seen || "nothing"}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return requests;
    },
    stop: () => server.shutdown(),
  };
}
