/**
 * The monthly cost of monitoring comptoir three ways — Prometheus and Alertmanager run by the team,
 * New Relic, Datadog — from the team's own numbers and the price inputs below. Each price carries
 * where it was read and when, so a reader checks it and passes their own with the options of
 * `deno task cost:estimate` instead of trusting a table. Vendors change prices and plans; every
 * figure here is a list price, before discounts and commitments.
 * @module
 */

/** A price input and where it comes from. */
export interface PriceInput {
  value: number;
  unit: string;
  /** Where the figure is published. */
  source: string;
  /** When it was read there (YYYY-MM-DD). */
  readOn: string;
  note?: string;
}

/** The price inputs. Read on 2026-12-04 from stored copies of the pages named. */
export const PRICES = {
  newRelicFreeGb: {
    value: 100,
    unit: "GB ingested per month, free",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-billing/new-relic-one-pricing-billing",
    readOn: "2026-12-04",
  },
  newRelicPerGb: {
    value: 0.25,
    unit: "USD per GB ingested above the free amount",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-billing/new-relic-one-pricing-billing",
    readOn: "2026-12-04",
    note:
      "the original data option as that page states it; Data Plus costs more (newrelic.com/pricing)",
  },
  newRelicFreeFullUsers: {
    value: 1,
    unit: "full platform user included",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-users/pricing-billing",
    readOn: "2026-12-04",
    note: "further full users are billed at the edition's price: pass it with --newrelic-user-usd",
  },
  datadogHostAnnual: {
    value: 15,
    unit: "USD per host per month, Infrastructure Pro billed annually",
    source: "https://www.doit.com/blog/datadog-pricing-explained (quoting datadoghq.com/pricing)",
    readOn: "2026-12-04",
    note: "USD 18 billed monthly or on demand (same source)",
  },
  datadogCustomMetricsPerHost: {
    value: 100,
    unit: "custom metrics included per host (Pro)",
    source: "https://docs.datadoghq.com/account_management/billing/custom_metrics/",
    readOn: "2026-12-04",
    note: "each Prometheus series (name + label values) is one custom metric",
  },
  datadogPerCustomMetric: {
    value: 0.05,
    unit: "USD per custom metric per month above the allotment",
    source:
      "https://toolstac.com/tool/datadog/cost-management-guide (quoting datadoghq.com/pricing)",
    readOn: "2026-12-04",
  },
  prometheusBytesPerSample: {
    value: 2,
    unit: "bytes of disk per stored sample (upper end of Prometheus's 1-2)",
    source: "https://prometheus.io/docs/prometheus/latest/storage/",
    readOn: "2026-12-04",
  },
} as const satisfies Record<string, PriceInput>;

/** The team's numbers (options of `deno task cost:estimate`). */
export interface TeamInputs {
  /** Active series the shop exposes (a scrape of the metrics function counts them). */
  series: number;
  /** Scrape interval in seconds. */
  scrapeIntervalSeconds: number;
  /** Bytes a sample costs once ingested by a SaaS (labels and metadata included). */
  ingestBytesPerSample: number;
  /** Days of history kept. */
  retentionDays: number;
  /** Hosts running a Datadog agent (one scrapes the metrics function). */
  datadogHosts: number;
  /** People who need full New Relic access. */
  newRelicFullUsers: number;
  /** Price of a New Relic full platform user per month, for users past the free one. */
  newRelicUserUsd: number;
  /** Self-hosting: the machine for Prometheus + Alertmanager, per month. */
  vmUsdPerMonth: number;
  /** Self-hosting: disk price per GB per month. */
  diskUsdPerGbMonth: number;
  /** Self-hosting: hours of upkeep a month (upgrades, disk, rule changes). */
  opsHoursPerMonth: number;
  /** What an hour of the team costs. */
  hourlyUsd: number;
}

/** Defaults: assumptions to replace with the team's own numbers, not measurements. */
export const DEFAULT_TEAM: TeamInputs = {
  series: 1500,
  scrapeIntervalSeconds: 15,
  ingestBytesPerSample: 150,
  retentionDays: 30,
  datadogHosts: 1,
  newRelicFullUsers: 1,
  newRelicUserUsd: 0,
  vmUsdPerMonth: 20,
  diskUsdPerGbMonth: 0.1,
  opsHoursPerMonth: 4,
  hourlyUsd: 60,
};

/** One option's monthly cost with its parts. */
export interface CostLine {
  option: "self-hosted Prometheus" | "New Relic" | "Datadog";
  monthlyUsd: number;
  parts: { what: string; usd: number }[];
}

const SECONDS_PER_MONTH = 30 * 24 * 3600;

/** Samples a month at this many series and interval. */
export function samplesPerMonth(
  team: Pick<TeamInputs, "series" | "scrapeIntervalSeconds">,
): number {
  return team.series * (SECONDS_PER_MONTH / team.scrapeIntervalSeconds);
}

/**
 * The three options' monthly costs.
 *
 * @example
 * ```ts
 * const [self, newRelic, datadog] = estimateMonitoringCost({ ...DEFAULT_TEAM, series: 3000 });
 * ```
 */
export function estimateMonitoringCost(team: TeamInputs, prices = PRICES): CostLine[] {
  for (const [key, value] of Object.entries(team)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${key} must be a number >= 0`);
  }
  if (team.scrapeIntervalSeconds <= 0) throw new RangeError("scrapeIntervalSeconds must be > 0");
  const samples = samplesPerMonth(team);

  const diskGb = samples * (team.retentionDays / 30) * prices.prometheusBytesPerSample.value / 1e9;
  const self: CostLine = {
    option: "self-hosted Prometheus",
    parts: [
      { what: "machine", usd: team.vmUsdPerMonth },
      {
        what: `disk (${diskGb.toFixed(2)} GB for ${team.retentionDays} days)`,
        usd: diskGb * team.diskUsdPerGbMonth,
      },
      { what: `upkeep (${team.opsHoursPerMonth} h)`, usd: team.opsHoursPerMonth * team.hourlyUsd },
    ],
    monthlyUsd: 0,
  };

  const ingestGb = Math.floor(samples * team.ingestBytesPerSample / 1e9);
  const billableGb = Math.max(0, ingestGb - prices.newRelicFreeGb.value);
  const paidUsers = Math.max(0, team.newRelicFullUsers - prices.newRelicFreeFullUsers.value);
  const newRelic: CostLine = {
    option: "New Relic",
    parts: [
      {
        what: `ingest (${ingestGb} GB, ${billableGb} billable)`,
        usd: billableGb * prices.newRelicPerGb.value,
      },
      { what: `full users (${paidUsers} paid)`, usd: paidUsers * team.newRelicUserUsd },
    ],
    monthlyUsd: 0,
  };

  const included = team.datadogHosts * prices.datadogCustomMetricsPerHost.value;
  const extraMetrics = Math.max(0, team.series - included);
  const datadog: CostLine = {
    option: "Datadog",
    parts: [
      {
        what: `hosts (${team.datadogHosts})`,
        usd: team.datadogHosts * prices.datadogHostAnnual.value,
      },
      {
        what: `custom metrics (${team.series}, ${included} included)`,
        usd: extraMetrics * prices.datadogPerCustomMetric.value,
      },
    ],
    monthlyUsd: 0,
  };

  for (const line of [self, newRelic, datadog]) {
    line.monthlyUsd = line.parts.reduce((sum, part) => sum + part.usd, 0);
  }
  return [self, newRelic, datadog];
}
