/**
 * Runs the command block of docs/guides/quick-start-monitoring.md line by line, as a reader would:
 * `npm run dev`, `deno task monitoring:up`, `deno task monitoring:verify`, the `curl`s of the
 * Slack recorder and of the alerts function (done with fetch on the same URL and header), a test
 * alert handed to Alertmanager with `amtool` (which must reach the alerts function through the
 * shipped `comptoir-alerts` receiver), stopping the dev server, and `deno task monitoring:down`.
 * Only the ports differ: free ones replace the defaults (54321, 9090, 9093, 9094), passed with the
 * commands' own flags, and the background state goes to a temporary folder
 * (COMPTOIR_MONITORING_DIR).
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
      .replace("127.0.0.1:9090", `127.0.0.1:${ports.prometheus}`)
      .replace("127.0.0.1:9093", `127.0.0.1:${ports.alertmanager}`)
      .replace("127.0.0.1:54321", `127.0.0.1:${ports.api}`);
  let serviceRoleKey = "";

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
      "amtool alert add",
      "curl -s -H",
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
        // The banner's key lines come in the same write as "comptoir is running".
        serviceRoleKey = /service_role key +(\S+)/.exec(devOutput)?.[1] ?? "";
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
      } else if (words[0] === "amtool") {
        const out = await spawn("amtool", {
          args: words.slice(1).map(local),
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, text);
      } else if (line.startsWith("# export SERVICE_ROLE_KEY=")) {
        assert.match(serviceRoleKey, /^ey[\w-]+\.[\w-]+\.[\w-]+$/, "npm run dev printed the key");
      } else if (words[0] === "curl" && words.includes("-H")) {
        // The alerts function's active alerts, as the service role.
        const header = /-H "([^"]+)"/.exec(line)?.[1] ?? "";
        assert.equal(header, "Authorization: Bearer $SERVICE_ROLE_KEY");
        const headers = { authorization: `Bearer ${serviceRoleKey}` };
        const url = local(words[words.length - 1]);
        type Alert = { alertname: string; status: string; sources: string[]; labels: object };
        let alert: Alert | undefined;
        const deadline = Date.now() + 60_000;
        while (!alert && Date.now() < deadline) {
          const res = await fetch(url, { headers });
          assert.equal(res.status, 200, await res.clone().text());
          const { data } = await res.json() as { data: Alert[] };
          alert = data.find((a) => a.alertname === "QuickStartCheck");
          if (!alert) await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        assert.ok(alert, "the test alert reached the alerts function");
        assert.equal(alert.status, "firing");
        assert.deepEqual(alert.sources, ["alertmanager"]);
        assert.deepEqual(alert.labels, {
          alertname: "QuickStartCheck",
          severity: "info",
          team: "platform",
        });
        const history = await fetch(url.replace(/\/alerts$/, "/history"), { headers });
        const changes = (await history.json()).data as { alertname: string; to_state: string }[];
        assert.ok(
          changes.some((h) => h.alertname === "QuickStartCheck" && h.to_state === "firing"),
          JSON.stringify(changes),
        );
        // Routed to the team's Slack channel as well (continue: true on the alerts route).
        const slackDeadline = Date.now() + 30_000;
        let toSlack = false;
        while (!toSlack && Date.now() < slackDeadline) {
          const messages = await (await fetch(`http://127.0.0.1:${ports.slack}/messages`)).json();
          toSlack = messages.some((m: { channel: string; body: unknown }) =>
            m.channel === "alerts_platform" && JSON.stringify(m.body).includes("QuickStartCheck")
          );
          if (!toSlack) await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        assert.ok(toSlack, "the test alert reached the platform team's Slack channel");
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
