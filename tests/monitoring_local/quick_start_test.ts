/**
 * Runs the command block of docs/guides/quick-start-monitoring.md line by line, as a reader would:
 * `npm run dev`, `deno task monitoring:up`, `deno task monitoring:verify`, the `curl`s of the
 * Slack recorder (done with fetch on the same URL), stopping the dev server, and
 * `deno task monitoring:down`. Only the ports differ: free ones replace the defaults (54321, 9090,
 * 9093, 9094), passed with the commands' own flags, and the background state goes to a temporary
 * folder (COMPTOIR_MONITORING_DIR).
 */
import assert from "node:assert/strict";
import { spawn } from "../../scripts/lib/command.ts";
import { freePort } from "../../scripts/lib/dev_stack.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GUIDE = new URL("../../docs/guides/quick-start-monitoring.md", import.meta.url);

/** The lines of the guide's first `sh` block. */
async function quickStartLines(): Promise<string[]> {
  const text = await Deno.readTextFile(GUIDE);
  const block = /```sh\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, "the guide has a sh block");
  return block.split("\n").map((line) => line.trim()).filter((line) => line !== "");
}

async function runTask(args: string[], env: Record<string, string>) {
  const out = await spawn(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, text: decode(out.stdout) + decode(out.stderr) };
}

Deno.test("the monitoring quick start's commands bring a real alert to the Slack recorder", async () => {
  const ports = {
    api: freePort(),
    prometheus: freePort(),
    alertmanager: freePort(),
    slack: freePort(),
  };
  const api = `http://127.0.0.1:${ports.api}`;
  const monitoringDir = await Deno.makeTempDir({ prefix: "comptoir-quick-start-" });
  const env = { COMPTOIR_MONITORING_DIR: monitoringDir };
  const portFlags = [
    "--api-url",
    api,
    "--prometheus-port",
    String(ports.prometheus),
    "--alertmanager-port",
    String(ports.alertmanager),
    "--slack-port",
    String(ports.slack),
  ];
  const verifyFlags = [
    "--metrics-url",
    `${api}/functions/v1/metrics`,
    "--prometheus-url",
    `http://127.0.0.1:${ports.prometheus}`,
    "--alertmanager-url",
    `http://127.0.0.1:${ports.alertmanager}`,
  ];
  const local = (url: string) =>
    url.replace("127.0.0.1:9094", `127.0.0.1:${ports.slack}`)
      .replace("127.0.0.1:9090", `127.0.0.1:${ports.prometheus}`);

  let dev: Deno.ChildProcess | undefined;
  let devOutput = "";
  let devStopped = false;
  const stopDev = async () => {
    if (!dev || devStopped) return;
    devStopped = true;
    // npm, its shell and the server form one process group: Ctrl-C reaches them all.
    Deno.kill(-dev.pid, "SIGINT");
    await dev.status;
  };
  let monitoringUp = false;
  let curls = 0;
  const lines = await quickStartLines();
  assert.deepEqual(
    lines.filter((l) => !l.startsWith("#")).map((l) => l.split(" ").slice(0, 3).join(" ")),
    [
      "npm run dev",
      "deno task monitoring:up",
      "deno task monitoring:verify",
      "curl -s http://127.0.0.1:9094/messages",
      "curl -s http://127.0.0.1:9094/messages",
      "deno task monitoring:down",
    ],
  );
  try {
    for (const line of lines) {
      const words = line.split(/\s+/);
      if (line === "npm run dev") {
        dev = spawn("npm", {
          args: ["run", "dev", "--", "--port", String(ports.api)],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
          detached: true,
        });
        const decoder = new TextDecoder();
        const collect = async (stream: ReadableStream<Uint8Array>) => {
          for await (const chunk of stream) devOutput += decoder.decode(chunk, { stream: true });
        };
        collect(dev.stdout);
        collect(dev.stderr);
        const deadline = Date.now() + 180_000;
        while (!devOutput.includes("comptoir is running")) {
          assert.ok(Date.now() < deadline, `npm run dev not ready:\n${devOutput}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } else if (line.startsWith("deno task monitoring:up")) {
        const up = await runTask(["task", ...words.slice(2), ...portFlags], env);
        assert.equal(up.code, 0, up.text);
        monitoringUp = true;
        assert.match(up.text, new RegExp(`Prometheus +http://127\\.0\\.0\\.1:${ports.prometheus}`));
        assert.match(up.text, new RegExp(`Slack recorder +http://127\\.0\\.0\\.1:${ports.slack}`));
      } else if (line === "deno task monitoring:verify") {
        // As the guide says: the first scrape may not have happened yet, so run it again.
        let verify = await runTask(["task", "monitoring:verify", ...verifyFlags], env);
        for (let i = 0; verify.code !== 0 && i < 10; i++) {
          await new Promise((resolve) => setTimeout(resolve, 2000));
          verify = await runTask(["task", "monitoring:verify", ...verifyFlags], env);
        }
        assert.equal(verify.code, 0, verify.text);
        assert.match(verify.text, /12 of 12 checks passed/);
      } else if (words[0] === "curl") {
        const url = local(words[words.length - 1]);
        curls++;
        if (curls === 1) {
          assert.deepEqual(await (await fetch(url)).json(), []);
        } else {
          // ServiceDown: `for: 2m` after the last good scrape, then Alertmanager's 1 s timers.
          const deadline = Date.now() + 240_000;
          let messages: { channel: string; body: { attachments?: unknown[]; text?: string } }[] =
            [];
          while (Date.now() < deadline) {
            messages = await (await fetch(url)).json();
            if (messages.some((m) => m.channel === "alerts_critical")) break;
            await new Promise((resolve) => setTimeout(resolve, 2000));
          }
          const slack = messages.find((m) => m.channel === "alerts_critical");
          assert.ok(slack, `no Slack message: ${JSON.stringify(messages)}`);
          assert.match(JSON.stringify(slack.body), /ServiceDown/);
          assert.ok(messages.some((m) => m.channel === "pagerduty"), "PagerDuty was paged too");
        }
      } else if (line.startsWith("# stop npm run dev")) {
        await stopDev();
      } else if (line === "deno task monitoring:down") {
        const down = await runTask(["task", "monitoring:down"], env);
        assert.equal(down.code, 0, down.text);
        monitoringUp = false;
        assert.match(down.text, /monitoring stopped/);
        await assert.rejects(fetch(`http://127.0.0.1:${ports.prometheus}/-/ready`));
      } else {
        assert.fail(`the test does not know the guide's line: ${line}`);
      }
    }
  } finally {
    if (monitoringUp) await runTask(["task", "monitoring:down"], env);
    await stopDev();
    await Deno.remove(monitoringDir, { recursive: true });
  }
});
